// What a button, a key or a finished gesture does. Each edit updates the local copy of the
// objects at once and becomes ONE message {kind, seq, index, ...} sent to Python with
// model.send (messages are never merged, unlike state set on a trait); Python checks it,
// writes it to the Dataset and answers with the Dataset's state (`annotations`) and the seq
// it handled (`ack`) in one state update, see sync.js.

import { accept, bboxOfPoints, clone, isPrediction, keypointBox, own, placedByHand, polygonRecord, shapeOf } from "./geometry.js";
import { VIS_CYCLE, noSelection } from "./state.js";

/** @typedef {import("./geometry.js").Ann} Ann */
/** @typedef {import("./geometry.js").Keypoint} Keypoint */

/**
 * @param {object} deps
 * @param {import("./state.js").Model} deps.model
 * @param {import("./state.js").State} deps.S
 * @param {import("./state.js").Queries} deps.q
 * @param {import("./ui.js").Dom} deps.dom
 * @param {import("./draw.js").Painter} deps.painter
 * @param {import("./sync.js").Sync} deps.sync
 */
export function createCommands({ model, S, q, dom, painter, sync }) {
  const { draw } = painter;
  const { showSelection, syncControls } = sync;

  /**
   * One message to Python (its kinds and fields: nblabel.widgets.annotator.MESSAGES).
   * @param {string} kind
   * @param {Record<string, unknown>} [payload]
   */
  function request(kind, payload = {}) {
    S.seq = Math.max(S.seq, model.get("ack") || 0) + 1;
    S.sent = S.seq;
    model.send({ kind, seq: S.seq, index: q.meta().index, ...payload });
  }

  /**
   * One committed edit: update the local copy at once, then tell Python.
   * @param {string} kind
   * @param {Ann[]} anns
   */
  function commit(kind, anns) {
    // an edit appends new objects (no id until Python stores them); deleteSelected drops its
    // object's id itself
    while (S.ids.length < anns.length) S.ids.push("");
    S.anns = anns;
    if (S.sel.i >= anns.length) S.sel = noSelection();
    request("edit", { edit: kind, annotations: clone(anns) });
    draw();
  }

  /** @param {string} text */
  function say(text) {
    dom.messageLine.textContent = text;
  }

  /**
   * The selected object replaced by `next` (an edit of kind `kind`).
   * @param {string} kind
   * @param {Ann} next
   */
  function replaceSelected(kind, next) {
    const anns = [...S.anns];
    anns[S.sel.i] = next;
    commit(kind, anns);
    showSelection();
  }

  /** @param {string} name */
  function setTool(name) {
    S.drawing = null;
    model.set("tool", name);
    model.save_changes();
    syncControls();
  }

  /**
   * The class of the selected object, or of the next one drawn.
   * @param {string} label
   */
  function relabelOrPick(label) {
    if (!q.classes().includes(label)) return;
    model.set("label", label);
    model.save_changes();
    const a = q.selected();
    if (a && a.label !== label) replaceSelected("relabelled", own({ ...clone(a), label }));
    syncControls();
  }

  function acceptSelected() {
    const a = q.selected();
    if (!a || !isPrediction(a)) return say("Select a prediction (dashed) to accept it.");
    replaceSelected("accepted", accept(clone(a)));
  }

  function acceptAll() {
    let n = 0;
    const anns = S.anns.map((a) => {
      if (!isPrediction(a) || Number(a.score) < S.threshold) return a;
      n += 1;
      return accept(clone(a));
    });
    if (!n) return say(`No prediction scores ${S.threshold.toFixed(2)} or more.`);
    commit("accepted", anns);
    say(`Accepted ${n} prediction${n > 1 ? "s" : ""}.`);
    showSelection();
  }

  function deleteSelected() {
    const a = q.selected();
    if (!a) return say("Select an object first.");
    const anns = S.anns.filter((_, i) => i !== S.sel.i);
    S.ids = S.ids.filter((_, i) => i !== S.sel.i);
    S.sel = noSelection();
    commit(isPrediction(a) ? "rejected" : "deleted", anns);
    showSelection();
  }

  /**
   * @param {number} i object
   * @param {number} k vertex
   */
  function deleteVertex(i, k) {
    const a = S.anns[i];
    const points = a.points || [];
    if (points.length <= 3) return say("A polygon needs 3 vertices; delete the object instead (x).");
    const next = own(clone(a));
    const kept = points.filter((_, j) => j !== k);
    next.points = kept;
    next.bbox = bboxOfPoints(kept);
    S.sel = { i, v: -1 };
    replaceSelected("resized", next);
  }

  /**
   * Keypoint visibility of the selected point: `v`, or the next in the cycle.
   * @param {number} [v]
   */
  function setVisibility(v) {
    const a = q.selected();
    if (!a || shapeOf(a) !== "keypoints" || S.sel.v < 0) return say("Select a keypoint first.");
    const next = own(clone(a));
    const kps = /** @type {Keypoint[]} */ (next.keypoints);
    const k = kps[S.sel.v];
    kps[S.sel.v] = [k[0], k[1], v === undefined ? VIS_CYCLE[k[2]] : v];
    placedByHand(next, S.sel.v);
    next.bbox = keypointBox(next, q.W(), q.H());
    replaceSelected("relabelled", next);
  }

  // Delete/Backspace: the last vertex of a polygon being drawn, else the selected vertex,
  // else hide the selected keypoint, else the selected object.
  function onDelete() {
    if (S.drawing) {
      S.drawing.points.pop();
      if (!S.drawing.points.length) S.drawing = null;
      return draw();
    }
    const a = q.selected();
    if (!a) return say("Select an object first.");
    if (shapeOf(a) === "polygon" && S.sel.v >= 0) return deleteVertex(S.sel.i, S.sel.v);
    if (shapeOf(a) === "keypoints" && S.sel.v >= 0) return setVisibility(0);
    deleteSelected();
  }

  /** @param {number} step */
  function cycleSelection(step) {
    const visible = S.anns.map((a, i) => (q.hidden(a) ? -1 : i)).filter((i) => i >= 0);
    if (!visible.length) return;
    const at = visible.indexOf(S.sel.i);
    const j = at < 0 ? (step > 0 ? 0 : visible.length - 1) : (at + step + visible.length) % visible.length;
    S.sel = { i: visible[j], v: -1 };
    showSelection();
    draw();
  }

  function closePolygon() {
    const pts = S.drawing ? S.drawing.points : [];
    S.drawing = null;
    if (pts.length < 3) return draw();
    const anns = [...S.anns, polygonRecord(model.get("label"), pts)];
    S.sel = { i: anns.length - 1, v: -1 };
    commit("added", anns);
    showSelection();
  }

  function propagateSelected() {
    const n = Math.max(1, Math.floor(Number(dom.propagateN.value) || 5));
    const a = q.selected();
    request("propagate", { n, track: a && q.tracked(a) ? a.track : null });
  }

  // Python refuses to verify an image with nothing on screen unless `empty` says the person
  // meant it ("Nothing here", e): Enter is a notebook habit, a verified empty image is a claim.
  function submit(empty = false) {
    S.drawing = null;
    request("submit", { annotations: clone(S.anns), empty });
  }

  function gotoTyped() {
    const n = Number(dom.indexInput.value);
    if (Number.isInteger(n) && n >= 1) request("goto", { index: n - 1 });
  }

  /** @param {boolean} [show] */
  function toggleHelp(show) {
    dom.help.hidden = show === undefined ? !dom.help.hidden : !show;
    if (dom.help.hidden) dom.root.focus({ preventScroll: true });
  }

  return {
    request,
    commit,
    say,
    setTool,
    relabelOrPick,
    acceptSelected,
    acceptAll,
    deleteSelected,
    deleteVertex,
    setVisibility,
    onDelete,
    cycleSelection,
    closePolygon,
    propagateSelected,
    submit,
    gotoTyped,
    toggleHelp,
    /** @param {number} delta */
    step: (delta) => request("step", { delta }),
    /** @param {number} delta */
    stepFrame: (delta) => request("step_frame", { delta }),
    /** @param {string} status */
    nextStatus: (status) => request("next_status", { status }),
    /** Number key n: the n-th class. */
    pickClass: (/** @type {number} */ n) => {
      const name = q.classes()[n - 1];
      if (name) relabelOrPick(name);
    },
    /** Enter closes the polygon being drawn, else submits the image. */
    enter: () => (S.drawing ? closePolygon() : submit()),
    /**
     * Esc closes the help, else cancels the polygon, else deselects; false when there was
     * nothing to cancel (the key then goes on to the notebook).
     */
    escape: () => {
      if (!dom.help.hidden) toggleHelp(false);
      else if (S.drawing) S.drawing = null;
      else if (S.sel.i >= 0) S.sel = noSelection();
      else return false;
      showSelection();
      draw();
      return true;
    },
    toggleHideBelow: () => {
      model.set("hide_below", !model.get("hide_below"));
      model.save_changes();
      syncControls();
    },
    holdSpace: () => {
      S.space = true;
      dom.canvas.style.cursor = "grab";
    },
    releaseSpace: () => {
      S.space = false;
      dom.canvas.style.cursor = "crosshair";
    },
    fitImage: () => {
      S.view.fitted = true;
      painter.fit();
      draw();
    },
  };
}

/** @typedef {ReturnType<typeof createCommands>} Commands */
