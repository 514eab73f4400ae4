// The Annotator's browser-side state: the typed widget model (the traits Python syncs), the
// one mutable state object of a view, and the questions every other module asks of them.

import { clone, isPrediction, pointScore, skeletonFor } from "./geometry.js";

/** @typedef {import("./geometry.js").Ann} Ann */
/** @typedef {import("./geometry.js").Point} Point */
/** @typedef {import("./geometry.js").Skeleton} Skeleton */
/** @typedef {import("./view.js").View} View */
/** @typedef {import("./view.js").Visibility} Visibility */

/**
 * The image on screen (the `meta` trait).
 * @typedef {object} Meta
 * @property {number} [index] row position
 * @property {number} [n] rows in the view
 * @property {string} [key]
 * @property {string} [file]
 * @property {number} [width]
 * @property {number} [height]
 * @property {"a" | "b"} [slot] which image trait holds the picture
 * @property {string | null} [status]
 * @property {string} [problem] why there is no picture
 * @property {number} [regions_unreadable]
 */

/**
 * A read-only de-identification region.
 * @typedef {{ kind: string, bbox: import("./geometry.js").Box, score?: number | null }} Region
 */

/**
 * One video frame on the strip.
 * @typedef {object} FrameMark
 * @property {number} index
 * @property {number} frame
 * @property {string} status
 * @property {number} objects
 * @property {string[]} flagged
 * @property {boolean} jump
 */

/**
 * What Python defines and the browser draws with, sent once (the `constants` trait, built
 * by nblabel.widgets.codecs.widget_constants); the browser code declares none of it.
 * @typedef {object} Constants
 * @property {string[]} palette class colours, by class position (and track colours)
 * @property {string} unknown_color a label that is not among the classes
 * @property {string} region_color de-identification regions
 * @property {string} error_color the error box
 * @property {string[]} statuses image statuses, in their order
 * @property {Record<string, {fill: string, text: string}>} status_colors each status's colour
 *   (the badge, the frame strip) and the text colour that reads on it
 * @property {import("./keys.js").Tool[]} tools drawing tools: name, button label, key
 * @property {import("./keys.js").Jump[]} jumps "next image with this status": status, key
 * @property {Record<string, Skeleton>} skeletons the built-in skeletons, by name
 */

/**
 * The traits of nblabel.widgets.Annotator that the browser reads or writes.
 * @typedef {object} Traits
 * @property {DataView<ArrayBuffer> | null} image_a
 * @property {DataView<ArrayBuffer> | null} image_b
 * @property {[number, number]} slots row positions held by image_a and image_b
 * @property {Meta} meta
 * @property {Ann[]} annotations
 * @property {string[]} ids one id per record of `annotations`, in its order
 * @property {number} ack seq of the last message Python handled
 * @property {Constants} constants
 * @property {string[]} classes
 * @property {Skeleton} skeleton
 * @property {Region[]} regions
 * @property {Record<string, number>} counts
 * @property {string[]} errors
 * @property {string} message
 * @property {string} busy
 * @property {string} label
 * @property {string} tool
 * @property {number} threshold
 * @property {boolean} hide_below
 * @property {boolean} show_regions
 * @property {FrameMark[]} strip
 */

/**
 * The anywidget model, typed by trait name.
 * @typedef {object} Model
 * @property {<K extends keyof Traits>(name: K) => Traits[K]} get
 * @property {<K extends keyof Traits>(name: K, value: Traits[K]) => void} set
 * @property {() => void} save_changes
 * @property {(content: Record<string, unknown>) => void} send a custom message to Python
 * @property {(name: string, fn: (...args: any[]) => void) => void} on
 * @property {(name: string, fn: (...args: any[]) => void) => void} off
 */

/**
 * A pointer gesture in progress: from pointerdown to pointerup.
 * @typedef {{ type: "pan", cx: number, cy: number, ox: number, oy: number }
 *   | { type: "draw", tool: string, start: Point, now: Point, moved: boolean }
 *   | { type: "move", start: Point, orig: Ann, i: number, moved: boolean }
 *   | { type: "box" | "vertex" | "kp" | "mid", k: number, start: Point, orig: Ann,
 *       before: Ann, moved: boolean }} Gesture
 */

/**
 * An image buffer and its decoded picture.
 * @typedef {{ dv: DataView<ArrayBuffer> | null, index: number, bmp: ImageBitmap | null, token: number }} Slot
 */

/**
 * Everything one view of the widget holds between events.
 * @typedef {object} State
 * @property {Ann[]} anns the objects on screen (ahead of Python while a request is in flight)
 * @property {string[]} ids the id of each of `anns` ("" for one drawn here, not yet stored)
 * @property {{ i: number, v: number }} sel selected object and vertex/keypoint, -1 for none
 * @property {View} view
 * @property {number} cssW
 * @property {number} cssH
 * @property {number} dpr
 * @property {{ points: Point[] } | null} drawing polygon being drawn
 * @property {Gesture | null} gesture
 * @property {Point | null} mouse last pointer position, image coordinates
 * @property {{ i: number, k: number } | null} hover keypoint under the pointer
 * @property {number} seq last message number used
 * @property {number} sent seq of our latest message
 * @property {boolean} space Space held: drags pan
 * @property {boolean} wheelZoom the plain wheel zooms only after a click into the image
 * @property {number} threshold the slider's value (ahead of the trait while dragging)
 * @property {{ a: Slot, b: Slot }} slots
 * @property {number | null | undefined} shownIndex row whose objects are on screen
 * @property {boolean} waitingAuto an auto-polygon request is in flight
 * @property {number} autoFrom objects before that request
 * @property {string | null} classNames class list the dropdown was built from (JSON)
 */

/** @type {Record<number, number>} */
export const VIS_CYCLE = { 2: 1, 1: 0, 0: 2 }; // keypoint visibility: visible, occluded, absent
export const VIS_NAMES = ["absent", "occluded", "visible"];
export const NO_SELECTION = Object.freeze({ i: -1, v: -1 });

/** @returns {{ i: number, v: number }} */
export const noSelection = () => ({ ...NO_SELECTION });

/**
 * @param {Model} model
 * @returns {State}
 */
export function createState(model) {
  /** @returns {Slot} */
  const slot = () => ({ dv: null, index: -1, bmp: null, token: 0 });
  return {
    anns: clone(model.get("annotations") || []),
    ids: [...(model.get("ids") || [])],
    sel: noSelection(),
    view: { s: 1, ox: 0, oy: 0, fitted: true },
    cssW: 800, cssH: 500, dpr: 1,
    drawing: null,
    gesture: null,
    mouse: null,
    hover: null,
    seq: 0, sent: 0,
    space: false,
    wheelZoom: false,
    threshold: model.get("threshold"),
    slots: { a: slot(), b: slot() },
    shownIndex: null,
    waitingAuto: false,
    autoFrom: 0,
    classNames: null,
  };
}

/**
 * What the other modules ask of the model and the state, answered in one place.
 * @param {Model} model
 * @param {State} S
 */
export function createQueries(model, S) {
  /** @returns {Meta} */
  const meta = () => model.get("meta") || {};
  const classes = () => model.get("classes") || [];
  /** @returns {Skeleton} */
  const skeleton = () => model.get("skeleton") || { names: [], edges: [], layout: [] };
  /** @returns {Constants} */
  const constants = () => model.get("constants");
  /** @param {string} label */
  const color = (label) => {
    const i = classes().indexOf(label);
    const palette = constants().palette;
    return i < 0 ? constants().unknown_color : palette[i % palette.length];
  };
  // an object of a track keeps its track's colour on every frame; others take their class's
  /** @param {Ann} a */
  const tracked = (a) => Number.isInteger(a.track);
  /** @param {Ann} a */
  const colorOf = (a) => {
    const palette = constants().palette;
    return tracked(a) ? palette[(Number(a.track) - 1 + palette.length) % palette.length] : color(a.label);
  };
  /** @param {Ann} a */
  const hidden = (a) => isPrediction(a) && model.get("hide_below") && Number(a.score) < S.threshold;
  /** @param {Ann} a */
  const skeletonOf = (a) => skeletonFor(a, [skeleton(), ...Object.values(constants().skeletons)]);
  // a point scored below the threshold is dimmed like a prediction, and hidden with it
  /** @param {Ann} a @param {number} k */
  const lowPoint = (a, k) => {
    const s = pointScore(a, k);
    return s !== null && s < S.threshold;
  };
  /** @param {Ann} a @param {number} k */
  const pointHidden = (a, k) => lowPoint(a, k) && model.get("hide_below");
  /** @type {Visibility} */
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
    selected: () => (S.sel.i >= 0 ? S.anns[S.sel.i] : null),
    /** The picture of the row on screen, once decoded. */
    currentBitmap: () => {
      const m = meta();
      const st = S.slots[m.slot || "a"];
      return st && st.index === m.index ? st.bmp : null;
    },
  };
}

/** @typedef {ReturnType<typeof createQueries>} Queries */
