// The view that maps image pixels to the canvas, and hit testing: which object, handle or
// keypoint is under the pointer. Pure functions of the records and the view, no DOM.

import { area, boxHandles, clamp, insideBox, insidePolygon, midpoints, shapeOf } from "./geometry.js";

/** @typedef {import("./geometry.js").Ann} Ann */
/** @typedef {import("./geometry.js").Box} Box */
/** @typedef {import("./geometry.js").Point} Point */

/**
 * Canvas view: CSS pixel = image pixel * s + offset.
 * @typedef {{ s: number, ox: number, oy: number, fitted: boolean }} View
 */

/**
 * Which objects and points are on screen (the threshold and "hide below" decide).
 * @typedef {object} Visibility
 * @property {(a: Ann) => boolean} hidden
 * @property {(a: Ann, k: number) => boolean} pointHidden
 */

/** @typedef {{ type: "box" | "vertex" | "mid" | "kp", k: number }} Handle */

export const HIT = 7; // pointer tolerance around handles, CSS pixels

/**
 * @param {View} v
 * @param {number} x
 * @param {number} y
 * @returns {Point} CSS pixels on the canvas
 */
export const toCss = (v, x, y) => [x * v.s + v.ox, y * v.s + v.oy];

/**
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @returns {Point} image pixels
 */
export const toImg = (v, cx, cy) => [(cx - v.ox) / v.s, (cy - v.oy) / v.s];

/**
 * Is image point p within r CSS pixels (a square) of the canvas position (cx, cy)?
 * @param {View} v
 * @param {readonly number[]} p
 * @param {number} cx
 * @param {number} cy
 * @param {number} [r]
 */
export function near(v, p, cx, cy, r = HIT) {
  const [px, py] = toCss(v, p[0], p[1]);
  return Math.abs(px - cx) <= r && Math.abs(py - cy) <= r;
}

/**
 * Scale at which a W x H image fits a cssW x cssH canvas.
 * @type {(cssW: number, cssH: number, W: number, H: number) => number}
 */
export const fitScale = (cssW, cssH, W, H) => Math.min(cssW / W, cssH / H);

/**
 * The whole image, centred on the canvas.
 * @param {number} cssW
 * @param {number} cssH
 * @param {number} W
 * @param {number} H
 * @returns {View}
 */
export function fitView(cssW, cssH, W, H) {
  const s = fitScale(cssW, cssH, W, H);
  return { s, ox: (cssW - W * s) / 2, oy: (cssH - H * s) / 2, fitted: true };
}

/**
 * Zoom by `factor` keeping the image point under (cx, cy) where it is; the scale stays
 * between a quarter of the fitted one and 40 times it (at least 8).
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @param {number} factor
 * @param {number} fitS the fitted scale
 * @returns {View}
 */
export function zoomView(v, cx, cy, factor, fitS) {
  const s = clamp(v.s * factor, fitS * 0.25, Math.max(fitS * 40, 8));
  return { s, ox: cx - ((cx - v.ox) * s) / v.s, oy: cy - ((cy - v.oy) * s) / v.s, fitted: false };
}

// ---------------------------------------------------------------- hit testing

/**
 * The handle of the selected object `a` under the canvas position (cx, cy), or null.
 * @param {Ann | null} a
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @param {Visibility} vis
 * @returns {Handle | null}
 */
export function hitHandle(a, v, cx, cy, vis) {
  if (!a || vis.hidden(a)) return null;
  const shape = shapeOf(a);
  if (shape === "box") {
    const k = boxHandles(a.bbox).findIndex((p) => near(v, p, cx, cy));
    return k >= 0 ? { type: "box", k } : null;
  }
  if (shape === "polygon") {
    const points = a.points || [];
    const k = points.findIndex((p) => near(v, p, cx, cy));
    if (k >= 0) return { type: "vertex", k };
    const m = midpoints(points).findIndex((p) => near(v, p, cx, cy, HIT - 2));
    return m >= 0 ? { type: "mid", k: m } : null;
  }
  const k = (a.keypoints || []).findIndex((p, j) => !vis.pointHidden(a, j) && near(v, p, cx, cy));
  return k >= 0 ? { type: "kp", k } : null;
}

/**
 * The keypoint under the pointer, the selected object's first (where even absent points
 * count, since they are drawn): {i, k} or null.
 * @param {Ann[]} anns
 * @param {number} selI index of the selected object, -1 for none
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @param {Visibility} vis
 * @returns {{ i: number, k: number } | null}
 */
export function hitPoint(anns, selI, v, cx, cy, vis) {
  const order = [selI, ...anns.keys()].filter((i) => i >= 0);
  for (const i of order) {
    const a = anns[i];
    if (!a || vis.hidden(a) || shapeOf(a) !== "keypoints") continue;
    const k = (a.keypoints || []).findIndex(
      (q, j) => (q[2] || i === selI) && !vis.pointHidden(a, j) && near(v, q, cx, cy),
    );
    if (k >= 0) return { i, k };
  }
  return null;
}

/**
 * A labelled, shown keypoint of `a` under the pointer, or -1.
 * @param {Ann} a
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @param {Visibility} vis
 */
export function hitShownPoint(a, v, cx, cy, vis) {
  return (a.keypoints || []).findIndex((q, j) => q[2] && !vis.pointHidden(a, j) && near(v, q, cx, cy));
}

/**
 * Index of the smallest visible object under the pointer (so a small box inside a big one
 * is reachable), or -1.
 * @param {Ann[]} anns
 * @param {View} v
 * @param {number} cx
 * @param {number} cy
 * @param {Visibility} vis
 */
export function hitObject(anns, v, cx, cy, vis) {
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
