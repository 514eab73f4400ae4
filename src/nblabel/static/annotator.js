// geometry.js
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
  const n = a.keypoints.length;
  const fits = (s) => s && Array.isArray(s.names) && s.names.length === n;
  return a.skeleton && skeletons.find((s) => fits(s) && s.name === a.skeleton) || skeletons.find(fits) || null;
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
  const seen = a.keypoints.filter((k) => k[2] > 0);
  if (!seen.length) return a.bbox;
  const [x1, y1, x2, y2] = bboxOfPoints(seen);
  const mx = Math.max((x2 - x1) * 0.1, 2), my = Math.max((y2 - y1) * 0.1, 2);
  return clampBox([x1 - mx, y1 - my, x2 + mx, y2 + my], W, H);
}
function translate(orig, dx, dy, W, H) {
  const [x1, y1, x2, y2] = orig.bbox;
  dx = clamp(dx, -x1, W - x2);
  dy = clamp(dy, -y1, H - y2);
  const a = clone(orig);
  a.bbox = [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
  if (a.points) a.points = a.points.map((p) => [p[0] + dx, p[1] + dy]);
  if (a.keypoints) a.keypoints = a.keypoints.map((k) => [k[0] + dx, k[1] + dy, k[2]]);
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
    return [x1 + fx * (x2 - x1), y1 + fy * (y2 - y1), 2];
  });
  return { label, bbox: [x1, y1, x2, y2], points: null, keypoints, score: null, source: "human" };
}

// ui.js
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
var TOOLS = [
  ["box", "Box", "b"],
  ["polygon", "Polygon", "o"],
  ["keypoints", "Keypoints", "k"],
  ["auto", "Auto polygon", "m"]
];
var SHORTCUTS = [
  ["b / o / k / m", "Tool: box / polygon / keypoints / auto polygon (drag a rectangle)"],
  ["Drag on the image", "Draw a box (box tool), a keypoint set (keypoints), a rectangle to outline (auto)"],
  ["Shift + drag", "Draw even when starting on an existing object"],
  ["Click", "Select an object; drag it to move, drag a handle to resize"],
  ["Polygon: click, click, ...", "Add vertices; click the first vertex or press Enter to close"],
  ["Polygon: drag ○ on an edge", "Insert a vertex there"],
  ["Alt + click a vertex", "Delete that vertex"],
  ["Delete / Backspace", "Delete the selected vertex, hide the selected keypoint, or delete the object"],
  ["v", "Keypoint visibility: visible → occluded → absent"],
  ["1 – 9", "Class of the selected object (or of the next one drawn)"],
  ["a", "Accept the selected prediction"],
  ["Shift + a", "Accept every prediction above the threshold"],
  ["x", "Reject the selected prediction (delete a label)"],
  ["[ / ]", "Select the previous / next object"],
  ["h", "Hide predictions (and keypoints) scored below the threshold"],
  ["Hover a keypoint", "Its name and score; the point's size shows its score"],
  ["Enter", "Submit (mark verified) and go to the next image; an image with no objects needs e"],
  ["e", "Nothing here: verify that the image has no objects, and go on"],
  ["Shift + Enter", "Nothing (it never submits: in a notebook it runs a cell)"],
  ["n / → , p / ←", "Next / previous image"],
  ["u / r", "Next unlabeled / next image in review"],
  [", / .", "Video: previous / next frame"],
  ["j", "Video: next frame where a track jumped or a point was flagged"],
  ["t", "Video: copy the selected object (or all) to the next N frames"],
  ["Ctrl/Cmd + z", "Undo"],
  ["Ctrl/Cmd + Shift + z, Ctrl + y", "Redo"],
  ["Ctrl/⌘ + wheel, pinch", "Zoom at the pointer (the wheel alone scrolls the notebook)"],
  ["Wheel after a click on the image", "Zoom too, until the pointer leaves the image"],
  ["Space + drag, middle drag", "Pan"],
  ["f or 0", "Fit the image"],
  ["Esc", "Cancel the polygon being drawn, deselect, close this help"],
  ["?", "Show / hide this help"]
];
function buildHelp(onClose) {
  const rows = SHORTCUTS.map(
    ([keys, what]) => h("tr", {}, [h("td", { class: "nbl-keys", text: keys }), h("td", { text: what })])
  );
  const box = h("div", { class: "nbl-help", testid: "help", role: "dialog", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [
      h("strong", { text: "Keyboard shortcuts" }),
      h("button", { type: "button", text: "Close", testid: "help-close", onclick: onClose })
    ]),
    h("table", {}, [h("tbody", {}, rows)])
  ]);
  return box;
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

// annotator.js
var PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac"
];
var HIT = 7;
var MIN_DRAG = 4;
var VIS_CYCLE = { 2: 1, 1: 0, 0: 2 };
var VIS_NAMES = ["absent", "occluded", "visible"];
var REGION_COLOR = "#ff00d4";
var HATCH = 8;
function render({ model, el }) {
  const S = {
    anns: clone(model.get("annotations") || []),
    sel: { i: -1, v: -1 },
    view: { s: 1, ox: 0, oy: 0, fitted: true },
    cssW: 800,
    cssH: 500,
    dpr: 1,
    drawing: null,
    // polygon being drawn: {points: [[x, y], ...]}
    gesture: null,
    mouse: null,
    // last pointer position, image coordinates
    hover: null,
    // keypoint under the pointer: {i, k}
    seq: 0,
    sent: 0,
    space: false,
    wheelZoom: false,
    // the plain wheel zooms only after a click into the image
    threshold: model.get("threshold"),
    slots: { a: { dv: null, index: -1, bmp: null, token: 0 }, b: { dv: null, index: -1, bmp: null, token: 0 } },
    shownIndex: null,
    waitingAuto: false,
    autoFrom: 0,
    classNames: null
  };
  const canvas = h("canvas", { class: "nbl-canvas", testid: "canvas", "aria-label": "image" });
  const ctx = canvas.getContext("2d");
  const stage = h("div", { class: "nbl-stage" }, [canvas]);
  const toolButtons = Object.fromEntries(
    TOOLS.map(([name, label, key]) => [
      name,
      button(label, `tool-${name}`, `${label} (${key})`, () => setTool(name))
    ])
  );
  const classSelect = h("select", { testid: "class-select", title: "Class (1-9)", class: "nbl-select" });
  classSelect.addEventListener("change", () => relabelOrPick(classSelect.value));
  const thr = h("input", { type: "range", min: "0", max: "1", step: "0.01", testid: "threshold", title: "Confidence threshold" });
  const thrValue = h("span", { class: "nbl-thr", testid: "threshold-value" });
  thr.addEventListener("input", () => {
    S.threshold = Number(thr.value);
    thrValue.textContent = S.threshold.toFixed(2);
    draw();
  });
  thr.addEventListener("change", () => {
    model.set("threshold", Number(thr.value));
    model.save_changes();
  });
  const hide = h("input", { type: "checkbox", testid: "hide-below" });
  hide.addEventListener("change", () => {
    model.set("hide_below", hide.checked);
    model.save_changes();
    draw();
  });
  const showRegions = h("input", { type: "checkbox", testid: "show-regions" });
  showRegions.addEventListener("change", () => {
    model.set("show_regions", showRegions.checked);
    model.save_changes();
    draw();
  });
  const regionsText = h("span", { testid: "regions-summary", text: "regions" });
  const regionsToggle = h("label", {
    class: "nbl-group",
    title: "De-identification regions (read-only; add a missed one as a box)"
  }, [showRegions, regionsText]);
  const toolbar = h("div", { class: "nbl-bar" }, [
    h("span", { class: "nbl-group" }, Object.values(toolButtons)),
    classSelect,
    h("label", { class: "nbl-group", title: "Predictions below this score are dimmed" }, [
      h("span", { text: "min score" }),
      thr,
      thrValue
    ]),
    h("label", { class: "nbl-group" }, [hide, h("span", { text: "hide below" })]),
    regionsToggle,
    h("span", { class: "nbl-group" }, [
      button("Accept", "accept", "Accept the selected prediction (a)", () => acceptSelected()),
      button("Accept ≥ min", "accept-all", "Accept all predictions above the threshold (Shift+a)", () => acceptAll()),
      button("Reject", "reject", "Reject / delete the selected object (x)", () => deleteSelected())
    ]),
    h("span", { class: "nbl-group" }, [
      button("↶", "undo", "Undo (Ctrl/Cmd+z)", () => request("undo")),
      button("↷", "redo", "Redo (Ctrl/Cmd+Shift+z)", () => request("redo")),
      button("?", "help-button", "Keyboard shortcuts (?)", () => toggleHelp())
    ])
  ]);
  const indexInput = h("input", { type: "number", min: "1", testid: "index-input", class: "nbl-index", title: "Go to image" });
  indexInput.addEventListener("change", () => gotoTyped());
  const total = h("span", { testid: "count" });
  const fileName = h("span", { class: "nbl-file", testid: "file-name" });
  const statusBadge = h("span", { class: "nbl-status", testid: "status" });
  const countsLine = h("span", { class: "nbl-counts", testid: "counts" });
  const nav = h("div", { class: "nbl-bar" }, [
    button("◀", "prev", "Previous image (p, ←)", () => request("step", { delta: -1 })),
    indexInput,
    total,
    button("▶", "next", "Next image (n, →)", () => request("step", { delta: 1 })),
    button("Next unlabeled", "next-unlabeled", "Next unlabeled image (u)", () => request("next_status", { status: "unlabeled" })),
    button("Next review", "next-review", "Next image in review (r)", () => request("next_status", { status: "review" })),
    button("Submit ⏎", "submit", "Mark verified and go on (Enter)", () => submit()),
    button("Nothing here", "submit-empty", "Verify that this image has no objects and go on (e)", () => submit(true)),
    fileName,
    statusBadge,
    countsLine
  ]);
  const frameSlider = h("input", { type: "range", min: "0", max: "0", step: "1", testid: "frame-slider", class: "nbl-frame-slider", title: "Frame (, and .)" });
  frameSlider.addEventListener("change", () => {
    const m = (model.get("strip") || [])[Number(frameSlider.value)];
    if (m) request("goto", { index: m.index });
  });
  const frameLabel = h("span", { class: "nbl-frame-label", testid: "frame-label" });
  const frameCells = h("div", { class: "nbl-frames", testid: "frame-strip" });
  frameCells.addEventListener("click", (e) => {
    const cell = e.target.closest("[data-index]");
    if (cell) request("goto", { index: Number(cell.dataset.index) });
  });
  const propagateN = h("input", { type: "number", min: "1", value: "5", testid: "propagate-n", class: "nbl-index", title: "Frames to propagate to" });
  const stripBar = h("div", { class: "nbl-bar nbl-strip", testid: "video-bar", hidden: "" }, [
    button("◀ frame", "prev-frame", "Previous frame (,)", () => request("step_frame", { delta: -1 })),
    frameSlider,
    frameLabel,
    button("frame ▶", "next-frame", "Next frame (.)", () => request("step_frame", { delta: 1 })),
    button("Next flagged", "next-flagged", "Next frame where a track jumped or a point was flagged (j)", () => request("next_flagged")),
    h("span", { class: "nbl-group" }, [
      button("Propagate", "propagate", "Copy the selected object (or all) to the next N frames (t)", () => propagateSelected()),
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
      button("Clear", "errors-clear", "Clear the errors", () => request("clear_errors"))
    ]),
    errorsText
  ]);
  const help = buildHelp(() => toggleHelp(false));
  const root = h("div", {
    class: "nbl-root",
    tabindex: "0",
    "data-lm-suppress-shortcuts": "true",
    testid: "annotator"
  }, [toolbar, nav, stripBox, stage, selectionLine, busyLine, messageLine, errorsBox, help]);
  root.classList.add("lm-suppress-shortcuts");
  el.append(root);
  const meta = () => model.get("meta") || {};
  const W = () => meta().width || 1;
  const H = () => meta().height || 1;
  const classes = () => model.get("classes") || [];
  const skeleton = () => model.get("skeleton") || { names: [], edges: [], layout: [] };
  const color = (label) => {
    const i = classes().indexOf(label);
    return i < 0 ? "#888888" : PALETTE[i % PALETTE.length];
  };
  const tracked = (a) => Number.isInteger(a.track);
  const colorOf = (a) => tracked(a) ? PALETTE[(a.track - 1 + PALETTE.length) % PALETTE.length] : color(a.label);
  const hidden = (a) => isPrediction(a) && model.get("hide_below") && a.score < S.threshold;
  const regions = () => model.get("regions") || [];
  const skeletonOf = (a) => skeletonFor(a, [skeleton(), ...Object.values(model.get("skeletons") || {})]);
  const pointName = (a, k) => (skeletonOf(a)?.names || [])[k] || `#${k}`;
  const lowPoint = (a, k) => {
    const s = pointScore(a, k);
    return s !== null && s < S.threshold;
  };
  const pointHidden = (a, k) => lowPoint(a, k) && model.get("hide_below");
  const toCss = (x, y) => [x * S.view.s + S.view.ox, y * S.view.s + S.view.oy];
  const toImg = (cx, cy) => [(cx - S.view.ox) / S.view.s, (cy - S.view.oy) / S.view.s];
  const near = (p, cx, cy, r = HIT) => {
    const [px, py] = toCss(p[0], p[1]);
    return Math.abs(px - cx) <= r && Math.abs(py - cy) <= r;
  };
  const selected = () => S.sel.i >= 0 ? S.anns[S.sel.i] : null;
  function request(action, payload = {}) {
    S.seq = Math.max(S.seq, model.get("ack") || 0) + 1;
    S.sent = S.seq;
    model.set("request", { seq: S.seq, action, index: meta().index, ...payload });
    model.save_changes();
  }
  function commit(kind, anns) {
    S.anns = anns;
    if (S.sel.i >= anns.length) S.sel = { i: -1, v: -1 };
    request("edit", { kind, annotations: clone(anns) });
    draw();
  }
  function say(text) {
    messageLine.textContent = text;
  }
  function adoptRemote() {
    if (S.gesture || (model.get("ack") || 0) < S.sent) return;
    S.anns = clone(model.get("annotations") || []);
    if (S.sel.i >= S.anns.length) S.sel = { i: -1, v: -1 };
    if (S.waitingAuto) {
      S.waitingAuto = false;
      busyLine.textContent = model.get("busy") || "";
      if (S.anns.length > S.autoFrom) S.sel = { i: S.anns.length - 1, v: -1 };
    }
    showSelection();
    draw();
  }
  function onMeta() {
    const m = meta();
    if (m.index !== S.shownIndex) {
      S.shownIndex = m.index;
      S.anns = clone(model.get("annotations") || []);
      S.sel = { i: -1, v: -1 };
      S.drawing = null;
      S.gesture = null;
      S.hover = null;
      S.view.fitted = true;
      showSelection();
      resize();
    }
    indexInput.value = String((m.index ?? 0) + 1);
    indexInput.max = String(m.n || 1);
    total.textContent = `/ ${m.n ?? 0}`;
    fileName.textContent = m.file || m.key || "";
    fileName.title = m.key ? `key: ${m.key}` : "";
    statusBadge.textContent = m.status || "";
    statusBadge.dataset.status = m.status || "";
    refreshSlots();
    syncRegions();
    syncStrip();
    adoptRemote();
    draw();
  }
  function refreshSlots() {
    const idx = model.get("slots") || [-1, -1];
    ["a", "b"].forEach((name, j) => {
      const st = S.slots[name];
      const dv = model.get(`image_${name}`);
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
  const currentBitmap = () => {
    const m = meta();
    const st = S.slots[m.slot || "a"];
    return st && st.index === m.index ? st.bmp : null;
  };
  function syncControls() {
    const t = model.get("tool");
    for (const [name, b] of Object.entries(toolButtons)) {
      b.setAttribute("aria-pressed", String(name === t));
      b.classList.toggle("nbl-on", name === t);
    }
    const names = JSON.stringify(classes());
    if (names !== S.classNames) {
      S.classNames = names;
      setOptions(classSelect, classes(), model.get("label"));
    }
    syncClass();
    S.threshold = model.get("threshold");
    thr.value = String(S.threshold);
    thrValue.textContent = Number(S.threshold).toFixed(2);
    hide.checked = !!model.get("hide_below");
    syncRegions();
    const c = model.get("counts") || {};
    countsLine.textContent = Object.entries(c).filter(([, n]) => n).map(([s, n]) => `${s} ${n}`).join(" · ");
    messageLine.textContent = model.get("message") || "";
    busyLine.textContent = model.get("busy") || (S.waitingAuto ? "Finding the object's outline..." : "");
    const errs = model.get("errors") || [];
    errorsText.textContent = errs.join("\n\n");
    errorsBox.hidden = !errs.length;
    draw();
  }
  function syncRegions() {
    const rs = regions();
    const byKind = /* @__PURE__ */ new Map();
    for (const r of rs) byKind.set(r.kind, (byKind.get(r.kind) || 0) + 1);
    const skipped = meta().regions_unreadable || 0;
    showRegions.disabled = !rs.length;
    showRegions.checked = rs.length > 0 && !!model.get("show_regions");
    regionsText.textContent = rs.length ? `regions: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}` : "regions";
    regionsToggle.classList.toggle("nbl-off", !rs.length);
    if (skipped) regionsText.textContent += ` (${skipped} unreadable)`;
  }
  function fit() {
    const s = Math.min(S.cssW / W(), S.cssH / H());
    S.view = { s, ox: (S.cssW - W() * s) / 2, oy: (S.cssH - H() * s) / 2, fitted: true };
  }
  function resize() {
    const width = stage.clientWidth || 800;
    const maxH = Math.max(320, Math.round((window.innerHeight || 900) * 0.7));
    const height = Math.max(200, Math.min(Math.round(width * H() / W()), maxH));
    S.dpr = window.devicePixelRatio || 1;
    if (width !== S.cssW || height !== S.cssH || canvas.width !== Math.round(width * S.dpr)) {
      S.cssW = width;
      S.cssH = height;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      canvas.width = Math.round(width * S.dpr);
      canvas.height = Math.round(height * S.dpr);
    }
    if (S.view.fitted) fit();
    draw();
  }
  function zoomAt(cx, cy, factor) {
    const fitS = Math.min(S.cssW / W(), S.cssH / H());
    const s = clamp(S.view.s * factor, fitS * 0.25, Math.max(fitS * 40, 8));
    S.view = {
      s,
      ox: cx - (cx - S.view.ox) * s / S.view.s,
      oy: cy - (cy - S.view.oy) * s / S.view.s,
      fitted: false
    };
    draw();
  }
  let frame = 0;
  function draw() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      paint();
    });
  }
  function paint() {
    ctx.setTransform(S.dpr, 0, 0, S.dpr, 0, 0);
    ctx.clearRect(0, 0, S.cssW, S.cssH);
    ctx.fillStyle = "#1e1e1e";
    ctx.fillRect(0, 0, S.cssW, S.cssH);
    const bmp = currentBitmap();
    const [ix, iy] = toCss(0, 0);
    canvas.dataset.zoom = (S.view.s / Math.min(S.cssW / W(), S.cssH / H())).toFixed(3);
    if (bmp) {
      ctx.imageSmoothingEnabled = S.view.s < 4;
      ctx.drawImage(bmp, ix, iy, W() * S.view.s, H() * S.view.s);
      canvas.dataset.paintedKey = String(meta().key ?? "");
    } else {
      ctx.fillStyle = "#333";
      ctx.fillRect(ix, iy, W() * S.view.s, H() * S.view.s);
      ctx.fillStyle = "#ddd";
      ctx.font = "14px sans-serif";
      ctx.fillText(meta().problem || "Loading image...", ix + 12, iy + 24);
    }
    if (model.get("show_regions")) regions().forEach(paintRegion);
    S.anns.forEach((a, i) => {
      if (!hidden(a)) paintObject(a, i === S.sel.i);
    });
    const sel = selected();
    if (sel && !hidden(sel)) paintHandles(sel);
    paintHover();
    paintGesture();
    paintDrawing();
  }
  function paintObject(a, isSel) {
    const pred = isPrediction(a);
    const c = colorOf(a);
    ctx.save();
    ctx.globalAlpha = pred && a.score < S.threshold ? 0.3 : 1;
    ctx.strokeStyle = c;
    ctx.fillStyle = c;
    ctx.lineWidth = isSel ? 3 : pred ? 1.5 : 2;
    ctx.setLineDash(pred ? [6, 4] : []);
    const shape = shapeOf(a);
    if (shape === "polygon") {
      ctx.beginPath();
      a.points.forEach((p, k) => {
        const [x, y] = toCss(p[0], p[1]);
        k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
      });
      ctx.closePath();
      ctx.stroke();
      ctx.globalAlpha *= isSel ? 0.25 : 0.12;
      ctx.fill();
    } else if (shape === "keypoints") {
      paintKeypoints(a, isSel);
    } else {
      const [x1, y1] = toCss(a.bbox[0], a.bbox[1]);
      const [x2, y2] = toCss(a.bbox[2], a.bbox[3]);
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
    const kps = a.keypoints;
    const base = ctx.globalAlpha;
    const alpha = (k) => base * (lowPoint(a, k) ? 0.3 : 1);
    for (const [p, q] of skeletonOf(a)?.edges || []) {
      if (!kps[p] || !kps[q] || !kps[p][2] || !kps[q][2]) continue;
      if (pointHidden(a, p) || pointHidden(a, q)) continue;
      const [x12, y12] = toCss(kps[p][0], kps[p][1]);
      const [x22, y22] = toCss(kps[q][0], kps[q][1]);
      ctx.globalAlpha = Math.min(alpha(p), alpha(q));
      ctx.beginPath();
      ctx.moveTo(x12, y12);
      ctx.lineTo(x22, y22);
      ctx.stroke();
    }
    kps.forEach((k, j) => {
      if (!k[2] && !isSel || pointHidden(a, j)) return;
      const [x, y] = toCss(k[0], k[1]);
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
    const [x1, y1] = toCss(a.bbox[0], a.bbox[1]);
    const [x2, y2] = toCss(a.bbox[2], a.bbox[3]);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }
  function pointRadius(a, k, isSel) {
    if (isSel) return 6;
    const s = pointScore(a, k);
    return s === null ? 4 : 2.5 + 2.5 * clamp(s, 0, 1);
  }
  function paintPointTip(a, k) {
    const p = a.keypoints[k];
    if (!p) return;
    const [x, y] = toCss(p[0], p[1]);
    const s = pointScore(a, k);
    const text = s === null ? pointName(a, k) : `${pointName(a, k)} ${s.toFixed(2)}`;
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
    if (a && shapeOf(a) === "keypoints" && !hidden(a)) paintPointTip(a, hv.k);
  }
  function paintRegion(r) {
    const [x1, y1] = toCss(r.bbox[0], r.bbox[1]);
    const [x2, y2] = toCss(r.bbox[2], r.bbox[3]);
    const w = x2 - x1, ht = y2 - y1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(x1, y1, w, ht);
    ctx.clip();
    ctx.strokeStyle = REGION_COLOR;
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
    ctx.strokeStyle = REGION_COLOR;
    ctx.lineWidth = 2;
    ctx.strokeRect(x1, y1, w, ht);
    const text = r.score === null || r.score === void 0 ? r.kind : `${r.kind} ${Number(r.score).toFixed(2)}`;
    ctx.font = "12px sans-serif";
    const tw = ctx.measureText(text).width + 6;
    const ty = y2 + 16 <= S.cssH ? y2 : y2 - 16;
    ctx.globalAlpha = 0.85;
    ctx.fillStyle = REGION_COLOR;
    ctx.fillRect(x1, ty, tw, 16);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x1 + 3, ty + 12);
    ctx.restore();
  }
  function paintTag(a, c) {
    let text = isPrediction(a) ? `${a.label} ${Number(a.score).toFixed(2)}` : a.label;
    if (tracked(a)) text = `#${a.track} ${text}${a.interpolated ? " ~" : ""}`;
    if (a.flagged_points && a.flagged_points.length) text += ` ⚑ ${a.flagged_points.join(", ")}`;
    const anchor = shapeOf(a) === "polygon" ? a.points.reduce((best, p) => p[1] < best[1] ? p : best, a.points[0]) : a.bbox;
    const [x, y] = toCss(anchor[0], anchor[1]);
    ctx.save();
    ctx.font = "12px sans-serif";
    const w = ctx.measureText(text).width + 6;
    const ty = y > 16 ? y - 16 : y;
    ctx.globalAlpha = isPrediction(a) && a.score < S.threshold ? 0.35 : 0.85;
    ctx.fillStyle = c;
    ctx.fillRect(x, ty, w, 16);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 3, ty + 12);
    ctx.restore();
  }
  function square(x, y, r, fill) {
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
      for (const p of boxHandles(a.bbox)) square(...toCss(p[0], p[1]), 4, "#fff");
    } else if (shape === "polygon") {
      for (const m of midpoints(a.points)) {
        const [x, y] = toCss(m[0], m[1]);
        ctx.beginPath();
        ctx.arc(x, y, 3.5, 0, Math.PI * 2);
        ctx.fillStyle = "rgba(255,255,255,0.6)";
        ctx.fill();
        ctx.stroke();
      }
      a.points.forEach((p, k) => square(...toCss(p[0], p[1]), k === S.sel.v ? 5 : 4, k === S.sel.v ? "#ff0" : "#fff"));
    } else if (S.sel.v >= 0 && a.keypoints[S.sel.v]) {
      paintPointTip(a, S.sel.v);
    }
    ctx.restore();
  }
  function paintGesture() {
    const g = S.gesture;
    if (!g || g.type !== "draw" || !g.moved) return;
    const [x1, y1] = toCss(g.start[0], g.start[1]);
    const [x2, y2] = toCss(g.now[0], g.now[1]);
    ctx.save();
    ctx.strokeStyle = color(model.get("label"));
    ctx.lineWidth = 2;
    ctx.setLineDash(g.tool === "auto" ? [4, 3] : []);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }
  function paintDrawing() {
    const d = S.drawing;
    if (!d || !d.points.length) return;
    ctx.save();
    ctx.strokeStyle = color(model.get("label"));
    ctx.lineWidth = 2;
    ctx.beginPath();
    d.points.forEach((p, k) => {
      const [x, y] = toCss(p[0], p[1]);
      k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    if (S.mouse) ctx.lineTo(...toCss(S.mouse[0], S.mouse[1]));
    ctx.stroke();
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    d.points.forEach((p, k) => square(...toCss(p[0], p[1]), k === 0 ? 6 : 3.5, k === 0 ? "#ff0" : "#fff"));
    ctx.restore();
  }
  function hitHandle(cx, cy) {
    const a = selected();
    if (!a || hidden(a)) return null;
    const shape = shapeOf(a);
    if (shape === "box") {
      const k2 = boxHandles(a.bbox).findIndex((p) => near(p, cx, cy));
      return k2 >= 0 ? { type: "box", k: k2 } : null;
    }
    if (shape === "polygon") {
      const k2 = a.points.findIndex((p) => near(p, cx, cy));
      if (k2 >= 0) return { type: "vertex", k: k2 };
      const m = midpoints(a.points).findIndex((p) => near(p, cx, cy, HIT - 2));
      return m >= 0 ? { type: "mid", k: m } : null;
    }
    const k = a.keypoints.findIndex((p, j) => !pointHidden(a, j) && near(p, cx, cy));
    return k >= 0 ? { type: "kp", k } : null;
  }
  function hitPoint(cx, cy) {
    const order = [S.sel.i, ...S.anns.keys()].filter((i) => i >= 0);
    for (const i of order) {
      const a = S.anns[i];
      if (!a || hidden(a) || shapeOf(a) !== "keypoints") continue;
      const k = a.keypoints.findIndex(
        (q, j) => (q[2] || i === S.sel.i) && !pointHidden(a, j) && near(q, cx, cy)
      );
      if (k >= 0) return { i, k };
    }
    return null;
  }
  function hitObject(cx, cy) {
    const [x, y] = toImg(cx, cy);
    const pad = HIT / S.view.s;
    let best = -1, bestArea = Infinity;
    S.anns.forEach((a, i) => {
      if (hidden(a)) return;
      const shape = shapeOf(a);
      let hit = false;
      if (shape === "polygon") hit = insidePolygon(a.points, x, y) || a.points.some((p) => near(p, cx, cy));
      else if (shape === "keypoints") {
        hit = insideBox(a.bbox, x, y, pad) || a.keypoints.some((k, j) => k[2] && !pointHidden(a, j) && near(k, cx, cy));
      } else hit = insideBox(a.bbox, x, y, pad);
      if (hit && area(a.bbox) <= bestArea) {
        best = i;
        bestArea = area(a.bbox);
      }
    });
    return best;
  }
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  function onPointerDown(e) {
    root.focus({ preventScroll: true });
    S.wheelZoom = true;
    const [cx, cy] = point(e);
    const p = toImg(cx, cy);
    canvas.setPointerCapture?.(e.pointerId);
    if (e.button === 1 || e.button === 0 && S.space) {
      S.gesture = { type: "pan", cx, cy, ox: S.view.ox, oy: S.view.oy };
      e.preventDefault();
      return;
    }
    if (e.button !== 0) return;
    e.preventDefault();
    if (S.waitingAuto) return say("Waiting for the outline of the last rectangle...");
    const tool = model.get("tool");
    if (S.drawing) return addVertex(p, cx, cy);
    if (!e.shiftKey) {
      const hnd = hitHandle(cx, cy);
      if (hnd) return startHandle(hnd, p, e);
      const i = hitObject(cx, cy);
      if (i >= 0) {
        S.sel = { i, v: -1 };
        const a = S.anns[i];
        if (shapeOf(a) === "keypoints") {
          const k = a.keypoints.findIndex((q, j) => q[2] && !pointHidden(a, j) && near(q, cx, cy));
          if (k >= 0) return startHandle({ type: "kp", k }, p, e);
        }
        S.gesture = { type: "move", start: p, orig: clone(a), i, moved: false };
        showSelection();
        return draw();
      }
    }
    S.sel = { i: -1, v: -1 };
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
      return deleteVertex(S.sel.i, hnd.k);
    }
    if (hnd.type === "mid") {
      const next = clone(a);
      next.points.splice(hnd.k + 1, 0, [p[0], p[1]]);
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
  function addVertex(p, cx, cy) {
    const pts = S.drawing.points;
    if (pts.length >= 3 && near(pts[0], cx, cy, HIT + 3)) return closePolygon();
    if (pts.length && near(pts[pts.length - 1], cx, cy, 2)) return;
    pts.push([clamp(p[0], 0, W()), clamp(p[1], 0, H())]);
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
  function onPointerMove(e) {
    const [cx, cy] = point(e);
    S.mouse = toImg(cx, cy);
    const g = S.gesture;
    if (!g) {
      updateCursor(cx, cy);
      const hv = S.drawing ? null : hitPoint(cx, cy);
      if (JSON.stringify(hv) !== JSON.stringify(S.hover)) {
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
    const i = S.sel.i;
    if (g.type === "draw") g.now = [clamp(p[0], 0, W()), clamp(p[1], 0, H())];
    else if (g.type === "move") S.anns[i] = translate(g.orig, dx, dy, W(), H());
    else if (g.type === "box") S.anns[i] = { ...g.orig, bbox: resizeBox(g.orig.bbox, g.k, dx, dy, W(), H()) };
    else if (g.type === "vertex") {
      const a = clone(g.orig);
      a.points[g.k] = [clamp(p[0], 0, W()), clamp(p[1], 0, H())];
      a.bbox = normBox(bboxOf(a.points));
      S.anns[i] = a;
    } else if (g.type === "kp") {
      const a = clone(g.orig);
      const k = a.keypoints[g.k];
      a.keypoints[g.k] = [clamp(p[0], 0, W()), clamp(p[1], 0, H()), k[2] || 2];
      placedByHand(a, g.k);
      a.bbox = keypointBox(a, W(), H());
      S.anns[i] = a;
    }
    draw();
  }
  const bboxOf = (pts) => {
    const xs = pts.map((q) => q[0]), ys = pts.map((q) => q[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  };
  function onPointerUp(e) {
    const g = S.gesture;
    S.gesture = null;
    canvas.releasePointerCapture?.(e.pointerId);
    if (!g || g.type === "pan") return adoptRemote();
    const anns = S.anns;
    if (g.type === "draw") {
      const b = clampBox(normBox([...g.start, ...g.now]), W(), H());
      const big = (b[2] - b[0]) * S.view.s >= MIN_DRAG && (b[3] - b[1]) * S.view.s >= MIN_DRAG;
      if (!g.moved || !big) return draw();
      const label = model.get("label");
      if (g.tool === "auto") {
        S.waitingAuto = true;
        S.autoFrom = S.anns.length;
        busyLine.textContent = "Finding the object's outline...";
        request("auto", { box: b, label });
        return draw();
      }
      const rec = g.tool === "keypoints" ? keypointRecord(label, b, skeleton()) : { label, bbox: b, points: null, keypoints: null, score: null, source: "human" };
      S.sel = { i: anns.length, v: -1 };
      commit("added", [...anns, rec]);
      return showSelection();
    }
    if (!g.moved) {
      if (g.type === "vertex" && g.before) S.anns[S.sel.i] = g.before;
      adoptRemote();
      return draw();
    }
    own(S.anns[S.sel.i]);
    const kind = g.type === "move" || g.type === "kp" ? "moved" : "resized";
    commit(kind, [...anns]);
    showSelection();
  }
  function updateCursor(cx, cy) {
    let cursor = "crosshair";
    if (S.space) cursor = "grab";
    else if (!S.drawing) {
      const hnd = hitHandle(cx, cy);
      if (hnd) cursor = hnd.type === "box" ? HANDLE_CURSORS[hnd.k] : "pointer";
      else if (hitObject(cx, cy) >= 0) cursor = "move";
    }
    canvas.style.cursor = cursor;
  }
  function onWheel(e) {
    if (!(e.ctrlKey || e.metaKey || S.wheelZoom)) {
      const hint = "Ctrl/⌘ + wheel zooms (or click the image first); the wheel scrolls the notebook.";
      if (messageLine.textContent !== hint) say(hint);
      return;
    }
    e.preventDefault();
    const [cx, cy] = point(e);
    zoomAt(cx, cy, Math.exp(-e.deltaY * 15e-4));
  }
  function syncClass() {
    const a = selected();
    const label = a ? a.label : model.get("label");
    if (classes().includes(label) && classSelect.value !== label) classSelect.value = label;
  }
  function showSelection() {
    syncClass();
    const a = selected();
    if (!a) {
      selectionLine.textContent = S.drawing ? "Drawing a polygon: Enter closes it, Esc cancels." : "";
      return;
    }
    const parts = [a.label, isPrediction(a) ? `prediction ${Number(a.score).toFixed(2)}` : "label", a.source || ""];
    if (shapeOf(a) === "keypoints") {
      const sk = skeletonOf(a);
      parts.push(`${a.keypoints.length} points${sk ? ` (${sk.name})` : ""}`);
      const k = S.sel.v >= 0 ? a.keypoints[S.sel.v] : null;
      if (k) {
        const s = pointScore(a, S.sel.v);
        const score = s === null ? "" : `, score ${s.toFixed(2)}`;
        parts.push(`point ${pointName(a, S.sel.v)}: ${VIS_NAMES[k[2]]}${score}`);
      }
    }
    if (shapeOf(a) === "polygon") parts.push(`${a.points.length} vertices`);
    if (typeof a.polygon_score === "number") parts.push(`outline quality ${a.polygon_score.toFixed(2)}`);
    selectionLine.textContent = parts.filter(Boolean).join(" · ");
  }
  function setTool(name) {
    S.drawing = null;
    model.set("tool", name);
    model.save_changes();
    syncControls();
  }
  function relabelOrPick(label) {
    if (!classes().includes(label)) return;
    model.set("label", label);
    model.save_changes();
    const a = selected();
    if (a && a.label !== label) {
      const anns = [...S.anns];
      anns[S.sel.i] = own({ ...clone(a), label });
      commit("relabelled", anns);
      showSelection();
    }
    syncControls();
  }
  function acceptSelected() {
    const a = selected();
    if (!a || !isPrediction(a)) return say("Select a prediction (dashed) to accept it.");
    const anns = [...S.anns];
    anns[S.sel.i] = accept(clone(a));
    commit("accepted", anns);
    showSelection();
  }
  function acceptAll() {
    let n = 0;
    const anns = S.anns.map((a) => {
      if (!isPrediction(a) || a.score < S.threshold) return a;
      n += 1;
      return accept(clone(a));
    });
    if (!n) return say(`No prediction scores ${S.threshold.toFixed(2)} or more.`);
    commit("accepted", anns);
    say(`Accepted ${n} prediction${n > 1 ? "s" : ""}.`);
    showSelection();
  }
  function deleteSelected() {
    const a = selected();
    if (!a) return say("Select an object first.");
    const anns = S.anns.filter((_, i) => i !== S.sel.i);
    S.sel = { i: -1, v: -1 };
    commit(isPrediction(a) ? "rejected" : "deleted", anns);
    showSelection();
  }
  function deleteVertex(i, k) {
    const a = S.anns[i];
    if (a.points.length <= 3) return say("A polygon needs 3 vertices; delete the object instead (x).");
    const next = own(clone(a));
    next.points.splice(k, 1);
    next.bbox = bboxOf(next.points);
    const anns = [...S.anns];
    anns[i] = next;
    S.sel = { i, v: -1 };
    commit("resized", anns);
    showSelection();
  }
  function onDelete() {
    if (S.drawing) {
      S.drawing.points.pop();
      if (!S.drawing.points.length) S.drawing = null;
      return draw();
    }
    const a = selected();
    if (!a) return say("Select an object first.");
    if (shapeOf(a) === "polygon" && S.sel.v >= 0) return deleteVertex(S.sel.i, S.sel.v);
    if (shapeOf(a) === "keypoints" && S.sel.v >= 0) return setVisibility(0);
    deleteSelected();
  }
  function setVisibility(v) {
    const a = selected();
    if (!a || shapeOf(a) !== "keypoints" || S.sel.v < 0) return say("Select a keypoint first.");
    const next = own(clone(a));
    const k = next.keypoints[S.sel.v];
    next.keypoints[S.sel.v] = [k[0], k[1], v === void 0 ? VIS_CYCLE[k[2]] : v];
    placedByHand(next, S.sel.v);
    next.bbox = keypointBox(next, W(), H());
    const anns = [...S.anns];
    anns[S.sel.i] = next;
    commit("relabelled", anns);
    showSelection();
  }
  function cycleSelection(step) {
    const visible = S.anns.map((a, i) => hidden(a) ? -1 : i).filter((i) => i >= 0);
    if (!visible.length) return;
    const at = visible.indexOf(S.sel.i);
    const j = at < 0 ? step > 0 ? 0 : visible.length - 1 : (at + step + visible.length) % visible.length;
    S.sel = { i: visible[j], v: -1 };
    showSelection();
    draw();
  }
  function syncStrip() {
    const strip = model.get("strip") || [];
    stripBox.hidden = !strip.length;
    stripBar.hidden = !strip.length;
    if (!strip.length) return;
    const here = strip.findIndex((m) => m.index === meta().index);
    frameSlider.max = String(strip.length - 1);
    if (here >= 0) frameSlider.value = String(here);
    frameLabel.textContent = here >= 0 ? `frame ${strip[here].frame} (${here + 1}/${strip.length})` : "";
    const cells = strip.map((m, j) => {
      const marks = m.flagged.length ? ` · flagged: ${m.flagged.join(", ")}` : m.jump ? " · a track jumped" : "";
      const cell = h("span", {
        class: "nbl-frame",
        testid: "frame-cell",
        "data-index": m.index,
        "data-status": m.status,
        title: `frame ${m.frame} · ${m.status} · ${m.objects} object${m.objects === 1 ? "" : "s"}${marks}`
      });
      if (m.flagged.length || m.jump) cell.classList.add("nbl-frame-flag");
      if (j === here) cell.classList.add("nbl-frame-here");
      return cell;
    });
    frameCells.replaceChildren(...cells);
  }
  function propagateSelected() {
    const n = Math.max(1, Math.floor(Number(propagateN.value) || 5));
    const a = selected();
    request("propagate", { n, track: a && tracked(a) ? a.track : null });
  }
  function submit(empty = false) {
    S.drawing = null;
    request("submit", { annotations: clone(S.anns), empty });
  }
  function gotoTyped() {
    const n = Number(indexInput.value);
    if (Number.isInteger(n) && n >= 1) request("goto", { index: n - 1 });
  }
  function toggleHelp(show) {
    help.hidden = show === void 0 ? !help.hidden : !show;
    if (help.hidden) root.focus({ preventScroll: true });
  }
  function onKeyDown(e) {
    const t = e.target;
    if (t !== root && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      if (e.key === "Enter" || e.key === "Escape") root.focus({ preventScroll: true });
      e.stopPropagation();
      return;
    }
    if (handleKey(e)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }
  function handleKey(e) {
    const key = e.key;
    const mod = e.ctrlKey || e.metaKey;
    if (mod) {
      const k = key.toLowerCase();
      if (k === "z" && !e.shiftKey) return request("undo"), true;
      if (k === "z" && e.shiftKey || k === "y") return request("redo"), true;
      return false;
    }
    if (e.altKey && key !== "Delete" && key !== "Backspace") return false;
    if (key === " ") {
      S.space = true;
      canvas.style.cursor = "grab";
      return true;
    }
    if (key === "?") return toggleHelp(), true;
    if (key === "Escape") {
      if (!help.hidden) toggleHelp(false);
      else if (S.drawing) S.drawing = null;
      else if (S.sel.i >= 0) S.sel = { i: -1, v: -1 };
      else return false;
      showSelection();
      draw();
      return true;
    }
    if (key === "Enter" && e.shiftKey) {
      say("Shift+Enter does nothing here: Enter submits this image, e verifies it as empty.");
      return true;
    }
    if (key === "Enter") {
      if (S.drawing) closePolygon();
      else submit();
      return true;
    }
    if (/^[1-9]$/.test(key)) {
      const name = classes()[Number(key) - 1];
      if (name) relabelOrPick(name);
      return true;
    }
    const tools = { b: "box", o: "polygon", k: "keypoints", m: "auto" };
    if (tools[key]) return setTool(tools[key]), true;
    switch (key) {
      case "n":
      case "ArrowRight":
        request("step", { delta: 1 });
        return true;
      case ".":
        request("step_frame", { delta: 1 });
        return true;
      case ",":
        request("step_frame", { delta: -1 });
        return true;
      case "j":
        request("next_flagged");
        return true;
      case "t":
        propagateSelected();
        return true;
      case "p":
      case "ArrowLeft":
        request("step", { delta: -1 });
        return true;
      case "u":
        request("next_status", { status: "unlabeled" });
        return true;
      case "r":
        request("next_status", { status: "review" });
        return true;
      case "e":
        submit(true);
        return true;
      case "a":
        acceptSelected();
        return true;
      case "A":
        acceptAll();
        return true;
      case "x":
      case "X":
        deleteSelected();
        return true;
      case "Delete":
      case "Backspace":
        onDelete();
        return true;
      case "v":
        setVisibility();
        return true;
      case "h":
        model.set("hide_below", !model.get("hide_below"));
        model.save_changes();
        syncControls();
        return true;
      case "[":
        cycleSelection(-1);
        return true;
      case "]":
        cycleSelection(1);
        return true;
      case "f":
      case "0":
        S.view.fitted = true;
        fit();
        draw();
        return true;
      default:
        return false;
    }
  }
  function onKeyUp(e) {
    if (e.key === " ") {
      S.space = false;
      canvas.style.cursor = "crosshair";
      e.preventDefault();
      e.stopPropagation();
    }
  }
  canvas.addEventListener("pointerdown", onPointerDown);
  canvas.addEventListener("pointermove", onPointerMove);
  canvas.addEventListener("pointerup", onPointerUp);
  canvas.addEventListener("pointercancel", onPointerUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("pointerleave", () => {
    S.wheelZoom = false;
    if (S.hover) {
      S.hover = null;
      draw();
    }
  });
  canvas.addEventListener("contextmenu", (e) => S.gesture && e.preventDefault());
  canvas.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault());
  root.addEventListener("click", (e) => {
    if (e.target.closest("button")) root.focus({ preventScroll: true });
  });
  root.addEventListener("change", (e) => {
    if (e.target !== indexInput) root.focus({ preventScroll: true });
  });
  root.addEventListener("keydown", onKeyDown);
  root.addEventListener("keyup", onKeyUp);
  root.addEventListener("blur", () => {
    S.space = false;
    S.wheelZoom = false;
  });
  function onCustom(msg) {
    if (!msg || msg.type !== "reveal") return;
    root.scrollIntoView({ block: "nearest", behavior: "auto" });
    root.focus({ preventScroll: true });
  }
  const listeners = [
    ["msg:custom", onCustom],
    ["change:annotations", adoptRemote],
    ["change:ack", adoptRemote],
    ["change:meta", onMeta],
    ["change:slots", () => {
      refreshSlots();
      draw();
    }],
    ["change:image_a", () => {
      refreshSlots();
      draw();
    }],
    ["change:image_b", () => {
      refreshSlots();
      draw();
    }],
    ["change:busy", syncControls],
    ["change:message", syncControls],
    ["change:errors", syncControls],
    ["change:counts", syncControls],
    ["change:classes", syncControls],
    ["change:label", syncControls],
    ["change:tool", syncControls],
    ["change:threshold", syncControls],
    ["change:hide_below", syncControls],
    ["change:skeleton", draw],
    ["change:skeletons", draw],
    ["change:regions", () => {
      syncRegions();
      draw();
    }],
    ["change:show_regions", syncControls],
    ["change:strip", syncStrip]
  ];
  for (const [name, fn] of listeners) model.on(name, fn);
  const observer = new ResizeObserver(() => resize());
  observer.observe(stage);
  syncControls();
  onMeta();
  resize();
  showSelection();
  return () => {
    for (const [name, fn] of listeners) model.off(name, fn);
    observer.disconnect();
    if (frame) cancelAnimationFrame(frame);
  };
}
var annotator_default = { render };
export {
  annotator_default as default
};
