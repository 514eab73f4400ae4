// From Python to the screen: the model's traits into the state and the controls. Until the
// answer to our latest message arrives (`ack`), local edits win, so a quick series of
// gestures never flickers back to an older state.

import { clone, isPrediction, pointScore, shapeOf } from "./geometry.js";
import { VIS_NAMES, noSelection } from "./state.js";
import { h, paintStatus, setOptions } from "./ui.js";

/**
 * @param {object} deps
 * @param {import("./state.js").Model} deps.model
 * @param {import("./state.js").State} deps.S
 * @param {import("./state.js").Queries} deps.q
 * @param {import("./ui.js").Dom} deps.dom
 * @param {import("./draw.js").Painter} deps.painter
 */
export function createSync({ model, S, q, dom, painter }) {
  const { draw } = painter;

  // The dropdown shows the class of the selected object, or of the next one drawn.
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
    // an auto polygon keeps how much its outline can be trusted (the record's polygon_score)
    if (typeof a.polygon_score === "number") parts.push(`outline quality ${a.polygon_score.toFixed(2)}`);
    dom.selectionLine.textContent = parts.filter(Boolean).join(" · ");
  }

  function adoptRemote() {
    if (S.gesture || (model.get("ack") || 0) < S.sent) return; // our newer edit is in flight
    const selected = S.sel.i >= 0 ? S.ids[S.sel.i] : "";
    S.anns = clone(model.get("annotations") || []);
    S.ids = [...(model.get("ids") || [])];
    // the selection follows its object's id (a model write may reorder the objects); an
    // object drawn here has none yet and keeps its place
    if (selected) {
      const i = S.ids.indexOf(selected);
      S.sel = i >= 0 ? { i, v: S.sel.v } : noSelection();
    }
    if (S.sel.i >= S.anns.length) S.sel = noSelection();
    if (S.waitingAuto) {
      S.waitingAuto = false;
      dom.busyLine.textContent = model.get("busy") || "";
      // select the outline that just arrived, ready to be corrected
      if (S.anns.length > S.autoFrom) S.sel = { i: S.anns.length - 1, v: -1 };
    }
    // an undo, a redo or a model write changed the objects: the line and dropdown follow
    showSelection();
    draw();
  }

  // The two image traits hold this row's picture and the next one's (prefetched): decode
  // each when its bytes change; a stale decode (the slot changed since) is dropped.
  function refreshSlots() {
    const idx = model.get("slots") || [-1, -1];
    /** @type {const} */ (["a", "b"]).forEach((name, j) => {
      const st = S.slots[name];
      const dv = model.get(name === "a" ? "image_a" : "image_b");
      if (st.dv === dv && st.index === idx[j]) return;
      st.dv = dv;
      st.index = idx[j];
      st.bmp = null;
      const token = ++st.token;
      if (!dv || !dv.byteLength) return;
      createImageBitmap(new Blob([dv], { type: "image/jpeg" }))
        .then((bmp) => {
          if (st.token !== token) return;
          st.bmp = bmp;
          draw();
        })
        .catch((err) => console.error("nblabel: could not decode image", err));
    });
  }

  // The regions checkbox is on by default and greyed out on images without regions; its
  // label says what the layer holds, as text.
  function syncRegions() {
    const rs = q.regions();
    const byKind = new Map();
    for (const r of rs) byKind.set(r.kind, (byKind.get(r.kind) || 0) + 1);
    const skipped = q.meta().regions_unreadable || 0;
    dom.showRegions.disabled = !rs.length;
    dom.showRegions.checked = rs.length > 0 && !!model.get("show_regions");
    dom.regionsText.textContent = rs.length
      ? `regions: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}`
      : "regions";
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
        class: "nbl-frame", testid: "frame-cell", "data-index": m.index,
        title: `frame ${m.frame} · ${m.status} · ${m.objects} object${m.objects === 1 ? "" : "s"}${marks}`,
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
    // rebuilt only when the names change, so an open dropdown survives background updates
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
    // in the statuses' own order (Python's), whatever order the counts came in
    dom.countsLine.textContent = q.constants().statuses
      .filter((s) => c[s])
      .map((s) => `${s} ${c[s]}`)
      .join(" · ");
    dom.messageLine.textContent = model.get("message") || "";
    dom.busyLine.textContent = model.get("busy") || (S.waitingAuto ? "Finding the object's outline..." : "");
    const errs = model.get("errors") || [];
    dom.errorsText.textContent = errs.join("\n\n");
    dom.errorsBox.hidden = !errs.length;
    draw();
  }

  // Another row is on screen: its objects replace ours, and the view fits it.
  function onMeta() {
    const m = q.meta();
    if (m.index !== S.shownIndex) {
      S.shownIndex = m.index;
      S.anns = clone(model.get("annotations") || []);
      S.ids = [...(model.get("ids") || [])];
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

/** @typedef {ReturnType<typeof createSync>} Sync */
