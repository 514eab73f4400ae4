// Pointer handling on the canvas: select, draw, move, resize, drag vertices and keypoints,
// pan and zoom. A gesture edits the local copy while the pointer moves; its end is ONE
// committed edit (commands.commit), so Python sees one write per gesture.

import {
  HANDLE_CURSORS, clamp, clampBox, clone, keypointRecord, moveKeypoint, moveVertex, normBox, own,
  resizeBox, shapeOf, translate,
} from "./geometry.js";
import { HIT, hitHandle, hitObject, hitPoint, hitShownPoint, near, toImg } from "./view.js";
import { noSelection } from "./state.js";

/** @typedef {import("./geometry.js").Point} Point */
/** @typedef {import("./view.js").Handle} Handle */

export const MIN_DRAG = 4; // a drag shorter than this (CSS pixels) is a click

/**
 * @param {object} deps
 * @param {import("./state.js").Model} deps.model
 * @param {import("./state.js").State} deps.S
 * @param {import("./state.js").Queries} deps.q
 * @param {import("./ui.js").Dom} deps.dom
 * @param {import("./draw.js").Painter} deps.painter
 * @param {import("./sync.js").Sync} deps.sync
 * @param {import("./commands.js").Commands} deps.cmd
 */
export function createGestures({ model, S, q, dom, painter, sync, cmd }) {
  const { canvas, root } = dom;
  const { draw } = painter;
  const { showSelection, adoptRemote } = sync;

  /** @param {MouseEvent} e @returns {Point} canvas CSS pixels */
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  /** @param {Point} p @returns {Point} */
  const inImage = (p) => [clamp(p[0], 0, q.W()), clamp(p[1], 0, q.H())];

  /** @param {PointerEvent} e */
  function onPointerDown(e) {
    root.focus({ preventScroll: true });
    S.wheelZoom = true;
    const [cx, cy] = point(e);
    const p = toImg(S.view, cx, cy);
    canvas.setPointerCapture?.(e.pointerId);
    if (e.button === 1 || (e.button === 0 && S.space)) {
      S.gesture = { type: "pan", cx, cy, ox: S.view.ox, oy: S.view.oy };
      e.preventDefault();
      return;
    }
    if (e.button !== 0) return;
    e.preventDefault();
    if (S.waitingAuto) return cmd.say("Waiting for the outline of the last rectangle...");
    const tool = model.get("tool");
    if (S.drawing) return addVertex(p, cx, cy);
    if (!e.shiftKey) {
      const hnd = hitHandle(q.selected(), S.view, cx, cy, q.vis);
      if (hnd) return startHandle(hnd, p, e);
      const i = hitObject(S.anns, S.view, cx, cy, q.vis);
      if (i >= 0) {
        S.sel = { i, v: -1 };
        const a = S.anns[i];
        if (shapeOf(a) === "keypoints") {
          const k = hitShownPoint(a, S.view, cx, cy, q.vis);
          if (k >= 0) return startHandle({ type: "kp", k }, p, e);
        }
        S.gesture = { type: "move", start: p, orig: clone(a), i, moved: false };
        showSelection();
        return draw();
      }
    }
    S.sel = noSelection();
    showSelection();
    if (tool === "polygon") {
      S.drawing = { points: [] };
      return addVertex(p, cx, cy);
    }
    S.gesture = { type: "draw", tool, start: p, now: p, moved: false };
    draw();
  }

  /** @param {Handle} hnd @param {Point} p @param {PointerEvent} e */
  function startHandle(hnd, p, e) {
    const a = S.anns[S.sel.i];
    if (hnd.type === "vertex" && e.altKey) {
      S.sel.v = -1;
      return cmd.deleteVertex(S.sel.i, hnd.k);
    }
    if (hnd.type === "mid") {
      // insert a vertex on that edge and drag it straight away
      const next = clone(a);
      (next.points || []).splice(hnd.k + 1, 0, [p[0], p[1]]);
      S.anns[S.sel.i] = next;
      S.sel.v = hnd.k + 1;
      S.gesture = { type: "vertex", k: hnd.k + 1, start: p, orig: clone(next), before: a, moved: true };
      return draw();
    }
    if (hnd.type === "vertex" || hnd.type === "kp") S.sel.v = hnd.k;
    S.gesture = { type: hnd.type, k: hnd.k, start: p, orig: clone(a), before: a, moved: false };
    showSelection();
    draw();
  }

  /** @param {Point} p @param {number} cx @param {number} cy */
  function addVertex(p, cx, cy) {
    const pts = S.drawing ? S.drawing.points : [];
    if (pts.length >= 3 && near(S.view, pts[0], cx, cy, HIT + 3)) return cmd.closePolygon();
    if (pts.length && near(S.view, pts[pts.length - 1], cx, cy, 2)) return; // double click
    pts.push(inImage(p));
    draw();
  }

  /** @param {PointerEvent} e */
  function onPointerMove(e) {
    const [cx, cy] = point(e);
    S.mouse = toImg(S.view, cx, cy);
    const g = S.gesture;
    if (!g) {
      updateCursor(cx, cy);
      const hv = S.drawing ? null : hitPoint(S.anns, S.sel.i, S.view, cx, cy, q.vis);
      if (hv?.i !== S.hover?.i || hv?.k !== S.hover?.k) {
        S.hover = hv;
        draw();
      } else if (S.drawing) draw();
      return;
    }
    if (g.type === "pan") {
      S.view = { ...S.view, ox: g.ox + cx - g.cx, oy: g.oy + cy - g.cy, fitted: false };
      return draw();
    }
    const p = S.mouse;
    const dx = p[0] - g.start[0], dy = p[1] - g.start[1];
    if (!g.moved && Math.hypot(dx, dy) * S.view.s < MIN_DRAG / 2) return;
    g.moved = true;
    const i = S.sel.i, W = q.W(), H = q.H();
    // each move starts again from the record as it was when the gesture began (g.orig): a
    // new record that shares what the move leaves alone, instead of a deep copy per event
    if (g.type === "draw") g.now = inImage(p);
    else if (g.type === "move") S.anns[i] = translate(g.orig, dx, dy, W, H);
    else if (g.type === "box") S.anns[i] = { ...g.orig, bbox: resizeBox(g.orig.bbox, g.k, dx, dy, W, H) };
    else if (g.type === "vertex") S.anns[i] = moveVertex(g.orig, g.k, p, W, H);
    else if (g.type === "kp") S.anns[i] = moveKeypoint(g.orig, g.k, p, W, H);
    draw();
  }

  /** @param {PointerEvent} e */
  function onPointerUp(e) {
    const g = S.gesture;
    S.gesture = null;
    canvas.releasePointerCapture?.(e.pointerId);
    if (!g || g.type === "pan") return adoptRemote();
    const anns = S.anns;
    if (g.type === "draw") {
      const b = clampBox(normBox([...g.start, ...g.now]), q.W(), q.H());
      const big = (b[2] - b[0]) * S.view.s >= MIN_DRAG && (b[3] - b[1]) * S.view.s >= MIN_DRAG;
      if (!g.moved || !big) return draw();
      const label = model.get("label");
      if (g.tool === "auto") {
        S.waitingAuto = true;
        S.autoFrom = S.anns.length;
        dom.busyLine.textContent = "Finding the object's outline...";
        cmd.request("auto", { box: b, label });
        return draw();
      }
      const rec = g.tool === "keypoints" ? keypointRecord(label, b, q.skeleton())
        : { label, bbox: b, points: null, keypoints: null, score: null, source: "human" };
      S.sel = { i: anns.length, v: -1 };
      cmd.commit("added", [...anns, rec]);
      return showSelection();
    }
    if (!g.moved) {
      if (g.type === "vertex" && g.before) S.anns[S.sel.i] = g.before;
      adoptRemote();
      return draw();
    }
    // the record on screen is a copy made during the move (g.orig never is): ours to own
    own(S.anns[S.sel.i]);
    const kind = g.type === "move" || g.type === "kp" ? "moved" : "resized";
    cmd.commit(kind, [...anns]);
    showSelection();
  }

  /** @param {number} cx @param {number} cy */
  function updateCursor(cx, cy) {
    let cursor = "crosshair";
    if (S.space) cursor = "grab";
    else if (!S.drawing) {
      const hnd = hitHandle(q.selected(), S.view, cx, cy, q.vis);
      if (hnd) cursor = hnd.type === "box" ? HANDLE_CURSORS[hnd.k] : "pointer";
      else if (hitObject(S.anns, S.view, cx, cy, q.vis) >= 0) cursor = "move";
    }
    canvas.style.cursor = cursor;
  }

  // Like a map in a web page: the wheel scrolls the notebook past the image, Ctrl/Cmd+wheel
  // (a trackpad pinch sends ctrlKey too) zooms, and so does the plain wheel once the user
  // clicked into the image, until the pointer leaves it.
  /** @param {WheelEvent} e */
  function onWheel(e) {
    if (!(e.ctrlKey || e.metaKey || S.wheelZoom)) {
      const hint = "Ctrl/⌘ + wheel zooms (or click the image first); the wheel scrolls the notebook.";
      if (dom.messageLine.textContent !== hint) cmd.say(hint);
      return;
    }
    e.preventDefault();
    const [cx, cy] = point(e);
    painter.zoomAt(cx, cy, Math.exp(-e.deltaY * 0.0015));
  }

  function onLeave() {
    S.wheelZoom = false;
    if (S.hover) {
      S.hover = null;
      draw();
    }
  }

  /** Listen on the canvas. */
  function attach() {
    canvas.addEventListener("pointerdown", onPointerDown);
    canvas.addEventListener("pointermove", onPointerMove);
    canvas.addEventListener("pointerup", onPointerUp);
    canvas.addEventListener("pointercancel", onPointerUp);
    canvas.addEventListener("wheel", onWheel, { passive: false });
    canvas.addEventListener("pointerleave", onLeave);
    canvas.addEventListener("contextmenu", (e) => S.gesture && e.preventDefault());
    // a middle-button press would start the browser's autoscroll instead of panning
    canvas.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault());
  }

  return { attach };
}
