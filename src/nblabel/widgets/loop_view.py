"""LoopView: the Annotator of an auto-labeling loop, with the loop's status bar and errors.

The loop (:class:`nblabel.loop.AutoLabeler`) owns no UI: it reports through its hooks
(``on_state`` whenever its phase, progress or counts change, ``on_error`` with each error)
and this view listens. Refreshes from the loop's worker thread are throttled to a few a
second; the text is set on plain Labels, never HTML, since versions and messages come from
files and models.

A background retrain that fails is said in the status bar itself (``retrain failed: ...``)
until a later retrain succeeds: the traceback below the Annotator is easy to miss while the
phase goes back to ``idle``.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings

import ipywidgets as W

from ..core.palette import ERROR_COLOR

# Bulk writes notify once per row: a few refreshes a second are plenty.
REFRESH_EVERY = 0.25
# Where the loop records the failure of its retrain job (``AutoLabeler._retrain_job``).
RETRAIN_WHERE = "background retrain"
# Characters of the error kept in the status bar; the whole traceback is in the error area.
REASON_CHARS = 160


class LoopView(W.VBox):
    """Status bar, Annotator and error area of one :class:`~nblabel.loop.AutoLabeler`.

    The Annotator opens on the head of the loop's review queue (hardest first) and draws
    predictions scored below the loop's display threshold as faint suggestions, which a
    submit leaves out unless taken; the threshold follows the loop's evidence until the
    person moves the slider.

    Args:
        labeler: The AutoLabeler to show.
        **annotator_options: Passed to :class:`~nblabel.widgets.annotator.Annotator`.

    Example:
        >>> view = LoopView(labeler)
        >>> view.bar.children[0].value
        'model: middlebox@1'
    """

    def __init__(self, labeler, **annotator_options):
        self.labeler = labeler
        label = dict(layout=W.Layout(margin="0 12px 0 0"))
        self.version = W.Label(**label)
        self.counts = W.Label(**label)
        self.next = W.Label(**label)
        self.shown = W.Label(
            tooltip="Predictions under this score are drawn faint and left out when you "
            "submit. Drag one, or select it and press a, to keep it.",
            **label,
        )
        self.phase = W.Label(**label)
        self.progress = W.FloatProgress(min=0.0, max=1.0, layout=W.Layout(width="160px"))
        # the last retrain's failure, until a retrain succeeds ("" while none failed)
        self.failure = W.Label(
            layout=W.Layout(display="none", margin="0 12px 0 0"),
            style={"text_color": ERROR_COLOR},
        )
        self.bar = W.HBox(
            [
                self.version,
                self.counts,
                self.next,
                self.shown,
                self.phase,
                self.progress,
                self.failure,
            ],
            # a long phase message (epochs, losses) wraps onto a second line, never clipped
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.bar.add_class("nbl-loop-bar")
        self.failure.add_class("nbl-loop-failure")
        self.errors = W.Output(layout=W.Layout(display="none", border=f"1px solid {ERROR_COLOR}"))
        for entry in labeler.errors:
            self._show_error(entry)
        last = getattr(labeler, "_last_metrics", None)
        if last is not None:  # the latest retrain decides whether one failed
            self._retrain_ended(last)
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
            self._shown_from = annotator_options["threshold"]
            self.annotator = Annotator(labeler.ds, **annotator_options)
            parts.append(self.annotator)
        parts.append(self.errors)
        super().__init__(parts)
        labeler.on_state(self.refresh)
        labeler.on_error(self._show_error)
        labeler.on_retrain_end(self._retrain_ended)
        self.refresh(force=True)

    def close(self) -> None:
        """Stop following the loop and close the widgets."""
        self.labeler.on_state(self.refresh, remove=True)
        self.labeler.on_error(self._show_error, remove=True)
        self.labeler.on_retrain_end(self._retrain_ended, remove=True)
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
            # which model's predictions are on screen, and the evidence for the choice
            self.version.value = st["serving"]["text"]
            self.counts.value = (
                f"auto {c.get('auto', 0)} | review {c.get('review', 0)} | "
                f"verified {c.get('verified', 0)}"
            )
            self.next.value = f"retrain in {st['corrections_until_retrain']} corrections"
            self.shown.value = (
                f"labels from score {st['display_threshold']:.2f}, fainter: suggestions"
            )
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
        if entry.get("where") == RETRAIN_WHERE:
            reason = short_reason(entry)
            self.failure.value = f"retrain failed: {reason} (details below)"
            self.failure.tooltip = reason
            self.failure.layout.display = None

    def _retrain_ended(self, metrics: dict) -> None:
        # a failed cycle ends with ``error`` and is then recorded by _show_error
        if "error" not in metrics:
            self.failure.value = ""
            self.failure.tooltip = None
            self.failure.layout.display = "none"


def short_reason(entry: dict) -> str:
    r"""The error of a loop error entry in one line: ``Type: message``, shortened.

    Example:
        >>> tb = "Traceback (most recent call last):\n  ...\nValueError: no verified image\n"
        >>> short_reason({"traceback": tb, "error": "ValueError('no verified image')"})
        'ValueError: no verified image'
    """
    lines = [ln for ln in str(entry.get("traceback") or "").splitlines() if ln.strip()]
    # after the last (indented) frame line comes the exception as Python prints it:
    # "Type: message", the message possibly over several lines
    frames = [i for i, ln in enumerate(lines) if ln[:1].isspace()]
    tail = lines[frames[-1] + 1 :] if frames else lines[-1:]
    text = " ".join(" ".join(tail).split()) or str(entry.get("error") or "unknown error")
    if len(text) > REASON_CHARS:
        text = text[: REASON_CHARS - 1].rstrip() + "\u2026"
    return text


__all__ = ["LoopView", "short_reason"]
