"""CustomAI: a detector trained on the images a person has just labelled.

The user verifies about ten images; :meth:`CustomAI.fit` writes them as a small YOLO
dataset, fine-tunes a pre-trained YOLO11 checkpoint with its backbone frozen ("retrain the
head") and keeps the result as a new *version*. :meth:`CustomAI.predict` then labels the rest
of the dataset, writing that version into every record's ``source`` so each prediction can be
traced to the weights that made it.

Training is plain ultralytics training, run in the calling thread: ultralytics installs no
signal handlers, so :meth:`fit` works from a background thread (the AutoLabeler's retrain)
while the kernel keeps serving the widget.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.tasks import TASKS
from ..images import ImageError, fit_long_side, load_rgb
from ..records import SAME_OBJECT_IOU, check_class_names, one_per_object
from .checkpoints import quiet_ultralytics as _quiet_ultralytics
from .portable import restore_state, shipped_state
from .ultralytics_records import records_from_result
from .weights import TASK_WEIGHTS

# Standard checkpoint (used when it is on this machine or can be downloaded) and the model
# yaml to build the same network untrained when it cannot (ultralytics names it the same).
_TASK_MODELS = {
    task: (name, Path(name).with_suffix(".yaml").name) for task, name in TASK_WEIGHTS.items()
}

ProgressFn = Callable[[float, str], Any]


class CustomAI:
    """A YOLO model fine-tuned on the dataset's verified images.

    scikit-learn's estimator habits: the constructor keeps each setting as given (read them
    back with :meth:`get_params`, change them with :meth:`set_params` or by assignment);
    everything :meth:`fit` learns ends in ``_`` and exists only once a fit set it. Each fit
    makes a new version, ``custom-<task>-v<N>@<hash>``, written to the ``source`` of every
    record :meth:`predict` returns (:attr:`version`).

    The settings are checked by one validator, :meth:`_check_params`, when the model is
    built (a typo fails where it was typed), by :meth:`set_params`, and again when
    :meth:`fit` or :meth:`predict` starts (a setting assigned since fails before any folder
    is made or training starts). Class names are checked against the dataset's at fit, and
    when an :class:`~nblabel.AutoLabeler` is built over this model ("did you mean").

    Args:
        task: ``"detect"`` (boxes), ``"segment"`` (polygons in ``points``) or ``"pose"``
            (``keypoints``).
        classes: Label names the model learns; default: ``ds.classes`` at fit time.
        base: Pre-trained checkpoint to fine-tune (a path, or a standard name such as
            ``"yolo11n.pt"``). ``None`` uses the standard YOLO11n checkpoint of the task when
            it is on this machine or can be downloaded, and otherwise trains from scratch
            (with a warning and ``from_scratch_ = True``).
        epochs: Training epochs per fit.
        imgsz: Training and prediction image size (long side, pixels).
        freeze: Number of leading layers kept frozen; default: every layer but the
            detection head ("retrain the head"; 10 would be the YOLO11 backbone alone).
            Ignored (nothing frozen) when training from scratch: a random backbone has
            nothing to keep.
        batch: Training batch size.
        device: ``"cpu"``, ``"0"`` ... ; ``None`` lets ultralytics choose.
        conf: Minimum score of a returned prediction.
        iou: Overlap (IoU) above which two predicted boxes of a class are one object and
            only the higher-scored is returned, on the boxes clipped to the image
            (:func:`nblabel.records.one_per_object`). On the 182 images reviewed in a run
            of the raccoon loop benchmark, ultralytics' own suppression (0.7, before
            clipping) left 399 boxes; 0.5 after clipping removed 176 of them, 3 right
            ones, and 129 images instead of 109 were right as predicted.
        workdir: Folder for training sets and weights; default: next to the dataset's
            database (``<db stem>_custom/``), so versions survive a kernel restart.
        seed: Random seed for training.
        warm_start: Start each fit after the first from the previous version's weights (when
            task and classes are unchanged), so retraining builds on what was learned.
        verbose: Show ultralytics' training log (off: progress goes to ``progress``).
        time_budget: Seconds a fit may take: after each epoch, training stops when
            another epoch as long would end past it (at least one epoch runs), so a retrain
            never falls far behind the person (later fits start from the previous version,
            so fewer epochs suffice). ``None``: no cap. The budget is counted from the
            start of training, so it bounds the wait for the loop's first prediction: in
            the raccoon loop benchmark (``--speed 4``) 15 s gave the first prediction 17.2 s
            after the 10th image and saved 39 % of the seconds, where the former 18 s,
            checked only after the epoch that passed it, gave 21.2 s and 41 % (runs vary
            by about 3 points).
        keep_versions: How many versions (``<workdir>/<task>/v<N>/``, 5.2 MB each for a
            nano model) stay on disk; after each fit the oldest beyond this number are deleted.
            Never deleted: the version this model now serves and a version folder holding
            the ``base`` checkpoint. ``None`` keeps every version.

    Attributes:
        version_: The number of the version this model serves (``N``).
        weights_: Its checkpoint file.
        classes_: The classes it was trained on, in the order of its outputs.
        from_scratch_: Whether it was trained from an untrained network.
        fit_metrics_: What the last fit did (seconds, box loss, images, frozen layers...).
        model_: The loaded network (after a fit, or the first :meth:`predict` of a model
            unpickled in another process).

    The defaults were chosen by measurement on a 2-core CPU, fine-tuning the COCO YOLOv5n on
    10 raccoon images and scoring 70 others (box F1 at IoU 0.5): body frozen, 30 epochs,
    batch 4, imgsz 320 gave 0.85 in 26 s; 20 epochs batch 8 0.84 in 25 s; 10 epochs 0.58
    in 16 s; imgsz 256 0.63; only the backbone frozen 0.27-0.54.

    Example:
        A fit trains for seconds to minutes, so the lines from ``fit`` on do not run with
        the examples (tests/test_custom_ai.py trains tiny models):

        >>> model = nbl.CustomAI(task="detect", classes=["raccoon"], epochs=10)
        >>> model.version is None  # nothing learned yet
        True
        >>> model.fit(ds).version  # doctest: +SKIP
        'custom-detect-v1@3f2a9c10'
        >>> model.predict(["raccoon-5.jpg"])[0][0]["label"]  # doctest: +SKIP
        'raccoon'
    """

    # what the learned attributes hold before a fit, read through _learned
    _UNFITTED = {"version_": 0, "weights_": None, "classes_": None, "from_scratch_": None}

    def __init__(
        self,
        task: str = "detect",
        classes: Sequence[str] | None = None,
        base: str | os.PathLike | None = None,
        epochs: int = 30,
        imgsz: int = 320,
        freeze: int | None = None,
        batch: int = 4,
        device: str | None = None,
        conf: float = 0.25,
        iou: float = SAME_OBJECT_IOU,
        workdir: str | os.PathLike | None = None,
        seed: int = 0,
        warm_start: bool = True,
        verbose: bool = False,
        time_budget: float | None = 15.0,
        keep_versions: int | None = 5,
    ):
        self.task = task
        self.classes = classes
        self.base = base
        self.epochs = epochs
        self.imgsz = imgsz
        self.freeze = freeze
        self.batch = batch
        self.device = device
        self.conf = conf
        self.iou = iou
        self.workdir = workdir
        self.seed = seed
        self.warm_start = warm_start
        self.verbose = verbose
        self.time_budget = time_budget
        self.keep_versions = keep_versions
        # a relative workdir is where the model was built: ultralytics would put a relative
        # project under its own global runs folder, and a later change of directory must not
        # move the versions
        self._cwd = Path.cwd()
        self._fit_lock = threading.Lock()  # one fit at a time per model
        self._predict_lock = threading.Lock()  # an ultralytics predictor is not re-entrant
        self._warned_scratch = False
        # a typo should fail where it was typed (checked again when a fit or predict starts)
        self._check_params()

    def __getstate__(self) -> dict:
        # a pickled model (sent to a Ray worker) carries the weights of its version, not
        # the loaded network or the locks; it loads them again on its first predict
        drop = ("model_", "_fit_lock", "_predict_lock")
        return shipped_state(self, drop=drop, files=("weights_",))

    def __setstate__(self, state: dict) -> None:
        # a model pickled before a setting existed gets that setting's default
        defaults = {n: p.default for n, p in inspect.signature(type(self)).parameters.items()}
        restore_state(
            self,
            {**defaults, **state},
            locks={"_fit_lock": threading.Lock, "_predict_lock": threading.Lock},
        )

    def __repr__(self) -> str:
        """The settings that differ from the defaults, as scikit-learn writes an estimator.

        Example:
            >>> CustomAI(classes=["raccoon"], epochs=10)
            CustomAI(classes=['raccoon'], epochs=10)
        """
        defaults = {n: p.default for n, p in inspect.signature(type(self)).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"CustomAI({', '.join(changed)})"

    # -- settings (scikit-learn's get_params / set_params) --------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's arguments: the settings, in their order."""
        return list(inspect.signature(cls).parameters)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings, by name, as given (``CustomAI(**m.get_params())`` is the same model,
        untrained). ``deep`` is accepted for scikit-learn; no setting holds an estimator.

        Example:
            >>> CustomAI(classes=["raccoon"]).get_params()["classes"]
            ['raccoon']
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> CustomAI:
        """Change settings by name and check them; returns self. What was learned stays
        until the next fit, which uses the new settings.

        Raises:
            ValueError: a name that is not a setting (with the closest one), or a value that
                cannot work (nothing is changed then).

        Example:
            >>> CustomAI().set_params(epochs=5, imgsz=256).get_params()["epochs"]
            5
            >>> CustomAI().set_params(epoch=5)
            Traceback (most recent call last):
            ...
            ValueError: CustomAI has no setting 'epoch' (did you mean 'epochs'?); ...
        """
        names = self._param_names()
        for name in params:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"CustomAI has no setting {name!r}{hint}; its settings are {names}"
                )
        before = self.get_params()
        self.__dict__.update(params)
        try:
            self._check_params()
        except Exception:
            self.__dict__.update(before)  # a refused value leaves the model as it was
            raise
        return self

    # -- what was learned ------------------------------------------------------------------
    def _learned(self, name: str) -> Any:
        """A learned attribute, or what it holds before any fit."""
        return self.__dict__.get(name, self._UNFITTED.get(name))

    @property
    def version(self) -> str | None:
        """``custom-<task>-v<N>@<8 hex of the weights>``: the ``source`` of every record
        this model writes; ``None`` before the first fit."""
        return self.__dict__.get("_version")

    # -- training -----------------------------------------------------------------------
    def fit(self, ds, keys: Sequence | None = None, progress: ProgressFn | None = None) -> CustomAI:
        """Train a new version on the verified images of ``ds`` (or on ``keys``).

        Safe to call from a background thread; calls on one model run one after another.

        Args:
            ds: A :class:`nblabel.Dataset`.
            keys: Rows to train on; default: every row with status ``verified``.
            progress: ``progress(fraction, message)``, called after each epoch (from the
                training thread).

        Returns:
            self, with ``version_``, ``version``, ``weights_``, ``classes_``,
            ``from_scratch_`` and ``fit_metrics_`` set.

        Raises:
            ValueError: fewer than 2 usable images, or a label outside the classes.

        Example:
            Training takes seconds to minutes, so this does not run with the examples:

            >>> model = nbl.CustomAI(classes=["raccoon"]).fit(ds)  # doctest: +SKIP
            >>> model.fit_metrics_["n_images"]  # doctest: +SKIP
            10
        """
        with self._fit_lock:
            return self._fit(ds, keys, progress)

    def prepare(self, ds) -> dict[str, float]:
        """Do now what the first :meth:`fit` would otherwise spend its time budget on.

        That is importing ultralytics' training code, with the integrations its settings
        switch on, and converting a YOLOv5-repository ``base``. On a 2-core CPU that took
        8.9 of the first fit's 18.8 s (6.2 s of it importing Ray for ultralytics' Ray Tune
        callback, where Ray is installed), so the first version trained 6 epochs within the
        budget. An :class:`~nblabel.AutoLabeler` calls this on its worker while the person
        labels the first images. Nothing is learned and no version is made. It never
        raises: whatever fails here, the fit does again and reports.

        Returns:
            Seconds spent, by step (``imports``, ``base``).

        Example:
            >>> sorted(nbl.CustomAI(classes=["raccoon"]).prepare(ds))
            ['base', 'imports']
        """
        out = {"imports": 0.0, "base": 0.0}
        with self._fit_lock:
            t = time.perf_counter()
            try:
                _import_training(self.task)
            except Exception as e:  # noqa: BLE001 - a fit does the same and says why
                warnings.warn(f"CustomAI.prepare: {e!r}", stacklevel=2)
            out["imports"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            try:
                classes = list(self.classes) if self.classes else list(ds.classes)
                if classes and self._learned("weights_") is None and self.base is not None:
                    start, _ = self._starting_point(classes)
                    self._convert_base(start, classes, ds)
            except Exception as e:  # noqa: BLE001
                warnings.warn(f"CustomAI.prepare: {e!r}", stacklevel=2)
            out["base"] = round(time.perf_counter() - t, 3)
        return out

    def _fit(self, ds, keys, progress) -> CustomAI:
        t0 = time.perf_counter()
        self._check_params()
        if self.classes:
            # "racoon" on a raccoon dataset would train a class nothing is labelled with
            check_class_names(self.classes, ds.classes)
        classes = list(self.classes) if self.classes else list(ds.classes)
        if not classes:
            raise ValueError(
                "CustomAI has no classes to learn: the dataset has none. Pass "
                'classes=["..."] or add them with ds.add_classes([...]).'
            )
        rows = _training_rows(ds, keys, classes, self.task)
        start, from_scratch = self._starting_point(classes)
        base_info = self._convert_base(start, classes, ds)
        if base_info is not None:
            start = base_info["path"]
        freeze = 0 if from_scratch else self.freeze
        run_dir = _new_version_dir(self._workdir(ds), self._learned("version_"))
        version = int(run_dir.name[1:])
        try:
            _report(progress, 0.0, f"preparing {len(rows)} images for version {version}")
            data_yaml, n_objects = _write_training_set(
                rows, classes, self.task, run_dir / "data", self.imgsz
            )
            model, weights, box_loss, freeze = self._train(
                start, data_yaml, run_dir, freeze, progress
            )
        except BaseException:
            # a failed (or interrupted) fit leaves no half-written version behind
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        from .weights import short_hash

        with self._predict_lock:
            self.model_ = model
            self.weights_ = weights
            self.classes_ = classes
            self.version_ = version
            self._version = f"custom-{self.task}-v{version}@{short_hash(weights)}"
            self.from_scratch_ = from_scratch
            self.fit_metrics_ = {
                "version": self.version,
                "epochs": self.epochs,
                "seconds": round(time.perf_counter() - t0, 3),
                "box_loss": box_loss,
                "n_images": len(rows),
                "n_objects": n_objects,
                "from_scratch": from_scratch,
                "frozen_layers": freeze,
                "imgsz": self.imgsz,
                "base": None if from_scratch else Path(str(start)).name,
            }
            if base_info is not None:
                self.fit_metrics_["base"] = base_info["base"]
                self.fit_metrics_["transferred"] = base_info["source"]
                self.fit_metrics_["n_transferred"] = base_info["transferred"]
        if self.keep_versions is not None:
            keep = {run_dir}
            if self.base is not None:  # a base the user picked from an old version stays
                keep.add(Path(self.base).expanduser())
            _prune_versions(run_dir.parent, self.keep_versions, keep)
        _report(progress, 1.0, f"trained {self.version} on {len(rows)} images")
        return self

    def _check_params(self) -> None:
        """Check the settings as they are now (one may have been assigned since
        ``__init__``): at construction, in :meth:`set_params`, and before a fit makes a
        version folder or a predict runs. Checks only; it changes nothing."""
        _check_params(
            task=self.task,
            classes=self.classes,
            epochs=self.epochs,
            imgsz=self.imgsz,
            batch=self.batch,
            freeze=self.freeze,
            keep_versions=self.keep_versions,
            time_budget=self.time_budget,
            conf=self.conf,
            iou=self.iou,
        )

    def _workdir(self, ds) -> Path:
        if self.workdir is not None:
            root = self._cwd / Path(self.workdir).expanduser()
        else:
            db = getattr(ds, "db_path", None)
            if db is not None:
                root = Path(db).parent / f"{Path(db).stem}_custom"
            else:
                root = Path(tempfile.mkdtemp(prefix="nblabel-custom-"))
        return root / self.task

    def _convert_base(self, start, classes: list[str], ds) -> dict | None:
        """A YOLOv5-repository base becomes an ultralytics checkpoint with its tensors in it.

        Returns None for any other starting point (ultralytics checkpoints and yamls are
        trained as they are). The converted file is kept in the work folder, one per base
        file and class list, so later fits reuse it.
        """
        if not str(start).lower().endswith(".pt"):
            return None
        from .checkpoints import YOLOV5, checkpoint_kind

        path = Path(start)
        if checkpoint_kind(path) != YOLOV5:
            return None
        from .weights import short_hash
        from .yolov5 import transfer_to_ultralytics

        tag = short_hash(path)
        names = short_text_hash("\n".join(classes))
        out = self._workdir(ds).parent / "bases" / f"{path.stem}-{tag}-{names}-transfer.pt"
        info = transfer_to_ultralytics(path, classes, out)
        info["base"] = path.name
        return info

    def _starting_point(self, classes: list[str]) -> tuple[Any, bool]:
        """The checkpoint (or yaml) training starts from, and whether that is from scratch."""
        ckpt_name, yaml_name = _TASK_MODELS[self.task]
        weights = self._learned("weights_")
        if (
            self.warm_start
            and weights is not None
            and self._learned("classes_") == classes
            and Path(weights).is_file()
        ):
            return weights, bool(self._learned("from_scratch_"))
        from .weights import DETECT_FALLBACKS, WeightsUnavailableError, find_local, resolve_weights

        if self.base is not None:
            return resolve_weights(self.base), False  # asked for: errors must reach the user
        try:
            return resolve_weights(ckpt_name), False
        except (WeightsUnavailableError, FileNotFoundError):
            local = find_local(DETECT_FALLBACKS) if self.task == "detect" else None
            if local is not None:
                # offline, a COCO detector already here is a far better start than nothing
                return local, False
            if not self._warned_scratch:
                self._warned_scratch = True
                warnings.warn(
                    f"CustomAI: the pre-trained {ckpt_name} is not on this machine and cannot "
                    f"be downloaded, so {yaml_name} trains from scratch with nothing frozen; "
                    "that needs more labelled images and epochs. Pass "
                    "base='path/to/checkpoint.pt' to fine-tune instead.",
                    stacklevel=4,
                )
            return yaml_name, True

    def _train(
        self, start, data_yaml: Path, run_dir: Path, freeze: int | None, progress: ProgressFn | None
    ):
        """Run ultralytics training; return the trained YOLO, its weights file, the box loss
        and the number of frozen layers."""
        import torch

        from .checkpoints import load_ultralytics, safe_loading

        model = load_ultralytics(start, task=self.task)
        if freeze is None:
            # everything but the detection head: on a few dozen images a pre-trained body
            # only gets worse when it moves (raccoon, 10 images: box F1 0.84 with the body
            # frozen against 0.27 with only the backbone frozen)
            freeze = len(model.model.model) - 1
        n_threads = max(1, (os.cpu_count() or 2) - 1)  # leave a core to the kernel and the UI
        losses: dict[str, float] = {}

        def limit_threads(_trainer) -> None:
            # ultralytics' device selection resets torch's thread count; set it back
            torch.set_num_threads(n_threads)

        started = time.perf_counter()
        last_end = [started]

        def over_budget(trainer) -> None:
            # stop when the next epoch, as long as the last one, would end past the budget:
            # the fit ends within it rather than one epoch after it (the first prediction of
            # the loop waits for the whole fit)
            now = time.perf_counter()
            epoch, last_end[0] = now - last_end[0], now
            if budget_spent(now - started, epoch, self.time_budget):
                trainer.stop = True  # ultralytics ends the run after this epoch, weights saved

        def epoch_end(trainer) -> None:
            loss = trainer.tloss if isinstance(trainer.tloss, dict) else {}
            box = next((float(v) for k, v in loss.items() if "box" in str(k)), None)
            if box is not None:
                losses["box"] = box
            done = trainer.epoch + 1
            text = f"epoch {done}/{trainer.epochs}"
            if box is not None:
                text += f", box loss {box:.3f}"
            _report(progress, done / max(1, trainer.epochs), text)

        for event in ("on_pretrain_routine_start", "on_train_start", "on_train_epoch_start"):
            model.add_callback(event, limit_threads)
        # once the last epoch is saved, ultralytics reads best.pt back (to strip it, validate it
        # and become it); those reads go through the allow-list like every other checkpoint.
        # Only from then on: before training, ultralytics' AMP check on a GPU loads its own
        # reference model by name, which is not a file of the user's.
        reloads = contextlib.ExitStack()
        guarded: list[bool] = []

        def guard_reloads(trainer) -> None:
            if trainer.stop and not guarded:
                guarded.append(True)
                reloads.enter_context(safe_loading())

        def epochs_begin(trainer) -> None:
            last_end[0] = time.perf_counter()  # the first epoch is timed without the set-up
            # ultralytics validates best.pt once more after the last epoch, even with
            # val=False: here that is a pass over the training images themselves (2.4 s of a
            # 17 s retrain at 150 raccoon images) whose numbers nothing reads, so the end of
            # a fit only strips the optimizer from the checkpoints, as that step does first
            trainer.final_eval = lambda: _strip_checkpoints(trainer)

        model.add_callback("on_train_epoch_end", epoch_end)
        model.add_callback("on_train_start", epochs_begin)
        model.add_callback("on_fit_epoch_end", over_budget)
        model.add_callback("on_fit_epoch_end", guard_reloads)  # after over_budget may stop

        train_args = dict(
            data=str(data_yaml),
            epochs=int(self.epochs),
            imgsz=int(self.imgsz),
            batch=int(self.batch),
            freeze=int(freeze),
            seed=int(self.seed),
            project=str(run_dir),
            name="train",
            exist_ok=True,
            plots=False,
            val=False,
            workers=0,
            verbose=self.verbose,
            # warm-up ramps the learning rate from zero over ~3 epochs: with ten images that
            # would be most of the run, so fine-tuning starts at the full rate
            warmup_epochs=0,
            # ultralytics accumulates gradients up to a nominal batch of 64 images: with ten
            # images that is one optimizer step every few epochs, so step on every batch
            nbs=int(self.batch),
        )
        if self.device is not None:
            train_args["device"] = self.device
        if self.task == "pose" and not _has_flip_idx(data_yaml):
            train_args["fliplr"] = 0.0  # mirroring swaps left/right points; unknown pairs here

        old_threads = torch.get_num_threads()
        with _quiet_ultralytics(not self.verbose), reloads:
            try:
                torch.set_num_threads(n_threads)
                model.train(**train_args)
            finally:
                torch.set_num_threads(old_threads)
        trainer = model.trainer
        weights = Path(trainer.best if Path(trainer.best).is_file() else trainer.last)
        if not weights.is_file():
            raise RuntimeError(f"training finished without saving weights in {run_dir}")
        if weights != Path(trainer.last):
            # only the final epoch is validated, so best.pt and last.pt hold the same model;
            # one copy per version is enough when a session retrains dozens of times
            Path(trainer.last).unlink(missing_ok=True)
        # ultralytics has loaded the saved weights into the model; drop the trainer, which
        # holds data loaders, optimizer state and our callbacks, so versions do not pile up
        model.trainer = None
        return model, weights, losses.get("box"), freeze

    # -- prediction ---------------------------------------------------------------------
    def _load_weights(self) -> None:
        from .checkpoints import load_ultralytics

        with self._predict_lock:
            if getattr(self, "model_", None) is None:
                self.model_ = load_ultralytics(self.weights_, task=self.task)

    def predict(self, images) -> list[list[dict]]:
        """Objects found in each image, as annotation records.

        Args:
            images: A list of image paths or RGB arrays (a single one is accepted too).

        Returns:
            One list of records per image, in image pixel coordinates, with ``score`` and
            ``source`` set to :attr:`version`.

        Raises:
            RuntimeError: the model has not been fitted yet.

        Example:
            On a fitted model (fitting takes too long for the examples, so this does not
            run here):

            >>> model.predict(["raccoon-5.jpg"])  # doctest: +SKIP
            [[{'label': 'raccoon', 'bbox': [...], 'score': 0.81,
               'source': 'custom-detect-v1@3f2a9c10', ...}]]
        """
        if self.version is None:
            raise RuntimeError("CustomAI is not fitted: call fit first (model.fit(ds))")
        self._check_params()
        if getattr(self, "model_", None) is None:
            self._load_weights()  # a model unpickled in another process
        if isinstance(images, (str, os.PathLike)) or (
            isinstance(images, np.ndarray)
            and images.ndim in (2, 3)
            and (images.ndim == 2 or images.shape[-1] in (1, 3, 4))
        ):
            images = [images]
        images = list(images)
        out: list[list[dict]] = []
        step = max(1, int(self.batch))
        with self._predict_lock:
            model, classes, version = self.model_, self.classes_, self.version
            for i in range(0, len(images), step):
                rgbs = [load_rgb(im) for im in images[i : i + step]]
                # ultralytics takes arrays in OpenCV's BGR order
                bgrs = [np.ascontiguousarray(a[:, :, ::-1]) for a in rgbs]
                iou = float(self.iou)
                kwargs = dict(imgsz=int(self.imgsz), conf=float(self.conf), iou=iou, verbose=False)
                if self.device is not None:
                    kwargs["device"] = self.device
                results = model.predict(bgrs, **kwargs)
                for rgb, res in zip(rgbs, results):
                    h, w = rgb.shape[:2]
                    recs = records_from_result(res, classes, width=w, height=h, source=version)
                    out.append(one_per_object(recs, iou))
        return out


def _strip_checkpoints(trainer) -> None:
    """The end of an ultralytics fit without its validation: last.pt and best.pt lose the
    optimizer state and the EMA copy (a version is then 5.2 MB for a nano model), and best.pt
    keeps the training results."""
    from ultralytics.utils.torch_utils import strip_optimizer

    ckpt = strip_optimizer(trainer.last) if Path(trainer.last).exists() else {}
    if Path(trainer.best).exists():
        strip_optimizer(trainer.best, updates={"train_results": ckpt.get("train_results")})


def budget_spent(elapsed: float, epoch: float, budget: float | None) -> bool:
    """Whether a fit that has trained ``elapsed`` seconds, its last epoch ``epoch`` long,
    stops now: another epoch as long would end past ``budget`` (``None``: never).

    Example:
        >>> budget_spent(15.0, 4.0, 18.0), budget_spent(10.0, 4.0, 18.0)
        (True, False)
    """
    return budget is not None and elapsed + epoch > budget


def _check_params(
    *, task, classes, epochs, imgsz, batch, freeze, keep_versions, time_budget, conf, iou
) -> None:
    """Raise on a CustomAI setting that cannot work, naming it and the value given."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if isinstance(classes, str):
        raise TypeError(f"classes must be a list of names, e.g. [{classes!r}], not a string")
    for name, value, low in (
        ("epochs", epochs, 1),
        ("imgsz", imgsz, 32),
        ("batch", batch, 1),
        ("freeze", 0 if freeze is None else freeze, 0),
        ("keep_versions", 1 if keep_versions is None else keep_versions, 1),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if time_budget is not None and not float(time_budget) > 0:
        raise ValueError(f"time_budget must be seconds > 0 or None, got {time_budget!r}")
    if not 0.0 <= float(conf) <= 1.0:
        raise ValueError(f"conf must be between 0 and 1, got {conf!r}")
    if not 0.0 < float(iou) <= 1.0:
        raise ValueError(f"iou must be above 0 and at most 1, got {iou!r}")


# -- training data ------------------------------------------------------------------------
def _training_rows(ds, keys, classes: list[str], task: str) -> list[dict]:
    """Rows to train on, checked: known labels, the geometry the task needs, >= 2 images."""
    df = ds.df
    if keys is None:
        keys = list(df.index[df["status"] == "verified"])
        what = "verified images"
    else:
        keys = list(keys)
        what = "images in keys"
    rows = []
    for key in keys:
        row = ds.row(key)  # KeyError names an unknown key
        if row.get("issues") and not int(row.get("width") or 0):
            continue  # an image that cannot be read cannot be trained on
        anns = row.get("annotations") or []
        for a in anns:
            if a.get("label") not in classes:
                raise ValueError(
                    f"image {key!r} has an object labelled {a.get('label')!r}, which is not "
                    f"one of the classes {classes}; pass classes=[...] that include it or "
                    "relabel the object"
                )
        rows.append(
            {
                "key": key,
                "image": row["image"],
                "width": int(row.get("width") or 0),
                "height": int(row.get("height") or 0),
                "annotations": anns,
            }
        )
    if len(rows) < 2:
        raise ValueError(
            f"CustomAI.fit needs at least 2 {what} to train on, got {len(rows)}; "
            "label and submit more images first"
        )
    if not any(r["annotations"] for r in rows):
        raise ValueError(f"none of the {len(rows)} {what} has an object to learn from")
    return rows


def short_text_hash(text: str, length: int = 8) -> str:
    """A short stable digest of ``text`` (for file names that depend on a class list)."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _new_version_dir(root: Path, last: int) -> Path:
    """Create ``root/v<N>`` with N above every version on disk and above ``last``."""
    root.mkdir(parents=True, exist_ok=True)
    on_disk = [
        int(m.group(1))
        for p in root.iterdir()
        if (m := re.fullmatch(r"v(\d+)", p.name)) and p.is_dir()
    ]
    n = max([last, *on_disk]) + 1
    while True:
        try:
            (root / f"v{n}").mkdir()  # atomic: two fits never share a folder
            return root / f"v{n}"
        except FileExistsError:
            n += 1


def _prune_versions(root: Path, keep: int, protected: set[Path]) -> list[Path]:
    """Delete ``root/v<N>`` folders beyond the ``keep`` newest, except those holding one of
    ``protected`` (a version folder, or a file inside one); return what was deleted.

    Retraining every few corrections makes dozens of versions in a session (29 retrains kept
    168 MB); older ones are only history, their predictions are in the journal.
    """
    versions = sorted(
        (
            (int(m.group(1)), p)
            for p in root.iterdir()
            if (m := re.fullmatch(r"v(\d+)", p.name)) and p.is_dir() and not p.is_symlink()
        ),
        reverse=True,
    )
    safe = {p.resolve() for p in protected}
    deleted = []
    for _, folder in versions[keep:]:
        here = folder.resolve()
        if any(here == s or here in s.parents for s in safe):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        deleted.append(folder)
    return deleted


def _has_flip_idx(data_yaml: Path) -> bool:
    return "flip_idx" in data_yaml.read_text()


def _write_training_set(
    rows: list[dict], classes: list[str], task: str, out: Path, imgsz: int
) -> tuple[Path, int]:
    """Write the rows as a YOLO dataset (images shrunk to ``imgsz``); return data.yaml.

    The images are decoded once and re-encoded rather than linked so that arrays,
    EXIF-rotated photos and unusual formats reach ultralytics the way nblabel shows them, and
    each epoch decodes a small file. YOLO labels are normalised by the row's size, so the
    shrunk copy keeps them valid. Every row goes to ``train`` (``val`` repeats it): the loop
    keeps its own held-out images.
    """
    from PIL import Image

    from ..formats.yolo import write_yolo

    shrunk = out / "shrunk"
    shrunk.mkdir(parents=True, exist_ok=True)
    export, skipped = [], []
    for i, row in enumerate(rows):
        try:
            rgb = load_rgb(row["image"])
        except ImageError as e:
            skipped.append(str(e))
            continue
        h, w = rgb.shape[:2]
        tw, th, _ = fit_long_side(w, h, imgsz)
        path = shrunk / f"{i:05d}.jpg"
        Image.fromarray(rgb).resize((tw, th), Image.BILINEAR).save(path, quality=95)
        # records are in the row's pixel frame, which is the decoded size unless unknown
        fw, fh = (row["width"], row["height"]) if row["width"] and row["height"] else (w, h)
        export.append({**row, "image": str(path), "width": fw, "height": fh})
    if skipped:
        warnings.warn(
            f"CustomAI: left out {len(skipped)} unreadable image(s): {'; '.join(skipped[:3])}",
            stacklevel=4,
        )
    if len(export) < 2:
        raise ValueError(f"CustomAI.fit needs at least 2 readable images, got {len(export)}")
    data_yaml = write_yolo(export, classes, out / "yolo", task=task, val_fraction=0.0)
    return Path(data_yaml), sum(len(r["annotations"]) for r in export)


# -- ultralytics plumbing -----------------------------------------------------------------
def _report(progress: ProgressFn | None, fraction: float, message: str) -> None:
    if progress is None:
        return
    try:
        progress(float(fraction), message)
    except Exception as e:  # a broken progress display must not throw away a training run
        warnings.warn(f"CustomAI: progress callback failed: {e!r}", stacklevel=2)


def _import_training(task: str) -> None:
    """Import what an ultralytics fit of ``task`` imports as it starts: the task's trainer
    and the integration callbacks a trainer adds (ultralytics' own function decides which,
    from its settings, on a stand-in whose class name says trainer)."""
    from collections import defaultdict
    from importlib import import_module

    from ultralytics.utils.callbacks.base import add_integration_callbacks

    import_module(f"ultralytics.models.yolo.{task}")

    class _Trainer:  # ultralytics adds the training integrations to classes named so
        callbacks: defaultdict = defaultdict(list)

    add_integration_callbacks(_Trainer())
