// Pure geometry on annotation records (image pixel coordinates). No DOM here, so every rule
// about what a gesture does to a record lives in one place.

export const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

export function clone(x) {
  return JSON.parse(JSON.stringify(x));
}

export const isPrediction = (a) => a.score !== null && a.score !== undefined;

export function shapeOf(a) {
  if (Array.isArray(a.points) && a.points.length) return "polygon";
  if (Array.isArray(a.keypoints) && a.keypoints.length) return "keypoints";
  return "box";
}

// A record the user touched becomes theirs: a corrected prediction is a human label.
export function own(a) {
  a.score = null;
  a.source = "human";
  return a;
}

// Accepting an object vouches for all of it, every keypoint included, so the per-point
// confidences of the model that proposed it no longer describe anything.
export function accept(a) {
  own(a);
  delete a.keypoint_scores;
  return a;
}

// Confidence of keypoint k (a record's `keypoint_scores`), or null where there is none.
export function pointScore(a, k) {
  const s = Array.isArray(a.keypoint_scores) ? a.keypoint_scores[k] : null;
  return typeof s === "number" && Number.isFinite(s) ? s : null;
}

// A point the user moved or re-marked was placed by a person: its model score is dropped.
export function placedByHand(a, k) {
  if (Array.isArray(a.keypoint_scores) && k < a.keypoint_scores.length) a.keypoint_scores[k] = null;
  return a;
}

// The skeleton that draws a keypoint object: the one its record names, else the first of
// `skeletons` (the widget's default first, then the built-ins) with as many points.
export function skeletonFor(a, skeletons) {
  const n = a.keypoints.length;
  const fits = (s) => s && Array.isArray(s.names) && s.names.length === n;
  return (a.skeleton && skeletons.find((s) => fits(s) && s.name === a.skeleton))
    || skeletons.find(fits) || null;
}

export function bboxOfPoints(pts) {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const p of pts) {
    x1 = Math.min(x1, p[0]); y1 = Math.min(y1, p[1]);
    x2 = Math.max(x2, p[0]); y2 = Math.max(y2, p[1]);
  }
  return [x1, y1, x2, y2];
}

export function normBox(b) {
  return [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
}

export function clampBox(b, W, H) {
  return [clamp(b[0], 0, W), clamp(b[1], 0, H), clamp(b[2], 0, W), clamp(b[3], 0, H)];
}

// Keypoint instances keep a box around their labelled points (with a margin, so the box is
// never empty even for two points on a line); with no labelled point the old box stays.
export function keypointBox(a, W, H) {
  const seen = a.keypoints.filter((k) => k[2] > 0);
  if (!seen.length) return a.bbox;
  const [x1, y1, x2, y2] = bboxOfPoints(seen);
  const mx = Math.max((x2 - x1) * 0.1, 2), my = Math.max((y2 - y1) * 0.1, 2);
  return clampBox([x1 - mx, y1 - my, x2 + mx, y2 + my], W, H);
}

// Translate a whole object, keeping its box inside the image.
export function translate(orig, dx, dy, W, H) {
  const [x1, y1, x2, y2] = orig.bbox;
  dx = clamp(dx, -x1, W - x2);
  dy = clamp(dy, -y1, H - y2);
  const a = clone(orig);
  a.bbox = [x1 + dx, y1 + dy, x2 + dx, y2 + dy];
  if (a.points) a.points = a.points.map((p) => [p[0] + dx, p[1] + dy]);
  if (a.keypoints) a.keypoints = a.keypoints.map((k) => [k[0] + dx, k[1] + dy, k[2]]);
  return a;
}

// Handles 0..7 clockwise from the top-left corner: nw, n, ne, e, se, s, sw, w.
export const HANDLE_CURSORS = [
  "nwse-resize", "ns-resize", "nesw-resize", "ew-resize",
  "nwse-resize", "ns-resize", "nesw-resize", "ew-resize",
];

export function boxHandles(b) {
  const [x1, y1, x2, y2] = b;
  const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
  return [[x1, y1], [mx, y1], [x2, y1], [x2, my], [x2, y2], [mx, y2], [x1, y2], [x1, my]];
}

export function resizeBox(b, handle, dx, dy, W, H) {
  let [x1, y1, x2, y2] = b;
  if ([0, 6, 7].includes(handle)) x1 += dx;
  if ([2, 3, 4].includes(handle)) x2 += dx;
  if ([0, 1, 2].includes(handle)) y1 += dy;
  if ([4, 5, 6].includes(handle)) y2 += dy;
  return clampBox(normBox([x1, y1, x2, y2]), W, H);
}

export function midpoints(points) {
  return points.map((p, i) => {
    const q = points[(i + 1) % points.length];
    return [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
  });
}

export function insideBox(b, x, y, pad = 0) {
  return x >= b[0] - pad && x <= b[2] + pad && y >= b[1] - pad && y <= b[3] + pad;
}

export function insidePolygon(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i], [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export const area = (b) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

// The record a polygon vertex list stands for (its box follows its points).
export function polygonRecord(label, points) {
  return {
    label, bbox: bboxOfPoints(points), points: points.map((p) => [p[0], p[1]]),
    keypoints: null, score: null, source: "human",
  };
}

// A new keypoint instance laid out inside a drawn box from the skeleton's template.
export function keypointRecord(label, box, skeleton) {
  const [x1, y1, x2, y2] = box;
  const layout = skeleton.layout || [];
  const keypoints = skeleton.names.map((_, i) => {
    const [fx, fy] = layout[i] || [0.5, 0.5];
    return [x1 + fx * (x2 - x1), y1 + fy * (y2 - y1), 2];
  });
  return { label, bbox: [x1, y1, x2, y2], points: null, keypoints, score: null, source: "human" };
}
