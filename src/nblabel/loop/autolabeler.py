"""AutoLabeler: auto-label a Dataset, learn from corrections in the background, route results.

The loop reads the Dataset and writes predictions back; it never owns data. Corrections are
counted from the Dataset's change notifications, so they can come from the widget, a script
or another thread. Every piece of model work (auto-labeling, retraining and re-predicting)
is a job of one background worker, so two never overlap, the kernel keeps serving the widget
while a model trains, and each job's result or error comes back through its future.

What the loop knows about an image lives in the journal, in the row's ``evidence`` column:
the prediction the model wrote and why it was routed (``prediction``), and once a person
verified the image, how that prediction compared with the result (``grade``). A restarted
kernel picks all of it up with :meth:`nblabel.Dataset.open`.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from ..core.protocols import DatasetLike, Predictor, Trainable, missing
from ..core.sources import HUMAN
from ..core.statuses import MODEL_STATUSES
from ..records import check_class_names, image_confidence, shown
from .batches import predict_batch
from .champion import Comparison, custom_serves
from .champion import summary as comparison_summary
from .counts import check_count
from .evidence import (
    WINDOW,
    Grade,
    Guarantee,
    display_threshold,
    grade,
    guarantee,
    keep_threshold,
)
from .report import EffortCosts, effort_report, plot_report
from .routing import REASON_HIDDEN, REVIEW, is_held_out, review_order, route

HOOKS = (
    "on_correction",
    "on_retrain_start",
    "on_retrain_end",
    "on_autolabel_progress",
    "on_state",
    "on_error",
)
# The phases of :attr:`AutoLabeler.state`: what the worker does now.
IDLE, WAITING, TRAINING, PREDICTING, AUTOLABEL = (
    "idle",
    "waiting",
    "training",
    "predicting",
    "autolabel",
)
# Verified images re-predicted to grade a model version; more adds little to the estimate.
MAX_EVAL_IMAGES = 200


class AutoLabeler:
    """Auto-label a Dataset with a model and keep improving it from human corrections.

    Predictions are written into the Dataset batch by batch (durable as they go) with the
    model's version as their ``source``. Every image a person verifies grades the prediction
    it had before the correction (made by a version that never trained on it, see
    :mod:`nblabel.loop.evidence`). Each image is routed: ``auto`` when its least confident
    object scores at least the confidence from which the graded images were right with a
    95 % lower bound of ``target_accuracy`` (and at least ``accept_threshold``);
    ``review`` otherwise (also when nothing was found, or when a General and a Custom model
    disagree). After every ``retrain_every`` images a
    person verifies, a trainable model (one with ``fit``) is retrained in a background thread
    and every image not yet verified is predicted again with the new version.

    Args:
        ds: The :class:`nblabel.Dataset` to label.
        model: Any object with ``predict(images) -> list[list[record]]``; optional
            ``classes``, ``version`` and ``fit(ds, keys=None, progress=None)``.
        retrain_every: Verified corrections between two retrains.
        accept_threshold: A floor under the proven accept threshold (default none).
        batch: Images per ``model.predict`` call (and per Dataset write).
        min_verified_for_auto: Graded images needed before anything is auto-accepted (the
            bound itself needs at least 59 right images for 95 %).
        holdout: Share of verified images kept out of training and graded by re-predicting
            them (chosen by a hash of the key, so the split is stable); default none, since
            every reviewed image is graded anyway.
        general: An optional second predictor (a General AI) whose disagreement with ``model``
            sends an image to review. With a trainable ``model`` it is also the starting
            point: its predictions are the ones shown until a Custom AI version has proven,
            on the images people verified since, that its own cost fewer seconds to correct
            (see :mod:`nblabel.loop.champion`); until then each Custom version's predictions
            are kept beside them, unseen.
        target_accuracy: Image accuracy that :meth:`guarantee` must prove (lower 95 %
            Clopper-Pearson bound) over the reviewed images.
        costs: Seconds per action for :meth:`report`.

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
        >>> labeler = nbl.AutoLabeler(ds, nbl.CustomAI(classes=["raccoon"]))
        >>> view = labeler.widget()  # show it: the Annotator with the loop's status bar
        >>> labeler.on_retrain_end(lambda m: print(m["version"]))  # doctest: +ELLIPSIS
        <function <lambda> at ...>
    """

    def __init__(
        self,
        ds,
        model,
        retrain_every: int = 10,
        accept_threshold: float = 0.0,
        batch: int = 16,
        min_verified_for_auto: int = 20,
        holdout: float = 0.0,
        general=None,
        *,
        target_accuracy: float = 0.95,
        costs: EffortCosts | None = None,
    ):
        if not isinstance(ds, DatasetLike):
            raise TypeError(
                f"AutoLabeler needs an nblabel.Dataset, got {type(ds).__name__} (no "
                f".{missing(ds, DatasetLike)[0]}); build one with nbl.Dataset.from_folder(...)"
            )
        if not isinstance(model, Predictor):
            raise TypeError(
                f"model must have a predict(images) method, got {type(model).__name__}; use "
                "nbl.GeneralAI(...) or nbl.CustomAI(...)"
            )
        if general is not None and not isinstance(general, Predictor):
            raise TypeError(f"general must have a predict(images) method, got {general!r}")
        classes = getattr(model, "classes", None)
        if isinstance(model, Trainable) and isinstance(classes, list) and classes:
            # a trainable model's classes are typed by the user: catch "racoon" now, not at
            # the first background retrain
            check_class_names(classes, ds.classes)
        _check_int("retrain_every", retrain_every, 1)
        _check_int("batch", batch, 1)
        _check_int("min_verified_for_auto", min_verified_for_auto, 0)
        _check_fraction("accept_threshold", accept_threshold, closed=True)
        _check_fraction("target_accuracy", target_accuracy, closed=True)
        _check_fraction("holdout", holdout, closed=False)
        self.ds = ds
        self.model = model
        self.general = general if general is not model else None
        self.retrain_every = int(retrain_every)
        self.accept_threshold = float(accept_threshold)
        self.batch = int(batch)
        self.min_verified_for_auto = int(min_verified_for_auto)
        self.holdout = float(holdout)
        self.target_accuracy = float(target_accuracy)
        self.costs = costs or EffortCosts()
        self.errors: list[dict] = []
        self.figure = None

        self._lock = threading.RLock()
        self._model_lock = threading.RLock()  # one predict/fit at a time on the model
        self._hooks: dict[str, list[Callable]] = {h: [] for h in HOOKS}
        # One worker runs every job in submission order: an auto-labeling run and a retrain
        # never overlap, so the version that wrote a row is the version the summary names.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-loop")
        self._jobs: list[tuple[str, Future]] = []
        self._worker: int | None = None  # thread id of the worker while it runs a job
        self._retrain_queued = False  # at most one retrain waits; it takes every correction
        self._stop = threading.Event()  # asks the running auto-labeling job to stop
        self._since = 0  # verified corrections since the last retrain started
        self._n_corrections = 0
        self._n_retrains = 0
        self._trigger_t: float | None = None
        self._phase = IDLE
        self._progress = 0.0
        self._message = ""
        self._last_metrics: dict | None = None
        # predictions of verified held-out images, by key: (version, records); a cache
        self._evals: dict[Any, tuple[str, list]] = {}
        self._general_preds: dict[Any, list] = {}
        self._view = None  # the LoopView of widget(), once built
        self._total = self._done = 0  # images in the running prediction job, and done
        df = ds.df
        # from the journal: prequential grades (each verified image's prediction before the
        # person's correction, compared with the result), and General against Custom on the
        # same verified images
        self._grades, self._comparisons = _stored_evidence(df)
        # images verified before the loop started are training data, not new corrections
        self._counted = set(df.index[(df["status"] == "verified") & (df["source"] == HUMAN)])
        # Held weakly: re-running a notebook cell that builds a new AutoLabeler must not leave
        # the old one counting corrections and retraining.
        ds.on_change(self._on_change, weak=True)
        # The first retrain should spend its time budget training: a model that can get
        # ready for it does so now, ahead of every job on the worker, while the person
        # labels the first images. Not a job: nothing waits for it or reports it.
        prepare = getattr(model, "prepare", None)
        if self.trainable and callable(prepare) and not _has_version(model):
            self._executor.submit(_prepare_quietly, prepare, ds)

    # -- public properties -----------------------------------------------------------------
    @property
    def version(self) -> str:
        """The model's current version (its ``version`` attribute, else its class name)."""
        return _version_of(self.model)

    @property
    def trainable(self) -> bool:
        return isinstance(self.model, Trainable)

    @property
    def state(self) -> dict:
        """The loop at a glance.

        Keys: ``corrections_until_retrain``, ``corrections`` (counted so far), ``retrains``,
        ``busy`` (a job runs or waits), ``training`` (bool), ``phase`` (``idle``, ``waiting``
        when a job is queued, ``training``, ``predicting``, ``autolabel``), ``progress``
        (0..1 of the phase), ``message``, ``version``, ``counts`` (images per status),
        ``evidence`` / ``guarantee`` (what the reviewed images prove),
        ``display_threshold`` and ``errors``.
        """
        with self._lock:
            busy = self._busy_locked()
            phase, progress, message = self._phase, self._progress, self._message
            if busy and phase == IDLE:  # between two jobs, or one submitted and not started
                phase, message = WAITING, f"{self._queued_name()} starts next"
            st = {
                "corrections_until_retrain": max(self.retrain_every - self._since, 0),
                "corrections": self._n_corrections,
                "retrains": self._n_retrains,
                "training": phase == TRAINING,
                "busy": busy,
                "phase": phase,
                "progress": progress,
                "message": message,
            }
        st["version"] = self.version if _has_version(self.model) else None
        st["counts"] = _counts(self.ds)
        g = self.guarantee()
        st["evidence"] = st["guarantee"] = g.as_dict()
        st["display_threshold"] = self.display_threshold()
        st["serving"] = self.serving()
        st["errors"] = len(self.errors)
        return st

    # -- which model serves ------------------------------------------------------------------
    def _model_ready(self) -> bool:
        """Whether ``model`` can predict: a trainable one only once it has been fitted."""
        return not self.trainable or _has_version(self.model)

    def _custom_serves(self) -> bool:
        if self.general is None or not self.trainable:
            return True
        if not _has_version(self.model):
            return False
        with self._lock:
            comparisons = list(self._comparisons.values())
        return custom_serves(comparisons)

    def serving(self) -> dict:
        """Which model's predictions are written and shown now, and the evidence for it.

        Keys: ``model`` (``"custom"`` or ``"general"``), ``version`` (the one written as
        ``source``), ``compared`` (recent verified images priced for both),
        ``custom_seconds`` / ``general_seconds`` (their mean seconds to correct, ``None``
        before any), and ``text`` (one line for the status bar).

        Example:
            >>> labeler.serving()["model"]  # no General AI: the model itself serves
            'custom'
        """
        custom = self._custom_serves()
        with self._lock:
            comparisons = list(self._comparisons.values())
        out = {"model": "custom" if custom else "general", **comparison_summary(comparisons)}
        if custom:
            out["version"] = self.version if _has_version(self.model) else None
        else:
            out["version"] = _version_of(self.general)
        text = f"model: {out['version'] or 'not trained'}"
        if self.general is not None and self.trainable:
            if not _has_version(self.model):
                text += " (General AI until the first Custom AI version)"
            elif out["compared"]:
                text += (
                    f" ({'Custom' if custom else 'General'} AI: correcting Custom took "
                    f"{out['custom_seconds']:.1f} s an image, General "
                    f"{out['general_seconds']:.1f} s, on the last {out['compared']} verified)"
                )
            else:
                text += " (General AI until a Custom AI version proves cheaper)"
        out["text"] = text
        return out

    def _busy_locked(self) -> bool:
        self._jobs = [(n, f) for n, f in self._jobs if not f.done()]
        return bool(self._jobs)

    def _queued_name(self) -> str:
        names = [n for n, f in self._jobs if not f.done()]
        return names[0] if names else "nothing"

    # -- prequential evidence ----------------------------------------------------------------
    def _keep_grade(
        self, key, g: Grade, prediction: dict | None, comparison: Comparison | None = None
    ) -> None:
        with self._lock:
            self._grades[key] = g
            if comparison is not None:
                self._comparisons.pop(key, None)  # re-verified: it is the newest now
                self._comparisons[key] = comparison
            comparison = self._comparisons.get(key)
        # in the journal, so the evidence survives a restart (the write notifies this
        # listener again; the key is counted already, so that returns at once)
        entry = {"prediction": prediction, "grade": g.as_dict()}
        if comparison is not None:
            entry["comparison"] = comparison.as_dict()
        self.ds.update(key, evidence=entry)

    def grades(self) -> list[Grade]:
        """Every reviewed image's grade: its prediction before correction against the result.

        Example:
            >>> grades = labeler.grades()  # a box over the middle of each photo is never right
            >>> len(grades), sum(g.correct for g in grades), grades[0].version
            (4, 0, 'middlebox@1')
        """
        with self._lock:
            return list(self._grades.values())

    def guarantee(self, target: float | None = None) -> Guarantee:
        """The image confidence that the reviewed images prove right at ``target`` accuracy
        (default ``target_accuracy``) with 95 % confidence, and what it promises.

        Example:
            >>> g = labeler.guarantee()  # one graded image (a wrong one) proves no threshold
            >>> g.threshold, g.expected_wrong(100)
            (None, (0.0, 0.0))
        """
        recent = self.grades()[-WINDOW:]
        keep = keep_threshold(recent)
        return guarantee(
            [g.at(keep) for g in recent], self.target_accuracy if target is None else target
        )

    def keep_threshold(self) -> float:
        """Object score from which an auto-accepted image keeps the model's objects: the one
        at which the most reviewed images would have been right as they were (see
        :func:`nblabel.loop.evidence.keep_threshold`). The guarantee is proven for images
        kept by this rule; the display threshold, which prices a person's gestures, is
        another matter.

        Example:
            >>> 0.0 <= labeler.keep_threshold() <= 1.0
            True
        """
        return keep_threshold(self.grades()[-WINDOW:])

    def display_threshold(self) -> float:
        """Object score below which a prediction is best offered as a faint suggestion
        rather than shown as a label, from the graded objects.

        A wrong object shown as a label is deleted (a correction); a wrong suggestion is
        ignored and left out on submit. A right suggestion is taken with a click (an
        accept), or drawn from scratch when the loop's Annotator hides suggestions
        (``hide_below``). The score that minimises those seconds over the evidence wins.
        """
        ann = self.annotator
        hidden = ann is not None and bool(ann.hide_below)
        return display_threshold(
            self.grades(),
            delete_cost=self.costs.correction,
            draw_cost=self.costs.box if hidden else self.costs.accept,
        )

    # -- hooks -----------------------------------------------------------------------------
    def on_correction(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(key)`` each time a person verifies an image for the first time."""
        return self._register("on_correction", fn, remove)

    def on_retrain_start(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(info)`` when a background retrain starts (``info``: ``n_train``,
        ``n_holdout``, ``version_before``)."""
        return self._register("on_retrain_start", fn, remove)

    def on_retrain_end(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(metrics)`` when a retrain and its re-prediction end.

        ``metrics`` holds ``version``, ``n_train``, ``n_holdout``, ``train_seconds``,
        ``predict_seconds``, ``first_prediction_seconds`` (from the triggering correction to
        the first new prediction written), ``repredicted``, ``auto``, ``review``, ``evidence``
        and the model's ``fit_metrics``; on failure, ``error``. For a model without ``fit``
        the cycle is a re-routing: ``version``, ``rerouted`` (images whose status changed),
        ``repredicted`` (0), ``predict_seconds`` and ``evidence``.

        Example:
            >>> fn = labeler.on_retrain_end(lambda m: print(m["version"], m["repredicted"]))
            >>> labeler.on_retrain_end(fn, remove=True) is fn
            True
        """
        return self._register("on_retrain_end", fn, remove)

    def on_autolabel_progress(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(progress)`` after each batch written (``phase``, ``done``, ``total``,
        ``version``)."""
        return self._register("on_autolabel_progress", fn, remove)

    def on_state(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(ended)`` whenever the loop's phase, progress or counts may have changed
        (from the thread that changed them; read :attr:`state` for the news). ``ended`` is
        True when a job has just finished, so a display should show it now."""
        return self._register("on_state", fn, remove)

    def on_error(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(entry)`` with each error the loop records (``where``, ``error``,
        ``traceback``, ``time``; the same entries as :attr:`errors`)."""
        return self._register("on_error", fn, remove)

    def _register(self, name: str, fn: Callable, remove: bool) -> Callable:
        if not remove and not callable(fn):
            raise TypeError(f"{name} needs a callable, got {fn!r}")
        with self._lock:
            fns = self._hooks[name]
            if remove:
                if fn in fns:
                    fns.remove(fn)
            elif fn not in fns:
                fns.append(fn)
        return fn

    def _emit(self, name: str, *args) -> None:
        with self._lock:
            fns = list(self._hooks[name])
        for fn in fns:
            try:
                fn(*args)
            except Exception as e:
                self._record_error(f"{name} hook {getattr(fn, '__qualname__', repr(fn))}", e)

    def _record_error(self, where: str, exc: BaseException) -> None:
        """Keep an error where the user will see it: ``labeler.errors``, a warning and the
        ``on_error`` hooks (the widget shows them). Never raised into the thread that hit it
        (a hook's bug must not stop a write or a retrain) and never silent."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        entry = {"time": time.time(), "where": where, "error": repr(exc), "traceback": tb}
        with self._lock:
            self.errors.append(entry)
            fns = list(self._hooks["on_error"])
        warnings.warn(f"nblabel: {where} failed: {exc!r}", RuntimeWarning, stacklevel=3)
        for fn in fns:  # not through _emit: a failing error hook must not recurse
            try:
                fn(entry)
            except Exception as e:
                warnings.warn(f"nblabel: on_error hook failed: {e!r}", RuntimeWarning, stacklevel=2)
        self._emit("on_state", False)

    # -- corrections -----------------------------------------------------------------------
    def _on_change(self, key) -> None:
        """Dataset listener: count an image the first time a person verifies it, and grade
        the prediction it had before the correction (kept in its ``evidence`` column)."""
        try:
            row = self.ds.row(key)  # a copy taken under the Dataset's lock
            if row["status"] != "verified" or row["source"] != HUMAN:
                self._emit("on_state", False)
                return
            with self._lock:
                if key in self._counted:
                    return
                self._counted.add(key)
                self._since += 1
                self._n_corrections += 1
            pred = _prediction_of(row.get("evidence"))
            if pred is not None:
                final = row["annotations"] or []
                seen_from = self._seen_from(pred)
                g = grade(pred["records"], final, pred["version"], seen_from)
                self._keep_grade(key, g, pred, self._compare(pred, final))
        except Exception as e:  # the write is durable already; do not break the writer
            self._record_error("counting a correction", e)
            return
        self._emit("on_correction", key)
        self._maybe_start()
        self._emit("on_state", False)

    def _compare(self, pred: dict, final: list) -> Comparison | None:
        """Both models' predictions of a verified image, priced: what correcting each would
        have cost, at every display line (each model is later priced at the line best for
        it, not at the line learned from the other's grades)."""
        alt = _alternative_of(pred)
        if alt is None:
            return None
        if pred.get("model") == "general":
            return Comparison.priced(str(alt[0]), alt[1], pred["records"], final, self.costs)
        return Comparison.priced(
            str(pred.get("version")), pred["records"], alt[1], final, self.costs
        )

    def _seen_from(self, pred: dict) -> float:
        """The score from which predictions were offered as labels when a person reviewed
        an image (the ones under it are suggestions, left out unless taken): the loop's
        widget's threshold, else the display threshold in force when the prediction was
        written."""
        ann = self.annotator
        if ann is not None:
            return float(ann.threshold)
        return float(pred.get("shown_from") or 0.0)

    # -- the worker --------------------------------------------------------------------------
    def _submit(self, name: str, fn: Callable[[], Any]) -> Future:
        """Queue ``fn`` on the worker; its future carries the result or the error."""

        def job():
            self._worker = threading.get_ident()
            try:
                return fn()
            finally:
                self._worker = None
                self._set_phase(IDLE, 0.0, "")

        with self._lock:
            fut = self._executor.submit(job)
            self._jobs.append((name, fut))
        fut.add_done_callback(lambda _: self._emit("on_state", True))
        self._emit("on_state", False)
        return fut

    def _maybe_start(self) -> None:
        with self._lock:
            if self._retrain_queued or self._since < self.retrain_every:
                return
            # one retrain waits at most: it starts when the running job ends and trains on
            # every image verified by then, so none waits behind more than one cycle
            self._retrain_queued = True
            self._trigger_t = time.perf_counter()
            self._submit(TRAINING, self._retrain_job)

    def _retrain_job(self) -> None:
        with self._lock:
            self._retrain_queued = False
            self._since = 0  # corrections from now on count toward the next retrain
        try:
            if self.trainable:
                self._retrain_cycle()
            else:
                self._reroute_cycle()
        except BaseException as e:  # noqa: BLE001 - the worker must say why, then go on
            self._record_error("background retrain", e)
            raise

    def retrain(self, wait: bool = False) -> None:
        """Start a retrain (or, for a model without ``fit``, a re-routing) now.

        Useful after reopening a dataset that already has verified images.
        """
        with self._lock:
            self._since = max(self._since, self.retrain_every)
        self._maybe_start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing left to do; returns False on timeout.

        Example:
            >>> labeler.wait()
            True
        """
        if self._worker == threading.get_ident():
            return False  # a hook running on the worker would wait for itself
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for _, f in self._jobs if not f.done()]
            if not pending:
                return True
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            _, not_done = wait_futures(pending, timeout=left)
            if not_done and deadline is not None and time.monotonic() >= deadline:
                return False

    def close(self) -> None:
        """Stop listening to the Dataset; queued jobs are dropped, a running one finishes."""
        self.ds.on_change(self._on_change, remove=True)
        with self._lock:
            for _, f in self._jobs:
                f.cancel()
            self._retrain_queued = False

    def _retrain_cycle(self) -> None:
        ds, model = self.ds, self.model
        trigger = self._trigger_t
        df = ds.df
        verified = [k for k in df.index[df["status"] == "verified"] if _readable(df, k)]
        takes_keys = isinstance(model, Trainable)  # fit(ds, keys=None, progress=None)
        held = [k for k in verified if takes_keys and is_held_out(k, self.holdout)]
        train = [k for k in verified if k not in set(held)]
        info = {
            "n_train": len(train),
            "n_holdout": len(held),
            "version_before": self.version if _has_version(model) else None,
        }
        self._set_phase(TRAINING, 0.0, f"training on {len(train)} images")
        self._emit("on_retrain_start", info)
        metrics: dict[str, Any] = dict(info)
        t0 = time.perf_counter()
        try:
            if not train:
                raise ValueError(
                    f"no verified image to train on: all {len(verified)} are held out for "
                    "grading; verify more images"
                )

            def fit_progress(fraction=0.0, message="", *_, **__):
                self._set_phase(TRAINING, float(fraction), str(message or ""))

            kwargs: dict[str, Any] = {}
            if takes_keys:
                kwargs["keys"] = train
            if takes_keys:
                kwargs["progress"] = fit_progress
            with self._model_lock:
                model.fit(ds, **kwargs)
            with self._lock:
                self._n_retrains += 1
                self._evals.clear()  # re-predictions of older versions are stale now
            metrics["train_seconds"] = time.perf_counter() - t0
            metrics["version"] = self.version
            metrics["fit_metrics"] = getattr(model, "fit_metrics_", None)
            self._refresh_evidence(held)
            t1 = time.perf_counter()
            first: list[float] = []

            def first_write():
                if not first and trigger is not None:
                    first.append(time.perf_counter() - trigger)

            done = self._predict_rows(
                self._repredict_keys(), phase=PREDICTING, on_write=first_write
            )
            metrics["predict_seconds"] = time.perf_counter() - t1
            metrics["first_prediction_seconds"] = first[0] if first else None
            metrics["repredicted"] = done["written"]
            metrics["auto"] = done["auto"]
            metrics["review"] = done["review"]
            metrics["evidence"] = self.evidence().as_dict()
        except Exception as e:
            metrics["error"] = repr(e)
            self._last_metrics = metrics
            self._emit("on_retrain_end", metrics)
            raise
        self._last_metrics = metrics
        self._emit("on_retrain_end", metrics)

    def _reroute_cycle(self) -> None:
        """For a model that cannot learn: new verified images are new evidence, so route the
        predictions already written again (no inference, except to grade the model)."""
        self._set_phase(PREDICTING, 0.0, "re-routing with new evidence")
        t0 = time.perf_counter()
        changed = self.reroute()
        # a re-route is this model's retrain cycle: it ends the same way, so whatever shows
        # the last cycle (a failure line) learns that this one went through
        metrics = {
            "version": self.version,
            "rerouted": changed,
            "repredicted": 0,
            "predict_seconds": time.perf_counter() - t0,
            "evidence": self.evidence().as_dict(),
        }
        self._last_metrics = metrics
        self._emit("on_retrain_end", metrics)

    # -- evidence ----------------------------------------------------------------------------
    def _evaluable(self, key) -> bool:
        # a model that never trains never saw any verified image
        if not self.trainable:
            return True
        return is_held_out(key, self.holdout)

    def _refresh_evidence(self, keys: Iterable | None = None) -> None:
        """Predict verified held-out images this version has not been graded on yet."""
        df = self.ds.df
        version = self.version if _has_version(self.model) else None
        if version is None:
            return
        if keys is None:
            keys = [k for k in df.index[df["status"] == "verified"] if self._evaluable(k)]
        with self._lock:
            todo = [
                k
                for k in keys
                if _readable(df, k)
                and (k not in self._evals or self._evals[k][0] != version)
                # graded already from this version's prediction before the correction
                and not (k in self._grades and self._grades[k].version == version)
            ]
            have = sum(1 for v, _ in self._evals.values() if v == version)
        todo = todo[: max(0, MAX_EVAL_IMAGES - have)]
        for start in range(0, len(todo), self.batch):
            chunk = todo[start : start + self.batch]
            preds, _bad = self._predict_safe(chunk)
            with self._lock:
                for k, recs in preds.items():
                    self._evals[k] = (version, recs)
            shown_from = self.display_threshold()
            for k, recs in preds.items():
                g = grade(recs, df.at[k, "annotations"] or [], version, shown_from)
                pred = {"version": version, "records": recs, "reason": None}
                self._keep_grade(k, g, {**pred, "shown_from": shown_from})

    def evidence(self) -> Guarantee:
        """What the reviewed images prove: the auto-accept threshold and its guarantee.

        Same as :meth:`guarantee` with the labeler's ``target_accuracy``.

        Example:
            >>> labeler.evidence().allowed  # one graded image proves nothing yet
            False
        """
        return self.guarantee()

    def _accept_rule(
        self, records: Sequence[dict], g: Guarantee | None = None
    ) -> tuple[float, bool]:
        """(image confidence from which to auto-accept an image showing ``records``, whether
        auto-accepting it is allowed): the evidence of each class it shows must prove the
        target (an easy class does not vouch for a hard one)."""
        g = self.guarantee() if g is None else g
        t = g.threshold_for({r["label"] for r in records if r.get("score") is not None})
        allowed = t is not None and g.n_graded >= self.min_verified_for_auto
        threshold = max(self.accept_threshold, t) if t is not None else self.accept_threshold
        return threshold, allowed

    # -- auto-labeling -----------------------------------------------------------------------
    def autolabel(
        self,
        limit: int | None = None,
        keys: Sequence | None = None,
        progress: bool = True,
        engine: str | Any = "local",
        ray_address: str | None = None,
    ) -> dict:
        """Predict images and write the results into the Dataset, batch by batch.

        ``limit`` follows the auto-label count rule: at least 100 images and at most all of
        them; a dataset of fewer than 100 images is labeled whole. The first ``limit`` rows
        (of ``keys``, else of the dataset) are taken; verified rows, rows a person is editing
        and unreadable images are skipped and reported. Interrupting keeps every batch
        written; calling again resumes with the rows this model version has not predicted.

        Args:
            limit: Number of images, ``None`` for all.
            keys: Rows to consider (default: the whole dataset in order).
            progress: Show a progress bar.
            engine: ``"local"`` predicts in this process; ``"ray"`` predicts on a Ray
                cluster with Ray Data (``pip install 'nblabel[ray]'``): workers that each load
                the model once read and predict the images, and this process routes and
                journals the results with the same rules. A
                :class:`~nblabel.loop.ray_engine.RayEngine` sets the workers and their CPUs
                or GPUs.
            ray_address: The cluster for ``engine="ray"`` (``"auto"``, ``"ray://host:10001"``);
                default: the Ray already initialised in this process, else ``RAY_ADDRESS``,
                else a local cluster on this machine.

        Returns:
            A summary: ``version``, ``selected``, ``written``, ``auto``, ``review``,
            ``already_done``, ``skipped_verified``, ``skipped_editing``, ``unreadable``
            (``{key: problem}``) and ``seconds``.

        Raises:
            ValueError: ``limit`` breaks the count rule, or a key is unknown, or
                ``engine`` is not one of the above.
            ImportError: ``engine="ray"`` without Ray installed (the message says what to
                install).

        Example:
            >>> s = labeler.autolabel()  # the two images nobody verified, done by this version
            >>> s["selected"], s["written"], s["already_done"], len(s["skipped_verified"])
            (6, 0, 2, 4)

            Under 100 images the count is all of them; on a larger data set ``limit=120``
            labels 120. Ray starts a cluster, which takes longer than an example should, so
            this one does not run here:

            >>> labeler.autolabel(engine="ray")["already_done"]  # doctest: +SKIP
            2
        """
        n = check_count(len(self.ds), limit)
        runner = _engine(engine, ray_address)
        if keys is None:
            order = list(self.ds.keys())
        else:
            if isinstance(keys, (str, bytes)):
                raise TypeError(f"keys must be a list of row keys, got the string {keys!r}")
            order = list(keys)
            known = set(self.ds.keys())
            missing = [k for k in order if k not in known]
            if missing:
                raise KeyError(f"keys not in the dataset: {missing[:5]}")
        selected = order[:n]
        if self._worker == threading.get_ident():  # called from a hook on the worker
            return self._autolabel_job(selected, runner)
        with self._lock:
            if self._busy_locked():
                print(f"nblabel: auto-labeling starts when the {self._queued_name()} job ends")
        self._stop.clear()
        fut = self._submit(AUTOLABEL, lambda: self._autolabel_job(selected, runner))
        pbar = None
        try:
            while True:
                try:
                    result = fut.result(timeout=0.2)
                except TimeoutError:
                    pass  # still running: show its progress
                else:
                    self._emit("on_state", True)  # the caller sees the finished state at once
                    return result
                if progress and pbar is None and self._phase == AUTOLABEL and self._total:
                    from tqdm.auto import tqdm

                    pbar = tqdm(total=self._total, desc=f"auto-label {self.version}", unit="img")
                if pbar is not None:
                    pbar.n = self._done
                    pbar.refresh()
        except KeyboardInterrupt:
            self._stop.set()  # the worker stops after the batch it is writing
            print(
                "nblabel: auto-labeling interrupted; the images written so far are kept. "
                "Call autolabel() again to resume."
            )
            raise
        finally:
            if pbar is not None:
                pbar.n = self._done
                pbar.close()

    def _autolabel_job(self, selected: list, engine=None) -> dict:
        """The worker's side of :meth:`autolabel`: choose what to predict now (rows may have
        changed while the job waited), predict it and summarise."""
        df = _snapshot(self.ds)
        version = self.serving()["version"] or self.version
        summary: dict[str, Any] = {
            "version": version,
            "selected": len(selected),
            "written": 0,
            "auto": 0,
            "review": 0,
            "already_done": 0,
            "skipped_verified": [],
            "skipped_editing": [],
            "unreadable": {},
        }
        todo = []
        for k in selected:
            status, source = df.at[k, "status"], df.at[k, "source"]
            if status == "verified":
                summary["skipped_verified"].append(k)
            elif source == HUMAN:
                summary["skipped_editing"].append(k)
            elif not _readable(df, k):
                summary["unreadable"][k] = df.at[k, "issues"] or "unreadable image"
            elif source == version and status in MODEL_STATUSES:
                summary["already_done"] += 1
            else:
                todo.append(k)
        t0 = time.perf_counter()
        self._set_phase(AUTOLABEL, 0.0, f"auto-labeling {len(todo)} images")
        self._refresh_evidence()
        done = self._predict_rows(todo, phase=AUTOLABEL, stoppable=True, engine=engine)
        summary.update(written=done["written"], auto=done["auto"], review=done["review"])
        summary["unreadable"].update(done["unreadable"])
        summary["stopped"] = done["stopped"]
        summary["seconds"] = time.perf_counter() - t0
        return summary

    def _repredict_keys(self) -> list:
        """Rows a new version predicts again, the ones a person will open next first: the
        review queue in its order, then rows no model has routed, then auto-accepted ones."""
        df = _snapshot(self.ds)
        todo = [
            k
            for k, st, src in zip(df.index, df["status"], df["source"])
            if st != "verified" and src != HUMAN and _readable(df, k)
        ]
        rank = {k: i for i, k in enumerate(review_order(df).index)}
        tier = {"review": 0, "auto": 2}
        pos = {k: i for i, k in enumerate(todo)}
        return sorted(todo, key=lambda k: (tier.get(df.at[k, "status"], 1), rank.get(k, 0), pos[k]))

    def _predict_rows(
        self,
        keys: list,
        *,
        phase: str,
        on_write: Callable | None = None,
        stoppable: bool = False,
        engine=None,
    ) -> dict:
        """Predict ``keys`` in batches, route each image and write each batch.

        ``engine`` (a :class:`~nblabel.loop.ray_engine.RayEngine`) computes the predictions on
        a Ray cluster; routing and writing stay here, with the same rules either way.
        """
        out = {"written": 0, "auto": 0, "review": 0, "unreadable": {}, "stopped": False}
        self._add_classes(getattr(self.model, "classes", None))
        total = len(keys)
        with self._lock:
            self._total, self._done = total, 0
        self._set_phase(phase, 0.0, f"0/{total} images")
        done = 0
        if stoppable and self._stop.is_set():
            out["stopped"] = True
            return out
        batches = (
            self._local_batches(keys) if engine is None else self._engine_batches(engine, keys)
        )
        with contextlib.closing(batches):
            for n, preds, bad, others in batches:
                out["unreadable"].update(bad)
                for k, problem in bad.items():
                    self._mark_unreadable(k, problem)
                custom = self._custom_serves()
                if custom:
                    version, alt_version = self.version, None
                    if self.general is not None:
                        alt_version = _version_of(self.general)
                    served, alt = preds, others
                else:  # the General AI's predictions are shown, the Custom AI's kept beside
                    version = _version_of(self.general)
                    alt_version = self.version if self._model_ready() else None
                    served, alt = others, preds if alt_version is not None else {}
                    served = {k: v for k, v in served.items() if v is not None}
                writes = self._routed(served, alt)
                written = self._write(
                    writes,
                    version,
                    model="custom" if custom else "general",
                    alternatives={k: (alt_version, alt[k]) for k in served if k in alt},
                )
                if written and on_write is not None:
                    on_write()
                for _, _, status, *_ in written:
                    out["written"] += 1
                    out["auto" if status == "auto" else "review"] += 1
                done += n
                with self._lock:
                    self._done = done
                self._set_phase(phase, done / total, f"{done}/{total} images")
                self._emit(
                    "on_autolabel_progress",
                    {"phase": phase, "done": done, "total": total, "version": version},
                )
                if stoppable and self._stop.is_set() and done < total:
                    out["stopped"] = True
                    break
        return out

    def _local_batches(self, keys: list):
        """``(images, {key: records}, {key: problem}, {key: general records})`` per batch,
        predicted in this process."""
        ready = self._model_ready()
        for start in range(0, len(keys), self.batch):
            chunk = keys[start : start + self.batch]
            if ready:
                preds, bad = self._predict_safe(chunk)
            else:  # a Custom AI before its first fit: the General AI alone predicts
                preds, bad = {}, {}
            others = {}
            if self.general is not None:
                others, bad_general = self._general_for(list(preds) if ready else chunk)
                bad = {**bad_general, **bad}
            yield len(chunk), preds, bad, others

    def _engine_batches(self, engine, keys: list):
        """The same batches as :meth:`_local_batches`, predicted by ``engine``'s workers."""
        df = self.ds.df
        paths = [df.at[k, "image"] for k in keys]
        ready = self._model_ready()
        model, general = (self.model, self.general) if ready else (self.general, None)
        for positions, preds, bad, general_preds in engine.predict(
            model, paths, batch=self.batch, general=general
        ):
            preds = {keys[i]: recs for i, recs in preds.items()}
            if not ready:  # a Custom AI before its first fit: the workers ran the General AI
                with self._lock:
                    self._general_preds.update(preds)
                yield len(positions), {}, {keys[i]: p for i, p in bad.items()}, preds
                continue
            others = {}
            if self.general is not None:
                with self._lock:
                    for i, recs in general_preds.items():
                        self._general_preds[keys[i]] = recs
                others = {k: self._general_preds.get(k) for k in preds}
            yield len(positions), preds, {keys[i]: p for i, p in bad.items()}, others

    def _routed(self, preds: dict, others: dict) -> list:
        """``(key, records to write, status, reason, full prediction)`` for predicted images. An image is judged by
        what a submit would keep of it: predictions below the display threshold are only
        faint suggestions in the widget, so they neither lower its confidence nor stay in it
        when it is auto-accepted (exactly as submitting it untouched would leave them out)."""
        shown_from = self.display_threshold()
        keep = self.keep_threshold()
        evidence = self.guarantee()
        out = []
        for k, recs in preds.items():
            kept = shown(recs, keep)
            threshold, allowed = self._accept_rule(kept, evidence)
            status, reason = route(kept, threshold, allowed, other=others.get(k))
            if status != "auto" and recs and not shown(recs, shown_from):
                reason = REASON_HIDDEN  # found, but only as suggestions: say so
            out.append((k, kept if status == "auto" else recs, status, reason, recs))
        return out

    def _write(
        self,
        writes: list,
        version: str,
        model: str = "custom",
        alternatives: dict | None = None,
    ) -> list:
        """Write predictions unless a person touched the row meanwhile; returns what was
        written. ``skip_human`` makes the Dataset check and write in one step, so a correction
        made in the widget at the same moment is never replaced by a prediction. What was
        predicted and why it was routed go into the row's ``evidence``: the grade made when a
        person verifies the image compares against it, also after a restart."""
        ds = self.ds
        labels = {r["label"] for _, recs, *_ in writes for r in recs}
        if labels - set(ds.classes):
            ds.add_classes(sorted(labels - set(ds.classes)))
        # an image's confidence is that of the objects the accept rule keeps, the one its
        # guarantee speaks of; the review queue sorts by it
        shown_from = self.display_threshold()
        keep = self.keep_threshold()
        # the evidence goes in the same transaction as the objects: a person's verify can
        # never be graded against the prediction before this one
        written = ds.annotate_many(
            [
                (
                    k,
                    recs,
                    {
                        "source": version,
                        "status": status,
                        "confidence": image_confidence(shown(recs, keep)),
                        "kind": "predict",
                        "skip_human": True,
                        "columns": {
                            "evidence": self._evidence(
                                k,
                                version,
                                full,
                                reason,
                                shown_from,
                                model=model,
                                alternative=(alternatives or {}).get(k),
                            )
                        },
                    },
                )
                for k, recs, status, reason, full in writes
            ]
        )
        written = set(written or ())
        return [w for w in writes if w[0] in written]

    def _evidence(
        self,
        key,
        version: str,
        recs: list,
        reason,
        shown_from: float,
        model: str = "custom",
        alternative: tuple | None = None,
    ) -> dict:
        """The row's ``evidence`` for a new prediction: what it is, which model made it, why
        it was routed, the display threshold it was shown with, and the other model's
        prediction (``alternative``: ``(version, records)``) when there is one; a grade and a
        comparison from an earlier review stay."""
        pred = {"version": version, "records": recs, "reason": reason, "shown_from": shown_from}
        if self.general is not None and self.trainable:
            pred["model"] = model
        if alternative is not None and alternative[0] is not None:
            pred["alternative"] = {"version": alternative[0], "records": list(alternative[1])}
        entry = {"prediction": pred}
        g = self._grades.get(key)
        if g is not None:
            entry["grade"] = g.as_dict()
        c = self._comparisons.get(key)
        if c is not None:
            entry["comparison"] = c.as_dict()
        return entry

    def _predict_safe(self, keys: list) -> tuple[dict, dict]:
        """``({key: records}, {key: problem})`` for one batch (see :func:`predict_batch`)."""
        df = self.ds.df
        paths = [df.at[k, "image"] for k in keys]
        preds, bad = predict_batch(self.model, paths, lock=self._model_lock)
        return (
            {keys[i]: recs for i, recs in sorted(preds.items())},
            {keys[i]: problem for i, problem in bad.items()},
        )

    def _general_for(self, keys: list) -> tuple[dict, dict]:
        """``({key: records}, {key: problem})`` of the General model for ``keys`` (cached:
        that model does not change; an unreadable image is set aside, as for the model)."""
        with self._lock:
            missing = [k for k in keys if k not in self._general_preds]
        bad: dict = {}
        if missing:
            paths = [self.ds.df.at[k, "image"] for k in missing]
            found, problems = predict_batch(self.general, paths)
            bad = {missing[i]: p for i, p in problems.items()}
            with self._lock:
                for i, recs in found.items():
                    self._general_preds[missing[i]] = list(recs or [])
        return {k: self._general_preds[k] for k in keys if k in self._general_preds}, bad

    def _mark_unreadable(self, key, problem: str) -> None:
        try:
            current = self.ds.df.at[key, "issues"]
            if not current or problem not in str(current):
                text = f"{current}; {problem}" if current else problem
                self.ds.update(key, issues=text)
        except Exception as e:
            self._record_error(f"recording the unreadable image {key!r}", e)

    def _add_classes(self, classes) -> None:
        if classes is None:
            return
        if isinstance(classes, dict):  # ultralytics-style {id: name}
            classes = list(classes.values())
        if isinstance(classes, str):
            classes = [classes]
        new = [c for c in classes if c not in self.ds.classes]
        if new:
            self.ds.add_classes(new)

    # -- routing -----------------------------------------------------------------------------
    def reroute(self) -> int:
        """Route the predictions already in the Dataset again with the current evidence.

        No inference: the stored objects and confidence decide. Rows a person has touched
        are left alone.

        Returns:
            How many images changed status.
        """
        ds = self.ds
        self._refresh_evidence()  # grade the model on images verified since the last look
        df = _snapshot(ds)
        ev = df["evidence"] if "evidence" in df.columns else {}
        rows, stored = {}, {}
        for k, a, st, src in zip(df.index, df["annotations"], df["status"], df["source"]):
            if st in ("review", "auto") and src not in (HUMAN, None):
                pred = _prediction_of(ev.get(k)) if len(ev) else None
                # the full prediction (an auto row holds only what was on screen)
                rows[k] = (pred["records"] if pred else a or [], src)
                stored[k] = pred or {}
        others = self._general_for(list(rows))[0] if self.general is not None else {}
        # the other model's prediction kept beside the one shown is the second opinion
        alternatives = {k: _alternative_of(p) for k, p in stored.items()}
        others.update({k: alt[1] for k, alt in alternatives.items() if alt is not None})
        routed = self._routed({k: recs for k, (recs, _) in rows.items()}, others)
        shown_from = self.display_threshold()
        keep = self.keep_threshold()
        changes, reasons = [], {}
        for k, recs, status, reason, _ in routed:
            reasons[k] = reason
            if status != df.at[k, "status"]:
                changes.append(
                    (
                        k,
                        recs,
                        {
                            "source": rows[k][1],
                            "status": status,
                            "confidence": image_confidence(shown(recs, keep)),
                            "kind": "route",
                            "skip_human": True,
                            "columns": {
                                "evidence": self._evidence(
                                    k,
                                    rows[k][1],
                                    rows[k][0],
                                    reason,
                                    shown_from,
                                    model=stored[k].get("model", "custom"),
                                    alternative=alternatives[k],
                                )
                            },
                        },
                    )
                )
        written = []
        step = max(self.batch, 64)
        for start in range(0, len(changes), step):
            chunk = changes[start : start + step]
            written += ds.annotate_many(chunk) or []
            self._set_phase(self._phase, min(1.0, (start + step) / len(changes)), "re-routing")
        return len(written)

    def review_queue(self):
        """Images waiting for review, hardest first, with why each one is there.

        Example:
            >>> labeler.review_queue()[["confidence", "reason"]].head()  # doctest: +NORMALIZE_WHITESPACE
                       confidence                           reason
            key
            raccoon-5         0.9  all below the display threshold
            raccoon-6         0.9  all below the display threshold
        """
        df = _snapshot(self.ds)
        reasons = {}
        if "evidence" in df.columns:
            for k, ev in zip(df.index, df["evidence"]):
                pred = _prediction_of(ev)
                if pred is not None and pred.get("reason"):
                    reasons[k] = pred["reason"]
        return review_order(df, reasons)

    # -- report ------------------------------------------------------------------------------
    def report(self, plot: bool = True):
        """What the model saved: actions, seconds, images per status, model versions.

        Args:
            plot: Also draw a small matplotlib figure (kept in ``labeler.figure``).

        Returns:
            DataFrame indexed by ``(section, item)``; see
            :func:`nblabel.loop.report.effort_report`.

        Example:
            >>> labeler.report(plot=False).loc["effort"][["count", "seconds"]]  # doctest: +NORMALIZE_WHITESPACE
                        count  seconds
            item
            by hand       4.0     32.0
            with model    4.0     28.0
            saved        <NA>      4.0
            measured      4.0      0.0
        """
        events = self.ds.events()
        rep = effort_report(events, self.ds.df, self.costs, self.guarantee())
        if plot:
            self.figure = plot_report(rep, events)
        return rep

    # -- widgets -----------------------------------------------------------------------------
    def widget(self, **annotator_options):
        """The Annotator with the loop's status bar and an area for errors
        (:class:`nblabel.widgets.loop_view.LoopView`), opened on the hardest image of the
        review queue, hiding predictions below :meth:`display_threshold`.

        Example:
            >>> view = labeler.widget()  # show it: the last expression of a cell
            >>> view.annotator.key  # the hardest image of the review queue
            'raccoon-5'
        """
        from ..widgets.loop_view import LoopView

        self._add_classes(getattr(self.model, "classes", None))  # offered in the widget
        if self._view is not None:
            self._view.close()  # a widget built again replaces the old one
        self._view = LoopView(self, **annotator_options)
        return self._view

    @property
    def annotator(self):
        """The Annotator shown by :meth:`widget` (``None`` until the widget is built)."""
        return getattr(self._view, "annotator", None)

    def review_grid(self, **options):
        """The review queue as pages of thumbnails, hardest first; clicking one opens it in
        this loop's Annotator.

        Example:
            >>> view = labeler.widget()
            >>> grid = labeler.review_grid(page_size=12)  # show both in a cell
            >>> grid.annotator is view.annotator
            True
        """
        from ..widgets.review import ReviewGrid

        return ReviewGrid(self.ds, annotator=self.annotator, **options)

    def _set_phase(self, phase: str, progress: float, message: str) -> None:
        with self._lock:
            self._phase, self._progress, self._message = phase, progress, message
        self._emit("on_state", False)

    def __repr__(self) -> str:
        st = self.state
        return (
            f"AutoLabeler(model={st['version'] or type(self.model).__name__}, "
            f"phase={st['phase']}, corrections until retrain="
            f"{st['corrections_until_retrain']}, counts={st['counts']})"
        )


# -- helpers -----------------------------------------------------------------------------
def _stored_evidence(df) -> tuple[dict[Any, Grade], dict[Any, Comparison]]:
    """Grades and General-against-Custom comparisons kept in the journal's ``evidence``
    column by an earlier session, in row order: ``(grades, comparisons)``, by key."""
    grades: dict[Any, Grade] = {}
    comparisons: dict[Any, Comparison] = {}
    if "evidence" not in df.columns:
        return grades, comparisons
    cells = df["evidence"]
    # most rows carry no evidence: only the others are read, one pass for both
    for key, value in cells[cells.notna()].items():
        if not isinstance(value, dict):
            continue
        g = value.get("grade") if "grade" in value else value  # older journals: the grade
        if isinstance(g, dict) and "correct" in g:
            if not g.get("labels"):
                # grades written before they kept labels: the stored prediction has them
                recs = (_prediction_of(value) or {}).get("records") or []
                if len(recs) == len(g.get("scores") or ()):
                    g = {**g, "labels": [r.get("label") for r in recs]}
            with contextlib.suppress(KeyError, TypeError, ValueError):
                grades[key] = Grade.from_dict(g)
        c = value.get("comparison")
        if isinstance(c, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                comparisons[key] = Comparison.from_dict(c)
    return grades, comparisons


def _alternative_of(pred: dict) -> tuple | None:
    """``(version, records)`` of the other model's prediction kept beside ``pred``."""
    alt = pred.get("alternative")
    if isinstance(alt, dict) and isinstance(alt.get("records"), list):
        return alt.get("version"), alt["records"]
    return None


def _prediction_of(evidence) -> dict | None:
    """The stored prediction (``version``, ``records``, ``reason``) of an evidence cell."""
    if isinstance(evidence, dict):
        pred = evidence.get("prediction")
        if isinstance(pred, dict) and isinstance(pred.get("records"), list):
            return pred
    return None


def _engine(engine, ray_address):
    """``None`` for in-process prediction, else the engine object that predicts."""
    if engine == "local" or engine is None:
        if ray_address is not None:
            raise ValueError('ray_address is for engine="ray"; pass both or neither')
        return None
    if engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine(address=ray_address)
    if callable(getattr(engine, "predict", None)) and not isinstance(engine, str):
        if ray_address is not None:
            raise ValueError("ray_address is set on the RayEngine itself: RayEngine(address=...)")
        return engine
    raise ValueError(f'engine must be "local", "ray" or a RayEngine, got {engine!r}')


def _dataset_lock(ds):
    """The Dataset's own lock, so a read or a write plus its evidence is one step."""
    lock = getattr(ds, "_lock", None)
    return lock if lock is not None else contextlib.nullcontext()


def _snapshot(ds):
    """A copy of the Dataset's table taken under its lock: the loop's reads never see a row
    half-way through another thread's write."""
    with _dataset_lock(ds):
        return ds.df.copy()


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")


def _check_fraction(name: str, value, closed: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0)
    if not ok:
        bounds = "between 0 and 1" if closed else "from 0 up to (not including) 1"
        raise ValueError(f"{name} must be a number {bounds}, got {value!r}")


def _has_version(model) -> bool:
    try:
        return getattr(model, "version", "x") is not None
    except Exception:
        return False


def _prepare_quietly(prepare: Callable, ds) -> None:
    """A model's ``prepare(ds)``: only ever a head start, so a failure is left to the fit,
    which does the same work and reports it."""
    with contextlib.suppress(Exception):
        prepare(ds)


def _version_of(model) -> str:
    v = getattr(model, "version", None)
    return str(v) if v is not None else type(model).__name__


def _readable(df, key) -> bool:
    # Import leaves width/height at 0 for an image it could not read (see ds.df["issues"]).
    return bool(int(df.at[key, "width"] or 0)) and bool(int(df.at[key, "height"] or 0))


def _counts(ds) -> dict:
    counts = getattr(ds, "counts", None)
    if callable(counts):
        return dict(counts())
    return ds.df["status"].value_counts().to_dict()


__all__ = ["AutoLabeler", "REVIEW"]
