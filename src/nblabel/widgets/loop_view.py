"""LoopView: the Annotator of an auto-labeling loop, with the loop's status bar and errors.

The loop (:class:`nblabel.loop.AutoLabeler`) owns no UI: it reports through its hooks
(``on_state`` whenever its phase, progress or counts change, ``on_error`` with each error)
and this view listens. Refreshes from the loop's worker thread are throttled to a few a
second; the text is set on plain Labels, never HTML, since versions and messages come from
files and models.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings

import ipywidgets as W

# Bulk writes notify once per row: a few refreshes a second are plenty.
REFRESH_EVERY = 0.25


class LoopView(W.VBox):
    """Status bar, Annotator and error area of one :class:`~nblabel.loop.AutoLabeler`.

    The Annotator opens on the head of the loop's review queue (hardest first) and hides
    predictions scored below the loop's display threshold; the threshold follows the loop's
    evidence until the person moves the slider.

    Args:
        labeler: The AutoLabeler to show.
        **annotator_options: Passed to :class:`~nblabel.widgets.annotator.Annotator`.

    Example:
        >>> view = LoopView(labeler)  # doctest: +SKIP
        >>> view.bar.children[0].value  # doctest: +SKIP
        'model: custom-detect-v3@…'
    """

    def __init__(self, labeler, **annotator_options):
        self.labeler = labeler
        label = dict(layout=W.Layout(margin="0 12px 0 0"))
        self.version = W.Label(**label)
        self.counts = W.Label(**label)
        self.next = W.Label(**label)
        self.shown = W.Label(**label)
        self.phase = W.Label(**label)
        self.progress = W.FloatProgress(min=0.0, max=1.0, layout=W.Layout(width="160px"))
        self.bar = W.HBox(
            [self.version, self.counts, self.next, self.shown, self.phase, self.progress]
        )
        self.errors = W.Output(layout=W.Layout(display="none", border="1px solid #c44e52"))
        for entry in labeler.errors:
            self._show_error(entry)
        self.annotator = None
        self._shown_from: float | None = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        parts = [self.bar]
        try:
            from .annotator import Annotator
        except ImportError as e:  # a broken front-end must not hide the loop's state
            parts.append(W.Label(f"Annotator unavailable: {e}"))
        else:
            queue = labeler.review_queue()
            if len(queue) and "start" not in annotator_options:
                annotator_options["start"] = queue.index[0]
            annotator_options.setdefault("threshold", labeler.display_threshold())
            annotator_options.setdefault("hide_below", True)
            self._shown_from = annotator_options["threshold"]
            self.annotator = Annotator(labeler.ds, **annotator_options)
            parts.append(self.annotator)
        parts.append(self.errors)
        super().__init__(parts)
        labeler.on_state(self.refresh)
        labeler.on_error(self._show_error)
        self.refresh(force=True)

    def close(self) -> None:
        """Stop following the loop and close the widgets."""
        self.labeler.on_state(self.refresh, remove=True)
        self.labeler.on_error(self._show_error, remove=True)
        super().close()

    def refresh(self, force: bool = False) -> None:
        """Show the loop's state now (at most every ``REFRESH_EVERY`` seconds unless forced
        or the loop has gone idle)."""
        now = time.monotonic()
        if not force and now - self._at < REFRESH_EVERY:
            # the last news of a burst must still be shown: refresh once when it is over
            with self._lock:
                if self._timer is None:
                    self._timer = threading.Timer(REFRESH_EVERY, self._trailing)
                    self._timer.daemon = True
                    self._timer.start()
            return
        self._at = now
        try:
            st = self.labeler.state
            c = st["counts"]
            self.version.value = f"model: {st['version'] or 'not trained'}"
            self.counts.value = (
                f"auto {c.get('auto', 0)} | review {c.get('review', 0)} | "
                f"verified {c.get('verified', 0)}"
            )
            self.next.value = f"retrain in {st['corrections_until_retrain']} corrections"
            self.shown.value = f"showing scores >= {st['display_threshold']:.2f}"
            ann = self.annotator
            if ann is not None and ann.threshold == self._shown_from:
                ann.threshold = self._shown_from = st["display_threshold"]
            self.phase.value = (
                st["phase"] if not st["message"] else f"{st['phase']}: {st['message']}"
            )
            self.progress.value = float(st["progress"])
            self.progress.bar_style = "info" if st["busy"] else ""
        except Exception as e:  # a display problem must never stop the loop
            warnings.warn(
                f"nblabel: status bar refresh failed: {e!r}", RuntimeWarning, stacklevel=2
            )

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
        self.refresh(force=True)

    def _show_error(self, entry: dict) -> None:
        with contextlib.suppress(Exception):
            self.errors.append_stderr(f"{entry['where']} failed:\n{entry['traceback']}")
            self.errors.layout.display = None


__all__ = ["LoopView"]
