// Canvas rendering: the picture, the de-identification regions, the objects, the selected
// object's handles and what a gesture is drawing. Repaints are batched to one per frame.

import { boxHandles, clamp, isPrediction, midpoints, pointScore, shapeOf } from "./geometry.js";
import { fitScale, fitView, toCss, zoomView } from "./view.js";

/** @typedef {import("./geometry.js").Ann} Ann */
/** @typedef {import("./state.js").Region} Region */

const HATCH = 8; // CSS pixels between the hatch lines of a region

/**
 * @param {object} deps
 * @param {import("./state.js").Model} deps.model
 * @param {import("./state.js").State} deps.S
 * @param {import("./state.js").Queries} deps.q
 * @param {HTMLCanvasElement} deps.canvas
 * @param {HTMLElement} deps.stage
 */
export function createPainter({ model, S, q, canvas, stage }) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  /** @type {(x: number, y: number) => [number, number]} */
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

  function fit() {
    S.view = fitView(S.cssW, S.cssH, q.W(), q.H());
  }

  // The canvas takes the stage's width and the image's aspect (within 200 px and 70% of the
  // window's height), at the screen's pixel density.
  function resize() {
    const width = stage.clientWidth || 800;
    const maxH = Math.max(320, Math.round((window.innerHeight || 900) * 0.7));
    const height = Math.max(200, Math.min(Math.round((width * q.H()) / q.W()), maxH));
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

  /** @param {number} cx @param {number} cy @param {number} factor */
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
    // zoom relative to the fitted view, for tests and benchmarks
    canvas.dataset.zoom = (S.view.s / fitS()).toFixed(3);
    if (bmp) {
      ctx.imageSmoothingEnabled = S.view.s < 4; // show real pixels when zoomed far in
      ctx.drawImage(bmp, ix, iy, W * S.view.s, H * S.view.s);
      // tells tests and benchmarks that this row's picture is on the canvas
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

  /** @param {Ann} a @param {boolean} isSel */
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

  /** @param {Ann} a @param {boolean} isSel */
  function paintKeypoints(a, isSel) {
    const kps = a.keypoints || [];
    const base = ctx.globalAlpha;
    /** @param {number} k */
    const alpha = (k) => base * (q.lowPoint(a, k) ? 0.3 : 1);
    for (const [p, r] of q.skeletonOf(a)?.edges || []) {
      if (!kps[p] || !kps[r] || !kps[p][2] || !kps[r][2]) continue;
      if (q.pointHidden(a, p) || q.pointHidden(a, r)) continue;
      const [x1, y1] = css(kps[p][0], kps[p][1]);
      const [x2, y2] = css(kps[r][0], kps[r][1]);
      ctx.globalAlpha = Math.min(alpha(p), alpha(r));
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
      ctx.stroke();
    }
    kps.forEach((k, j) => {
      if ((!k[2] && !isSel) || q.pointHidden(a, j)) return;
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
    // The object's box, thin: a detector's face or person box says what the points belong
    // to (dashed when selected, or when it is a prediction).
    ctx.save();
    if (isSel) ctx.setLineDash([3, 3]);
    else ctx.globalAlpha = base * 0.7;
    ctx.lineWidth = 1;
    const [x1, y1] = css(a.bbox[0], a.bbox[1]);
    const [x2, y2] = css(a.bbox[2], a.bbox[3]);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.restore();
  }

  // A point's size shows its confidence: 2.5 px at score 0 up to 5 px at score 1; points
  // without a score (placed by a person) are drawn at 4 px, the selected one at 6 px.
  /** @param {Ann} a @param {number} k @param {boolean} isSel */
  function pointRadius(a, k, isSel) {
    if (isSel) return 6;
    const s = pointScore(a, k);
    return s === null ? 4 : 2.5 + 2.5 * clamp(s, 0, 1);
  }

  // Name (and score) of one keypoint next to it, white on a dark outline: readable anywhere.
  /** @param {Ann} a @param {number} k */
  function paintPointTip(a, k) {
    const p = (a.keypoints || [])[k];
    if (!p) return;
    const [x, y] = css(p[0], p[1]);
    const s = pointScore(a, k);
    const text = s === null ? q.pointName(a, k) : `${q.pointName(a, k)} ${s.toFixed(2)}`;
    ctx.save();
    ctx.font = "12px sans-serif";
    ctx.fillStyle = "#000";
    ctx.fillText(text, x + 9, y - 7); // canvas text: never interpreted as markup
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 8, y - 8);
    ctx.restore();
  }

  function paintHover() {
    const hv = S.hover;
    if (!hv || S.gesture || (hv.i === S.sel.i && hv.k === S.sel.v)) return;
    const a = S.anns[hv.i];
    if (a && shapeOf(a) === "keypoints" && !q.hidden(a)) paintPointTip(a, hv.k);
  }

  // One de-identification region: hatched, outlined and tagged with its kind, in a colour no
  // class gets (Python's region colour), so it never reads as a label. Read-only, so it is
  // drawn under the objects and never hit-tested.
  /** @param {Region} r */
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
    const text = r.score === null || r.score === undefined
      ? r.kind : `${r.kind} ${Number(r.score).toFixed(2)}`;
    ctx.font = "12px sans-serif";
    const tw = ctx.measureText(text).width + 6;
    // below the region, where an object's tag (above its box) cannot cover it
    const ty = y2 + 16 <= S.cssH ? y2 : y2 - 16;
    paintLabel(text, x1, ty, tw, regionColor, 0.85);
    ctx.restore();
  }

  /**
   * A 16 px high tag with white text on a filled strip (the caller has set the font).
   * @param {string} text @param {number} x @param {number} y @param {number} w
   * @param {string} color @param {number} alpha
   */
  function paintLabel(text, x, y, w, color, alpha) {
    ctx.globalAlpha = alpha;
    ctx.fillStyle = color;
    ctx.fillRect(x, y, w, 16);
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#fff";
    ctx.fillText(text, x + 3, y + 12); // canvas text: never interpreted as markup
  }

  /** @param {Ann} a @param {string} c */
  function paintTag(a, c) {
    let text = isPrediction(a) ? `${a.label} ${Number(a.score).toFixed(2)}` : a.label;
    if (q.tracked(a)) text = `#${a.track} ${text}${a.interpolated ? " ~" : ""}`;
    if (a.flagged_points && a.flagged_points.length) text += ` ⚑ ${a.flagged_points.join(", ")}`;
    // a polygon's tag sits on its topmost vertex, not on the corner of its (invisible) box
    const points = a.points || [];
    const anchor = shapeOf(a) === "polygon"
      ? points.reduce((best, p) => (p[1] < best[1] ? p : best), points[0])
      : a.bbox;
    const [x, y] = css(anchor[0], anchor[1]);
    ctx.save();
    ctx.font = "12px sans-serif";
    const w = ctx.measureText(text).width + 6;
    const ty = y > 16 ? y - 16 : y;
    paintLabel(text, x, ty, w, c, isPrediction(a) && Number(a.score) < S.threshold ? 0.35 : 0.85);
    ctx.restore();
  }

  /** @param {[number, number]} at @param {number} r @param {string} fill */
  function square([x, y], r, fill) {
    ctx.fillStyle = fill;
    ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    ctx.strokeRect(x - r, y - r, 2 * r, 2 * r);
  }

  /** @param {Ann} a */
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

  // The rectangle of a box, keypoint or auto-polygon drag (dashed for auto).
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

  // The polygon being drawn, with a rubber band to the pointer; its first vertex (yellow,
  // larger) closes it.
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
    fit,
    resize,
    zoomAt,
    /** Stop a repaint that is still queued (the view is going away). */
    dispose: () => {
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

/** @typedef {ReturnType<typeof createPainter>} Painter */
