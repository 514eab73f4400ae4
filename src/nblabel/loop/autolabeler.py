"""AutoLabeler: auto-label a Dataset, learn from corrections in the background, route results.

The loop reads the Dataset and writes predictions back; it never owns data. Corrections are
counted from the Dataset's change notifications, so they can come from the widget, a script
or another thread. Retraining and re-predicting run in one background thread so the kernel
keeps serving the widget while a model trains.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..images import ImageError, load_rgb
from ..records import check_class_names, image_confidence
from .counts import check_count
from .evidence import WINDOW, Grade, Guarantee, display_threshold, grade, guarantee
from .report import EffortCosts, effort_report, plot_report
from .routing import REVIEW, is_held_out, review_order, route

HUMAN = "human"
HOOKS = ("on_correction", "on_retrain_start", "on_retrain_end", "on_autolabel_progress")
MODEL_STATUSES = ("predicted", "review", "auto")
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
            sends an image to review.
        target_accuracy: Image accuracy that :meth:`guarantee` must prove (lower 95 %
            Clopper-Pearson bound) over the reviewed images.
        costs: Seconds per action for :meth:`report`.

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")  # doctest: +SKIP
        >>> labeler = nbl.AutoLabeler(ds, nbl.CustomAI(classes=["raccoon"]))  # doctest: +SKIP
        >>> labeler.widget()  # doctest: +SKIP
        >>> labeler.on_retrain_end(lambda m: print(m["version"]))  # doctest: +SKIP
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
        for attr in ("annotate_many", "on_change", "df", "add_classes"):
            if not hasattr(ds, attr):
                raise TypeError(
                    f"AutoLabeler needs an nblabel.Dataset, got {type(ds).__name__} (no .{attr});"
                    " build one with nbl.Dataset.from_folder(...)"
                )
        if not callable(getattr(model, "predict", None)):
            raise TypeError(
                f"model must have a predict(images) method, got {type(model).__name__}; use "
                "nbl.GeneralAI(...) or nbl.CustomAI(...)"
            )
        if general is not None and not callable(getattr(general, "predict", None)):
            raise TypeError(f"general must have a predict(images) method, got {general!r}")
        classes = getattr(model, "classes", None)
        if callable(getattr(model, "fit", None)) and isinstance(classes, list) and classes:
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
        self._since = 0  # verified corrections since the last retrain started
        self._n_corrections = 0
        self._n_retrains = 0
        self._busy = False
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._trigger_t: float | None = None
        self._phase = "idle"
        self._progress = 0.0
        self._message = ""
        self._last_metrics: dict | None = None
        # what this labeler predicted, by key: (version, records)
        self._preds: dict[Any, tuple[str, list]] = {}
        # predictions of verified held-out images, by key: (version, records)
        self._evals: dict[Any, tuple[str, list]] = {}
        self._general_preds: dict[Any, list] = {}
        self._reasons: dict[Any, str] = {}
        self._ui: dict | None = None
        self._ui_at = 0.0
        self._shown_from: float | None = None  # the display threshold the widget was given
        # prequential grades: each verified image's prediction before the person's correction
        self._grades: dict[Any, Grade] = _stored_grades(ds.df)

        df = ds.df
        # images verified before the loop started are training data, not new corrections
        self._counted = set(df.index[(df["status"] == "verified") & (df["source"] == HUMAN)])
        # Held weakly: re-running a notebook cell that builds a new AutoLabeler must not leave
        # the old one counting corrections and retraining.
        ds.on_change(self._on_change, weak=True)

    # -- public properties -----------------------------------------------------------------
    @property
    def version(self) -> str:
        """The model's current version (its ``version`` attribute, else its class name)."""
        return _version_of(self.model)

    @property
    def trainable(self) -> bool:
        return callable(getattr(self.model, "fit", None))

    @property
    def state(self) -> dict:
        """The loop at a glance.

        Keys: ``corrections_until_retrain``, ``corrections`` (counted so far), ``retrains``,
        ``training`` (bool), ``phase`` (``idle``, ``training``, ``predicting``, ``autolabel``),
        ``progress`` (0..1 of the phase), ``message``, ``version``, ``counts`` (images per
        status), ``evidence`` (held-out precision and whether auto-accept is allowed),
        ``errors``.
        """
        with self._lock:
            st = {
                "corrections_until_retrain": max(self.retrain_every - self._since, 0),
                "corrections": self._n_corrections,
                "retrains": self._n_retrains,
                "training": self._phase == "training",
                "busy": self._busy,
                "phase": self._phase,
                "progress": self._progress,
                "message": self._message,
            }
        st["version"] = self.version if _has_version(self.model) else None
        st["counts"] = _counts(self.ds)
        st["evidence"] = self.evidence().as_dict()
        st["guarantee"] = self.guarantee().as_dict()
        st["display_threshold"] = self.display_threshold()
        st["errors"] = len(self.errors)
        return st

    # -- prequential evidence ----------------------------------------------------------------
    def _keep_grade(self, key, g: Grade) -> None:
        with self._lock:
            self._grades[key] = g
        # in the journal, so the evidence survives a restart (the write notifies this
        # listener again; the key is counted already, so that returns at once)
        self.ds.update(key, evidence=g.as_dict())

    def grades(self) -> list[Grade]:
        """Every reviewed image's grade: its prediction before correction against the result.

        Example:
            >>> sum(g.correct for g in labeler.grades())  # doctest: +SKIP
            57
        """
        with self._lock:
            return list(self._grades.values())

    def guarantee(self, target: float | None = None) -> Guarantee:
        """The image confidence that the reviewed images prove right at ``target`` accuracy
        (default ``target_accuracy``) with 95 % confidence, and what it promises.

        Example:
            >>> g = labeler.guarantee()  # doctest: +SKIP
            >>> g.threshold, g.expected_wrong(100)  # doctest: +SKIP
            (0.62, (1.2, 4.9))
        """
        recent = self.grades()[-WINDOW:]
        return guarantee(recent, self.target_accuracy if target is None else target)

    def display_threshold(self) -> float:
        """Object score below which showing a prediction costs more seconds than it saves
        (a wrong one shown is deleted, a right one hidden is drawn), from the graded objects.
        """
        return display_threshold(
            self.grades(), delete_cost=self.costs.correction, draw_cost=self.costs.box
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
        and the model's ``fit_metrics``; on failure, ``error``.

        Example:
            >>> labeler.on_retrain_end(lambda m: print(m["version"], m["repredicted"]))
            ... # doctest: +SKIP
        """
        return self._register("on_retrain_end", fn, remove)

    def on_autolabel_progress(self, fn: Callable, remove: bool = False) -> Callable:
        """Call ``fn(progress)`` after each batch written (``phase``, ``done``, ``total``,
        ``version``)."""
        return self._register("on_autolabel_progress", fn, remove)

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
        widget's output area. Never raised into the thread that hit it (a hook's bug must
        not stop a write or a retrain) and never silent."""
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        entry = {"time": time.time(), "where": where, "error": repr(exc), "traceback": tb}
        with self._lock:
            self.errors.append(entry)
        warnings.warn(f"nblabel: {where} failed: {exc!r}", RuntimeWarning, stacklevel=3)
        ui = self._ui
        if ui is not None:
            with contextlib.suppress(Exception):
                ui["errors"].append_stderr(f"{where} failed:\n{tb}")
                ui["errors"].layout.display = None
        self._refresh_ui(force=True)

    # -- corrections -----------------------------------------------------------------------
    def _on_change(self, key) -> None:
        """Dataset listener: count an image the first time a person verifies it."""
        try:
            df = self.ds.df
            if df.at[key, "status"] != "verified" or df.at[key, "source"] != HUMAN:
                self._refresh_ui()
                return
            with self._lock:
                if key in self._counted:
                    return
                self._counted.add(key)
                self._since += 1
                self._n_corrections += 1
                pred = self._preds.get(key)
            # A held-out image corrected from this version's prediction grades that version.
            if pred is not None and pred[0] == self.version and self._evaluable(key):
                with self._lock:
                    self._evals[key] = pred
            if pred is not None:
                self._keep_grade(key, grade(pred[1], df.at[key, "annotations"] or [], pred[0]))
        except Exception as e:  # the write is durable already; do not break the writer
            self._record_error("counting a correction", e)
            return
        self._emit("on_correction", key)
        self._maybe_start()
        self._refresh_ui(force=True)

    def _maybe_start(self) -> None:
        with self._lock:
            if self._busy or self._since < self.retrain_every:
                return
            self._busy = True
            self._since = 0  # corrections from now on count toward the next retrain
            self._trigger_t = time.perf_counter()
            self._idle.clear()
            self._thread = threading.Thread(
                target=self._background, name="nblabel-retrain", daemon=True
            )
            self._thread.start()

    def retrain(self, wait: bool = False) -> None:
        """Start a retrain (or, for a model without ``fit``, a re-routing) now.

        Useful after reopening a dataset that already has verified images.
        """
        with self._lock:
            if not self._busy:
                self._since = max(self._since, self.retrain_every)
        self._maybe_start()
        if wait:
            self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until background work ends; returns False on timeout.

        Example:
            >>> labeler.wait()  # doctest: +SKIP
            True
        """
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop listening to the Dataset (background work in progress finishes)."""
        self.ds.on_change(self._on_change, remove=True)

    def _background(self) -> None:
        while True:
            try:
                if self.trainable:
                    self._retrain_cycle()
                else:
                    self._reroute_cycle()
            except BaseException as e:  # noqa: BLE001 - a dead thread must still say why
                self._record_error("background retrain", e)
            with self._lock:
                if self._since >= self.retrain_every:
                    self._since = 0
                    self._trigger_t = time.perf_counter()
                    continue
                self._busy = False
                self._phase, self._progress, self._message = "idle", 0.0, ""
                self._idle.set()
            self._refresh_ui(force=True)
            return

    def _retrain_cycle(self) -> None:
        ds, model = self.ds, self.model
        trigger = self._trigger_t
        df = ds.df
        verified = [k for k in df.index[df["status"] == "verified"] if _readable(df, k)]
        takes_keys = _accepts(model.fit, "keys")
        held = [k for k in verified if takes_keys and is_held_out(k, self.holdout)]
        train = [k for k in verified if k not in set(held)]
        info = {
            "n_train": len(train),
            "n_holdout": len(held),
            "version_before": self.version if _has_version(model) else None,
        }
        self._set_phase("training", 0.0, f"training on {len(train)} images")
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
                self._set_phase("training", float(fraction), str(message or ""))

            kwargs: dict[str, Any] = {}
            if takes_keys:
                kwargs["keys"] = train
            if _accepts(model.fit, "progress"):
                kwargs["progress"] = fit_progress
            with self._model_lock:
                model.fit(ds, **kwargs)
            with self._lock:
                self._n_retrains += 1
                # predictions of older versions grade nothing now
                self._evals.clear()
                self._preds.clear()
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
                self._repredict_keys(), phase="predicting", on_write=first_write
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
        self._set_phase("predicting", 0.0, "re-routing with new evidence")
        self.reroute()

    # -- evidence ----------------------------------------------------------------------------
    def _evaluable(self, key) -> bool:
        # a model that never trains never saw any verified image
        if not self.trainable:
            return True
        return _accepts(self.model.fit, "keys") and is_held_out(key, self.holdout)

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
                if _readable(df, k) and (k not in self._evals or self._evals[k][0] != version)
            ]
            have = sum(1 for v, _ in self._evals.values() if v == version)
        todo = todo[: max(0, MAX_EVAL_IMAGES - have)]
        for start in range(0, len(todo), self.batch):
            chunk = todo[start : start + self.batch]
            preds, _bad = self._predict_safe(chunk)
            with self._lock:
                for k, recs in preds.items():
                    self._evals[k] = (version, recs)
            for k, recs in preds.items():
                self._keep_grade(k, grade(recs, df.at[k, "annotations"] or [], version))

    def evidence(self) -> Guarantee:
        """What the reviewed images prove: the auto-accept threshold and its guarantee.

        Same as :meth:`guarantee` with the labeler's ``target_accuracy``.

        Example:
            >>> labeler.evidence().allowed  # doctest: +SKIP
            False
        """
        return self.guarantee()

    def _accept_rule(self) -> tuple[float, bool]:
        """(image confidence from which to auto-accept, whether auto-accepting is allowed)."""
        g = self.guarantee()
        allowed = g.allowed and g.n_graded >= self.min_verified_for_auto
        threshold = max(self.accept_threshold, g.threshold if g.threshold is not None else 1.0)
        return threshold, allowed

    # -- auto-labeling -----------------------------------------------------------------------
    def autolabel(
        self, limit: int | None = None, keys: Sequence | None = None, progress: bool = True
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

        Returns:
            A summary: ``version``, ``selected``, ``written``, ``auto``, ``review``,
            ``already_done``, ``skipped_verified``, ``skipped_editing``, ``unreadable``
            (``{key: problem}``) and ``seconds``.

        Raises:
            ValueError: ``limit`` breaks the count rule, or a key is unknown.

        Example:
            >>> labeler.autolabel(limit=120)["written"]  # doctest: +SKIP
            120
        """
        if self._busy:
            print("nblabel: waiting for the background retrain to finish before auto-labeling")
            self.wait()
        n = check_count(len(self.ds), limit)
        df = self.ds.df
        if keys is None:
            order = list(df.index)
        else:
            order = list(keys)
            missing = [k for k in order if k not in df.index]
            if missing:
                raise KeyError(f"keys not in the dataset: {missing[:5]}")
        selected = order[:n]
        version = self.version
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
        self._set_phase("autolabel", 0.0, f"auto-labeling {len(todo)} images")
        try:
            self._refresh_evidence()
            done = self._predict_rows(todo, phase="autolabel", bar=progress)
        except KeyboardInterrupt:
            print(
                "nblabel: auto-labeling interrupted; the images written so far are kept. "
                "Call autolabel() again to resume."
            )
            raise
        finally:
            self._set_phase("idle", 0.0, "")
        summary.update(written=done["written"], auto=done["auto"], review=done["review"])
        summary["unreadable"].update(done["unreadable"])
        summary["seconds"] = time.perf_counter() - t0
        return summary

    def _repredict_keys(self) -> list:
        df = self.ds.df
        return [
            k
            for k, st, src in zip(df.index, df["status"], df["source"])
            if st != "verified" and src != HUMAN and _readable(df, k)
        ]

    def _predict_rows(
        self, keys: list, *, phase: str, bar: bool = False, on_write: Callable | None = None
    ) -> dict:
        """Predict ``keys`` in batches, route each image and write each batch."""
        out = {"written": 0, "auto": 0, "review": 0, "unreadable": {}}
        self._add_classes(getattr(self.model, "classes", None))
        total = len(keys)
        pbar = None
        if bar and total:
            from tqdm.auto import tqdm

            pbar = tqdm(total=total, desc=f"auto-label {self.version}", unit="img")
        try:
            done = 0
            for start in range(0, total, self.batch):
                chunk = keys[start : start + self.batch]
                preds, bad = self._predict_safe(chunk)
                out["unreadable"].update(bad)
                for k, problem in bad.items():
                    self._mark_unreadable(k, problem)
                others = self._general_for(list(preds)) if self.general is not None else {}
                version = self.version
                threshold, allowed = self._accept_rule()
                writes = []
                for k, recs in preds.items():
                    status, reason = route(recs, threshold, allowed, other=others.get(k))
                    writes.append((k, recs, status, reason))
                written = self._write(writes, version)
                if written and on_write is not None:
                    on_write()
                for _, _, status, _ in written:
                    out["written"] += 1
                    out["auto" if status == "auto" else "review"] += 1
                done += len(chunk)
                if pbar is not None:
                    pbar.update(len(chunk))
                self._set_phase(phase, done / total, f"{done}/{total} images")
                self._emit(
                    "on_autolabel_progress",
                    {"phase": phase, "done": done, "total": total, "version": version},
                )
        finally:
            if pbar is not None:
                pbar.close()
        return out

    def _write(self, writes: list, version: str) -> list:
        """Write predictions unless a person touched the row meanwhile; returns what was
        written. ``skip_human`` makes the Dataset check and write in one step, so a correction
        made in the widget at the same moment is never replaced by a prediction."""
        ds = self.ds
        labels = {r["label"] for _, recs, _, _ in writes for r in recs}
        if labels - set(ds.classes):
            ds.add_classes(sorted(labels - set(ds.classes)))
        written = ds.annotate_many(
            [
                (
                    k,
                    recs,
                    {
                        "source": version,
                        "status": status,
                        "confidence": image_confidence(recs),
                        "kind": "predict",
                        "skip_human": True,
                    },
                )
                for k, recs, status, _ in writes
            ]
        )
        written = set(written or ())
        kept = [w for w in writes if w[0] in written]
        with self._lock:
            for k, recs, _, reason in kept:
                self._preds[k] = (version, recs)
                if reason is None:
                    self._reasons.pop(k, None)
                else:
                    self._reasons[k] = reason
        return kept

    def _predict_safe(self, keys: list) -> tuple[dict, dict]:
        """``({key: records}, {key: problem})`` from one ``predict`` call for the batch.

        When the call fails, the batch's images are checked: unreadable ones are set aside
        and the rest predicted again, so one broken file does not stop a run. When every
        image reads fine the model itself failed, and that error is raised as it is.
        """
        df = self.ds.df
        paths = [df.at[k, "image"] for k in keys]
        try:
            with self._model_lock:
                results = self.model.predict(paths)
        except Exception:
            bad = {k: p for k, path in zip(keys, paths) if (p := _image_problem(path))}
            if not bad:
                raise
            rest = [k for k in keys if k not in bad]
            good, more_bad = self._predict_safe(rest) if rest else ({}, {})
            return good, {**bad, **more_bad}
        return dict(zip(keys, self._checked(results, len(keys)))), {}

    def _checked(self, results, n: int) -> list[list[dict]]:
        results = list(results)
        if len(results) != n:
            raise RuntimeError(
                f"{type(self.model).__name__}.predict returned {len(results)} results for {n} "
                "images; it must return one list of records per image"
            )
        return [list(r or []) for r in results]

    def _general_for(self, keys: list) -> dict:
        """General-model predictions for ``keys`` (cached: that model does not change)."""
        with self._lock:
            missing = [k for k in keys if k not in self._general_preds]
        if missing:
            paths = [self.ds.df.at[k, "image"] for k in missing]
            found = self.general.predict(paths)
            with self._lock:
                for k, recs in zip(missing, found):
                    self._general_preds[k] = list(recs or [])
        return {k: self._general_preds.get(k) for k in keys}

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
        threshold, allowed = self._accept_rule()
        df = ds.df
        rows = [
            (k, a, src)
            for k, a, st, src in zip(df.index, df["annotations"], df["status"], df["source"])
            if st in ("review", "auto") and src not in (HUMAN, None)
        ]
        others = self._general_for([k for k, _, _ in rows]) if self.general is not None else {}
        changes, reasons = [], {}
        for k, anns, src in rows:
            status, reasons[k] = route(anns or [], threshold, allowed, other=others.get(k))
            if status != df.at[k, "status"]:
                changes.append(
                    (
                        k,
                        anns or [],
                        {
                            "source": src,
                            "status": status,
                            "confidence": image_confidence(anns or []),
                            "kind": "route",
                            "skip_human": True,
                        },
                    )
                )
        written = []
        for start in range(0, len(changes), max(self.batch, 64)):
            written += ds.annotate_many(changes[start : start + max(self.batch, 64)]) or []
            self._set_phase(
                self._phase, min(1.0, (start + 64) / max(1, len(changes))), "re-routing"
            )
        with self._lock:
            for k, reason in reasons.items():
                if reason is None:
                    self._reasons.pop(k, None)
                else:
                    self._reasons[k] = reason
        return len(written)

    def review_queue(self):
        """Images waiting for review, hardest first, with why each one is there.

        Example:
            >>> labeler.review_queue()[["confidence", "reason"]].head()  # doctest: +SKIP
        """
        with self._lock:
            reasons = dict(self._reasons)
        return review_order(self.ds.df, reasons)

    # -- report ------------------------------------------------------------------------------
    def report(self, plot: bool = True):
        """What the model saved: actions, seconds, images per status, model versions.

        Args:
            plot: Also draw a small matplotlib figure (kept in ``labeler.figure``).

        Returns:
            DataFrame indexed by ``(section, item)``; see
            :func:`nblabel.loop.report.effort_report`.

        Example:
            >>> labeler.report().loc["effort"]  # doctest: +SKIP
        """
        events = self.ds.events()
        rep = effort_report(events, self.ds.df, self.costs)
        if plot:
            self.figure = plot_report(rep, events)
        return rep

    # -- widget ------------------------------------------------------------------------------
    def widget(self, **annotator_options):
        """The Annotator with a status bar for the loop and an area for hook errors.

        The Annotator opens on the hardest image of the review queue. The status bar is
        refreshed from the background thread while a retrain runs.

        Example:
            >>> labeler.widget()  # doctest: +SKIP
        """
        import ipywidgets as W

        ui = self._ui or self._build_status(W)
        parts = [ui["bar"]]
        self._add_classes(getattr(self.model, "classes", None))  # offered in the widget
        try:
            from ..widgets.annotator import Annotator
        except ImportError as e:  # a broken front-end must not hide the loop's state
            parts.append(W.Label(f"Annotator unavailable: {e}"))
        else:
            queue = self.review_queue()
            if len(queue) and "start" not in annotator_options:
                annotator_options["start"] = queue.index[0]
            # predictions scored below the cost-aware threshold are hidden until the person
            # moves the slider; the loop moves it as the evidence changes, unless they did
            annotator_options.setdefault("threshold", self.display_threshold())
            annotator_options.setdefault("hide_below", True)
            self._shown_from = annotator_options["threshold"]
            ui["annotator"] = Annotator(self.ds, **annotator_options)
            parts.append(ui["annotator"])
        parts.append(ui["errors"])
        self._refresh_ui(force=True)
        return W.VBox(parts)

    @property
    def annotator(self):
        """The Annotator shown by :meth:`widget` (``None`` until the widget is built)."""
        return (self._ui or {}).get("annotator")

    def review_grid(self, **options):
        """The review queue as pages of thumbnails, hardest first; clicking one opens it in
        this loop's Annotator.

        Example:
            >>> labeler.widget(); labeler.review_grid(page_size=12)  # doctest: +SKIP
        """
        from ..widgets.review import ReviewGrid

        return ReviewGrid(self.ds, annotator=self.annotator, **options)

    def _build_status(self, W) -> dict:
        # Plain Labels, not HTML: version strings and messages come from files and models.
        ui = {
            "version": W.Label(layout=W.Layout(margin="0 12px 0 0")),
            "counts": W.Label(layout=W.Layout(margin="0 12px 0 0")),
            "next": W.Label(layout=W.Layout(margin="0 12px 0 0")),
            "phase": W.Label(layout=W.Layout(margin="0 12px 0 0")),
            "shown": W.Label(layout=W.Layout(margin="0 12px 0 0")),
            "progress": W.FloatProgress(min=0.0, max=1.0, layout=W.Layout(width="160px")),
            "errors": W.Output(layout=W.Layout(display="none", border="1px solid #c44e52")),
        }
        for e in self.errors:
            ui["errors"].append_stderr(f"{e['where']} failed:\n{e['traceback']}")
            ui["errors"].layout.display = None
        ui["bar"] = W.HBox(
            [ui["version"], ui["counts"], ui["next"], ui["shown"], ui["phase"], ui["progress"]]
        )
        self._ui = ui
        return ui

    def _set_phase(self, phase: str, progress: float, message: str) -> None:
        with self._lock:
            self._phase, self._progress, self._message = phase, progress, message
        self._refresh_ui()

    def _refresh_ui(self, force: bool = False) -> None:
        ui = self._ui
        if ui is None:
            return
        now = time.monotonic()
        if not force and now - self._ui_at < 0.25:
            return  # bulk writes: a few refreshes a second are plenty
        self._ui_at = now
        try:
            st = self.state
            c = st["counts"]
            ui["version"].value = f"model: {st['version'] or 'not trained'}"
            ui["counts"].value = (
                f"auto {c.get('auto', 0)} | review {c.get('review', 0)} | "
                f"verified {c.get('verified', 0)}"
            )
            ui["next"].value = f"retrain in {st['corrections_until_retrain']} corrections"
            ui["shown"].value = f"showing scores >= {st['display_threshold']:.2f}"
            ann = ui.get("annotator")
            if ann is not None and ann.threshold == self._shown_from:
                ann.threshold = self._shown_from = st["display_threshold"]
            ui["phase"].value = (
                st["phase"] if not st["message"] else f"{st['phase']}: {st['message']}"
            )
            ui["progress"].value = float(st["progress"])
            ui["progress"].bar_style = "info" if st["busy"] else ""
        except Exception as e:  # a display problem must never stop the loop
            warnings.warn(
                f"nblabel: status bar refresh failed: {e!r}", RuntimeWarning, stacklevel=2
            )

    def __repr__(self) -> str:
        st = self.state
        return (
            f"AutoLabeler(model={st['version'] or type(self.model).__name__}, "
            f"phase={st['phase']}, corrections until retrain="
            f"{st['corrections_until_retrain']}, counts={st['counts']})"
        )


# -- helpers -----------------------------------------------------------------------------
def _stored_grades(df) -> dict:
    """Grades kept in the journal's ``evidence`` column by an earlier session."""
    if "evidence" not in df.columns:
        return {}
    out = {}
    for key, value in df["evidence"].items():
        if isinstance(value, dict) and "correct" in value:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                out[key] = Grade.from_dict(value)
    return out


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


def _version_of(model) -> str:
    v = getattr(model, "version", None)
    return str(v) if v is not None else type(model).__name__


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _readable(df, key) -> bool:
    # Import leaves width/height at 0 for an image it could not read (see ds.df["issues"]).
    return bool(int(df.at[key, "width"] or 0)) and bool(int(df.at[key, "height"] or 0))


def _image_problem(path) -> str | None:
    """Why ``path`` cannot be read, or None when it reads fine (the model is at fault)."""
    try:
        load_rgb(path)
    except ImageError as e:
        return e.problem
    return None


def _counts(ds) -> dict:
    counts = getattr(ds, "counts", None)
    if callable(counts):
        return dict(counts())
    return ds.df["status"].value_counts().to_dict()


__all__ = ["AutoLabeler", "REVIEW"]
