// nblabel Annotator: the browser half of nblabel.widgets.Annotator.
//
// render() wires the parts: state.js (the model's traits and the view's state), ui.js (the
// DOM), draw.js (the canvas), sync.js (Python -> screen), commands.js (what a control does,
// and the messages it sends), gestures.js (the pointer) and keys.js (the keymap), over the
// pure geometry.js (records) and view.js (the view, hit testing).

import { createCommands } from "./commands.js";
import { createPainter } from "./draw.js";
import { createGestures } from "./gestures.js";
import { createKeymap, onKeyUp } from "./keys.js";
import { createQueries, createState } from "./state.js";
import { createSync } from "./sync.js";
import { buildDom } from "./ui.js";

/**
 * @param {{ model: import("./state.js").Model, el: HTMLElement }} props
 * @returns {() => void} cleanup, when the view goes away
 */
function render({ model, el }) {
  const S = createState(model);
  const q = createQueries(model, S);
  // the tools, the status jumps and their keys are Python's: the keymap, the buttons and the
  // help follow them, and so do the colours (root custom properties the CSS reads)
  const keymap = createKeymap(q.constants().tools, q.constants().jumps);
  const dom = buildDom(keymap, q.constants());
  el.append(dom.root);
  const painter = createPainter({ model, S, q, canvas: dom.canvas, stage: dom.stage });
  const sync = createSync({ model, S, q, dom, painter });
  const cmd = createCommands({ model, S, q, dom, painter, sync });
  const { draw } = painter;
  const { root } = dom;
  const focusRoot = () => root.focus({ preventScroll: true });

  // ---------------------------------------------------------------- controls
  /** @type {Record<string, () => void>} button data-testid -> what it does */
  const clicks = {
    accept: cmd.acceptSelected,
    "accept-all": cmd.acceptAll,
    reject: cmd.deleteSelected,
    undo: () => cmd.request("undo"),
    redo: () => cmd.request("redo"),
    "help-button": () => cmd.toggleHelp(),
    "help-close": () => cmd.toggleHelp(false),
    prev: () => cmd.step(-1),
    next: () => cmd.step(1),
    submit: () => cmd.submit(),
    "submit-empty": () => cmd.submit(true),
    "prev-frame": () => cmd.stepFrame(-1),
    "next-frame": () => cmd.stepFrame(1),
    "next-flagged": () => cmd.request("next_flagged"),
    propagate: cmd.propagateSelected,
    "errors-clear": () => cmd.request("clear_errors"),
  };
  for (const name of Object.keys(dom.toolButtons)) clicks[`tool-${name}`] = () => cmd.setTool(name);
  for (const [status] of keymap.JUMPS) clicks[`next-${status}`] = () => cmd.nextStatus(status);
  for (const [testid, b] of Object.entries(dom.buttons)) {
    const act = clicks[testid];
    if (!act) throw new Error(`nblabel: button ${testid} does nothing`);
    b.addEventListener("click", () => act());
  }

  dom.classSelect.addEventListener("change", () => cmd.relabelOrPick(dom.classSelect.value));
  dom.thr.addEventListener("input", () => {
    S.threshold = Number(dom.thr.value);
    dom.thrValue.textContent = S.threshold.toFixed(2);
    draw();
  });
  dom.thr.addEventListener("change", () => {
    model.set("threshold", Number(dom.thr.value));
    model.save_changes();
  });
  dom.hide.addEventListener("change", () => {
    model.set("hide_below", dom.hide.checked);
    model.save_changes();
    draw();
  });
  dom.showRegions.addEventListener("change", () => {
    model.set("show_regions", dom.showRegions.checked);
    model.save_changes();
    draw();
  });
  dom.indexInput.addEventListener("change", () => cmd.gotoTyped());
  dom.frameSlider.addEventListener("change", () => {
    const m = (model.get("strip") || [])[Number(dom.frameSlider.value)];
    if (m) cmd.request("goto", { index: m.index });
  });
  dom.frameCells.addEventListener("click", (e) => {
    const cell = /** @type {HTMLElement} */ (e.target).closest("[data-index]");
    if (cell instanceof HTMLElement) cmd.request("goto", { index: Number(cell.dataset.index) });
  });

  createGestures({ model, S, q, dom, painter, sync, cmd }).attach();

  // after a click on one of our buttons or fields, keys go back to the shortcuts
  root.addEventListener("click", (e) => {
    if (/** @type {HTMLElement} */ (e.target).closest("button")) focusRoot();
  });
  root.addEventListener("change", (e) => {
    if (e.target !== dom.indexInput) focusRoot();
  });
  root.addEventListener("keydown", (e) => keymap.onKeyDown(e, root, cmd));
  root.addEventListener("keyup", (e) => onKeyUp(e, cmd));
  root.addEventListener("blur", () => { S.space = false; S.wheelZoom = false; });

  // ---------------------------------------------------------------- from Python
  // Python asks for the widget to come into view (a review-grid click opened an image here)
  /** @param {{ type?: string } | null} msg */
  function onCustom(msg) {
    if (!msg || msg.type !== "reveal") return;
    root.scrollIntoView({ block: "nearest", behavior: "auto" });
    focusRoot();
  }
  const images = () => { sync.refreshSlots(); draw(); };
  /** @type {[string, (...args: any[]) => void][]} */
  const listeners = [
    ["msg:custom", onCustom],
    ["change:annotations", sync.adoptRemote],
    ["change:ack", sync.adoptRemote],
    ["change:meta", sync.onMeta],
    ["change:slots", images],
    ["change:image_a", images],
    ["change:image_b", images],
    ["change:busy", sync.syncControls],
    ["change:message", sync.syncControls],
    ["change:errors", sync.syncControls],
    ["change:counts", sync.syncControls],
    ["change:classes", sync.syncControls],
    ["change:label", sync.syncControls],
    ["change:tool", sync.syncControls],
    ["change:threshold", sync.syncControls],
    ["change:hide_below", sync.syncControls],
    ["change:skeleton", draw],
    ["change:regions", () => { sync.syncRegions(); draw(); }],
    ["change:show_regions", sync.syncControls],
    ["change:strip", sync.syncStrip],
  ];
  for (const [name, fn] of listeners) model.on(name, fn);
  const observer = new ResizeObserver(() => painter.resize());
  observer.observe(dom.stage);

  sync.syncControls();
  sync.onMeta();
  painter.resize();
  sync.showSelection();

  return () => {
    for (const [name, fn] of listeners) model.off(name, fn);
    observer.disconnect();
    painter.dispose();
  };
}

export default { render };
