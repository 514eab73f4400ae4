"""The Annotator: one image at a time, its objects drawn on a canvas, corrected in the cell.

Pointer work stays in the browser (``static/annotator.js``); the browser sends one message per
finished gesture or command (``model.send({kind, seq, ...})``, see :data:`MESSAGES`) and this
class checks it where it arrives and writes it to the Dataset at once with
``ds.annotate(...)``. Messages, unlike a state trait the browser sets, are never merged: two
quick key presses are two messages, handled in order. The Dataset stays the only owner of the data: after every write the
widget pushes back what the Dataset holds, and it subscribes to ``ds.on_change`` so predictions
written by a background model appear on the image being looked at.
"""

from __future__ import annotations

import base64
import difflib
import inspect
import threading
import time
import traceback
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..core.edits import EDIT_KINDS
from ..core.geometry import iou
from ..core.protocols import DatasetLike, missing
from ..core.statuses import DONE_STATUSES, REVIEW, STATUSES, UNLABELED
from ..images import ImageError
from ..records import AnnotationError, check_class_names, shown
from ..tracks import annotate_frame, frame_marks, is_video, propagate, video_frames
from .codecs import (
    clean_records,
    clean_regions,
    display_jpeg,
    skeleton_payload,
    snapshot_png,
    widget_constants,
)
from .rows import RowIndex

STATIC = Path(__file__).resolve().parent.parent / "static"
# The drawing tools: name, button label, key. The browser builds its buttons, help and key
# bindings from this table (sent in the ``constants`` trait).
TOOL_TABLE = (
    ("box", "Box", "b"),
    ("polygon", "Polygon", "o"),
    ("keypoints", "Keypoints", "k"),
    ("auto", "Auto polygon", "m"),
)
TOOLS = tuple(name for name, _, _ in TOOL_TABLE)
# "Next image with this status": status, key. The browser builds these buttons, their help
# line and their keys from this table too, so it names no status itself.
JUMP_TABLE = ((UNLABELED, "u"), (REVIEW, "r"))
# Time on one image beyond this between two edits is counted as this: a user who leaves for
# lunch with the widget open has not spent an hour on that image.
IDLE_CAP_S = 300.0
REVIEW_BELOW = 0.5  # an auto polygon scored lower than this sends the image to review
_HISTORY = 100  # undo steps kept per image
_CACHE = 8  # encoded display images kept
# Model writes come in bursts (a loop writes row after row): what they change beyond the image
# on screen (status counts, the frame strip) is sent at most this often, and once after a burst.
REFRESH_EVERY = 0.3
# A record rewritten (moved, re-predicted) keeps its widget id when its box overlaps its old
# box at least this much and it kept its label.
SAME_OBJECT_IOU = 0.3


class RecordList(traitlets.List):
    """A list of annotation records; rejects anything the canvas could not draw."""

    info_text = "a list of annotation records (dicts with 'label' and 'bbox')"

    def validate(self, obj, value):
        value = super().validate(obj, value)
        for i, rec in enumerate(value):
            if not isinstance(rec, dict):
                raise traitlets.TraitError(f"annotation {i} must be a dict, got {rec!r}")
            bbox = rec.get("bbox")
            if not isinstance(rec.get("label"), str) or not (
                isinstance(bbox, (list, tuple)) and len(bbox) == 4
            ):
                raise traitlets.TraitError(
                    f"annotation {i} needs a string 'label' and a 4-number 'bbox', got {rec!r}"
                )
        return value


def _default_polygonizer(image_rgb, box):
    """Rectangle to polygon with GrabCut (or SAM) from nblabel.models.polygon."""
    try:
        from ..models.polygon import rect_to_polygon
    except ImportError as e:
        raise RuntimeError(
            "auto polygons need nblabel.models.polygon (rect_to_polygon), which could not be "
            f"imported ({e}); pass polygonizer=fn(image_rgb, box) -> (points, score)"
        ) from e
    return rect_to_polygon(image_rgb, box, return_score=True)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# What each field of a browser message must be: field -> (said in the error, check).
_FIELDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "index": ("a row position (an integer)", _is_int),
    "delta": ("an integer", _is_int),
    "n": ("a number of frames (an integer)", _is_int),
    "track": ("a track id (an integer) or null", lambda v: v is None or _is_int(v)),
    "annotations": ("a list of annotation records", lambda v: isinstance(v, list)),
    "empty": ("true or false", lambda v: isinstance(v, bool)),
    "box": (
        "a box [x1, y1, x2, y2]",
        lambda v: isinstance(v, list) and len(v) == 4 and all(_is_number(x) for x in v),
    ),  # fmt: skip
    "label": ("a class name (a string)", lambda v: isinstance(v, str)),
    "edit": (f"one of {EDIT_KINDS}", lambda v: v in EDIT_KINDS),
    "status": (f"one of {STATUSES}", lambda v: v in STATUSES),
}
# The messages the browser sends, ``{"kind": ..., "seq": n, ...fields}``: kind -> (required
# fields, optional fields). Each kind is run by the Annotator's method ``_msg_<kind>``.
MESSAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "edit": (("edit", "annotations"), ("index",)),
    "submit": (("annotations",), ("empty", "index")),
    "auto": (("box",), ("label", "index")),
    "goto": (("index",), ()),
    "step": (("delta",), ("index",)),
    "step_frame": (("delta",), ("index",)),
    "propagate": ((), ("n", "track", "index")),
    "next_flagged": ((), ("index",)),
    "next_status": (("status",), ("index",)),
    "undo": ((), ("index",)),
    "redo": ((), ("index",)),
    "clear_errors": ((), ("index",)),
}


def _close_to(name: str, known) -> str:
    near = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _check_message(content, n_rows: int) -> tuple[str, dict]:
    """The kind and fields of one browser message, or ValueError saying what is wrong.

    ``goto`` may name any integer (a typed image number is clamped to the images there
    are); every other message's ``index`` must be a row of the dataset.
    """
    if not isinstance(content, dict):
        raise ValueError(f"a message must be an object with a 'kind', got {content!r}")
    kind = content.get("kind")
    if kind not in MESSAGES:
        hint = _close_to(kind, MESSAGES) if isinstance(kind, str) else ""
        raise ValueError(f"unknown message kind {kind!r}{hint}; known: {sorted(MESSAGES)}")
    if not _is_int(content.get("seq")):
        raise ValueError(f"message {kind!r} needs an integer 'seq', got {content.get('seq')!r}")
    required, optional = MESSAGES[kind]
    fields = {k: v for k, v in content.items() if k not in ("kind", "seq")}
    for name in fields:
        if name not in required and name not in optional:
            hint = _close_to(name, required + optional)
            raise ValueError(f"message {kind!r} has an unknown field {name!r}{hint}")
    for name in required:
        if name not in fields:
            raise ValueError(f"message {kind!r} needs the field {name!r}")
    for name, value in fields.items():
        what, ok = _FIELDS[name]
        if not ok(value):
            raise ValueError(f"message {kind!r}: {name!r} must be {what}, got {value!r}")
    index = fields.get("index")
    if kind != "goto" and index is not None and not 0 <= index < n_rows:
        raise ValueError(f"message {kind!r}: image index {index} is outside 0..{n_rows - 1}")
    return kind, fields


def _has_box(rec: dict) -> bool:
    box = rec.get("bbox")
    return isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)


def _check_trait_arguments(cls, traits: dict) -> None:
    """Keyword arguments beyond the signature must name a trait (``hide_below=True``); a typo
    (``thresold=0.9``) raises instead of being dropped with a warning."""
    known = set(cls.class_trait_names())
    params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "ds")]
    for name in traits:
        if name not in known or name.startswith("_"):
            public = params + sorted(t for t in known if not t.startswith("_"))
            raise TypeError(
                f"Annotator() got an unexpected keyword argument {name!r}"
                f"{_close_to(name, public)}; its arguments are {params}"
            )


class Annotator(anywidget.AnyWidget):
    """Correct a Dataset's boxes, polygons and keypoints in a notebook cell.

    Every finished gesture (draw, move, resize, delete, relabel, accept, reject) is written to
    the Dataset immediately with ``ds.annotate(key, records, source="human", status=<the
    image's status>, kind=..., seconds=...)``; Enter submits the image (marks it ``verified``)
    and moves on. An image with no objects on screen is verified only with a key of its own
    (``e``, "Nothing here"), and Shift+Enter never submits: Enter and Shift+Enter are notebook
    habits, and an empty verified image tells a model "nothing here" as firmly as a box.
    Press ``?`` in the widget for the keyboard shortcuts.

    Keypoint objects are drawn with the skeleton that fits them: ``skeleton`` when it has as
    many points, else the built-in one with that count (17 body, 5 face, 21 hand; a record's
    ``skeleton`` key may name one). Point names show next to the hovered or selected point.
    Per-point confidences in a record's ``keypoint_scores`` show as point size, in the
    tooltip, and dim points scored below the threshold; a point the user moves or re-marks
    loses its score (a person placed it), and accepting the object drops them all.

    De-identification regions (a row's ``deid_regions``, written by
    :func:`nblabel.deidentify`) are drawn as a read-only hatched layer labelled with their
    kind, toggled by the "regions" checkbox (``show_regions``). They are never edited and
    never written into ``annotations``. A face or plate the detector missed is added as an
    ordinary box of class ``"face"`` or ``"plate"`` (add the class first), which a later
    de-identification pass or a custom model can learn from.

    Args:
        ds: the :class:`nblabel.Dataset` to edit.
        classes: class names offered for new objects (default: ``ds.classes``); names the
            Dataset does not know yet are added to it, except one close to a known class
            (``"racoon"`` for ``"raccoon"``), which raises with a "did you mean" (see
            :func:`nblabel.records.check_class_names`).
        tool: ``"box"``, ``"polygon"``, ``"keypoints"`` or ``"auto"`` (drag a rectangle and
            ``polygonizer`` fills it with a polygon).
        display_size: long side, in pixels, of the image sent to the browser; coordinates
            stay in original pixels whatever this is.
        threshold: initial confidence threshold; predictions below it are suggestions:
            drawn faint (hidden with ``hide_below=True``) and left out on submit unless
            the person accepts (``a``) or edits one, which makes it theirs.
        polygonizer: ``fn(image_rgb, box) -> (points, score)`` for the auto tool (default:
            ``nblabel.models.polygon.rect_to_polygon``); a score below 0.5 sends the image to
            review. The score is shown and kept on the record as ``polygon_score`` (its
            ``score`` stays None: the person drew the rectangle, so it is their object).
        skeleton: skeleton of new keypoint objects: a name (``"coco17"``/``"body"``,
            ``"face5"``/``"face"``, ``"hand21"``/``"hand"``) or a dict ``{"names": [...],
            "edges": [[i, j], ...], "layout": [[fx, fy], ...]}``; default the COCO-17 body.
        start: key of the first image to show (default: the first image).

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
        >>> ann = nbl.Annotator(ds, classes=["cat", "dog"])
        >>> ann.on_submit(lambda key, records: print(key, len(records)))
        >>> ann  # the last line of a cell: the widget shows under it
        Annotator(image 1/2 'img1', status 'unlabeled', tool 'box')
    """

    _esm = STATIC / "annotator.js"
    _css = STATIC / "annotator.css"

    # Python -> browser
    image_a = traitlets.Bytes(b"").tag(sync=True)
    image_b = traitlets.Bytes(b"").tag(sync=True)
    slots = traitlets.List([-1, -1]).tag(sync=True)  # row position held by image_a, image_b
    meta = traitlets.Dict().tag(sync=True)  # the image on screen: index, key, size, scale ...
    annotations = RecordList().tag(sync=True)
    # one id per record of ``annotations``, in its order: the browser selects by id, so a
    # model write that reorders the objects leaves the selection on the same object
    ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # seq of the last browser message handled: a trait, so it reaches the browser in the same
    # update as the state that message produced (a reply message could overtake that update)
    ack = traitlets.Int(0).tag(sync=True)
    # what the browser draws with (palette, statuses, tools, built-in skeletons), set once
    constants = traitlets.Dict(read_only=True).tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    skeleton = traitlets.Dict().tag(sync=True)  # for new keypoint objects (and first choice)
    regions = traitlets.List().tag(sync=True)  # read-only de-identification regions
    counts = traitlets.Dict().tag(sync=True)
    errors = traitlets.List(traitlets.Unicode()).tag(sync=True)  # callback tracebacks
    message = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Unicode("").tag(sync=True)
    # both ways
    label = traitlets.Unicode("").tag(sync=True)
    tool = traitlets.Enum(TOOLS, default_value="box").tag(sync=True)
    threshold = traitlets.Float(0.25, min=0.0, max=1.0).tag(sync=True)
    hide_below = traitlets.Bool(False).tag(sync=True)
    show_regions = traitlets.Bool(True).tag(sync=True)
    # video rows only: one entry per frame for the frame strip (see nblabel.tracks.frame_marks)
    strip = traitlets.List().tag(sync=True)

    def __init__(
        self,
        ds,
        classes: Sequence[str] | None = None,
        tool: str = "box",
        *,
        display_size: int = 1600,
        threshold: float = 0.25,
        polygonizer: Callable | None = None,
        skeleton: Any = None,
        start: Any = None,
        **traits,
    ):
        if not isinstance(ds, DatasetLike):
            raise TypeError(
                f"Annotator needs an nblabel.Dataset, got {type(ds).__name__} (no "
                f".{missing(ds, DatasetLike)[0]}); build one with nbl.Dataset.from_folder(...) "
                "or from_dataframe(...)"
            )
        _check_trait_arguments(type(self), traits)
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
        if int(display_size) < 64:
            raise ValueError(f"display_size must be at least 64 pixels, got {display_size!r}")
        if len(ds) == 0:
            raise ValueError("the dataset has no images; add images before annotating")
        if classes is not None:
            if isinstance(classes, str):
                classes = [classes]
            # a typo ("racoon" on a raccoon dataset) would become a class for good
            classes = check_class_names(classes, ds.classes)
            ds.add_classes(classes)
        names = list(classes) if classes is not None else ds.classes
        if not names:
            raise ValueError(
                "no classes to label with: pass classes=[...] (e.g. Annotator(ds, "
                "classes=['cat'])) or call ds.add_classes([...]) first"
            )
        super().__init__(
            classes=names,
            label=names[0],
            tool=tool,
            threshold=threshold,
            skeleton=skeleton_payload(skeleton),
            **traits,
        )
        self.set_trait("constants", widget_constants(TOOL_TABLE, JUMP_TABLE))
        self.ds = ds
        self.display_size = int(display_size)
        self.polygonizer = polygonizer or _default_polygonizer
        self._own_classes = classes is not None
        self._lock = threading.RLock()
        self._writer: int | None = None  # thread id while this widget writes to the Dataset
        # keys, positions and statuses of every row, kept per write: nothing done per write,
        # key press or image switch looks at the whole table
        self._rows = RowIndex(ds)
        self._frames: tuple | None = None  # (rows, keys in frame order, key -> place)
        self._index = 0
        self._clock: dict[Any, float] = {}
        self._undo: dict[Any, list] = {}
        self._redo: dict[Any, list] = {}
        self._jpeg: OrderedDict[int, tuple[bytes, float, str | None]] = OrderedDict()
        # key -> (records, ids) last sent, for the last few images shown
        self._known: OrderedDict[Any, tuple[list[dict], list[str]]] = OrderedDict()
        self._submit_fns: list[Callable] = []
        self._change_fns: list[Callable] = []
        self._later = {
            "counts": _Coalesced(self._push_counts, self._lock, self._report),
            "strip": _Coalesced(self._push_strip, self._lock, self._report),
        }
        self._displays: list = []  # display handles of the cells showing this widget
        self._in_request = False  # handling a browser message (it prefetches at the end)
        self._shown = False  # an image went on screen during the current message
        self._video = is_video(ds)  # frames of a video: edits go through nblabel.tracks

        # weak: the Dataset must not keep a closed or forgotten widget alive
        ds.on_change(self._on_ds_change, weak=True)
        self.on_msg(self._on_message)
        first = 0
        if start is not None:
            first = self._position(start)
        self.counts = self._rows.counts()
        self._show(first)

    # -- public API ----------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Row position of the image on screen."""
        return self._index

    @property
    def key(self):
        """Dataset key of the image on screen."""
        return self._keys[self._index]

    @property
    def skeletons(self) -> dict[str, dict]:
        """The built-in skeletons (body 17, face 5, hand 21) as the browser draws them."""
        return self.constants.get("skeletons", {})

    @property
    def _keys(self) -> list:
        """Dataset keys in row order (row position -> key)."""
        return self._rows.keys

    def on_submit(self, fn: Callable[[Any, list], None], remove: bool = False) -> None:
        """Call ``fn(key, records)`` after an image is submitted (Enter).

        An exception raised by ``fn`` is shown under the widget; the submit itself is kept.

        Example:
            >>> ann.on_submit(lambda key, records: print("done", key))
        """
        self._register(self._submit_fns, fn, remove)

    def on_change(self, fn: Callable[[Any, list, str], None], remove: bool = False) -> None:
        """Call ``fn(key, records, kind)`` after every edit written from this widget.

        ``kind`` is one of ``added``, ``moved``, ``resized``, ``deleted``, ``relabelled``,
        ``accepted``, ``rejected`` or ``submit``.

        Example:
            >>> ann.on_change(lambda key, records, kind: print(kind, key))
        """
        self._register(self._change_fns, fn, remove)

    def goto(self, index: int) -> None:
        """Show the image at row position ``index`` (negative counts from the end)."""
        n = len(self._keys)
        if not -n <= int(index) < n:
            raise IndexError(f"image index {index} is outside 0..{n - 1}")
        self._show(int(index) % n)

    def show(self, key) -> None:
        """Show the image with Dataset key ``key``."""
        self._show(self._position(key))

    def reveal(self) -> None:
        """Scroll the notebook so this widget is in view, and give it the keyboard.

        For code that opens an image here from elsewhere in the notebook (the review grid's
        thumbnails): the widget may be far above the cell that was clicked.
        """
        self.send({"type": "reveal"})

    def next(self) -> None:
        """Show the next image (stays on the last one)."""
        self._step(1)

    def previous(self) -> None:
        """Show the previous image (stays on the first one)."""
        self._step(-1)

    def next_with_status(self, status: str) -> bool:
        """Show the next image (after the current one, wrapping) whose status is ``status``.

        Returns False, and says so in the widget, when there is none.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        here = self._index
        i = self._rows.find([status], here + 1)
        if i is None:
            i = self._rows.find([status], 0, here)
        if i is not None:
            self._show(i)
            return True
        self.message = f"No other image with status '{status}'."
        return False

    def submit(self, records: Sequence[dict] | None = None) -> None:
        """Mark the image on screen verified (with ``records``, default its current objects)
        and move to the next image that still needs a person (verified and auto-accepted
        ones are skipped); after the last one, to the first image still waiting (in review,
        predicted, then unlabeled).

        What is verified is what the person kept: predictions scored under the threshold are
        suggestions (drawn faint, or not at all with "hide below"), left out unless the
        person took one by accepting or editing it, which makes it theirs (see
        :meth:`kept`). Ignoring a wrong suggestion costs nothing; taking a right one
        costs a click or a drag instead of drawing it.
        """
        key = self.key
        recs = self.ds.row(key)["annotations"] if records is None else list(records)
        kept = self.kept(recs)
        self._edit(self._index, kept, "submit")
        self._fire(self._submit_fns, key, self.ds.row(key)["annotations"])
        dropped = len(recs) - len(kept)
        note = (
            f" {dropped} suggestion{'s' if dropped > 1 else ''} below "
            f"{self.threshold:.2f} left out."
            if dropped
            else ""
        )
        ahead = self._next_waiting(self._index)
        if ahead is not None:
            self._show(ahead)
            self.message = f"Submitted {key}.{note}" if note else ""
            return
        waiting = self._first_waiting()
        if waiting is None:
            self.message = (
                f"Submitted the last image: every image is verified or auto-labeled.{note}"
            )
            return
        self._show(waiting)
        status = self.ds.row(self._keys[waiting])["status"]
        state = {"review": "in review", "predicted": "unchecked"}.get(status, status)
        self.message = (
            f"Submitted the last image.{note} {self._keys[waiting]} is still {state}; here it is."
        )

    def propagate(self, n: int = 5, track: int | None = None) -> int:
        """Copy the objects of the frame on screen (only ``track`` when given) onto the next
        ``n`` frames of a video dataset; frames a person verified are left as they are.

        Returns:
            The number of frames written.

        Example:
            >>> video = nbl.Dataset.from_video("clip.mp4", every=25, db="clip.db", progress=False)
            >>> ann = nbl.Annotator(video, classes=["raccoon"])
            >>> _ = video.annotate(ann.key, [{"label": "raccoon", "bbox": [100, 50, 300, 250]}])
            >>> ann.propagate(3)
            3
        """
        if not self._video:
            raise ValueError("propagate needs video frames: build the dataset with from_video")
        written = propagate(self.ds, self.key, int(n), None if track is None else [int(track)])
        what = "its objects" if track is None else f"track {track}"
        self.message = f"Copied {what} to {written} frame{'s' if written != 1 else ''}."
        self._push_current()
        return written

    def next_flagged(self) -> bool:
        """Show the next frame (in frame order, wrapping) where a track jumped or a point was
        flagged (see :func:`nblabel.tracks.flag_points`); says so when there is none."""
        marks = frame_marks(self.ds) if self._video else []
        order = [m["key"] for m in marks]
        here = order.index(self.key) if self.key in order else -1
        for step in range(1, len(order)):
            m = marks[(here + step) % len(order)]
            if m["jump"] or m["flagged"]:
                self._show(self._position(m["key"]))
                why = f"points {', '.join(m['flagged'])}" if m["flagged"] else "a track jumped"
                self.message = f"Frame {m['frame']}: {why}."
                return True
        self.message = "No frame with a jumping track or a flagged point."
        return False

    def _step_frame(self, delta: int) -> None:
        """Previous/next frame in frame order (the row order of a video, unless sorted)."""
        order, place = self._frame_order()
        if self.key not in place:
            self._step(delta)
            return
        j = place[self.key] + delta
        if not 0 <= j < len(order):
            self.message = "This is the last frame." if delta > 0 else "This is the first frame."
            return
        self._show(self._position(order[j]))

    def _next_waiting(self, index: int) -> int | None:
        """Row position of the first image after ``index`` that a person has yet to see
        through: a loop's auto-accepted rows and verified rows need nobody."""
        return self._rows.find(_WAITING, index + 1)

    def _first_waiting(self) -> int | None:
        """Row position of the first image still waiting for a person: in review first,
        then predicted, then unlabeled (``auto`` rows were accepted by the loop)."""
        for status in ("review", "predicted", "unlabeled"):
            i = self._rows.find([status])
            if i is not None:
                return i
        return None

    def _frame_order(self) -> tuple[list, dict]:
        """Keys of a video's frames in frame order and each one's place in it (empty for
        still images); read again only when rows were added."""
        if not self._video:
            return [], {}
        if self._frames is None or self._frames[0] != len(self._keys):
            order = [k for k, _ in video_frames(self.ds)]
            self._frames = (len(self._keys), order, {k: i for i, k in enumerate(order)})
        return self._frames[1], self._frames[2]

    def shown(self, records: Sequence[dict]) -> list[dict]:
        """The records a person sees: all of them, less the predictions that "hide below"
        hides (scored under ``threshold``). Human labels (score None) are always shown."""
        if not self.hide_below:
            return list(records)
        return self.kept(records)

    def kept(self, records: Sequence[dict]) -> list[dict]:
        """The records a submit stores: the person's own and the predictions scored at
        least ``threshold``; the suggestions under it are left out, drawn or not.

        Example:
            >>> ann.threshold
            0.25
            >>> [r["score"] for r in ann.kept([{"score": 0.1}, {"score": 0.8}, {"score": None}])]
            [0.8, None]
        """
        return shown(records, self.threshold)

    def undo(self) -> bool:
        """Undo the last edit on the image on screen. Returns False when there is none."""
        return self._travel(self._undo, self._redo, undo=True)

    def redo(self) -> bool:
        """Redo the last undone edit on the image on screen."""
        return self._travel(self._redo, self._undo, undo=False)

    def snapshot(self) -> bytes:
        """A PNG of the image on screen with its objects drawn (what a saved notebook shows)."""
        key = self.key
        row = self.ds.row(key)
        try:
            rgb = self.ds.image(key)
        except ImageError:
            rgb = None
        return snapshot_png(
            rgb,
            row["annotations"],
            self.classes,
            width=int(row.get("width") or 0),
            height=int(row.get("height") or 0),
            threshold=self.threshold if self.hide_below else 0.0,
            skeleton=self.skeleton,
            skeletons=list(self.skeletons.values()),
            regions=self.regions if self.show_regions else (),
        )

    def close(self) -> None:
        """Stop listening to the Dataset and close the widget.

        Where the widget was displayed by a cell, its output becomes a still picture of the
        image on screen with its objects, so the saved notebook keeps showing the last state
        (JupyterLab shows "model not found" for a widget whose kernel is gone).
        """
        # also runs from __del__, possibly on a widget whose __init__ failed half way
        ds = getattr(self, "ds", None)
        if ds is not None:
            ds.on_change(self._on_ds_change, remove=True)
        for later in getattr(self, "_later", {}).values():
            later.cancel()
        handles = getattr(self, "_displays", None)
        if handles and ds is not None:
            self._displays = []
            try:
                still = self._still_bundle()
                for handle in handles:
                    handle.update(still, raw=True)
            except Exception as e:  # closing must not fail because the picture did
                warnings.warn(
                    f"nblabel: could not leave a picture of the widget: {e!r}", stacklevel=2
                )
        super().close()

    def __repr__(self) -> str:
        m = self.meta or {}
        return (
            f"Annotator(image {m.get('index', 0) + 1}/{m.get('n', len(self._keys))} "
            f"{m.get('key')!r}, status {m.get('status')!r}, tool {self.tool!r})"
        )

    def _still_bundle(self) -> dict:
        return {
            "image/png": base64.b64encode(self.snapshot()).decode("ascii"),
            "text/plain": repr(self),
        }

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        data = dict(data)
        # Renderers without the live widget (untrusted notebooks in JupyterLab, GitHub,
        # nbviewer, nbconvert, VS Code without the kernel) fall back to this still picture.
        try:
            data.update(self._still_bundle())
        except Exception as e:  # the live widget must display even if the picture fails
            data["text/plain"] = f"{data.get('text/plain', repr(self))} (no snapshot: {e})"
        return data, metadata

    def _ipython_display_(self, **kwargs):
        """Display with a display id, so :meth:`close` can turn the output into a picture."""
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        handle = display(data, metadata=metadata, raw=True, display_id=True)
        if handle is not None:
            self._displays.append(handle)

    # -- browser messages ----------------------------------------------------------------
    def _on_message(self, _widget, content, _buffers) -> None:
        """One message from the browser: checked here, then run by its ``_msg_<kind>``."""
        if isinstance(content, dict) and str(content.get("kind", "")).startswith("anywidget-"):
            return  # anywidget's own protocol
        self._shown = False
        with self._lock:
            self._in_request = True
            try:
                with self.hold_sync():
                    seq = content.get("seq") if isinstance(content, dict) else None
                    try:
                        kind, fields = _check_message(content, len(self._keys))
                        getattr(self, f"_msg_{kind}")(**fields)
                    except (AnnotationError, ValueError, KeyError, IndexError) as e:
                        # A malformed message or edit (an empty box, an unknown class): tell
                        # the user and put the canvas back to what the Dataset holds.
                        self.message = f"Not saved: {e}"
                        self._push_current()
                    except Exception:
                        what = content.get("kind") if isinstance(content, dict) else content
                        self._report(f"message {what!r} failed")
                        self._push_current()
                    finally:
                        if _is_int(seq):
                            self.ack = max(self.ack, seq)
                # the image on screen went out with the answer; the next one follows it
                if self._shown:
                    self._prefetch()
            except Exception:
                self._report("updating the widget failed")
            finally:
                self._in_request = False

    def _msg_edit(self, edit: str, annotations: list, index: int | None = None) -> None:
        self._edit(self._at(index), annotations, edit)

    def _msg_submit(self, annotations: list, empty: bool = False, index: int | None = None):
        if not self._submit_allowed(annotations, empty):
            return
        if self._at(index) != self._index:
            self._edit(self._at(index), self.kept(annotations), "submit")
        else:
            self.submit(annotations)

    def _msg_auto(self, box: list, label: str | None = None, index: int | None = None):
        self._auto_polygon(self._at(index), box, label or self.label)

    def _msg_goto(self, index: int) -> None:
        self._show(max(0, min(len(self._keys) - 1, index)))

    def _msg_step(self, delta: int, index: int | None = None) -> None:
        self._step(delta)

    def _msg_step_frame(self, delta: int, index: int | None = None) -> None:
        self._step_frame(delta)

    def _msg_propagate(self, n: int = 5, track: int | None = None, index: int | None = None):
        self.propagate(n or 5, track)

    def _msg_next_flagged(self, index: int | None = None) -> None:
        self.next_flagged()

    def _msg_next_status(self, status: str, index: int | None = None) -> None:
        self.next_with_status(status)

    def _msg_undo(self, index: int | None = None) -> None:
        self.undo()

    def _msg_redo(self, index: int | None = None) -> None:
        self.redo()

    def _msg_clear_errors(self, index: int | None = None) -> None:
        self.errors = []

    def _at(self, index: int | None) -> int:
        """The row a message is about: the one it names, else the one on screen."""
        return self._index if index is None else index

    def _submit_allowed(self, records, empty: bool) -> bool:
        """Submitting from the browser: an image verified with no objects says "nothing
        here", which trains a model as firmly as a box does, so it takes its own key (e, the
        "Nothing here" button); Enter on an empty image only says so. "Nothing here" on an
        image that shows objects is refused too, rather than guessing which was meant."""
        n = len(self.kept(records or []))
        if n == 0 and not empty:
            faint = len(records or [])
            self.message = (
                f"Only {faint} suggestion{'s' if faint > 1 else ''} under "
                f"{self.threshold:.2f} on this image, which a submit leaves out: keep the "
                "right ones (drag one, or select it and press a), draw what is missing, or "
                "press e (Nothing here) if it has none."
                if faint and not self.hide_below
                else "Nothing is marked on this image. Draw its objects, or press e "
                "(Nothing here) to verify that it has none."
            )
            return False
        if n and empty:
            self.message = (
                f"This image shows {n} object{'s' if n > 1 else ''}: press Enter to submit "
                "them, or delete them before marking it Nothing here."
            )
            return False
        return True

    # -- writing -------------------------------------------------------------------------
    def _edit(self, index: int, records: Sequence[dict], kind: str, *, status=None) -> None:
        """Write one gesture to the Dataset and keep its undo step."""
        key = self._keys[index]
        before = self.ds.row(key)
        if kind != "submit" and status is None:
            status = before["status"]
        after = self._write(key, records, kind, status)
        if after != before["annotations"]:
            steps = self._undo.setdefault(key, [])
            steps.append((before["annotations"], kind))
            del steps[:-_HISTORY]
            self._redo.pop(key, None)

    def _write(self, key, records, kind, status) -> list[dict]:
        now = time.monotonic()
        seconds = min(now - self._clock.get(key, now), IDLE_CAP_S)
        self._writer = threading.get_ident()
        try:
            if self._video:
                # a keyframe of each track: the frames around it are interpolated again and
                # a deleted object's track ends here
                annotate_frame(
                    self.ds, key, list(records), seconds=seconds, status=status, kind=kind
                )
            else:
                self.ds.annotate(
                    key, list(records), source="human", status=status, kind=kind, seconds=seconds
                )
        finally:
            self._writer = None
        self._clock[key] = now
        after = self.ds.row(key)["annotations"]
        if key == self.key:
            self._push_current(same_order=True)
        self._later["counts"](force=True)
        self._fire(self._change_fns, key, after, kind)
        return after

    def _travel(self, source: dict, target: dict, *, undo: bool) -> bool:
        key = self.key
        steps = source.get(key) or []
        if not steps:
            self.message = "Nothing to undo." if undo else "Nothing to redo."
            return False
        records, kind = steps.pop()
        row = self.ds.row(key)
        target.setdefault(key, []).append((row["annotations"], kind))
        # the event log records what the undo did: undoing an addition deletes, and so on
        inverse = {"added": "deleted", "deleted": "added"}.get(kind, kind) if undo else kind
        self._write(key, records, inverse, row["status"])
        return True

    def _auto_polygon(self, index: int, box, label: str) -> None:
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise ValueError(f"auto polygon needs a box [x1, y1, x2, y2], got {box!r}")
        key = self._keys[index]
        self.busy = "Finding the object's outline..."
        try:
            image = self.ds.image(key)
            points, score = self.polygonizer(image, [float(v) for v in box])
        finally:
            self.busy = ""
        points = [[float(p[0]), float(p[1])] for p in points]
        rec = {"label": label, "bbox": None, "points": points, "score": None, "source": "human"}
        if len(points) < 3:
            # nothing segmented: keep the user's rectangle rather than losing the gesture
            rec.update(points=None, bbox=[float(v) for v in box])
        score = None if score is None else float(score)
        rec["polygon_score"] = score
        row = self.ds.row(key)
        low = score is not None and score < REVIEW_BELOW
        status = "review" if low else row["status"]
        self._edit(index, [*row["annotations"], rec], "added", status=status)
        if low:
            self.message = f"Outline quality {score:.2f} is low; image sent to review."
        elif score is not None:
            self.message = f"Outline quality {score:.2f}."

    # -- showing images ------------------------------------------------------------------
    def _position(self, key) -> int:
        pos = self._rows.position(key)
        if pos is None:
            raise KeyError(f"no image with key {key!r} (keys look like {self._keys[:3]})")
        return pos

    def _step(self, delta: int) -> None:
        i = min(max(self._index + delta, 0), len(self._keys) - 1)
        if i == self._index:
            self.message = "This is the last image." if delta > 0 else "This is the first image."
            return
        self._show(i)

    def _encoded(self, index: int) -> tuple[bytes, float, str | None]:
        """Display JPEG, scale and problem (None when the image read fine) of a row."""
        path = str(self.ds.row(self._keys[index]).get("image"))
        hit = self._jpeg.get(index)
        if hit is not None and hit[3] == path:  # a changed path (de-identified copy) re-reads
            self._jpeg.move_to_end(index)
            return hit[:3]
        try:
            data, scale = display_jpeg(self.ds.image(self._keys[index]), self.display_size)
            item = (data, scale, None, path)
        except ImageError as e:
            item = (b"", 1.0, str(e), path)
        self._jpeg[index] = item
        while len(self._jpeg) > _CACHE:
            self._jpeg.popitem(last=False)
        return item[:3]

    def _load_slot(self, index: int, keep: int | None = None) -> str:
        """Put the image of ``index`` in a buffer trait unless one holds it already.

        The other buffer is overwritten, except the one holding ``keep`` (the prefetched next
        image, or the image on screen when prefetching).
        """
        slots = list(self.slots)
        if index in slots:
            i = slots.index(index)
            if self._jpeg.get(index, (None,) * 4)[3] == str(
                self.ds.row(self._keys[index]).get("image")
            ):
                return "ab"[i]
        else:
            i = 1 if keep is not None and slots[0] == keep else 0
        data = self._encoded(index)[0]
        setattr(self, "image_" + "ab"[i], data)
        slots[i] = index
        self.slots = slots
        return "ab"[i]

    def _show(self, index: int) -> None:
        self._shown = True
        with self._lock, self.hold_sync():
            self._rows.extend()  # rows another writer added since
            nxt = index + 1 if index + 1 < len(self._keys) else None
            slot = self._load_slot(index, keep=nxt)
            self._index = index
            key = self._keys[index]
            self._clock[key] = time.monotonic()
            self.message = ""
            self._push_current(slot=slot)
        if not self._in_request:
            # called from Python (a cell, the review grid): the browser gets the image on
            # screen first, then the next one
            self._prefetch()

    def _prefetch(self) -> None:
        """Send the next image into the other buffer so moving on shows it at once."""
        nxt = self._index + 1
        if nxt < len(self._keys):
            with self._lock, self.hold_sync():
                self._load_slot(nxt, keep=self._index)

    def _push_current(self, slot: str | None = None, same_order: bool = False) -> None:
        """Send the Dataset's state of the image on screen to the browser.

        ``same_order``: the records are a person's edit of the ones on screen, so an object
        kept its place unless the edit added or deleted one (see :meth:`_ids_for`).
        """
        key = self.key
        row = self.ds.row(key)
        _, scale, problem = self._encoded(self._index)
        if slot is None:
            slot = (self.meta or {}).get("slot", "a")
        issues = row.get("issues")
        # read-only: shown over the image, never sent back, never part of the annotations
        regions, unreadable = clean_regions(row.get("deid_regions"))
        self.meta = {
            "index": self._index,
            "n": len(self._keys),
            "key": str(key),
            "file": Path(str(row.get("image") or "")).name,
            "width": int(row.get("width") or 0),
            "height": int(row.get("height") or 0),
            "scale": scale,
            "slot": slot,
            "status": row.get("status"),
            "problem": problem or (str(issues) if issues else ""),
            "regions_unreadable": unreadable,  # entries without a usable bbox
        }
        records = clean_records(row["annotations"])
        self.ids = self._ids_for(key, records, same_order)
        self.annotations = records
        self.regions = regions
        if self._video:
            self._push_strip()

    def _ids_for(self, key, records: list[dict], same_order: bool = False) -> list[str]:
        """Ids of ``records``: an object seen on screen before keeps its id.

        Ids live in the widget only (for the last few images shown): the journal's records carry no id (records keep extra
        keys as they are, so an id would reach every export), and a record's identity in a
        row is its place. Between two pushes of the same image an object is the same when it
        is unchanged, else when it kept its label and overlaps its old box by
        ``SAME_OBJECT_IOU``; any other record is new. A person's edit that kept the number of
        objects (a move, a relabel, an undo of one) keeps every id in place, however far the
        object moved.
        """
        seen = key in self._known
        old, old_ids = self._known.pop(key, ([], []))
        ids: list[str | None] = [None] * len(records)
        if seen and same_order and len(old) == len(records):
            ids = list(old_ids)
        elif seen:
            free = set(range(len(old)))
            for j, rec in enumerate(records):
                same = next((i for i in sorted(free) if old[i] == rec), None)
                if same is not None:
                    ids[j] = old_ids[same]
                    free.discard(same)
            for j, rec in enumerate(records):
                if ids[j] is not None or not _has_box(rec):
                    continue
                near = [
                    (iou(old[i]["bbox"], rec["bbox"]), i)
                    for i in free
                    if old[i].get("label") == rec.get("label") and _has_box(old[i])
                ]
                score, i = max(near, default=(0.0, None))
                if i is not None and score >= SAME_OBJECT_IOU:
                    ids[j] = old_ids[i]
                    free.discard(i)
        out = [i if i is not None else uuid.uuid4().hex[:8] for i in ids]
        self._known[key] = (records, out)
        while len(self._known) > _CACHE:
            self._known.popitem(last=False)
        return out

    def _push_strip(self) -> None:
        position = self._rows.position
        self.strip = [
            {
                "index": position(m["key"]),
                "frame": m["frame"],
                "status": m["status"],
                "objects": m["objects"],
                "flagged": m["flagged"],
                "jump": m["jump"],
            }
            for m in frame_marks(self.ds)
            if position(m["key"]) is not None
        ]

    # -- Dataset notifications -----------------------------------------------------------
    def _on_ds_change(self, key) -> None:
        with self._lock:
            try:
                # every write moves the row's status (counts, next image to see), ours too
                pos = self._rows.note(key)
                if self._writer == threading.get_ident():
                    return  # our own write: _write pushes the result itself
                if not self._own_classes and self.ds.classes != list(self.classes):
                    self.classes = self.ds.classes
                if pos is not None and pos == self._index:
                    with self.hold_sync():
                        # reloads the picture too when the row now points at another file
                        slot = self._load_slot(self._index)
                        self._push_current(slot=slot)
                elif self._video:
                    self._later["strip"]()  # another frame changed: its mark on the strip
                self._later["counts"]()
            except Exception:
                self._report(f"refreshing after a change to {key!r} failed")

    def _push_counts(self) -> None:
        self.counts = self._rows.counts()

    # -- callbacks -----------------------------------------------------------------------
    @staticmethod
    def _register(fns: list, fn: Callable, remove: bool) -> None:
        if remove:
            if fn in fns:
                fns.remove(fn)
        elif not callable(fn):
            raise TypeError(f"callback must be callable, got {fn!r}")
        elif fn not in fns:
            fns.append(fn)

    def _fire(self, fns: list, *args) -> None:
        for fn in list(fns):
            try:
                fn(*args)
            except Exception:
                name = getattr(fn, "__qualname__", repr(fn))
                self._report(f"callback {name} raised")

    def _report(self, what: str) -> None:
        """Show a traceback under the widget (kept to the last 20)."""
        text = f"{what}:\n{traceback.format_exc()}"
        self.errors = [*self.errors[-19:], text]


# Statuses of the images a person has yet to see through.
_WAITING = tuple(s for s in STATUSES if s not in DONE_STATUSES) + (None,)


class _Coalesced:
    """Run ``fn`` (under ``lock``) at most every ``REFRESH_EVERY`` seconds; a call inside
    that time schedules one trailing run, so the last of a burst of writes is not missed."""

    def __init__(self, fn: Callable[[], None], lock, report: Callable[[str], None]):
        self.fn, self.lock, self.report = fn, lock, report
        self.at = 0.0
        self.timer: threading.Timer | None = None

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.at > REFRESH_EVERY:
            self.at = now
            self.fn()
        elif self.timer is None or not self.timer.is_alive():
            self.timer = threading.Timer(REFRESH_EVERY + 0.05, self._flush)
            self.timer.daemon = True
            self.timer.start()

    def _flush(self) -> None:
        with self.lock:
            try:
                self.at = time.monotonic()
                self.fn()
            except Exception:
                self.report(f"refreshing ({self.fn.__name__}) failed")

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
