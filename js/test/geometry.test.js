// Record geometry (src/geometry.js): what a gesture does to a record.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  accept, area, bboxOfPoints, boxHandles, clampBox, clone, insideBox, insidePolygon,
  isPrediction, keypointBox, keypointRecord, midpoints, moveKeypoint, moveVertex, normBox, own,
  placedByHand, pointScore, polygonRecord, resizeBox, shapeOf, skeletonFor, translate,
} from "../src/geometry.js";

/** @returns {import("../src/geometry.js").Ann} */
const box = () => ({ label: "cat", bbox: [10, 20, 50, 80], points: null, keypoints: null, score: 0.7, source: "model" });
/** @returns {import("../src/geometry.js").Ann} */
const square = () => polygonRecord("cat", [[0, 0], [10, 0], [10, 10], [0, 10]]);
/** @returns {import("../src/geometry.js").Ann} */
const pose = () => ({
  label: "person", bbox: [0, 0, 100, 100], points: null,
  keypoints: [[10, 10, 2], [30, 40, 1], [90, 90, 0]],
  keypoint_scores: [0.9, 0.4, 0.1], score: 0.8, source: "model",
});

describe("boxes", () => {
  it("normBox orders corners drawn in any direction", () => {
    assert.deepEqual(normBox([50, 80, 10, 20]), [10, 20, 50, 80]);
    assert.deepEqual(normBox([50, 20, 10, 80]), [10, 20, 50, 80]);
    assert.deepEqual(normBox([10, 20, 50, 80]), [10, 20, 50, 80]);
  });

  it("clampBox keeps a box inside the image", () => {
    assert.deepEqual(clampBox([-5, -1, 120, 60], 100, 50), [0, 0, 100, 50]);
  });

  it("area is zero for an inverted box", () => {
    assert.equal(area([0, 0, 4, 5]), 20);
    assert.equal(area([4, 5, 0, 0]), 0);
  });

  it("insideBox includes the edge and the padding", () => {
    const b = /** @type {import("../src/geometry.js").Box} */ ([10, 10, 20, 20]);
    assert.ok(insideBox(b, 10, 20));
    assert.ok(!insideBox(b, 9, 15));
    assert.ok(insideBox(b, 9, 15, 1));
  });

  it("handles run clockwise from the top-left corner", () => {
    assert.deepEqual(boxHandles([0, 0, 10, 20]), [[0, 0], [5, 0], [10, 0], [10, 10], [10, 20], [5, 20], [0, 20], [0, 10]]);
  });

  it("resizeBox moves only the dragged sides, and flips when dragged past the other side", () => {
    const b = /** @type {import("../src/geometry.js").Box} */ ([10, 10, 20, 20]);
    assert.deepEqual(resizeBox(b, 4, 5, 5, 100, 100), [10, 10, 25, 25]); // se corner
    assert.deepEqual(resizeBox(b, 1, 5, 5, 100, 100), [10, 15, 20, 20]); // n edge: y only
    assert.deepEqual(resizeBox(b, 0, 15, 0, 100, 100), [20, 10, 25, 20]); // nw past e: flips
    assert.deepEqual(resizeBox(b, 4, 200, 200, 100, 100), [10, 10, 100, 100]); // clamped
  });
});

describe("polygons", () => {
  it("insidePolygon: even-odd rule, also for a concave outline", () => {
    const pts = square().points || [];
    assert.ok(insidePolygon(pts, 5, 5));
    assert.ok(!insidePolygon(pts, 15, 5));
    assert.ok(!insidePolygon(pts, -1, 5));
    /** @type {import("../src/geometry.js").Point[]} a U: the notch between its arms is outside */
    const u = [[0, 0], [3, 0], [3, 8], [7, 8], [7, 0], [10, 0], [10, 10], [0, 10]];
    assert.ok(insidePolygon(u, 1, 5));
    assert.ok(!insidePolygon(u, 5, 4));
    assert.ok(insidePolygon(u, 5, 9));
  });

  it("midpoints: one per edge, the last closes the outline", () => {
    assert.deepEqual(midpoints(square().points || []), [[5, 0], [10, 5], [5, 10], [0, 5]]);
  });

  it("polygonRecord: a human label whose box follows its points", () => {
    const a = polygonRecord("cat", [[3, 4], [9, 1], [6, 8]]);
    assert.deepEqual(a.bbox, [3, 1, 9, 8]);
    assert.equal(shapeOf(a), "polygon");
    assert.equal(a.source, "human");
    assert.equal(isPrediction(a), false);
  });

  it("moveVertex moves one vertex, keeps it in the image, and leaves the original alone", () => {
    const orig = square();
    const before = clone(orig);
    const a = moveVertex(orig, 2, [30, -4], 20, 20);
    assert.deepEqual(a.points, [[0, 0], [10, 0], [20, 0], [0, 10]]);
    assert.deepEqual(a.bbox, [0, 0, 20, 10]);
    assert.deepEqual(orig, before);
  });

  it("bboxOfPoints spans every point", () => {
    assert.deepEqual(bboxOfPoints([[5, 1], [2, 9], [7, 3]]), [2, 1, 7, 9]);
  });
});

describe("moving objects", () => {
  it("translate moves box, points and keypoints, and stops at the image edge", () => {
    const moved = translate(pose(), 50, -10, 120, 100);
    assert.deepEqual(moved.bbox, [20, 0, 120, 100]); // dx clamped to 20, dy to 0
    assert.deepEqual(moved.keypoints, [[30, 10, 2], [50, 40, 1], [110, 90, 0]]);
    const poly = translate(square(), 5, 5, 100, 100);
    assert.deepEqual(poly.points, [[5, 5], [15, 5], [15, 15], [5, 15]]);
  });

  it("translate returns a new record and never writes into the original", () => {
    const orig = pose();
    const before = clone(orig);
    const moved = translate(orig, 1, 1, 200, 200);
    own(moved);
    assert.notEqual(moved, orig);
    assert.deepEqual(orig, before);
  });

  it("moveKeypoint: an absent point dragged becomes visible and placed by hand", () => {
    const orig = pose();
    const before = clone(orig);
    const a = moveKeypoint(orig, 2, [60, 70], 100, 100);
    assert.deepEqual((a.keypoints || [])[2], [60, 70, 2]);
    assert.equal(pointScore(a, 2), null);
    assert.equal(pointScore(a, 0), 0.9);
    assert.deepEqual(orig, before, "the gesture's starting record keeps its scores");
    // the box follows the labelled points (with its margin)
    assert.deepEqual(a.bbox, [5, 4, 65, 76]);
  });

  it("moveKeypoint keeps an occluded point occluded", () => {
    assert.deepEqual((moveKeypoint(pose(), 1, [35, 45], 100, 100).keypoints || [])[1], [35, 45, 1]);
  });
});

describe("keypoints", () => {
  it("keypointBox: labelled points only, with a margin of at least 2 px", () => {
    const a = pose();
    assert.deepEqual(keypointBox(a, 1000, 1000), [8, 7, 32, 43]);
    const none = { ...a, keypoints: /** @type {import("../src/geometry.js").Keypoint[]} */ ([[5, 5, 0]]) };
    assert.deepEqual(keypointBox(none, 1000, 1000), a.bbox, "no labelled point: the box stays");
    const one = { ...a, keypoints: /** @type {import("../src/geometry.js").Keypoint[]} */ ([[1, 1, 2]]) };
    assert.deepEqual(keypointBox(one, 1000, 1000), [0, 0, 3, 3], "clamped to the image");
  });

  it("keypointRecord lays the skeleton's template out in the box", () => {
    const sk = { name: "pair", names: ["a", "b", "c"], layout: /** @type {[number, number][]} */ ([[0, 0], [1, 0.5]]) };
    const a = keypointRecord("person", [10, 10, 30, 50], sk);
    assert.deepEqual(a.keypoints, [[10, 10, 2], [30, 30, 2], [20, 30, 2]]); // c: no layout, centre
    assert.equal(shapeOf(a), "keypoints");
  });

  it("skeletonFor prefers the skeleton the record names, else the first with as many points", () => {
    const three = { name: "three", names: ["a", "b", "c"] };
    const other = { name: "other", names: ["x", "y", "z"] };
    const two = { name: "two", names: ["a", "b"] };
    assert.equal(skeletonFor(pose(), [two, three, other]), three);
    assert.equal(skeletonFor({ ...pose(), skeleton: "other" }, [two, three, other]), other);
    assert.equal(skeletonFor({ ...pose(), skeleton: "two" }, [two, three]), three, "a named skeleton must fit");
    assert.equal(skeletonFor(pose(), [two, null]), null);
  });

  it("pointScore ignores missing and non-finite scores; placedByHand drops one", () => {
    const a = pose();
    assert.equal(pointScore(a, 1), 0.4);
    assert.equal(pointScore(a, 7), null);
    assert.equal(pointScore({ ...a, keypoint_scores: [NaN] }, 0), null);
    assert.equal(pointScore(placedByHand(a, 1), 1), null);
  });
});

describe("ownership", () => {
  it("shapeOf: points make a polygon, keypoints a keypoint object, else a box", () => {
    assert.equal(shapeOf(box()), "box");
    assert.equal(shapeOf({ ...box(), points: [] }), "box");
    assert.equal(shapeOf(square()), "polygon");
    assert.equal(shapeOf(pose()), "keypoints");
  });

  it("own turns a prediction into a human label; accept also drops the point scores", () => {
    const a = own(box());
    assert.equal(isPrediction(a), false);
    assert.equal(a.source, "human");
    const p = accept(pose());
    assert.equal(p.source, "human");
    assert.equal("keypoint_scores" in p, false);
  });
});
