// Pure geometry on annotation records (image pixel coordinates). No DOM here, so every rule
// about what a gesture does to a record lives in one place, and node's test runner checks it
// without a browser. The view and hit testing are in view.js.

/** @typedef {[number, number]} Point an image position, [x, y] */
/** @typedef {[number, number, number]} Keypoint [x, y, visibility]: 2 visible, 1 occluded, 0 absent */
/** @typedef {[number, number, number, number]} Box [x1, y1, x2, y2] */

/**
 * One annotation record, as the widget's `annotations` trait carries it (image pixels).
 * @typedef {object} Ann
 * @property {string} label
 * @property {Box} bbox
 * @property {Point[] | null} [points]
 * @property {Keypoint[] | null} [keypoints]
 * @property {number | null} [score]
 * @property {string} [source]
 * @property {(number | null)[]} [keypoint_scores]
 * @property {string} [skeleton] name of the skeleton that draws its keypoints
 * @property {number} [track]
 * @property {boolean} [interpolated]
 * @property {string[]} [flagged_points]
 * @property {number} [polygon_score]
 */

/**
 * @typedef {object} Skeleton
 * @property {string} [name]
 * @property {string[]} names
 * @property {[number, number][]} [edges]
 * @property {[number, number][]} [layout] each point's place in a new instance's box, 0..1
 */

/** @type {(v: number, lo: number, hi: number) => number} */
export const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

/**
 * A deep copy of plain data. Used once per gesture or edit, never per pointer move.
 * @template T
 * @param {T} x
 * @returns {T}
 */
export function clone(x) {
  return JSON.parse(JSON.stringify(x));
}

/** @param {Ann} a */
export const isPrediction = (a) => a.score !== null && a.score !== undefined;

/**
 * @param {Ann} a
 * @returns {"polygon" | "keypoints" | "box"}
 */
export function shapeOf(a) {
  if (Array.isArray(a.points) && a.points.length) return "polygon";
  if (Array.isArray(a.keypoints) && a.keypoints.length) return "keypoints";
  return "box";
}

/**
 * A record the user touched becomes theirs: a corrected prediction is a human label.
 * @param {Ann} a
 */
export function own(a) {
  a.score = null;
  a.source = "human";
  return a;
}

/**
 * Accepting an object vouches for all of it, every keypoint included, so the per-point
 * confidences of the model that proposed it no longer describe anything.
 * @param {Ann} a
 */
export function accept(a) {
  own(a);
  delete a.keypoint_scores;
  return a;
}

/**
 * Confidence of keypoint k (a record's `keypoint_scores`), or null where there is none.
 * @param {Ann} a
 * @param {number} k
 * @returns {number | null}
 */
export function pointScore(a, k) {
  const s = Array.isArray(a.keypoint_scores) ? a.keypoint_scores[k] : null;
  return typeof s === "number" && Number.isFinite(s) ? s : null;
}

/**
 * A point the user moved or re-marked was placed by a person: its model score is dropped.
 * @param {Ann} a
 * @param {number} k
 */
export function placedByHand(a, k) {
  if (Array.isArray(a.keypoint_scores) && k < a.keypoint_scores.length) a.keypoint_scores[k] = null;
  return a;
}

/**
 * The skeleton that draws a keypoint object: the one its record names, else the first of
 * `skeletons` (the widget's default first, then the built-ins) with as many points.
 * @param {Ann} a
 * @param {(Skeleton | null | undefined)[]} skeletons
 * @returns {Skeleton | null}
 */
export function skeletonFor(a, skeletons) {
  const n = (a.keypoints || []).length;
  /** @param {Skeleton | null | undefined} s @returns {s is Skeleton} */
  const fits = (s) => !!s && Array.isArray(s.names) && s.names.length === n;
  return (a.skeleton && skeletons.filter(fits).find((s) => s.name === a.skeleton))
    || skeletons.find(fits) || null;
}

/**
 * @param {readonly (readonly number[])[]} pts
 * @returns {Box}
 */
export function bboxOfPoints(pts) {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const p of pts) {
    x1 = Math.min(x1, p[0]); y1 = Math.min(y1, p[1]);
    x2 = Math.max(x2, p[0]); y2 = Math.max(y2, p[1]);
  }
  return [x1, y1, x2, y2];
}

/**
 * The same box with its corners ordered (x1 <= x2, y1 <= y2), whichever way it was drawn.
 * @param {readonly number[]} b
 * @returns {Box}
 */
export function normBox(b) {
  return [Math.min(b[0], b[2]), Math.min(b[1], b[3]), Math.max(b[0], b[2]), Math.max(b[1], b[3])];
}

/**
 * @param {readonly number[]} b
 * @param {number} W
 * @param {number} H
 * @returns {Box}
 */
export function clampBox(b, W, H) {
  return [clamp(b[0], 0, W), clamp(b[1], 0, H), clamp(b[2], 0, W), clamp(b[3], 0, H)];
}

/**
 * Keypoint instances keep a box around their labelled points (with a margin, so the box is
 * never empty even for two points on a line); with no labelled point the old box stays.
 * @param {Ann} a
 * @param {number} W
 * @param {number} H
 * @returns {Box}
 */
export function keypointBox(a, W, H) {
  const seen = (a.keypoints || []).filter((k) => k[2] > 0);
  if (!seen.length) return a.bbox;
  const [x1, y1, x2, y2] = bboxOfPoints(seen);
  const mx = Math.max((x2 - x1) * 0.1, 2), my = Math.max((y2 - y1) * 0.1, 2);
  return clampBox([x1 - mx, y1 - my, x2 + mx, y2 + my], W, H);
}

/**
 * Translate a whole object, keeping its box inside the image. A new record; `orig` and its
 * arrays are left as they are, and fields the move does not change are shared with it.
 * @param {Ann} orig
 * @param {number} dx
 * @param {number} dy
 * @param {number} W
 * @param {number} H
 * @returns {Ann}
 */
export function translate(orig, dx, dy, W, H) {
  const [x1, y1, x2, y2] = orig.bbox;
  dx = clamp(dx, -x1, W - x2);
  dy = clamp(dy, -y1, H - y2);
  const a = { ...orig, bbox: /** @type {Box} */ ([x1 + dx, y1 + dy, x2 + dx, y2 + dy]) };
  if (orig.points) a.points = orig.points.map((p) => [p[0] + dx, p[1] + dy]);
  if (orig.keypoints) a.keypoints = orig.keypoints.map((k) => [k[0] + dx, k[1] + dy, k[2]]);
  return a;
}

/**
 * Polygon vertex k dragged to p (inside the image); the box follows the points.
 * @param {Ann} orig
 * @param {number} k
 * @param {Point} p
 * @param {number} W
 * @param {number} H
 * @returns {Ann}
 */
export function moveVertex(orig, k, p, W, H) {
  const points = [...(orig.points || [])];
  points[k] = [clamp(p[0], 0, W), clamp(p[1], 0, H)];
  return { ...orig, points, bbox: bboxOfPoints(points) };
}

/**
 * Keypoint k dragged to p: an absent point becomes visible, it counts as placed by hand,
 * and the object's box follows its labelled points.
 * @param {Ann} orig
 * @param {number} k
 * @param {Point} p
 * @param {number} W
 * @param {number} H
 * @returns {Ann}
 */
export function moveKeypoint(orig, k, p, W, H) {
  const keypoints = [...(orig.keypoints || [])];
  keypoints[k] = [clamp(p[0], 0, W), clamp(p[1], 0, H), keypoints[k][2] || 2];
  const a = { ...orig, keypoints };
  // placedByHand writes into keypoint_scores: a copy, so `orig` keeps its scores
  if (Array.isArray(orig.keypoint_scores)) a.keypoint_scores = [...orig.keypoint_scores];
  placedByHand(a, k);
  a.bbox = keypointBox(a, W, H);
  return a;
}

// Handles 0..7 clockwise from the top-left corner: nw, n, ne, e, se, s, sw, w.
export const HANDLE_CURSORS = [
  "nwse-resize", "ns-resize", "nesw-resize", "ew-resize",
  "nwse-resize", "ns-resize", "nesw-resize", "ew-resize",
];

/**
 * @param {Box} b
 * @returns {Point[]}
 */
export function boxHandles(b) {
  const [x1, y1, x2, y2] = b;
  const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
  return [[x1, y1], [mx, y1], [x2, y1], [x2, my], [x2, y2], [mx, y2], [x1, y2], [x1, my]];
}

/**
 * Box b with handle `handle` (0..7, see boxHandles) dragged by (dx, dy), kept in the image.
 * @param {Box} b
 * @param {number} handle
 * @param {number} dx
 * @param {number} dy
 * @param {number} W
 * @param {number} H
 * @returns {Box}
 */
export function resizeBox(b, handle, dx, dy, W, H) {
  let [x1, y1, x2, y2] = b;
  if ([0, 6, 7].includes(handle)) x1 += dx;
  if ([2, 3, 4].includes(handle)) x2 += dx;
  if ([0, 1, 2].includes(handle)) y1 += dy;
  if ([4, 5, 6].includes(handle)) y2 += dy;
  return clampBox(normBox([x1, y1, x2, y2]), W, H);
}

/**
 * Middle of each polygon edge (edge i runs from vertex i to vertex i + 1, the last closes).
 * @param {Point[]} points
 * @returns {Point[]}
 */
export function midpoints(points) {
  return points.map((p, i) => {
    const q = points[(i + 1) % points.length];
    return [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
  });
}

/**
 * @param {Box} b
 * @param {number} x
 * @param {number} y
 * @param {number} [pad]
 */
export function insideBox(b, x, y, pad = 0) {
  return x >= b[0] - pad && x <= b[2] + pad && y >= b[1] - pad && y <= b[3] + pad;
}

/**
 * Even-odd rule: a ray from (x, y) crosses the outline an odd number of times.
 * @param {Point[]} points
 * @param {number} x
 * @param {number} y
 */
export function insidePolygon(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i], [xj, yj] = points[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** @param {Box} b */
export const area = (b) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/**
 * The record a polygon vertex list stands for (its box follows its points).
 * @param {string} label
 * @param {Point[]} points
 * @returns {Ann}
 */
export function polygonRecord(label, points) {
  return {
    label, bbox: bboxOfPoints(points), points: points.map((p) => [p[0], p[1]]),
    keypoints: null, score: null, source: "human",
  };
}

/**
 * A new keypoint instance laid out inside a drawn box from the skeleton's template.
 * @param {string} label
 * @param {Box} box
 * @param {Skeleton} skeleton
 * @returns {Ann}
 */
export function keypointRecord(label, box, skeleton) {
  const [x1, y1, x2, y2] = box;
  const layout = skeleton.layout || [];
  const keypoints = skeleton.names.map((_, i) => {
    const [fx, fy] = layout[i] || [0.5, 0.5];
    return /** @type {Keypoint} */ ([x1 + fx * (x2 - x1), y1 + fy * (y2 - y1), 2]);
  });
  return { label, bbox: [x1, y1, x2, y2], points: null, keypoints, score: null, source: "human" };
}
