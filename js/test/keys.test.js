// The keymap (src/keys.js): one table drives the help overlay and the keydown handler.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { bindings, chordOf, createKeymap, describe as name } from "../src/keys.js";

// The tools come from Python (nblabel.widgets.annotator.TOOL_TABLE, in the widget's
// `constants`); a sample in that shape, its keys the ones the widget ships with.
/** @type {import("../src/keys.js").Tool[]} */
const SAMPLE_TOOLS = [["box", "Box", "b"], ["polygon", "Polygon", "o"], ["keypoints", "Keypoints", "k"], ["auto", "Auto polygon", "m"]];
// The status jumps too (JUMP_TABLE): status, key.
/** @type {import("../src/keys.js").Jump[]} */
const SAMPLE_JUMPS = [["unlabeled", "u"], ["review", "r"]];
const { HELP, KEYMAP, TOOLS, actionFor, handleKey } = createKeymap(SAMPLE_TOOLS, SAMPLE_JUMPS);

/**
 * A stand-in for the commands: every method records its call; `escape` answers `escapes`.
 * @param {boolean} [escapes]
 */
function recorder(escapes = true) {
  /** @type {[string, ...unknown[]][]} */
  const calls = [];
  const app = new Proxy({}, {
    get: (_, method) => (/** @type {unknown[]} */ ...args) => {
      calls.push([String(method), ...args]);
      return method === "escape" ? escapes : undefined;
    },
  });
  return { app: /** @type {import("../src/commands.js").Commands} */ (app), calls };
}

/**
 * What pressing a key does: the commands it called, or null when it is not ours.
 * @param {import("../src/keys.js").KeyLike} e
 * @param {boolean} [escapes]
 */
function press(e, escapes) {
  const { app, calls } = recorder(escapes);
  return handleKey(e, app) ? calls : null;
}

/**
 * The chords a help line names: its key list split at " / ", " , ", ", " and " or ", ranges
 * ("1 – 9") spelled out, and pointer words ("+ drag") dropped.
 * @param {string} keys
 */
function named(keys) {
  return keys
    .split(/ \/ | , | or |(?<=\S), /)
    .flatMap((k) => {
      const range = /^(\d) – (\d)$/.exec(k);
      if (!range) return [k.replace(/ \+ drag$/, "")];
      return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => String(Number(range[1]) + i));
    })
    .filter((k) => !/drag$/.test(k));
}

describe("the keymap table", () => {
  it("no chord is bound twice (the table refuses to load otherwise)", () => {
    const all = KEYMAP.flatMap((r) => [...Object.keys(r.on || {}), ...Object.keys(r.also || {})]);
    assert.equal(new Set(all).size, all.length);
    assert.throws(() => bindings([{ keys: "a", does: "", on: { a: () => {} } }, { keys: "a", does: "", on: { a: () => {} } }]), /bound twice/);
  });

  it("every chord a help line binds is named on that line, and every key it names is bound", () => {
    for (const row of KEYMAP) {
      if (!row.on) continue;
      const shown = named(row.keys).sort();
      const bound = Object.keys(row.on).map(name).sort();
      assert.deepEqual(bound, shown, `help line ${JSON.stringify(row.keys)}`);
    }
  });

  it("a help line without keys is a pointer gesture", () => {
    for (const row of KEYMAP.filter((r) => !r.on)) {
      assert.match(row.keys, /drag|click|wheel|hover/i, `help line ${JSON.stringify(row.keys)} has no key bound`);
      assert.equal(row.also, undefined);
    }
  });

  it("an alias does exactly what a chord on its line does", () => {
    for (const row of KEYMAP.filter((r) => r.also)) {
      const actions = Object.values(row.on || {});
      for (const [chord, act] of Object.entries(row.also || {})) {
        assert.ok(actions.includes(act), `${chord} on ${JSON.stringify(row.keys)}`);
      }
    }
  });

  it("the help overlay shows the table's lines, in order", () => {
    assert.deepEqual(HELP, KEYMAP.map((r) => [r.keys, r.does]));
    assert.ok(HELP.some(([k, what]) => k === "Shift + Enter" && what.startsWith("Nothing")));
  });

  it("the tool keys come from TOOLS", () => {
    for (const [tool, , key] of TOOLS) assert.deepEqual(press({ key }), [["setTool", tool]]);
  });

  it("the tools are whatever Python sends: other keys bind, a clash refuses to load", () => {
    const other = createKeymap([["box", "Box", "q"], ["lasso", "Lasso", "l"]]);
    assert.deepEqual(other.TOOLS, [["box", "Box", "q"], ["lasso", "Lasso", "l"]]);
    assert.equal(other.actionFor({ key: "b" }), undefined);
    assert.ok(other.HELP[0][0] === "q / l" && other.HELP[0][1].includes("lasso"));
    assert.throws(() => createKeymap([["box", "Box", "x"]]), /bound twice/);
  });

  it("the status jumps are whatever Python sends: one help line, their keys bound", () => {
    const other = createKeymap(SAMPLE_TOOLS, [["verified", "g"]]);
    assert.deepEqual(other.JUMPS, [["verified", "g"]]);
    assert.ok(other.HELP.some(([k, what]) => k === "g" && what === "Next verified image"));
    assert.equal(other.actionFor({ key: "u" }), undefined);
    assert.throws(() => createKeymap(SAMPLE_TOOLS, [["review", "x"]]), /bound twice/);
    // no jumps sent, no empty line in the help
    assert.ok(createKeymap(SAMPLE_TOOLS).HELP.every(([k]) => k));
  });

  it("describe names chords the way the help does", () => {
    assert.equal(name("Mod+Shift+z"), "Ctrl/Cmd + Shift + z");
    assert.equal(name("A"), "Shift + a");
    assert.equal(name("ArrowLeft"), "←");
    assert.equal(name(" "), "Space");
    assert.equal(name("Alt+Delete"), "Alt + Delete");
  });
});

describe("keydown", () => {
  it("chordOf: Ctrl or Cmd is Mod, and the key is lower case under it", () => {
    assert.equal(chordOf({ key: "Z", ctrlKey: true, shiftKey: true }), "Mod+Shift+z");
    assert.equal(chordOf({ key: "z", metaKey: true }), "Mod+z");
    assert.equal(chordOf({ key: "Delete", altKey: true }), "Alt+Delete");
    assert.equal(chordOf({ key: "A", shiftKey: true }), "Shift+A");
  });

  it("undo and redo, with Ctrl or Cmd", () => {
    assert.deepEqual(press({ key: "z", ctrlKey: true }), [["request", "undo"]]);
    assert.deepEqual(press({ key: "z", metaKey: true }), [["request", "undo"]]);
    assert.deepEqual(press({ key: "Z", ctrlKey: true, shiftKey: true }), [["request", "redo"]]);
    assert.deepEqual(press({ key: "y", ctrlKey: true }), [["request", "redo"]]);
    assert.deepEqual(press({ key: "Y", ctrlKey: true, shiftKey: true }), [["request", "redo"]]);
  });

  it("other Ctrl/Cmd and Alt keys are left to the browser and the notebook", () => {
    assert.equal(press({ key: "c", ctrlKey: true }), null);
    assert.equal(press({ key: "s", metaKey: true }), null);
    assert.equal(press({ key: "x", altKey: true }), null);
    assert.equal(press({ key: "Enter", altKey: true }), null);
  });

  it("Delete and Backspace work with Alt too", () => {
    for (const key of ["Delete", "Backspace"]) {
      assert.deepEqual(press({ key }), [["onDelete"]]);
      assert.deepEqual(press({ key, altKey: true }), [["onDelete"]]);
    }
  });

  it("Enter submits, Shift+Enter only explains, e verifies an empty image", () => {
    assert.deepEqual(press({ key: "Enter" }), [["enter"]]);
    const shifted = press({ key: "Enter", shiftKey: true });
    assert.equal(shifted?.length, 1);
    assert.equal(shifted?.[0][0], "say");
    assert.deepEqual(press({ key: "e" }), [["submit", true]]);
  });

  it("Shift is part of a printable key: a accepts one, Shift+a all, x and X reject", () => {
    assert.deepEqual(press({ key: "a" }), [["acceptSelected"]]);
    assert.deepEqual(press({ key: "A", shiftKey: true }), [["acceptAll"]]);
    assert.deepEqual(press({ key: "x" }), [["deleteSelected"]]);
    assert.deepEqual(press({ key: "X", shiftKey: true }), [["deleteSelected"]]);
    assert.deepEqual(press({ key: "?", shiftKey: true }), [["toggleHelp"]]);
    assert.equal(press({ key: "N", shiftKey: true }), null);
    assert.equal(press({ key: "!", shiftKey: true }), null);
  });

  it("Shift with a named key does what the key does", () => {
    assert.deepEqual(press({ key: "ArrowRight", shiftKey: true }), [["step", 1]]);
    assert.deepEqual(press({ key: "Escape", shiftKey: true }), [["escape"]]);
  });

  it("navigation, video and view keys", () => {
    assert.deepEqual(press({ key: "n" }), [["step", 1]]);
    assert.deepEqual(press({ key: "ArrowLeft" }), [["step", -1]]);
    assert.deepEqual(press({ key: "u" }), [["nextStatus", "unlabeled"]]);
    assert.deepEqual(press({ key: "r" }), [["nextStatus", "review"]]);
    assert.deepEqual(press({ key: "." }), [["stepFrame", 1]]);
    assert.deepEqual(press({ key: "," }), [["stepFrame", -1]]);
    assert.deepEqual(press({ key: "j" }), [["request", "next_flagged"]]);
    assert.deepEqual(press({ key: "t" }), [["propagateSelected"]]);
    assert.deepEqual(press({ key: "0" }), [["fitImage"]]);
    assert.deepEqual(press({ key: " " }), [["holdSpace"]]);
    assert.deepEqual(press({ key: "]" }), [["cycleSelection", 1]]);
    assert.deepEqual(press({ key: "h" }), [["toggleHideBelow"]]);
    assert.deepEqual(press({ key: "v" }), [["setVisibility"]]);
  });

  it("number keys pick the class by position", () => {
    assert.deepEqual(press({ key: "3" }), [["pickClass", 3]]);
    assert.equal(press({ key: "q" }), null);
  });

  it("Esc with nothing to cancel goes on to the notebook", () => {
    assert.deepEqual(press({ key: "Escape" }, true), [["escape"]]);
    assert.equal(press({ key: "Escape" }, false), null);
  });

  it("every bound chord reaches an action", () => {
    for (const row of KEYMAP) {
      for (const chord of Object.keys(row.on || {})) {
        const parts = chord.split(/\+(?=.)/);
        const key = /** @type {string} */ (parts.pop());
        const e = { key, ctrlKey: parts.includes("Mod"), shiftKey: parts.includes("Shift"), altKey: parts.includes("Alt") };
        assert.equal(actionFor(e), row.on?.[chord], chord);
      }
    }
  });
});
