// The view and hit testing (src/view.js): which object, handle or point is under the pointer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { polygonRecord } from "../src/geometry.js";
import {
  HIT, fitScale, fitView, hitHandle, hitObject, hitPoint, hitShownPoint, near, toCss, toImg,
  zoomView,
} from "../src/view.js";

/** @typedef {import("../src/geometry.js").Ann} Ann */

/** Nothing hidden. @type {import("../src/view.js").Visibility} */
const ALL = { hidden: () => false, pointHidden: () => false };
/** A view at scale 2, shifted by (10, 20). @type {import("../src/view.js").View} */
const V = { s: 2, ox: 10, oy: 20, fitted: false };

/** @param {import("../src/geometry.js").Box} bbox @param {number | null} [score] @returns {Ann} */
const box = (bbox, score = null) => ({ label: "cat", bbox, points: null, keypoints: null, score, source: "human" });
/** @returns {Ann} */
const pose = () => ({
  label: "person", bbox: [0, 0, 100, 100], points: null,
  keypoints: [[10, 10, 2], [50, 50, 0], [90, 90, 2]], keypoint_scores: [0.9, 0.9, 0.1],
  score: null, source: "human",
});

describe("view", () => {
  it("toCss and toImg are inverse", () => {
    assert.deepEqual(toCss(V, 5, 7), [20, 34]);
    assert.deepEqual(toImg(V, 20, 34), [5, 7]);
  });

  it("fitView centres the whole image", () => {
    const v = fitView(800, 500, 400, 400);
    assert.equal(v.s, 1.25);
    assert.deepEqual([v.ox, v.oy, v.fitted], [150, 0, true]);
    assert.equal(fitScale(800, 500, 400, 400), 1.25);
  });

  it("zoomView keeps the point under the pointer still, within its limits", () => {
    const v = zoomView(V, 110, 220, 2, 1);
    assert.equal(v.s, 4);
    assert.deepEqual(toImg(v, 110, 220), toImg(V, 110, 220));
    assert.equal(v.fitted, false);
    assert.equal(zoomView(V, 0, 0, 1e6, 1).s, 40, "at most 40 times the fitted scale");
    assert.equal(zoomView(V, 0, 0, 1e-6, 1).s, 0.25, "at least a quarter of it");
  });

  it("near: a square of HIT CSS pixels, so closeness depends on the zoom", () => {
    assert.ok(near(V, [5, 7], 20 + HIT, 34 - HIT));
    assert.ok(!near(V, [5, 7], 20 + HIT + 1, 34));
    assert.ok(near(V, [5, 7], 23, 34, 3));
    assert.ok(!near(V, [5, 7], 24, 34, 3));
  });
});

describe("hit testing", () => {
  const id = { s: 1, ox: 0, oy: 0, fitted: true };

  it("hitObject picks the smallest object under the pointer", () => {
    // the small box first: the pick is by size, not by order
    const anns = [box([40, 40, 60, 60]), box([0, 0, 100, 100]), box([200, 200, 210, 210])];
    assert.equal(hitObject(anns, id, 50, 50, ALL), 0);
    assert.equal(hitObject([anns[1], anns[0]], id, 50, 50, ALL), 1);
    assert.equal(hitObject(anns, id, 10, 10, ALL), 1);
    assert.equal(hitObject(anns, id, 150, 150, ALL), -1);
    assert.equal(hitObject(anns, id, 100 + HIT, 50, ALL), 1, "the box's padding counts");
  });

  it("hitObject skips hidden objects", () => {
    const anns = [box([0, 0, 100, 100]), box([40, 40, 60, 60], 0.1)];
    /** @type {import("../src/view.js").Visibility} */
    const lowHidden = { hidden: (a) => a.score !== null && Number(a.score) < 0.5, pointHidden: () => false };
    assert.equal(hitObject(anns, id, 50, 50, lowHidden), 0);
  });

  it("hitObject: inside a polygon's outline, not just its box", () => {
    const tri = polygonRecord("cat", [[0, 0], [100, 0], [0, 100]]);
    assert.equal(hitObject([tri], id, 10, 10, ALL), 0);
    assert.equal(hitObject([tri], id, 90, 90, ALL), -1);
  });

  it("hitHandle: box corners and edges, polygon vertices before edge midpoints", () => {
    const b = box([10, 10, 50, 30]);
    assert.deepEqual(hitHandle(b, id, 50, 30, ALL), { type: "box", k: 4 });
    assert.deepEqual(hitHandle(b, id, 30, 10, ALL), { type: "box", k: 1 });
    assert.equal(hitHandle(b, id, 30, 20, ALL), null);
    assert.equal(hitHandle(null, id, 50, 30, ALL), null);
    const sq = polygonRecord("cat", [[0, 0], [40, 0], [40, 40], [0, 40]]);
    assert.deepEqual(hitHandle(sq, id, 40, 40, ALL), { type: "vertex", k: 2 });
    assert.deepEqual(hitHandle(sq, id, 20, 1, ALL), { type: "mid", k: 0 });
    assert.equal(hitHandle(sq, id, 20, HIT, ALL), null, "an edge's midpoint has a smaller target");
  });

  it("hitHandle and hitPoint skip hidden keypoints", () => {
    const a = pose();
    /** @type {import("../src/view.js").Visibility} */
    const lowHidden = { hidden: () => false, pointHidden: (p, k) => Number((p.keypoint_scores || [])[k]) < 0.5 };
    assert.deepEqual(hitHandle(a, id, 90, 90, ALL), { type: "kp", k: 2 });
    assert.equal(hitHandle(a, id, 90, 90, lowHidden), null);
    assert.deepEqual(hitPoint([a], -1, id, 90, 90, ALL), { i: 0, k: 2 });
    assert.equal(hitPoint([a], -1, id, 90, 90, lowHidden), null);
  });

  it("hitPoint: absent points count only on the selected object", () => {
    const anns = [pose()];
    assert.equal(hitPoint(anns, -1, id, 50, 50, ALL), null);
    assert.deepEqual(hitPoint(anns, 0, id, 50, 50, ALL), { i: 0, k: 1 });
    assert.equal(hitShownPoint(anns[0], id, 50, 50, ALL), -1);
    assert.equal(hitShownPoint(anns[0], id, 11, 9, ALL), 0);
  });

  it("hitPoint tries the selected object first", () => {
    const anns = [pose(), pose()];
    assert.deepEqual(hitPoint(anns, 1, id, 10, 10, ALL), { i: 1, k: 0 });
    assert.deepEqual(hitPoint(anns, -1, id, 10, 10, ALL), { i: 0, k: 0 });
  });
});
