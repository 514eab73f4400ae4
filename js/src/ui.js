// DOM of the Annotator. Everything that comes from users or files (class names, file names,
// keys, error text) is set with textContent, never parsed as HTML. Nothing here knows what a
// control does: annotator.js wires each to its command.


/**
 * An element with attributes, `text` (textContent), `class`, `testid` (data-testid) and
 * `on<event>` listeners, and children.
 * @template {keyof HTMLElementTagNameMap} T
 * @param {T} tag
 * @param {Record<string, any>} [props]
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[T]}
 */
export function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k === "testid") node.dataset.testid = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/**
 * @param {string} label
 * @param {string} testid
 * @param {string} title
 * @param {() => void} [onclick]
 */
export function button(label, testid, title, onclick) {
  return h("button", { type: "button", text: label, testid, title, onclick, class: "nbl-btn" });
}

/**
 * The class dropdown's options; the first nine show their number key.
 * @param {HTMLSelectElement} select
 * @param {string[]} names
 * @param {string} value
 */
export function setOptions(select, names, value) {
  select.replaceChildren(
    ...names.map((n, i) =>
      h("option", { value: n, text: i < 9 ? `${i + 1}  ${n}` : n }),
    ),
  );
  if (names.includes(value)) select.value = value;
}

/**
 * The shortcut overlay: one row per line of the keymap's help table.
 * @param {HTMLButtonElement} close
 * @param {[keys: string, does: string][]} help
 */
export function buildHelp(close, help) {
  const rows = help.map(([keys, what]) =>
    h("tr", {}, [h("td", { class: "nbl-keys", text: keys }), h("td", { text: what })]),
  );
  return h("div", { class: "nbl-help", testid: "help", role: "dialog", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [h("strong", { text: "Keyboard shortcuts" }), close]),
    h("table", {}, [h("tbody", {}, rows)]),
  ]);
}

/**
 * Python's colours as custom properties of the widget root, which the CSS reads: each
 * status's `--nbl-status-<status>` (fill) and `--nbl-status-<status>-text`, and
 * `--nbl-error`. A notebook theme can override them on `.nbl-root`.
 * @param {HTMLElement} root
 * @param {import("./state.js").Constants} constants
 */
export function setColorProperties(root, constants) {
  for (const [status, c] of Object.entries(constants.status_colors)) {
    root.style.setProperty(`--nbl-status-${status}`, c.fill);
    root.style.setProperty(`--nbl-status-${status}-text`, c.text);
  }
  root.style.setProperty("--nbl-error", constants.error_color);
}

/**
 * Show `status` on an element: its `data-status`, and its colours, which the CSS takes from
 * `--nbl-fill` and `--nbl-ink` (pointing at the root's properties for that status).
 * @param {HTMLElement} el
 * @param {string} status
 */
export function paintStatus(el, status) {
  el.dataset.status = status;
  el.style.setProperty("--nbl-fill", status ? `var(--nbl-status-${status})` : "");
  el.style.setProperty("--nbl-ink", status ? `var(--nbl-status-${status}-text)` : "");
}

/**
 * Every element of one Annotator view. Buttons are in `buttons` by their data-testid, tool
 * buttons also in `toolButtons` by tool name.
 * @param {import("./keys.js").Keymap} keymap the tools and status jumps (from Python) and
 *   the help lines
 * @param {import("./state.js").Constants} constants Python's colours
 */
export function buildDom(keymap, constants) {
  /** @type {Record<string, HTMLButtonElement>} */
  const buttons = {};
  /** @type {(label: string, testid: string, title: string) => HTMLButtonElement} */
  const btn = (label, testid, title) => (buttons[testid] = button(label, testid, title));

  const canvas = h("canvas", { class: "nbl-canvas", testid: "canvas", "aria-label": "image" });
  const stage = h("div", { class: "nbl-stage" }, [canvas]);

  /** @type {Record<string, HTMLButtonElement>} */
  const toolButtons = Object.fromEntries(
    keymap.TOOLS.map(([name, label, key]) => [name, btn(label, `tool-${name}`, `${label} (${key})`)]),
  );
  const classSelect = h("select", { testid: "class-select", title: "Class (1-9)", class: "nbl-select" });
  const thr = h("input", { type: "range", min: "0", max: "1", step: "0.01", testid: "threshold", title: "Confidence threshold" });
  const thrValue = h("span", { class: "nbl-thr", testid: "threshold-value" });
  const hide = h("input", { type: "checkbox", testid: "hide-below" });
  const showRegions = h("input", { type: "checkbox", testid: "show-regions" });
  const regionsText = h("span", { testid: "regions-summary", text: "regions" });
  const regionsToggle = h("label", {
    class: "nbl-group", title: "De-identification regions (read-only; add a missed one as a box)",
  }, [showRegions, regionsText]);
  const toolbar = h("div", { class: "nbl-bar" }, [
    h("span", { class: "nbl-group" }, Object.values(toolButtons)),
    classSelect,
    h("label", { class: "nbl-group", title: "Predictions below this score are faint suggestions: a submit leaves them out unless you drag one or select it and press a" }, [
      h("span", { text: "min score" }), thr, thrValue,
    ]),
    h("label", { class: "nbl-group", title: "Hide the suggestions (h)" }, [hide, h("span", { text: "hide below" })]),
    regionsToggle,
    h("span", { class: "nbl-group" }, [
      btn("Accept", "accept", "Accept the selected prediction (a)"),
      btn("Accept ≥ min", "accept-all", "Accept all predictions above the threshold (Shift+a)"),
      btn("Reject", "reject", "Reject / delete the selected object (x)"),
    ]),
    h("span", { class: "nbl-group" }, [
      btn("↶", "undo", "Undo (Ctrl/Cmd+z)"),
      btn("↷", "redo", "Redo (Ctrl/Cmd+Shift+z)"),
      btn("?", "help-button", "Keyboard shortcuts (?)"),
    ]),
  ]);

  const indexInput = h("input", { type: "number", min: "1", testid: "index-input", class: "nbl-index", title: "Go to image" });
  const total = h("span", { testid: "count" });
  const fileName = h("span", { class: "nbl-file", testid: "file-name" });
  const statusBadge = h("span", { class: "nbl-status", testid: "status" });
  const countsLine = h("span", { class: "nbl-counts", testid: "counts" });
  const nav = h("div", { class: "nbl-bar" }, [
    btn("◀", "prev", "Previous image (p, ←)"),
    indexInput, total,
    btn("▶", "next", "Next image (n, →)"),
    ...keymap.JUMPS.map(([status, key]) => btn(`Next ${status}`, `next-${status}`, `Next ${status} image (${key})`)),
    btn("Submit ⏎", "submit", "Mark verified and go on (Enter)"),
    btn("Nothing here", "submit-empty", "Verify that this image has no objects and go on (e)"),
    fileName, statusBadge, countsLine,
  ]);

  // Video rows: a strip of the frames (colour = status, a mark where a track jumped or a
  // point was flagged), a slider, and "propagate to the next N frames".
  const frameSlider = h("input", { type: "range", min: "0", max: "0", step: "1", testid: "frame-slider", class: "nbl-frame-slider", title: "Frame (, and .)" });
  const frameLabel = h("span", { class: "nbl-frame-label", testid: "frame-label" });
  const frameCells = h("div", { class: "nbl-frames", testid: "frame-strip" });
  const propagateN = h("input", { type: "number", min: "1", value: "5", testid: "propagate-n", class: "nbl-index", title: "Frames to propagate to" });
  const stripBar = h("div", { class: "nbl-bar nbl-strip", testid: "video-bar", hidden: "" }, [
    btn("◀ frame", "prev-frame", "Previous frame (,)"),
    frameSlider, frameLabel,
    btn("frame ▶", "next-frame", "Next frame (.)"),
    btn("Next flagged", "next-flagged", "Next frame where a track jumped or a point was flagged (j)"),
    h("span", { class: "nbl-group" }, [
      btn("Propagate", "propagate", "Copy the selected object (or all) to the next N frames (t)"),
      h("span", { text: "to next" }), propagateN, h("span", { text: "frames" }),
    ]),
  ]);
  const stripBox = h("div", { class: "nbl-strip-box", hidden: "" }, [stripBar, frameCells]);

  const selectionLine = h("div", { class: "nbl-line", testid: "selection" });
  const messageLine = h("div", { class: "nbl-line nbl-message", testid: "message", "aria-live": "polite" });
  const busyLine = h("div", { class: "nbl-line nbl-busy", testid: "busy" });
  const errorsText = h("pre", { class: "nbl-errors-text" });
  const errorsBox = h("div", { class: "nbl-errors", testid: "errors", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [
      h("strong", { text: "Errors from Python" }),
      btn("Clear", "errors-clear", "Clear the errors"),
    ]),
    errorsText,
  ]);
  const closeHelp = h("button", { type: "button", text: "Close", testid: "help-close" });
  buttons["help-close"] = closeHelp;
  const help = buildHelp(closeHelp, keymap.HELP);

  // The container takes focus so keys reach us; data-lm-suppress-shortcuts tells JupyterLab's
  // keymap (Lumino) to ignore keys from inside it, so "a", "x", Enter or Ctrl+Z edit labels
  // instead of inserting, cutting or running cells.
  const root = h("div", {
    class: "nbl-root", tabindex: "0", "data-lm-suppress-shortcuts": "true", testid: "annotator",
  }, [toolbar, nav, stripBox, stage, selectionLine, busyLine, messageLine, errorsBox, help]);
  root.classList.add("lm-suppress-shortcuts");
  setColorProperties(root, constants);

  return {
    root, canvas, stage, buttons, toolButtons, classSelect, thr, thrValue, hide, showRegions,
    regionsText, regionsToggle, indexInput, total, fileName, statusBadge, countsLine,
    frameSlider, frameLabel, frameCells, propagateN, stripBar, stripBox, selectionLine,
    messageLine, busyLine, errorsText, errorsBox, help,
  };
}

/** @typedef {ReturnType<typeof buildDom>} Dom */
