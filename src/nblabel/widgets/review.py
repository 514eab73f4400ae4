"""ReviewGrid: the review queue as pages of thumbnails with the model's objects drawn on them.

A person scans a page, accepts it in one click when every prediction on it is right, or
clicks the one thumbnail that is wrong to fix it in the Annotator. The hardest images come
first: those the loop sent to review, least confident first.

The queue is built once and then kept in order one row at a time as the Dataset reports
writes: each queued row is one integer that sorts where the row belongs (see
:func:`queue_entry`), held in a sorted list of small buckets, so a model write costs a few
bisections and turning a page reads only that page, whatever the size of the Dataset.

The page is one ipycanvas ``Canvas``: thumbnails go over as raw pixel buffers, objects as
canvas drawing commands, and every text (keys, class names) is canvas text, never HTML.
"""

from __future__ import annotations

import math
import struct
import threading
import traceback
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd

from ..core.palette import ERROR_COLOR, class_color
from ..core.protocols import DatasetLike
from ..core.statuses import AUTO, PREDICTED, REVIEW
from ..images import ImageError, fit_long_side, load_rgb
from .rows import RowIndex

ORDERS = ("uncertainty", "dataset")
# Rows with a model's objects on them, in the order they are worth a look.
QUEUE_STATUSES = (REVIEW, PREDICTED, AUTO)
CAPTION_H = 18  # pixels under each thumbnail for its key, status and confidence
GAP = 6
_THUMB_CACHE = 256  # thumbnails kept in memory, so paging back redraws without decoding
_POS_BITS = 32  # a queue entry's low bits hold the row position
_POS_MASK = (1 << _POS_BITS) - 1
_BUCKET = 512  # entries per bucket of the sorted queue (split at twice this)


def review_queue(
    df: pd.DataFrame, statuses: Sequence[str] = QUEUE_STATUSES, order: str = "uncertainty"
) -> list:
    """Keys of the rows in ``statuses``, hardest first.

    ``"uncertainty"``: status in the order of ``statuses`` (review first), then the image's
    confidence rising, an image where the model found nothing (no confidence) first; ties
    keep dataset order. ``"dataset"``: dataset order.

    Example:
        >>> df = pd.DataFrame({"status": ["auto", "review", "review"],
        ...                    "confidence": [0.2, 0.9, None]}, index=["a", "b", "c"])
        >>> review_queue(df)
        ['c', 'b', 'a']
    """
    keys = df.index
    return [keys[e & _POS_MASK] for e in sorted(queue_entries(df, statuses, order))]


def queue_entry(rank: int, confidence, pos: int, order: str = "uncertainty") -> int:
    """One queued row as an integer that sorts where the row belongs in the queue.

    ``"uncertainty"``: the status's rank, then the confidence (missing or not a number as
    -1, i.e. first), then the row position, packed as bits; ``"dataset"``: the position.

    Example:
        >>> queue_entry(0, 0.2, 5) < queue_entry(0, 0.9, 1) < queue_entry(1, None, 0)
        True
    """
    if order == "dataset":
        return pos
    try:
        conf = float(confidence)
    except (TypeError, ValueError):
        conf = -1.0
    conf = -1.0 if conf != conf else conf + 0.0  # NaN first; -0.0 sorts as 0.0
    (bits,) = struct.unpack("<Q", struct.pack("<d", conf))
    # IEEE bits in an order-preserving form: negatives flipped, positives above them
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return (rank << (64 + _POS_BITS)) | (bits << _POS_BITS) | pos


def queue_entries(
    df: pd.DataFrame, statuses: Sequence[str] = QUEUE_STATUSES, order: str = "uncertainty"
) -> list[int]:
    """:func:`queue_entry` of every row of ``df`` in ``statuses``, in row order."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if len(df) > _POS_MASK:
        raise ValueError(f"the review queue holds at most {_POS_MASK} rows, got {len(df)}")
    rank = {s: i for i, s in enumerate(statuses)}
    status = df["status"]
    pos = np.flatnonzero(status.isin(list(statuses)).to_numpy())
    if order == "dataset":
        return pos.tolist()
    ranks = status.iloc[pos].map(rank).tolist()
    confs = pd.to_numeric(df["confidence"].iloc[pos], errors="coerce").tolist()
    return [queue_entry(r, c, p) for r, c, p in zip(ranks, confs, pos.tolist())]


class _SortedInts:
    """Integers kept sorted in buckets of a few hundred: adding or removing one is two
    bisections and a short list edit, and a slice walks the bucket sizes, not the items."""

    def __init__(self, values=()):
        v = sorted(values)
        self._buckets = [v[i : i + _BUCKET] for i in range(0, len(v), _BUCKET)]
        self._last = [b[-1] for b in self._buckets]
        self._n = len(v)

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        for b in self._buckets:
            yield from b

    def add(self, x: int) -> None:
        if not self._buckets:
            self._buckets, self._last = [[x]], [x]
        else:
            i = min(bisect_left(self._last, x), len(self._buckets) - 1)
            b = self._buckets[i]
            insort(b, x)
            self._last[i] = b[-1]
            if len(b) > 2 * _BUCKET:
                self._buckets[i : i + 1] = [b[:_BUCKET], b[_BUCKET:]]
                self._last[i : i + 1] = [b[_BUCKET - 1], b[-1]]
        self._n += 1

    def remove(self, x: int) -> bool:
        i = bisect_left(self._last, x)
        if i == len(self._buckets):
            return False
        b = self._buckets[i]
        j = bisect_left(b, x)
        if j == len(b) or b[j] != x:
            return False
        del b[j]
        if b:
            self._last[i] = b[-1]
        else:
            del self._buckets[i], self._last[i]
        self._n -= 1
        return True

    def slice(self, start: int, stop: int) -> list[int]:
        """Items ``start..stop-1`` in order."""
        out: list[int] = []
        for b in self._buckets:
            if stop <= 0:
                break
            if start < len(b):
                out.extend(b[max(start, 0) : stop])
            start -= len(b)
            stop -= len(b)
        return out


class ReviewGrid(W.VBox):
    """Pages of thumbnails from the review queue, with predictions drawn, hardest first.

    Args:
        ds: The :class:`nblabel.Dataset`.
        annotator: An :class:`nblabel.Annotator`; clicking a thumbnail shows that image in it
            and scrolls the notebook to it.
        page_size: Thumbnails per page.
        columns: Thumbnails per row.
        thumb: Thumbnail size in pixels (long side).
        order: ``"uncertainty"`` (review first, least confident first) or ``"dataset"``.
        statuses: Which rows are queued (default: those holding a model's objects).

    Example:
        >>> ds = labeler.ds  # a loop's data set: two photos predicted, waiting for review
        >>> ann = nbl.Annotator(ds)
        >>> grid = ReviewGrid(ds, annotator=ann, page_size=12)
        >>> grid.accept_page()  # every prediction on the page is right
        ['raccoon-5', 'raccoon-6']
    """

    def __init__(
        self,
        ds,
        annotator=None,
        page_size: int = 12,
        columns: int = 4,
        thumb: int = 160,
        order: str = "uncertainty",
        statuses: Sequence[str] = QUEUE_STATUSES,
    ):
        from ipycanvas import Canvas

        for name, value, low in (
            ("page_size", page_size, 1),
            ("columns", columns, 1),
            ("thumb", thumb, 32),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        bad = [s for s in statuses if s not in ("unlabeled", *QUEUE_STATUSES, "verified")]
        if bad:
            raise ValueError(f"unknown status {bad[0]!r} in statuses")
        if not isinstance(ds, DatasetLike):
            raise TypeError(f"ReviewGrid needs an nblabel.Dataset, got {type(ds).__name__}")
        self.ds = ds
        self.annotator = annotator
        self.page_size = page_size
        self.columns = min(columns, page_size)
        self.thumb = thumb
        self.order = order
        self.statuses = tuple(statuses)
        self.page = 0
        self.selected = None  # key last opened
        self._rows: RowIndex | None = None  # keys and positions, built by refresh()
        self._entries: list = []  # row position -> its queue entry (None: not queued)
        self._queue = _SortedInts()
        self._page_keys: list = []
        self._open_fns: list[Callable] = []
        self._thumbs: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None

        rows = math.ceil(page_size / self.columns)
        self.cell_w, self.cell_h = thumb + GAP, thumb + CAPTION_H + GAP
        width, height = self.columns * self.cell_w, rows * self.cell_h
        self.canvas = Canvas(width=width, height=height)
        # at its own pixel size: stretched to the cell's width, thumbnails blur and the page
        # grows taller than the screen
        self.canvas.layout = W.Layout(width=f"{width}px", height=f"{height}px")
        self.canvas.on_mouse_down(self._on_mouse_down)
        self._prev = W.Button(description="◀ Previous", layout=W.Layout(width="110px"))
        self._next = W.Button(description="Next ▶", layout=W.Layout(width="110px"))
        self._accept = W.Button(
            description="Accept all shown",
            button_style="success",
            tooltip="Mark every prediction on this page as correct",
        )
        self._info = W.Label()  # plain text: keys and names come from files
        self.errors = W.Output(layout=W.Layout(display="none", border=f"1px solid {ERROR_COLOR}"))
        self._prev.on_click(lambda _b: self._guarded("previous page", self.previous_page))
        self._next.on_click(lambda _b: self._guarded("next page", self.next_page))
        self._accept.on_click(lambda _b: self._guarded("accepting the page", self.accept_page))
        bar = W.HBox(
            [self._prev, self._next, self._info, self._accept],
            layout=W.Layout(align_items="center"),
        )
        super().__init__([bar, self.canvas, self.errors])

        # weak: the Dataset must not keep a closed or forgotten widget alive
        ds.on_change(self._changed, weak=True)
        self.refresh()

    # -- public API ----------------------------------------------------------------------
    @property
    def queue(self) -> list:
        """Keys of the whole queue, in display order."""
        with self._lock:
            keys = self._rows.keys
            return [keys[e & _POS_MASK] for e in self._queue]

    @property
    def keys_on_page(self) -> list:
        """Keys of the thumbnails on screen, row by row."""
        return list(self._page_keys)

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(len(self._queue) / self.page_size))

    def refresh(self) -> None:
        """Rebuild the queue from the whole Dataset and redraw the page (kept in range).

        Writes reported by the Dataset keep the queue in order without this; it reads every
        row again, e.g. after another kernel wrote to the same journal.
        """
        with self._lock:
            entries = queue_entries(self.ds.df, self.statuses, self.order)
            # read after the entries: rows are only appended, so it holds all of theirs
            self._rows = RowIndex(self.ds)
            self._entries = [None] * len(self._rows)
            for e in entries:
                self._entries[e & _POS_MASK] = e
            self._queue = _SortedInts(entries)
            self._show_page()

    def goto_page(self, page: int) -> None:
        """Show page ``page`` (0-based; clipped to the pages there are)."""
        with self._lock:
            self.page = max(0, int(page))
            self._show_page()

    def next_page(self) -> None:
        self.goto_page(self.page + 1)

    def previous_page(self) -> None:
        self.goto_page(self.page - 1)

    def key_at(self, x: float, y: float):
        """Key of the thumbnail under canvas point ``(x, y)``, or None (a gap, an empty cell)."""
        col, row = int(x // self.cell_w), int(y // self.cell_h)
        if not (0 <= col < self.columns and row >= 0):
            return None
        i = row * self.columns + col
        return self._page_keys[i] if i < len(self._page_keys) else None

    def show(self, key) -> None:
        """Open ``key`` in the Annotator, call the ``on_open`` callbacks, highlight it."""
        if key not in self.ds.df.index:
            raise KeyError(f"no image with key {key!r} in this dataset")
        self.selected = key
        if self.annotator is not None:
            self.annotator.show(key)
            # the Annotator is often cells above the grid: bring it into view
            reveal = getattr(self.annotator, "reveal", None)
            if callable(reveal):
                reveal()
        for fn in list(self._open_fns):
            fn(key)
        self._draw()

    def on_open(self, fn: Callable[[Any], None], remove: bool = False) -> None:
        """Call ``fn(key)`` when a thumbnail is clicked.

        Example:
            >>> fn = grid.on_open(lambda key: print("fix", key))
        """
        if remove:
            if fn in self._open_fns:
                self._open_fns.remove(fn)
        elif not callable(fn):
            raise TypeError(f"on_open needs a callable, got {fn!r}")
        elif fn not in self._open_fns:
            self._open_fns.append(fn)

    def accept_page(self) -> list:
        """Accept every object on the page as drawn: each image becomes ``verified``.

        One journaled ``accepted`` action per image (an accept, not a drawing); the objects
        become the person's own (no score, source ``human``), as the Annotator's Accept does.

        Returns:
            The keys accepted.
        """
        with self._lock:
            accepted = []
            for key in list(self._page_keys):
                row = self.ds.row(key)
                if row["status"] == "verified":
                    continue  # someone already settled it (e.g. in the Annotator)
                records = [_own(r) for r in row["annotations"]]
                self.ds.annotate(key, records, source="human", kind="accepted")
                accepted.append(key)
            self._show_page()  # each write has moved its row in the queue already
            self._info.value += f" · accepted {len(accepted)}"
        return accepted

    def close(self) -> None:
        """Stop following the Dataset and close the widget."""
        # also runs from Widget.__del__, possibly on a grid whose __init__ failed
        ds = getattr(self, "ds", None)
        if ds is not None:
            ds.on_change(self._changed, remove=True)
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
        canvas = getattr(self, "canvas", None)
        if canvas is not None:
            canvas.close()
        super().close()

    # -- events --------------------------------------------------------------------------
    def _on_mouse_down(self, x: float, y: float) -> None:
        key = self.key_at(x, y)
        if key is not None:
            self._guarded(f"opening {key!r}", self.show, key)

    def _changed(self, key) -> None:
        with self._lock:
            self._take(key)
            # Model writes arrive in bursts from the loop's thread: redraw once after a burst.
            if self._timer is None or not self._timer.is_alive():
                self._timer = threading.Timer(0.5, self._guarded, ("redrawing", self._show_page))
                self._timer.daemon = True
                self._timer.start()

    def _take(self, key) -> None:
        """Move one written row to where it belongs in the queue (in, out or along it)."""
        if self._rows is None:
            return
        df = self.ds.df
        pos = self._rows.position(key, df)
        if pos is None:
            return
        status = df["status"].iat[pos]
        self._rows.note(key, status)
        new = None
        if status in self.statuses:
            rank = self.statuses.index(status)
            new = queue_entry(rank, df["confidence"].iat[pos], pos, self.order)
        if len(self._entries) < len(self._rows):  # rows added since
            self._entries.extend([None] * (len(self._rows) - len(self._entries)))
        old = self._entries[pos]
        if old != new:
            if old is not None:
                self._queue.remove(old)
            if new is not None:
                self._queue.add(new)
            self._entries[pos] = new

    def _show_page(self) -> None:
        """Redraw the page (kept in range) from the queue as it is now."""
        with self._lock:
            self.page = min(self.page, self.n_pages - 1)
            start = self.page * self.page_size
            keys = self._rows.keys
            self._page_keys = [
                keys[e & _POS_MASK] for e in self._queue.slice(start, start + self.page_size)
            ]
            self._draw()
            self._update_bar()

    def _guarded(self, what: str, fn: Callable, *args) -> None:
        """Run ``fn``; show a failure under the grid instead of losing it in a callback."""
        try:
            fn(*args)
        except Exception:
            self.errors.layout.display = None
            self.errors.append_stderr(f"{what} failed:\n{traceback.format_exc()}")

    # -- drawing -------------------------------------------------------------------------
    def _update_bar(self) -> None:
        n = len(self._queue)
        self._info.value = (
            f"page {self.page + 1}/{self.n_pages} · {n} image{'s' if n != 1 else ''} to review"
            if n
            else "nothing to review"
        )
        self._prev.disabled = self.page == 0
        self._next.disabled = self.page >= self.n_pages - 1
        self._accept.disabled = not self._page_keys

    def _thumbnail(self, key, path: str) -> np.ndarray | None:
        """The thumbnail's pixels; ``None`` for an unreadable image."""
        cache_key = (key, path)
        hit = self._thumbs.get(cache_key)
        if hit is None:
            from PIL import Image

            try:
                rgb = load_rgb(path)
            except ImageError:
                return None
            h, w = rgb.shape[:2]
            tw, th, _ = fit_long_side(w, h, self.thumb)
            if (tw, th) != (w, h):
                rgb = np.asarray(Image.fromarray(rgb).resize((tw, th), Image.BILINEAR))
            hit = self._thumbs[cache_key] = rgb
            while len(self._thumbs) > _THUMB_CACHE:
                self._thumbs.popitem(last=False)
        self._thumbs.move_to_end(cache_key)
        return hit

    def _draw(self) -> None:
        from ipycanvas import hold_canvas

        c = self.canvas
        classes = self.ds.classes
        with self._lock, hold_canvas():
            c.clear()
            c.fill_style = "#f4f4f4"
            c.fill_rect(0, 0, c.width, c.height)
            c.font = "11px sans-serif"
            for i, key in enumerate(self._page_keys):
                x0 = (i % self.columns) * self.cell_w + GAP // 2
                y0 = (i // self.columns) * self.cell_h + GAP // 2
                self._draw_cell(key, x0, y0, classes)

    def _draw_cell(self, key, x0: float, y0: float, classes: list) -> None:
        c = self.canvas
        row = self.ds.row(key)
        pixels = self._thumbnail(key, row["image"])
        w = int(row["width"] or 0)  # the frame the records are in
        if pixels is None:
            c.fill_style = "#bbbbbb"
            c.fill_rect(x0, y0, self.thumb, self.thumb)
            c.fill_style = "#333333"
            c.fill_text("unreadable image", x0 + 8, y0 + self.thumb / 2)
            s, ox, oy = 0.0, x0, y0
        else:
            th, tw = pixels.shape[:2]
            ox, oy = x0 + (self.thumb - tw) / 2, y0 + (self.thumb - th) / 2
            c.put_image_data(pixels, ox, oy)
            s = tw / w if w else 0.0  # no known frame: the objects cannot be placed
        if s:
            for rec in row["annotations"] or []:
                _draw_record(c, rec, s, ox, oy, class_color(rec.get("label", ""), classes))
        if key == self.selected:
            c.stroke_style = "#222222"
            c.line_width = 3
            c.set_line_dash([])
            c.stroke_rect(x0 - 2, y0 - 2, self.thumb + 4, self.thumb + 4)
        conf = row.get("confidence")
        conf_text = "—" if conf is None or conf != conf else f"{float(conf):.2f}"
        caption = f"{key} · {row['status']} · {conf_text}"
        c.fill_style = "#222222"
        c.fill_text(caption, x0, y0 + self.thumb + CAPTION_H - 5, self.thumb)


def _draw_record(c, rec: dict, s: float, ox: float, oy: float, color: str) -> None:
    """One object on the thumbnail: outline (dashed when a model's), label and score."""
    score = rec.get("score")
    c.stroke_style = c.fill_style = color
    c.line_width = 2 if score is None else 1.5
    c.set_line_dash([] if score is None else [4, 3])
    x1, y1, x2, y2 = (float(v) * s for v in rec["bbox"])
    if rec.get("points"):
        c.stroke_polygon([(ox + float(p[0]) * s, oy + float(p[1]) * s) for p in rec["points"]])
    else:
        c.stroke_rect(ox + x1, oy + y1, x2 - x1, y2 - y1)
    c.set_line_dash([])
    kps = [k for k in rec.get("keypoints") or [] if len(k) > 2 and k[2]]
    if kps:
        c.fill_circles(
            np.array([ox + k[0] * s for k in kps]), np.array([oy + k[1] * s for k in kps]), 2
        )
    text = rec.get("label", "") if score is None else f"{rec.get('label', '')} {score:.2f}"
    tx, ty = ox + x1, max(oy + y1 - 2, oy + 10)
    c.fill_style = "rgba(255,255,255,0.75)"
    c.fill_rect(tx, ty - 10, 6 * len(text) + 4, 12)
    c.fill_style = color
    c.fill_text(text, tx + 2, ty)


def _own(rec: dict) -> dict:
    """A prediction accepted by a person becomes the person's object."""
    out = dict(rec)
    out["score"] = None
    out["source"] = "human"
    return out
