// DOM building blocks of the Annotator. Everything that comes from users or files (class
// names, file names, keys, error text) is set with textContent, never parsed as HTML.

export function h(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k === "testid") node.dataset.testid = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

export const TOOLS = [
  ["box", "Box", "b"],
  ["polygon", "Polygon", "o"],
  ["keypoints", "Keypoints", "k"],
  ["auto", "Auto polygon", "m"],
];

// [keys, what they do]; the help overlay and the tooltips read this one list.
export const SHORTCUTS = [
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
  ["?", "Show / hide this help"],
];

export function buildHelp(onClose) {
  const rows = SHORTCUTS.map(([keys, what]) =>
    h("tr", {}, [h("td", { class: "nbl-keys", text: keys }), h("td", { text: what })]),
  );
  const box = h("div", { class: "nbl-help", testid: "help", role: "dialog", hidden: "" }, [
    h("div", { class: "nbl-help-head" }, [
      h("strong", { text: "Keyboard shortcuts" }),
      h("button", { type: "button", text: "Close", testid: "help-close", onclick: onClose }),
    ]),
    h("table", {}, [h("tbody", {}, rows)]),
  ]);
  return box;
}

export function button(label, testid, title, onclick) {
  return h("button", { type: "button", text: label, testid, title, onclick, class: "nbl-btn" });
}

export function setOptions(select, names, value) {
  select.replaceChildren(
    ...names.map((n, i) =>
      h("option", { value: n, text: i < 9 ? `${i + 1}  ${n}` : n }),
    ),
  );
  if (names.includes(value)) select.value = value;
}
