// The keymap: ONE table whose rows are both the help overlay's lines and the keydown
// handler's bindings, so a key cannot work without being listed, nor be listed without
// working. The drawing tools and the status jumps with their keys are Python's
// (nblabel.widgets.annotator TOOL_TABLE and JUMP_TABLE, sent in the `constants` trait):
// createKeymap(tools, jumps) builds the table around them. No DOM here: node's test runner
// checks the table.

/** @typedef {import("./commands.js").Commands} Commands */

/**
 * What keydown needs to know of a key event (a KeyboardEvent has it all).
 * @typedef {{ key: string, shiftKey?: boolean, ctrlKey?: boolean, metaKey?: boolean, altKey?: boolean }} KeyLike
 */

/**
 * A key's action; it returns false to leave the key to the notebook.
 * @typedef {(app: Commands) => boolean | void} KeyAction
 */

/**
 * One line of the help: its keys as shown, what they do, the chords bound to that (each named
 * in `keys`), and aliases (`also`: chords not worth a mention that do the same as one of
 * `on`). A line without chords describes a pointer gesture.
 * @typedef {object} KeyRow
 * @property {string} keys
 * @property {string} does
 * @property {Record<string, KeyAction>} [on]
 * @property {Record<string, KeyAction>} [also]
 */

/** @typedef {[name: string, label: string, key: string]} Tool tool name, button label, key */
/** @typedef {[status: string, key: string]} Jump go to the next image with this status */

/** @type {KeyAction} */
const reject = (app) => app.deleteSelected();
/** @type {KeyAction} */
const deleteKey = (app) => app.onDelete();
/** @type {KeyAction} */
const next = (app) => app.step(1);
/** @type {KeyAction} */
const prev = (app) => app.step(-1);
/** @type {KeyAction} */
const redo = (app) => app.request("redo");
/** @type {KeyAction} */
const fit = (app) => app.fitImage();

/**
 * The keymap around the drawing tools and status jumps Python sent, with its help lines and
 * its bindings (a chord bound twice, a tool key clashing with another key included, is an
 * error here).
 * @param {Tool[]} TOOLS
 * @param {Jump[]} [JUMPS]
 */
export function createKeymap(TOOLS, JUMPS = []) {
  /** @type {KeyRow[]} */
  const KEYMAP = [
    {
      keys: TOOLS.map((t) => t[2]).join(" / "),
      does: `Tool: ${TOOLS.map((t) => t[1].toLowerCase()).join(" / ")} (drag a rectangle)`,
      on: Object.fromEntries(TOOLS.map(([name, , key]) => [key, (app) => app.setTool(name)])),
    },
    { keys: "Drag on the image", does: "Draw a box (box tool), a keypoint set (keypoints), a rectangle to outline (auto)" },
    { keys: "Shift + drag", does: "Draw even when starting on an existing object" },
    { keys: "Click", does: "Select an object; drag it to move, drag a handle to resize" },
    { keys: "Polygon: click, click, ...", does: "Add vertices; click the first vertex or press Enter to close" },
    { keys: "Polygon: drag ○ on an edge", does: "Insert a vertex there" },
    { keys: "Alt + click a vertex", does: "Delete that vertex" },
    {
      keys: "Delete / Backspace",
      does: "Delete the selected vertex, hide the selected keypoint, or delete the object",
      on: { Delete: deleteKey, Backspace: deleteKey },
      also: { "Alt+Delete": deleteKey, "Alt+Backspace": deleteKey },
    },
    { keys: "v", does: "Keypoint visibility: visible → occluded → absent", on: { v: (app) => app.setVisibility() } },
    {
      keys: "1 – 9",
      does: "Class of the selected object (or of the next one drawn)",
      on: Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [String(n), (app) => app.pickClass(n)])),
    },
    { keys: "a", does: "Accept the selected prediction or suggestion", on: { a: (app) => app.acceptSelected() } },
    { keys: "Shift + a", does: "Accept every prediction above the threshold", on: { A: (app) => app.acceptAll() } },
    { keys: "x", does: "Reject the selected prediction (delete a label)", on: { x: reject }, also: { X: reject } },
    {
      keys: "[ / ]",
      does: "Select the previous / next object",
      on: { "[": (app) => app.cycleSelection(-1), "]": (app) => app.cycleSelection(1) },
    },
    { keys: "h", does: "Hide the suggestions: predictions (and keypoints) scored below the threshold, which a submit leaves out unless taken", on: { h: (app) => app.toggleHideBelow() } },
    { keys: "Hover a keypoint", does: "Its name and score; the point's size shows its score" },
    {
      keys: "Enter",
      does: "Submit (mark verified) and go to the next image; an image with no objects needs e",
      on: { Enter: (app) => app.enter() },
    },
    { keys: "e", does: "Nothing here: verify that the image has no objects, and go on", on: { e: (app) => app.submit(true) } },
    {
      keys: "Shift + Enter",
      does: "Nothing (it never submits: in a notebook it runs a cell)",
      // handled, so it never reaches JupyterLab; it only says what to press instead
      on: { "Shift+Enter": (app) => app.say("Shift+Enter does nothing here: Enter submits this image, e verifies it as empty.") },
    },
    { keys: "n / → , p / ←", does: "Next / previous image", on: { n: next, ArrowRight: next, p: prev, ArrowLeft: prev } },
    // one line for the status jumps, none when Python sent none
    ...(JUMPS.length ? [{
      keys: JUMPS.map((j) => j[1]).join(" / "),
      does: `Next ${JUMPS.map((j) => j[0]).join(" / ")} image`,
      /** @type {Record<string, KeyAction>} */
      on: Object.fromEntries(JUMPS.map(([status, key]) => [key, (/** @type {Commands} */ app) => app.nextStatus(status)])),
    }] : []),
    {
      keys: ", / .",
      does: "Video: previous / next frame",
      on: { ",": (app) => app.stepFrame(-1), ".": (app) => app.stepFrame(1) },
    },
    { keys: "j", does: "Video: next frame where a track jumped or a point was flagged", on: { j: (app) => app.request("next_flagged") } },
    { keys: "t", does: "Video: copy the selected object (or all) to the next N frames", on: { t: (app) => app.propagateSelected() } },
    { keys: "Ctrl/Cmd + z", does: "Undo", on: { "Mod+z": (app) => app.request("undo") } },
    { keys: "Ctrl/Cmd + Shift + z, Ctrl/Cmd + y", does: "Redo", on: { "Mod+Shift+z": redo, "Mod+y": redo } },
    { keys: "Ctrl/⌘ + wheel, pinch", does: "Zoom at the pointer (the wheel alone scrolls the notebook)" },
    { keys: "Wheel after a click on the image", does: "Zoom too, until the pointer leaves the image" },
    { keys: "Space + drag, middle drag", does: "Pan", on: { " ": (app) => app.holdSpace() } },
    { keys: "f or 0", does: "Fit the image", on: { f: fit, 0: fit } },
    { keys: "Esc", does: "Cancel the polygon being drawn, deselect, close this help", on: { Escape: (app) => app.escape() } },
    { keys: "?", does: "Show / hide this help", on: { "?": (app) => app.toggleHelp() } },
  ];

  /** @type {[keys: string, does: string][]} the help overlay's lines */
  const HELP = KEYMAP.map((r) => [r.keys, r.does]);
  const BINDINGS = bindings(KEYMAP);

  /**
   * The action for a key event, or undefined. A chord with Shift falls back to the same chord
   * without it: Shift is already in the key of a printable character ("A", "?"), and Shift
   * with an arrow or Esc does what the key alone does.
   * @param {KeyLike} e
   * @returns {KeyAction | undefined}
   */
  function actionFor(e) {
    const chord = chordOf(e);
    return BINDINGS.get(chord) ?? BINDINGS.get(chord.replace("Shift+", ""));
  }

  /**
   * Run the key's action; true when the key was ours (so it goes no further).
   * @param {KeyLike} e
   * @param {Commands} app
   */
  function handleKey(e, app) {
    const act = actionFor(e);
    return act !== undefined && act(app) !== false;
  }

  /**
   * Keys typed into our own fields stay there (Enter or Esc hands keys back to the shortcuts);
   * any other key of ours is handled and stopped, so JupyterLab never sees it.
   * @param {KeyboardEvent} e
   * @param {HTMLElement} root
   * @param {Commands} app
   */
  function onKeyDown(e, root, app) {
    const t = /** @type {HTMLElement} */ (e.target);
    if (t !== root && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      // Enter or Esc leaves the field (its change event does the rest) and hands keys back
      if (e.key === "Enter" || e.key === "Escape") root.focus({ preventScroll: true });
      e.stopPropagation(); // typing in our own fields is not a notebook command either
      return;
    }
    if (handleKey(e, app)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  return { TOOLS, JUMPS, KEYMAP, HELP, actionFor, handleKey, onKeyDown };
}

/** @typedef {ReturnType<typeof createKeymap>} Keymap */

/**
 * Every chord of the table, to its action; a chord bound twice is an error at load.
 * @param {KeyRow[]} rows
 * @returns {Map<string, KeyAction>}
 */
export function bindings(rows) {
  const out = new Map();
  for (const row of rows) {
    for (const [chord, act] of [...Object.entries(row.on || {}), ...Object.entries(row.also || {})]) {
      if (out.has(chord)) throw new Error(`key ${JSON.stringify(chord)} is bound twice in the keymap`);
      out.set(chord, act);
    }
  }
  return out;
}

/**
 * A key event as a chord: "Mod+" (Ctrl or Cmd), then "Alt+", then "Shift+", then the key
 * (lower case under Mod, where Shift does not change it).
 * @param {KeyLike} e
 */
export function chordOf(e) {
  const shift = e.shiftKey ? "Shift+" : "";
  if (e.ctrlKey || e.metaKey) return `Mod+${shift}${e.key.toLowerCase()}`;
  return `${e.altKey ? "Alt+" : ""}${shift}${e.key}`;
}

/**
 * How the help names a chord: "Mod+Shift+z" is "Ctrl/Cmd + Shift + z", "A" is "Shift + a".
 * @param {string} chord
 */
export function describe(chord) {
  /** @type {Record<string, string>} */
  const names = { ArrowRight: "→", ArrowLeft: "←", Escape: "Esc", " ": "Space" };
  const parts = chord.split(/\+(?=.)/);
  let key = /** @type {string} */ (parts.pop());
  const mods = parts.map((m) => (m === "Mod" ? "Ctrl/Cmd" : m));
  if (/^[A-Z]$/.test(key)) {
    mods.push("Shift");
    key = key.toLowerCase();
  }
  return [...mods, names[key] || key].join(" + ");
}

/**
 * Releasing Space ends panning.
 * @param {KeyboardEvent} e
 * @param {Commands} app
 */
export function onKeyUp(e, app) {
  if (e.key === " ") {
    app.releaseSpace();
    e.preventDefault();
    e.stopPropagation();
  }
}
