// src/geometry.js
var clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
function clone(x) {
  return JSON.parse(JSON.stringify(x));
}
var isPrediction = (a) => a.score !== null && a.score !== void 0;
function shapeOf(a) {
  if (Array.isArray(a.points) && a.points.length) return "polygon";
  if (Array.isArray(a.keypoints) && a.keypoints.length) return "keypoints";
  return "box";
}
function own(a) {
  a.score = null;
  a.source = "human";
  return a;
}
function accept(a) {
  own(a);
  delete a.keypoint_scores;
  return a;
}
function pointScore(a, k) {
  const s = Array.isArray(a.keypoint_scores) ? a.keypoint_scores[k] : null;
  return typeof s === "number" && Number.isFinite(s) ? s : null;
}
function placedByHand(a, k) {
  if (Array.isArray(a.keypoint_scores) && k < a.keypoint_scores.length) a.keypoint_scores[k] = null;
  return a;
}
function skeletonFor(a, skeletons) {
  const n = (a.keypoints || []).length;
  const fits = (s) => !!s && Array.isArray(s.names) && s.names.length === n;
  return a.skeleton && skeletons.filter(fits).find((s) => s.name === a.skeleton) || skeletons.find(fits) || null;
}
function bboxOfPoints(pts) {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const p of pts) {
    x1 = Math.min(x1, p[0]);
    y1 = Math.min(y1, p[1]);
    x2 = Math.max(x2, p[0]);
    y2 = Math.max(y2, p[1]);
  }
  return [x1, y1, x2, y2];
}
function normBox(b) {
  return [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
}
function clampBox(b, W, H) {
  return [clamp(b[0], 0, W), clamp(b[1], 0, H), clamp(b[2], 0, W), clamp(b[3], 0, H)];
}
function keypointBox(a, W, H) {
  const seen = (a.keypoints || []).filter((k) => k[2] > 0);
  if (!seen.length) return a.bbox;
  const [x1, y1, x2, y2] = bboxOfPoints(seen);
  const mx = Math.max((x2 - x1) * 0.1, 2), my = Math.max((y2 - y1) * 0.1, 2);
  return clampBox([x1 - mx, y1 - my, x2 + mx, y2 + my], W, H);
}
function translate(orig, dx, dy, W, H) {
  const [x1, y1, x2, y2] = orig.bbox;
  dx = clamp(dx, -x1, W - x2);
  dy = clamp(dy, -y1, H - y2);
  const a = { ...orig, bbox: (
    /** @type {Box} */
    [x1 + dx, y1 + dy, x2 + dx, y2 + dy]
  ) };
  if (orig.points) a.points = orig.points.map((p) => [p[0] + dx, p[1] + dy]);
  if (orig.keypoints) a.keypoints = orig.keypoints.map((k) => [k[0] + dx, k[1] + dy, k[2]]);
  return a;
}
function moveVertex(orig, k, p, W, H) {
  const points = [...orig.points || []];
  points[k] = [clamp(p[0], 0, W), clamp(p[1], 0, H)];
  return { ...orig, points, bbox: bboxOfPoints(points) };
}
function moveKeypoint(orig, k, p, W, H) {
  const keypoints = [...orig.keypoints || []];
  keypoints[k] = [clamp(p[0], 0, W), clamp(p[1], 0, H), keypoints[k][2] || 2];
  const a = { ...orig, keypoints };
  if (Array.isArray(orig.keypoint_scores)) a.keypoint_scores = [...orig.keypoint_scores];
  placedByHand(a, k);
  a.bbox = keypointBox(a, W, H);
  return a;
}
var HANDLE_CURSORS = [
  "nwse-resize",
  "ns-resize",
  "nesw-resize",
  "ew-resize",
  "nwse-resize",
  "ns-resize",
  "nesw-resize",
  "ew-resize"
];
function boxHandles(b) {
  const [x1, y1, x2, y2] = b;
  const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
  return [[x1, y1], [mx, y1], [x2, y1], [x2, my], [x2, y2], [mx, y2], [x1, y2], [x1, my]];
}
function resizeBox(b, handle, dx, dy, W, H) {
  let [x1, y1, x2, y2] = b;
  if ([0, 6, 7].includes(handle)) x1 += dx;
  if ([2, 3, 4].includes(handle)) x2 += dx;
  if ([0, 1, 2].includes(handle)) y1 += dy;
  if ([4, 5, 6].includes(handle)) y2 += dy;
  return clampBox(normBox([x1, y1, x2, y2]), W, H);
}
function midpoints(points) {
  return points.map((p, i) => {
    const q = points[(i + 1) % points.length];
    return [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
  });
}
function insideBox(b, x, y, pad = 0) {
  return x >= b[0] - pad && x <= b[2] + pad && y >= b[1] - pad && y <= b[3] + pad;
}
function insidePolygon(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i], [xj, yj] = points[j];
    if (yi > y !== yj > y && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
var area = (b) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
function polygonRecord(label, points) {
  return {
    label,
    bbox: bboxOfPoints(points),
    points: points.map((p) => [p[0], p[1]]),
    keypoints: null,
    score: null,
    source: "human"
  };
}
function keypointRecord(label, box, skeleton) {
  const [x1, y1, x2, y2] = box;
  const layout = skeleton.layout || [];
  const keypoints = skeleton.names.map((_, i) => {
    const [fx, fy] = layout[i] || [0.5, 0.5];
    return (
      /** @type {Keypoint} */
      [x1 + fx * (x2 - x1), y1 + fy * (y2 - y1), 2]
    );
  });
  return { label, bbox: [x1, y1, x2, y2], points: null, keypoints, score: null, source: "human" };
}

// src/state.js
var VIS_CYCLE = { 2: 1, 1: 0, 0: 2 };
var VIS_NAMES = ["absent", "occluded", "visible"];
var NO_SELECTION = Object.freeze({ i: -1, v: -1 });
var noSelection = () => ({ ...NO_SELECTION });
function createState(model) {
  const slot = () => ({ dv: null, index: -1, bmp: null, token: 0 });
  return {
    anns: clone(model.get("annotations") || []),
    ids: [...model.get("ids") || []],
    sel: noSelection(),
    view: { s: 1, ox: 0, oy: 0, fitted: true },
    cssW: 800,
    cssH: 500,
    dpr: 1,
    drawing: null,
    gesture: null,
    mouse: null,
    hover: null,
    seq: 0,
    sent: 0,
    space: false,
    wheelZoom: false,
    threshold: model.get("threshold"),
    slots: { a: slot(), b: slot() },
    shownIndex: null,
    waitingAuto: false,
    autoFrom: 0,
    classNames: null
  };
}
function createQueries(model, S) {
  const meta = () => model.get("meta") || {};
  const classes = () => model.get("classes") || [];
  const skeleton = () => model.get("skeleton") || { names: [], edges: [], layout: [] };
  const constants = () => model.get("constants");
  const color = (label) => {
    const i = classes().indexOf(label);
    const palette = constants().palette;
    return i < 0 ? constants().unknown_color : palette[i % palette.length];
  };
  const tracked = (a) => Number.isInteger(a.track);
  const colorOf = (a) => {
    const palette = constants().palette;
    return tracked(a) ? palette[(Number(a.track) - 1 + palette.length) % palette.length] : color(a.label);
  };
  const hidden = (a) => isPrediction(a) && model.get("hide_below") && Number(a.score) < S.threshold;
  const skeletonOf = (a) => skeletonFor(a, [skeleton(), ...Object.values(constants().skeletons)]);
  const lowPoint = (a, k) => {
    const s = pointScore(a, k);
    return s !== null && s < S.threshold;
  };
  const pointHidden = (a, k) => lowPoint(a, k) && model.get("hide_below");
  const vis = { hidden, pointHidden };
  return {
    constants,
    meta,
    W: () => meta().width || 1,
    H: () => meta().height || 1,
    classes,
    skeleton,
    color,
    tracked,
    colorOf,
    hidden,
    regions: () => model.get("regions") || [],
    skeletonOf,
    /** @param {Ann} a @param {number} k */
    pointName: (a, k) => (skeletonOf(a)?.names || [])[k] || `#${k}`,
    lowPoint,
    pointHidden,
    vis,
    /** @returns {Ann | null} */
    selected: () => S.sel.i >= 0 ? S.anns[S.sel.i] : null,
    /** The picture of the row on screen, once decoded. */
    currentBitmap: () => {
      const m = meta();
      const st = S.slots[m.slot || "a"];
      return st && st.index === m.index ? st.bmp : null;
    }
  };
}

// src/commands.js
function createCommands({ model, S, q, dom, painter, sync }) {
  const { draw } = painter;
  const { showSelection, syncControls } = sync;
  function request(kind, payload = {}) {
    S.seq = Math.max(S.seq, model.get("ack") || 0) + 1;
    S.sent = S.seq;
    model.send({ kind, seq: S.seq, index: q.meta().index, ...payload });
  }
  function commit(kind, anns) {
    while (S.ids.length < anns.length) S.ids.push("");
    S.anns = anns;
    if (S.sel.i >= anns.length) S.sel = noSelection();
    request("edit", { edit: kind, annotations: clone(anns) });
    draw();
  }
  function say(text) {
    dom.messageLine.textContent = text;
  }
  function replaceSelected(kind, next2) {
    const anns = [...S.anns];
    anns[S.sel.i] = next2;
    commit(kind, anns);
    showSelection();
  }
  function setTool(name) {
    S.drawing = null;
    model.set("tool", name);
    model.save_changes();
    syncControls();
  }
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
  function deleteVertex(i, k) {
    const a = S.anns[i];
    const points = a.points || [];
    if (points.length <= 3) return say("A polygon needs 3 vertices; delete the object instead (x).");
    const next2 = own(clone(a));
    const kept = points.filter((_, j) => j !== k);
    next2.points = kept;
    next2.bbox = bboxOfPoints(kept);
    S.sel = { i, v: -1 };
    replaceSelected("resized", next2);
  }
  function setVisibility(v) {
    const a = q.selected();
    if (!a || shapeOf(a) !== "keypoints" || S.sel.v < 0) return say("Select a keypoint first.");
    const next2 = own(clone(a));
    const kps = (
      /** @type {Keypoint[]} */
      next2.keypoints
    );
    const k = kps[S.sel.v];
    kps[S.sel.v] = [k[0], k[1], v === void 0 ? VIS_CYCLE[k[2]] : v];
    placedByHand(next2, S.sel.v);
    next2.bbox = keypointBox(next2, q.W(), q.H());
    replaceSelected("relabelled", next2);
  }
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
  function cycleSelection(step) {
    const visible = S.anns.map((a, i) => q.hidden(a) ? -1 : i).filter((i) => i >= 0);
    if (!visible.length) return;
    const at = visible.indexOf(S.sel.i);
    const j = at < 0 ? step > 0 ? 0 : visible.length - 1 : (at + step + visible.length) % visible.length;
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
  function submit(empty = false) {
    S.drawing = null;
    request("submit", { annotations: clone(S.anns), empty });
  }
  function gotoTyped() {
    const n = Number(dom.indexInput.value);
    if (Number.isInteger(n) && n >= 1) request("goto", { index: n - 1 });
  }
  function toggleHelp(show) {
    dom.help.hidden = show === void 0 ? !dom.help.hidden : !show;
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
    pickClass: (n) => {
      const name = q.classes()[n - 1];
      if (name) relabelOrPick(name);
    },
    /** Enter closes the polygon being drawn, else submits the image. */
    enter: () => S.drawing ? closePolygon() : submit(),
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
    }
  };
}

// src/view.js
var HIT = 7;
var toCss = (v, x, y) => [x * v.s + v.ox, y * v.s + v.oy];
var toImg = (v, cx, cy) => [(cx - v.ox) / v.s, (cy - v.oy) / v.s];
function near(v, p, cx, cy, r = HIT) {
  const [px, py] = toCss(v, p[0], p[1]);
  return Math.abs(px - cx) <= r && Math.abs(py - cy) <= r;
}
var fitScale = (cssW, cssH, W, H) => Math.min(cssW / W, cssH / H);
function fitView(cssW, cssH, W, H) {
  const s = fitScale(cssW, cssH, W, H);
  return { s, ox: (cssW - W * s) / 2, oy: (cssH - H * s) / 2, fitted: true };
}
function zoomView(v, cx, cy, factor, fitS) {
  const s = clamp(v.s * factor, fitS * 0.25, Math.max(fitS * 40, 8));
  return { s, ox: cx - (cx - v.ox) * s / v.s, oy: cy - (cy - v.oy) * s / v.s, fitted: false };
}
function hitHandle(a, v, cx, cy, vis) {
  if (!a || vis.hidden(a)) return null;
  const shape = shapeOf(a);
  if (shape === "box") {
    const k2 = boxHandles(a.bbox).findIndex((p) => near(v, p, cx, cy));
    return k2 >= 0 ? { type: "box", k: k2 } : null;
  }
  if (shape === "polygon") {
    const points = a.points || [];
    const k2 = points.findIndex((p) => near(v, p, cx, cy));
    if (k2 >= 0) return { type: "vertex", k: k2 };
    const m = midpoints(points).findIndex((p) => near(v, p, cx, cy, HIT - 2));
    return m >= 0 ? { type: "mid", k: m } : null;
  }
  const k = (a.keypoints || []).findIndex((p, j) => !vis.pointHidden(a, j) && near(v, p, cx, cy));
  return k >= 0 ? { type: "kp", k } : null;
}
function hitPoint(anns, selI, v, cx, cy, vis) {
  const order = [selI, ...anns.keys()].filter((i) => i >= 0);
  for (const i of order) {
    const a = anns[i];
    if (!a || vis.hidden(a) || shapeOf(a) !== "keypoints") continue;
    const k = (a.keypoints || []).findIndex(
      (q, j) => (q[2] || i === selI) && !vis.pointHidden(a, j) && near(v, q, cx, cy)
    );
    if (k >= 0) return { i, k };
  }
  return null;
}
function hitShownPoint(a, v, cx, cy, vis) {
  return (a.keypoints || []).findIndex((q, j) => q[2] && !vis.pointHidden(a, j) && near(v, q, cx, cy));
}
function hitObject(anns, v, cx, cy, vis) {
  const [x, y] = toImg(v, cx, cy);
  const pad = HIT / v.s;
  let best = -1, bestArea = Infinity;
  anns.forEach((a, i) => {
    if (vis.hidden(a)) return;
    const shape = shapeOf(a);
    let hit = false;
    if (shape === "polygon") {
      const points = a.points || [];
      hit = insidePolygon(points, x, y) || points.some((p) => near(v, p, cx, cy));
    } else if (shape === "keypoints") {
      hit = insideBox(a.bbox, x, y, pad) || hitShownPoint(a, v, cx, cy, vis) >= 0;
    } else hit = insideBox(a.bbox, x, y, pad);
    if (hit && area(a.bbox) <= bestArea) {
      best = i;
      bestArea = area(a.bbox);
    }
  });
  return best;
}

// src/draw.js
var HATCH = 8;
function createPainter({ model, S, q, canvas, stage }) {
  const ctx = (
    /** @type {CanvasRenderingContext2D} */
    canvas.getContext("2d")
  );
  const css = (x, y) => toCss(S.view, x, y);
  const fitS = () => fitScale(S.cssW, S.cssH, q.W(), q.H());
  let frame = 0;
  function draw() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      paint();
    });
  }
  function fit2() {
    S.view = fitView(S.cssW, S.cssH, q.W(), q.H());
  }
  function resize() {
    const width = stage.clientWidth || 800;
    const maxH = Math.max(320, Math.round((window.innerHeight || 900) * 0.7));
    const height = Math.max(200, Math.min(Math.round(width * q.H() / q.W()), maxH));
    S.dpr = window.devicePixelRatio || 1;
    if (width !== S.cssW || height !== S.cssH || canvas.width !== Math.round(width * S.dpr)) {
      S.cssW = width;
      S.cssH = height;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      canvas.width = Math.round(width * S.dpr);
      canvas.height = Math.round(height * S.dpr);
    }
    if (S.view.fitted) fit2();
    draw();
  }
  function zoomAt(cx, cy, factor) {
    S.view = zoomView(S.view, cx, cy, factor, fitS());
    draw();
  }
  function paint() {
    const W = q.W(), H = q.H(), meta = q.meta();
    ctx.setTransform(S.dpr, 0, 0, S.dpr, 0, 0);
    ctx.clearRect(0, 0, S.cssW, S.cssH);
    ctx.fillStyle = "#1e1e1e";
    ctx.fillRect(0, 0, S.cssW, S.cssH);
    const bmp = q.currentBitmap();
    const [ix, iy] = css(0, 0);
    canvas.dataset.zoom = (S.view.s / fitS()).toFixed(3);
    if (bmp) {
      ctx.imageSmoothingEnabled = S.view.s < 4;
      ctx.drawImage(bmp, ix, iy, W * S.view.s, H * S.view.s);
      canvas.dataset.paintedKey = String(meta.key ?? "");
    } else {
      ctx.fillStyle = "#333";
      ctx.fillRect(ix, iy, W * S.view.s, H * S.view.s);
      ctx.fillStyle = "#ddd";
      ctx.font = "14px sans-serif";
      ctx.fillText(meta.problem || "Loading image...", ix + 12, iy + 24);
    }
    if (model.get("show_regions")) q.regions().forEach(paintRegion);
    S.anns.forEach((a, i) => {
      if (!q.hidden(a)) paintObject(a, i === S.sel.i);
    });
    const sel = q.selected();
    if (sel && !q.hidden(sel)) paintHandles(sel);
    paintHover();
    paintGesture();
    paintDrawing();
  }
  function paintObject(a, isSel) {
    const pred = isPrediction(a);
    const c = q.colorOf(a);
    ctx.save();
    ctx.globalAlpha = pred && Number(a.score) < S.threshold ? 0.3 : 1;
    ctx.strokeStyle = c;
    ctx.fillStyle = c;
    ctx.lineWidth = isSel ? 3 : pred ? 1.5 : 2;
    ctx.setLineDash(pred ? [6, 4] : []);
    const shape = shapeOf(a);
    if (shape === "polygon") {
      ctx.beginPath();
      (a.points || []).forEach((p, k) => {
        const [x, y] = css(p[0], p[1]);
        k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.closePath();
      ctx.stroke();
      ctx.globalAlpha *= isSel ? 0.25 : 0.12;
      ctx.fill();
    } else if (shape === "keypoints") {
      paintKeypoints(a, isSel);
    } else {
      const [x1, y1] = css(a.bbox[0], a.bbox[1]);
      const [x2, y2] = css(a.bbox[2], a.bbox[3]);
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      if (isSel) {
        ctx.globalAlpha *= 0.12;
        ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
      }
    }
    ctx.restore();
    paintTag(a, c);
  }
  function paintKeypoints(a, isSel) {
    const kps = a.keypoints || [];
    const base = ctx.globalAlpha;
    const alpha = (k) => base * (q.lowPoint(a, k) ? 0.3 : 1);
    for (const [p, r] of q.skeletonOf(a)?.edges || []) {
      if (!kps[p] || !kps[r] || !kps[p][2] || !kps[r][2]) continue;
      if (q.pointHidden(a, p) || q.pointHidden(a, r)) continue;
      const [x12, y12] = css(kps[p][0], kps[p][1]);
      const [x22, y22] = css(kps[r][0], kps[r][1]);
      ctx.globalAlpha = Math.min(alpha(p), alpha(r));
      ctx.beginPath();
      ctx.moveTo(x12, y12);
      ctx.lineTo(x22, y22);
      ctx.stroke();
    }
    kps.forEach((k, j) => {
      if (!k[2] && !isSel || q.pointHidden(a, j)) return;
      const [x, y] = css(k[0], k[1]);
      ctx.globalAlpha = alpha(j);
      ctx.beginPath();
      ctx.arc(x, y, pointRadius(a, j, isSel && j === S.sel.v), 0, Math.PI * 2);
      if (k[2] === 2) ctx.fill();
      else {
        ctx.save();
        if (!k[2]) ctx.setLineDash([2, 2]);
        ctx.lineWidth = 1.5;
        ctx.stroke();
        ctx.restore();
      }
    });
    ctx.globalAlpha = base;
    ctx.save();
    if (isSel) ctx.setLineDash([3, 3]);
    else ctx.globalAlpha = base * 0.7;
    ctx.lineWidth = 1;
    const [x1, y1] = css(a.bbox[0], a.bbox[1]);
    const [x2, y2] = css(a.bbox[2], a.bbox[3]);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }
  function pointRadius(a, k, isSel) {
    if (isSel) return 6;
    const s = pointScore(a, k);
    return s === null ? 4 : 2.5 + 2.5 * clamp(s, 0, 1);
  }
  function paintPointTip(a, k) {
    const p = (a.keypoints || [])[k];
    if (!p) return;
    const [x, y] = css(p[0], p[1]);
    const s = pointScore(a, k);
    const text = s === null ? q.pointName(a, k) : `${q.pointName(a, k)} ${s.toFixed(2)}`;
    ctx.save();
    ctx.font = "12px sans-serif";
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 9, y - 7);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 8, y - 8);
    ctx.restore();
  }
  function paintHover() {
    const hv = S.hover;
    if (!hv || S.gesture || hv.i === S.sel.i && hv.k === S.sel.v) return;
    const a = S.anns[hv.i];
    if (a && shapeOf(a) === "keypoints" && !q.hidden(a)) paintPointTip(a, hv.k);
  }
  function paintRegion(r) {
    const regionColor = q.constants().region_color;
    const [x1, y1] = css(r.bbox[0], r.bbox[1]);
    const [x2, y2] = css(r.bbox[2], r.bbox[3]);
    const w = x2 - x1, ht = y2 - y1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x1, y1, w, ht);
    ctx.clip();
    ctx.strokeStyle = regionColor;
    ctx.globalAlpha = 0.5;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let d = -ht; d < w; d += HATCH) {
      ctx.moveTo(x1 + d, y2);
      ctx.lineTo(x1 + d + ht, y1);
    }
    ctx.stroke();
    ctx.restore();
    ctx.save();
    ctx.strokeStyle = regionColor;
    ctx.lineWidth = 2;
    ctx.strokeRect(x1, y1, w, ht);
    const text = r.score === null || r.score === void 0 ? r.kind : `${r.kind} ${Number(r.score).toFixed(2)}`;
    ctx.font = "12px sans-serif";
    const tw = ctx.measureText(text).width + 6;
    const ty = y2 + 16 <= S.cssH ? y2 : y2 - 16;
    paintLabel(text, x1, ty, tw, regionColor, 0.85);
    ctx.restore();
  }
  function paintLabel(text, x, y, w, color, alpha) {
    ctx.globalAlpha = alpha;
    ctx.fillStyle = color;
    ctx.fillRect(x, y, w, 16);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 3, y + 12);
  }
  function paintTag(a, c) {
    let text = isPrediction(a) ? `${a.label} ${Number(a.score).toFixed(2)}` : a.label;
    if (q.tracked(a)) text = `#${a.track} ${text}${a.interpolated ? " ~" : ""}`;
    if (a.flagged_points && a.flagged_points.length) text += ` ⚑ ${a.flagged_points.join(", ")}`;
    const points = a.points || [];
    const anchor = shapeOf(a) === "polygon" ? points.reduce((best, p) => p[1] < best[1] ? p : best, points[0]) : a.bbox;
    const [x, y] = css(anchor[0], anchor[1]);
    ctx.save();
    ctx.font = "12px sans-serif";
    const w = ctx.measureText(text).width + 6;
    const ty = y > 16 ? y - 16 : y;
    paintLabel(text, x, ty, w, c, isPrediction(a) && Number(a.score) < S.threshold ? 0.35 : 0.85);
    ctx.restore();
  }
  function square([x, y], r, fill) {
    ctx.fillStyle = fill;
    ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    ctx.strokeRect(x - r, y - r, 2 * r, 2 * r);
  }
  function paintHandles(a) {
    ctx.save();
    ctx.setLineDash([]);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    const shape = shapeOf(a);
    if (shape === "box") {
      for (const p of boxHandles(a.bbox)) square(css(p[0], p[1]), 4, "#fff");
    } else if (shape === "polygon") {
      const points = a.points || [];
      for (const m of midpoints(points)) {
        const [x, y] = css(m[0], m[1]);
        ctx.beginPath();
        ctx.arc(x, y, 3.5, 0, Math.PI * 2);
        ctx.fillStyle = "rgba(255,255,255,0.6)";
        ctx.fill();
        ctx.stroke();
      }
      points.forEach((p, k) => square(css(p[0], p[1]), k === S.sel.v ? 5 : 4, k === S.sel.v ? "#ff0" : "#fff"));
    } else if (S.sel.v >= 0 && (a.keypoints || [])[S.sel.v]) {
      paintPointTip(a, S.sel.v);
    }
    ctx.restore();
  }
  function paintGesture() {
    const g = S.gesture;
    if (!g || g.type !== "draw" || !g.moved) return;
    const [x1, y1] = css(g.start[0], g.start[1]);
    const [x2, y2] = css(g.now[0], g.now[1]);
    ctx.save();
    ctx.strokeStyle = q.color(model.get("label"));
    ctx.lineWidth = 2;
    ctx.setLineDash(g.tool === "auto" ? [4, 3] : []);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }
  function paintDrawing() {
    const d = S.drawing;
    if (!d || !d.points.length) return;
    ctx.save();
    ctx.strokeStyle = q.color(model.get("label"));
    ctx.lineWidth = 2;
    ctx.beginPath();
    d.points.forEach((p, k) => {
      const [x, y] = css(p[0], p[1]);
      k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    if (S.mouse) ctx.lineTo(...css(S.mouse[0], S.mouse[1]));
    ctx.stroke();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    d.points.forEach((p, k) => square(css(p[0], p[1]), k === 0 ? 6 : 3.5, k === 0 ? "#ff0" : "#fff"));
    ctx.restore();
  }
  return {
    draw,
    fit: fit2,
    resize,
    zoomAt,
    /** Stop a repaint that is still queued (the view is going away). */
    dispose: () => {
      if (frame) cancelAnimationFrame(frame);
    }
  };
}

// src/gestures.js
var MIN_DRAG = 4;
function createGestures({ model, S, q, dom, painter, sync, cmd }) {
  const { canvas, root } = dom;
  const { draw } = painter;
  const { showSelection, adoptRemote } = sync;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const inImage = (p) => [clamp(p[0], 0, q.W()), clamp(p[1], 0, q.H())];
  function onPointerDown(e) {
    root.focus({ preventScroll: true });
    S.wheelZoom = true;
    const [cx, cy] = point(e);
    const p = toImg(S.view, cx, cy);
    canvas.setPointerCapture?.(e.pointerId);
    if (e.button === 1 || e.button === 0 && S.space) {
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
  function startHandle(hnd, p, e) {
    const a = S.anns[S.sel.i];
    if (hnd.type === "vertex" && e.altKey) {
      S.sel.v = -1;
      return cmd.deleteVertex(S.sel.i, hnd.k);
    }
    if (hnd.type === "mid") {
      const next2 = clone(a);
      (next2.points || []).splice(hnd.k + 1, 0, [p[0], p[1]]);
      S.anns[S.sel.i] = next2;
      S.sel.v = hnd.k + 1;
      S.gesture = { type: "vertex", k: hnd.k + 1, start: p, orig: clone(next2), before: a, moved: true };
      return draw();
    }
    if (hnd.type === "vertex" || hnd.type === "kp") S.sel.v = hnd.k;
    S.gesture = { type: hnd.type, k: hnd.k, start: p, orig: clone(a), before: a, moved: false };
    showSelection();
    draw();
  }
  function addVertex(p, cx, cy) {
    const pts = S.drawing ? S.drawing.points : [];
    if (pts.length >= 3 && near(S.view, pts[0], cx, cy, HIT + 3)) return cmd.closePolygon();
    if (pts.length && near(S.view, pts[pts.length - 1], cx, cy, 2)) return;
    pts.push(inImage(p));
    draw();
  }
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
    if (g.type === "draw") g.now = inImage(p);
    else if (g.type === "move") S.anns[i] = translate(g.orig, dx, dy, W, H);
    else if (g.type === "box") S.anns[i] = { ...g.orig, bbox: resizeBox(g.orig.bbox, g.k, dx, dy, W, H) };
    else if (g.type === "vertex") S.anns[i] = moveVertex(g.orig, g.k, p, W, H);
    else if (g.type === "kp") S.anns[i] = moveKeypoint(g.orig, g.k, p, W, H);
    draw();
  }
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
      const rec = g.tool === "keypoints" ? keypointRecord(label, b, q.skeleton()) : { label, bbox: b, points: null, keypoints: null, score: null, source: "human" };
      S.sel = { i: anns.length, v: -1 };
      cmd.commit("added", [...anns, rec]);
      return showSelection();
    }
    if (!g.moved) {
      if (g.type === "vertex" && g.before) S.anns[S.sel.i] = g.before;
      adoptRemote();
      return draw();
    }
    own(S.anns[S.sel.i]);
    const kind = g.type === "move" || g.type === "kp" ? "moved" : "resized";
    cmd.commit(kind, [...anns]);
    showSelection();
  }
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
  function onWheel(e) {
    if (!(e.ctrlKey || e.metaKey || S.wheelZoom)) {
      const hint = "Ctrl/⌘ + wheel zooms (or click the image first); the wheel scrolls the notebook.";
      if (dom.messageLine.textContent !== hint) cmd.say(hint);
      return;
    }
    e.preventDefault();
    const [cx, cy] = point(e);
    painter.zoomAt(cx, cy, Math.exp(-e.deltaY * 15e-4));
  }
  function onLeave() {
    S.wheelZoom = false;
    if (S.hover) {
      S.hover = null;
      draw();
    }
  }
  function attach() {
    canvas.addEventListener("pointerdown", onPointerDown);
    canvas.addEventListener("pointermove", onPointerMove);
    canvas.addEventListener("pointerup", onPointerUp);
    canvas.addEventListener("pointercancel", onPointerUp);
    canvas.addEventListener("wheel", onWheel, { passive: false });
    canvas.addEventListener("pointerleave", onLeave);
    canvas.addEventListener("contextmenu", (e) => S.gesture && e.preventDefault());
    canvas.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault());
  }
  return { attach };
}

// src/keys.js
var reject = (app) => app.deleteSelected();
var deleteKey = (app) => app.onDelete();
var next = (app) => app.step(1);
var prev = (app) => app.step(-1);
var redo = (app) => app.request("redo");
var fit = (app) => app.fitImage();
function createKeymap(TOOLS, JUMPS = []) {
  const KEYMAP = [
    {
      keys: TOOLS.map((t) => t[2]).join(" / "),
      does: `Tool: ${TOOLS.map((t) => t[1].toLowerCase()).join(" / ")} (drag a rectangle)`,
      on: Object.fromEntries(TOOLS.map(([name, , key]) => [key, (app) => app.setTool(name)]))
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
      also: { "Alt+Delete": deleteKey, "Alt+Backspace": deleteKey }
    },
    { keys: "v", does: "Keypoint visibility: visible → occluded → absent", on: { v: (app) => app.setVisibility() } },
    {
      keys: "1 – 9",
      does: "Class of the selected object (or of the next one drawn)",
      on: Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => [String(n), (app) => app.pickClass(n)]))
    },
    { keys: "a", does: "Accept the selected prediction or suggestion", on: { a: (app) => app.acceptSelected() } },
    { keys: "Shift + a", does: "Accept every prediction above the threshold", on: { A: (app) => app.acceptAll() } },
    { keys: "x", does: "Reject the selected prediction (delete a label)", on: { x: reject }, also: { X: reject } },
    {
      keys: "[ / ]",
      does: "Select the previous / next object",
      on: { "[": (app) => app.cycleSelection(-1), "]": (app) => app.cycleSelection(1) }
    },
    { keys: "h", does: "Hide the suggestions: predictions (and keypoints) scored below the threshold, which a submit leaves out unless taken", on: { h: (app) => app.toggleHideBelow() } },
    { keys: "Hover a keypoint", does: "Its name and score; the point's size shows its score" },
    {
      keys: "Enter",
      does: "Submit (mark verified) and go to the next image; an image with no objects needs e",
      on: { Enter: (app) => app.enter() }
    },
    { keys: "e", does: "Nothing here: verify that the image has no objects, and go on", on: { e: (app) => app.submit(true) } },
    {
      keys: "Shift + Enter",
      does: "Nothing (it never submits: in a notebook it runs a cell)",
      // handled, so it never reaches JupyterLab; it only says what to press instead
      on: { "Shift+Enter": (app) => app.say("Shift+Enter does nothing here: Enter submits this image, e verifies it as empty.") }
    },
    { keys: "n / → , p / ←", does: "Next / previous image", on: { n: next, ArrowRight: next, p: prev, ArrowLeft: prev } },
    // one line for the status jumps, none when Python sent none
    ...JUMPS.length ? [{
      keys: JUMPS.map((j) => j[1]).join(" / "),
      does: `Next ${JUMPS.map((j) => j[0]).join(" / ")} image`,
      /** @type {Record<string, KeyAction>} */
      on: Object.fromEntries(JUMPS.map(([status, key]) => [key, (app) => app.nextStatus(status)]))
    }] : [],
    {
      keys: ", / .",
      does: "Video: previous / next frame",
      on: { ",": (app) => app.stepFrame(-1), ".": (app) => app.stepFrame(1) }
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
    { keys: "?", does: "Show / hide this help", on: { "?": (app) => app.toggleHelp() } }
  ];
  const HELP = KEYMAP.map((r) => [r.keys, r.does]);
  const BINDINGS = bindings(KEYMAP);
  function actionFor(e) {
    const chord = chordOf(e);
    return BINDINGS.get(chord) ?? BINDINGS.get(chord.replace("Shift+", ""));
  }
  function handleKey(e, app) {
    const act = actionFor(e);
    return act !== void 0 && act(app) !== false;
  }
  function onKeyDown(e, root, app) {
    const t = (
      /** @type {HTMLElement} */
      e.target
    );
    if (t !== root && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      if (e.key === "Enter" || e.key === "Escape") root.focus({ preventScroll: true });
      e.stopPropagation();
      return;
    }
    if (handleKey(e, app)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }
  return { TOOLS, JUMPS, KEYMAP, HELP, actionFor, handleKey, onKeyDown };
}
function bindings(rows) {
  const out = /* @__PURE__ */ new Map();
  for (const row of rows) {
    for (const [chord, act] of [...Object.entries(row.on || {}), ...Object.entries(row.also || {})]) {
      if (out.has(chord)) throw new Error(`key ${JSON.stringify(chord)} is bound twice in the keymap`);
      out.set(chord, act);
    }
  }
  return out;
}
function chordOf(e) {
  const shift = e.shiftKey ? "Shift+" : "";
  if (e.ctrlKey || e.metaKey) return `Mod+${shift}${e.key.toLowerCase()}`;
  return `${e.altKey ? "Alt+" : ""}${shift}${e.key}`;
}
function onKeyUp(e, app) {
  if (e.key === " ") {
    app.releaseSpace();
    e.preventDefault();
    e.stopPropagation();
  }
}

// src/ui.js
function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === void 0 || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k === "testid") node.dataset.testid = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c) node.append(c);
  return node;
}
function button(label, testid, title, onclick) {
  return h("button", { type: "button", text: label, testid, title, onclick, class: "nbl-btn" });
}
function setOptions(select, names, value) {
  select.replaceChildren(
    ...names.map(
      (n, i) => h("option", { value: n, text: i < 9 ? `${i + 1}  ${n}` : n })
    )
  );
  if (names.includes(value)) select.value = value;
}
function buildHelp(close, help) {
  const rows = help.map(
    ([keys, what]) => h("tr", {}, [h("td", { class: "nbl-keys", text: keys }), h("td", { text: what })])
  );
  return h("div", { class: "nbl-help", testid: "help", role: "dialog", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [h("strong", { text: "Keyboard shortcuts" }), close]),
    h("table", {}, [h("tbody", {}, rows)])
  ]);
}
function setColorProperties(root, constants) {
  for (const [status, c] of Object.entries(constants.status_colors)) {
    root.style.setProperty(`--nbl-status-${status}`, c.fill);
    root.style.setProperty(`--nbl-status-${status}-text`, c.text);
  }
  root.style.setProperty("--nbl-error", constants.error_color);
}
function paintStatus(el, status) {
  el.dataset.status = status;
  el.style.setProperty("--nbl-fill", status ? `var(--nbl-status-${status})` : "");
  el.style.setProperty("--nbl-ink", status ? `var(--nbl-status-${status}-text)` : "");
}
function buildDom(keymap, constants) {
  const buttons = {};
  const btn = (label, testid, title) => buttons[testid] = button(label, testid, title);
  const canvas = h("canvas", { class: "nbl-canvas", testid: "canvas", "aria-label": "image" });
  const stage = h("div", { class: "nbl-stage" }, [canvas]);
  const toolButtons = Object.fromEntries(
    keymap.TOOLS.map(([name, label, key]) => [name, btn(label, `tool-${name}`, `${label} (${key})`)])
  );
  const classSelect = h("select", { testid: "class-select", title: "Class (1-9)", class: "nbl-select" });
  const thr = h("input", { type: "range", min: "0", max: "1", step: "0.01", testid: "threshold", title: "Confidence threshold" });
  const thrValue = h("span", { class: "nbl-thr", testid: "threshold-value" });
  const hide = h("input", { type: "checkbox", testid: "hide-below" });
  const showRegions = h("input", { type: "checkbox", testid: "show-regions" });
  const regionsText = h("span", { testid: "regions-summary", text: "regions" });
  const regionsToggle = h("label", {
    class: "nbl-group",
    title: "De-identification regions (read-only; add a missed one as a box)"
  }, [showRegions, regionsText]);
  const toolbar = h("div", { class: "nbl-bar" }, [
    h("span", { class: "nbl-group" }, Object.values(toolButtons)),
    classSelect,
    h("label", { class: "nbl-group", title: "Predictions below this score are faint suggestions: a submit leaves them out unless you drag one or select it and press a" }, [
      h("span", { text: "min score" }),
      thr,
      thrValue
    ]),
    h("label", { class: "nbl-group", title: "Hide the suggestions (h)" }, [hide, h("span", { text: "hide below" })]),
    regionsToggle,
    h("span", { class: "nbl-group" }, [
      btn("Accept", "accept", "Accept the selected prediction (a)"),
      btn("Accept ≥ min", "accept-all", "Accept all predictions above the threshold (Shift+a)"),
      btn("Reject", "reject", "Reject / delete the selected object (x)")
    ]),
    h("span", { class: "nbl-group" }, [
      btn("↶", "undo", "Undo (Ctrl/Cmd+z)"),
      btn("↷", "redo", "Redo (Ctrl/Cmd+Shift+z)"),
      btn("?", "help-button", "Keyboard shortcuts (?)")
    ])
  ]);
  const indexInput = h("input", { type: "number", min: "1", testid: "index-input", class: "nbl-index", title: "Go to image" });
  const total = h("span", { testid: "count" });
  const fileName = h("span", { class: "nbl-file", testid: "file-name" });
  const statusBadge = h("span", { class: "nbl-status", testid: "status" });
  const countsLine = h("span", { class: "nbl-counts", testid: "counts" });
  const nav = h("div", { class: "nbl-bar" }, [
    btn("◀", "prev", "Previous image (p, ←)"),
    indexInput,
    total,
    btn("▶", "next", "Next image (n, →)"),
    ...keymap.JUMPS.map(([status, key]) => btn(`Next ${status}`, `next-${status}`, `Next ${status} image (${key})`)),
    btn("Submit ⏎", "submit", "Mark verified and go on (Enter)"),
    btn("Nothing here", "submit-empty", "Verify that this image has no objects and go on (e)"),
    fileName,
    statusBadge,
    countsLine
  ]);
  const frameSlider = h("input", { type: "range", min: "0", max: "0", step: "1", testid: "frame-slider", class: "nbl-frame-slider", title: "Frame (, and .)" });
  const frameLabel = h("span", { class: "nbl-frame-label", testid: "frame-label" });
  const frameCells = h("div", { class: "nbl-frames", testid: "frame-strip" });
  const propagateN = h("input", { type: "number", min: "1", value: "5", testid: "propagate-n", class: "nbl-index", title: "Frames to propagate to" });
  const stripBar = h("div", { class: "nbl-bar nbl-strip", testid: "video-bar", hidden: "" }, [
    btn("◀ frame", "prev-frame", "Previous frame (,)"),
    frameSlider,
    frameLabel,
    btn("frame ▶", "next-frame", "Next frame (.)"),
    btn("Next flagged", "next-flagged", "Next frame where a track jumped or a point was flagged (j)"),
    h("span", { class: "nbl-group" }, [
      btn("Propagate", "propagate", "Copy the selected object (or all) to the next N frames (t)"),
      h("span", { text: "to next" }),
      propagateN,
      h("span", { text: "frames" })
    ])
  ]);
  const stripBox = h("div", { class: "nbl-strip-box", hidden: "" }, [stripBar, frameCells]);
  const selectionLine = h("div", { class: "nbl-line", testid: "selection" });
  const messageLine = h("div", { class: "nbl-line nbl-message", testid: "message", "aria-live": "polite" });
  const busyLine = h("div", { class: "nbl-line nbl-busy", testid: "busy" });
  const errorsText = h("pre", { class: "nbl-errors-text" });
  const errorsBox = h("div", { class: "nbl-errors", testid: "errors", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [
      h("strong", { text: "Errors from Python" }),
      btn("Clear", "errors-clear", "Clear the errors")
    ]),
    errorsText
  ]);
  const closeHelp = h("button", { type: "button", text: "Close", testid: "help-close" });
  buttons["help-close"] = closeHelp;
  const help = buildHelp(closeHelp, keymap.HELP);
  const root = h("div", {
    class: "nbl-root",
    tabindex: "0",
    "data-lm-suppress-shortcuts": "true",
    testid: "annotator"
  }, [toolbar, nav, stripBox, stage, selectionLine, busyLine, messageLine, errorsBox, help]);
  root.classList.add("lm-suppress-shortcuts");
  setColorProperties(root, constants);
  return {
    root,
    canvas,
    stage,
    buttons,
    toolButtons,
    classSelect,
    thr,
    thrValue,
    hide,
    showRegions,
    regionsText,
    regionsToggle,
    indexInput,
    total,
    fileName,
    statusBadge,
    countsLine,
    frameSlider,
    frameLabel,
    frameCells,
    propagateN,
    stripBar,
    stripBox,
    selectionLine,
    messageLine,
    busyLine,
    errorsText,
    errorsBox,
    help
  };
}

// src/sync.js
function createSync({ model, S, q, dom, painter }) {
  const { draw } = painter;
  function syncClass() {
    const a = q.selected();
    const label = a ? a.label : model.get("label");
    if (q.classes().includes(label) && dom.classSelect.value !== label) dom.classSelect.value = label;
  }
  function showSelection() {
    syncClass();
    const a = q.selected();
    if (!a) {
      dom.selectionLine.textContent = S.drawing ? "Drawing a polygon: Enter closes it, Esc cancels." : "";
      return;
    }
    const parts = [a.label, isPrediction(a) ? `prediction ${Number(a.score).toFixed(2)}` : "label", a.source || ""];
    if (shapeOf(a) === "keypoints") {
      const kps = a.keypoints || [];
      const sk = q.skeletonOf(a);
      parts.push(`${kps.length} points${sk ? ` (${sk.name})` : ""}`);
      const k = S.sel.v >= 0 ? kps[S.sel.v] : null;
      if (k) {
        const s = pointScore(a, S.sel.v);
        const score = s === null ? "" : `, score ${s.toFixed(2)}`;
        parts.push(`point ${q.pointName(a, S.sel.v)}: ${VIS_NAMES[k[2]]}${score}`);
      }
    }
    if (shapeOf(a) === "polygon") parts.push(`${(a.points || []).length} vertices`);
    if (typeof a.polygon_score === "number") parts.push(`outline quality ${a.polygon_score.toFixed(2)}`);
    dom.selectionLine.textContent = parts.filter(Boolean).join(" · ");
  }
  function adoptRemote() {
    if (S.gesture || (model.get("ack") || 0) < S.sent) return;
    const selected = S.sel.i >= 0 ? S.ids[S.sel.i] : "";
    S.anns = clone(model.get("annotations") || []);
    S.ids = [...model.get("ids") || []];
    if (selected) {
      const i = S.ids.indexOf(selected);
      S.sel = i >= 0 ? { i, v: S.sel.v } : noSelection();
    }
    if (S.sel.i >= S.anns.length) S.sel = noSelection();
    if (S.waitingAuto) {
      S.waitingAuto = false;
      dom.busyLine.textContent = model.get("busy") || "";
      if (S.anns.length > S.autoFrom) S.sel = { i: S.anns.length - 1, v: -1 };
    }
    showSelection();
    draw();
  }
  function refreshSlots() {
    const idx = model.get("slots") || [-1, -1];
    ["a", "b"].forEach((name, j) => {
      const st = S.slots[name];
      const dv = model.get(name === "a" ? "image_a" : "image_b");
      if (st.dv === dv && st.index === idx[j]) return;
      st.dv = dv;
      st.index = idx[j];
      st.bmp = null;
      const token = ++st.token;
      if (!dv || !dv.byteLength) return;
      createImageBitmap(new Blob([dv], { type: "image/jpeg" })).then((bmp) => {
        if (st.token !== token) return;
        st.bmp = bmp;
        draw();
      }).catch((err) => console.error("nblabel: could not decode image", err));
    });
  }
  function syncRegions() {
    const rs = q.regions();
    const byKind = /* @__PURE__ */ new Map();
    for (const r of rs) byKind.set(r.kind, (byKind.get(r.kind) || 0) + 1);
    const skipped = q.meta().regions_unreadable || 0;
    dom.showRegions.disabled = !rs.length;
    dom.showRegions.checked = rs.length > 0 && !!model.get("show_regions");
    dom.regionsText.textContent = rs.length ? `regions: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}` : "regions";
    dom.regionsToggle.classList.toggle("nbl-off", !rs.length);
    if (skipped) dom.regionsText.textContent += ` (${skipped} unreadable)`;
  }
  function syncStrip() {
    const strip = model.get("strip") || [];
    dom.stripBox.hidden = !strip.length;
    dom.stripBar.hidden = !strip.length;
    if (!strip.length) return;
    const here = strip.findIndex((m) => m.index === q.meta().index);
    dom.frameSlider.max = String(strip.length - 1);
    if (here >= 0) dom.frameSlider.value = String(here);
    dom.frameLabel.textContent = here >= 0 ? `frame ${strip[here].frame} (${here + 1}/${strip.length})` : "";
    const cells = strip.map((m, j) => {
      const marks = m.flagged.length ? ` · flagged: ${m.flagged.join(", ")}` : m.jump ? " · a track jumped" : "";
      const cell = h("span", {
        class: "nbl-frame",
        testid: "frame-cell",
        "data-index": m.index,
        title: `frame ${m.frame} · ${m.status} · ${m.objects} object${m.objects === 1 ? "" : "s"}${marks}`
      });
      paintStatus(cell, m.status);
      if (m.flagged.length || m.jump) cell.classList.add("nbl-frame-flag");
      if (j === here) cell.classList.add("nbl-frame-here");
      return cell;
    });
    dom.frameCells.replaceChildren(...cells);
  }
  function syncControls() {
    const t = model.get("tool");
    for (const [name, b] of Object.entries(dom.toolButtons)) {
      b.setAttribute("aria-pressed", String(name === t));
      b.classList.toggle("nbl-on", name === t);
    }
    const names = JSON.stringify(q.classes());
    if (names !== S.classNames) {
      S.classNames = names;
      setOptions(dom.classSelect, q.classes(), model.get("label"));
    }
    syncClass();
    S.threshold = model.get("threshold");
    dom.thr.value = String(S.threshold);
    dom.thrValue.textContent = Number(S.threshold).toFixed(2);
    dom.hide.checked = !!model.get("hide_below");
    syncRegions();
    const c = model.get("counts") || {};
    dom.countsLine.textContent = q.constants().statuses.filter((s) => c[s]).map((s) => `${s} ${c[s]}`).join(" · ");
    dom.messageLine.textContent = model.get("message") || "";
    dom.busyLine.textContent = model.get("busy") || (S.waitingAuto ? "Finding the object's outline..." : "");
    const errs = model.get("errors") || [];
    dom.errorsText.textContent = errs.join("\n\n");
    dom.errorsBox.hidden = !errs.length;
    draw();
  }
  function onMeta() {
    const m = q.meta();
    if (m.index !== S.shownIndex) {
      S.shownIndex = m.index;
      S.anns = clone(model.get("annotations") || []);
      S.ids = [...model.get("ids") || []];
      S.sel = noSelection();
      S.drawing = null;
      S.gesture = null;
      S.hover = null;
      S.view.fitted = true;
      showSelection();
      painter.resize();
    }
    dom.indexInput.value = String((m.index ?? 0) + 1);
    dom.indexInput.max = String(m.n || 1);
    dom.total.textContent = `/ ${m.n ?? 0}`;
    dom.fileName.textContent = m.file || m.key || "";
    dom.fileName.title = m.key ? `key: ${m.key}` : "";
    dom.statusBadge.textContent = m.status || "";
    paintStatus(dom.statusBadge, m.status || "");
    refreshSlots();
    syncRegions();
    syncStrip();
    adoptRemote();
    draw();
  }
  return { syncClass, showSelection, adoptRemote, refreshSlots, syncRegions, syncStrip, syncControls, onMeta };
}

// src/annotator.js
function render({ model, el }) {
  const S = createState(model);
  const q = createQueries(model, S);
  const keymap = createKeymap(q.constants().tools, q.constants().jumps);
  const dom = buildDom(keymap, q.constants());
  el.append(dom.root);
  const painter = createPainter({ model, S, q, canvas: dom.canvas, stage: dom.stage });
  const sync = createSync({ model, S, q, dom, painter });
  const cmd = createCommands({ model, S, q, dom, painter, sync });
  const { draw } = painter;
  const { root } = dom;
  const focusRoot = () => root.focus({ preventScroll: true });
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
    "errors-clear": () => cmd.request("clear_errors")
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
    const cell = (
      /** @type {HTMLElement} */
      e.target.closest("[data-index]")
    );
    if (cell instanceof HTMLElement) cmd.request("goto", { index: Number(cell.dataset.index) });
  });
  createGestures({ model, S, q, dom, painter, sync, cmd }).attach();
  root.addEventListener("click", (e) => {
    if (
      /** @type {HTMLElement} */
      e.target.closest("button")
    ) focusRoot();
  });
  root.addEventListener("change", (e) => {
    if (e.target !== dom.indexInput) focusRoot();
  });
  root.addEventListener("keydown", (e) => keymap.onKeyDown(e, root, cmd));
  root.addEventListener("keyup", (e) => onKeyUp(e, cmd));
  root.addEventListener("blur", () => {
    S.space = false;
    S.wheelZoom = false;
  });
  function onCustom(msg) {
    if (!msg || msg.type !== "reveal") return;
    root.scrollIntoView({ block: "nearest", behavior: "auto" });
    focusRoot();
  }
  const images = () => {
    sync.refreshSlots();
    draw();
  };
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
    ["change:regions", () => {
      sync.syncRegions();
      draw();
    }],
    ["change:show_regions", sync.syncControls],
    ["change:strip", sync.syncStrip]
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
var annotator_default = { render };
export {
  annotator_default as default
};
