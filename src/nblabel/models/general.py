"""General AI: a pre-trained model that labels a category of objects without any manual labels.

``GeneralAI("animal", classes=["bird"])`` predicts bird boxes with COCO-trained YOLO11;
``"human keypoints"`` adds 17 body points, ``"semantic segmentation"`` outlines objects as
polygons, ``"face points"`` finds faces and 5 landmarks with OpenCV's YuNet. The model is
loaded on the first ``predict`` so creating the object (e.g. in a setup panel) is instant.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from nblabel.images import load_rgb
from nblabel.records import one_per_object

from .categories import (
    ALL,
    DEFAULT_CATEGORY,
    Category,
    categories,
    get_category,
    select_classes,
)
from .portable import restore_state, shipped_state
from .ultralytics_records import finish_records, records_from_result
from .weights import (
    DETECT_FALLBACKS,
    WeightsUnavailableError,
    find_local,
    model_version,
    resolve_weights,
)

ImageLike = str | os.PathLike | np.ndarray


def _is_file(weights) -> bool:
    try:
        return Path(weights).expanduser().is_file()
    except (TypeError, OSError):
        return False


def checkpoint_names(path: Path) -> list[str]:
    """Class names of a detection checkpoint of either kind, read without running its code.

    Example:
        >>> checkpoint_names(Path("../shared/models/yolov5n.pt"))[:2]
        ['person', 'bicycle']
    """
    from .checkpoints import YOLOV5, checkpoint_kind

    if checkpoint_kind(path) == YOLOV5:
        from .yolov5 import read_yolov5

        return read_yolov5(path).names
    from ultralytics.nn.tasks import torch_safe_load

    ckpt, _ = torch_safe_load(str(path), safe_only=True)
    names = getattr(ckpt.get("ema") or ckpt.get("model"), "names", None) or {}
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)


def _default_checkpoint(spec: Category) -> Path:
    """The category's standard checkpoint, else a local detector that knows its classes.

    Offline, a COCO detector already on this machine (e.g. ``yolov5n.pt`` in
    ``$NBLABEL_WEIGHTS_DIR``) serves a detection category rather than failing; the standard
    file is still preferred and downloaded where that is possible.
    """
    try:
        return resolve_weights(spec.weights)
    except WeightsUnavailableError:
        if spec.task == "detect":
            local = find_local(DETECT_FALLBACKS)
            if local is not None:
                return local
        raise


def _norm(name: str) -> str:
    return " ".join(str(name).replace("_", " ").lower().split())


def _as_list(images) -> list:
    # one image (a path or an HxW[xC] array) is accepted as a batch of one
    if isinstance(images, (str, os.PathLike)) or (
        isinstance(images, np.ndarray) and images.ndim in (2, 3)
    ):
        return [images]
    return list(images)


# The default confidence with ``labels``.
MAPPED_CONF = 0.05


def parse_labels(text: str) -> dict[str, str]:
    """``labels`` for :class:`GeneralAI` from text such as ``"cat=raccoon, dog=raccoon"``:
    each model class, ``=``, and your class. Empty text is no mapping (``{}``).

    Raises:
        ValueError: a part is not ``model class=your class``, or names a model class twice.

    Example:
        >>> parse_labels(" cat = raccoon, dog=raccoon ,")
        {'cat': 'raccoon', 'dog': 'raccoon'}
        >>> parse_labels("cat raccoon")
        Traceback (most recent call last):
        ...
        ValueError: 'cat raccoon' is not model class=your class; write e.g. cat=raccoon, dog=raccoon
    """
    out: dict[str, str] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        model, eq, yours = (x.strip() for x in part.partition("="))
        if not eq or not model or not yours:
            raise ValueError(
                f"{part.strip()!r} is not model class=your class; write e.g. "
                "cat=raccoon, dog=raccoon"
            )
        if model in out and out[model] != yours:
            raise ValueError(f"{model!r} is named twice: {out[model]!r} and {yours!r}")
        out[model] = yours
    return out


def _check_labels(spec: Category, labels: Mapping[str, str] | None) -> dict[str, str]:
    """``labels`` with the model's class names made canonical, or a ValueError."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError(
            "labels must be a non-empty dict {model class: your class}, e.g. "
            f"{{'cat': 'raccoon'}}; got {labels!r}"
        )
    bad = [v for v in labels.values() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"labels: your class names must be non-empty text, got {bad!r}")
    names = select_classes(spec, list(labels))  # says which model classes do not exist
    by_norm = {_norm(k): v for k, v in labels.items()}
    return {n: by_norm[_norm(n)] for n in names}


def _renamed(model_classes: list[str], labels: dict[str, str]) -> list[str]:
    out: list[str] = []
    for c in model_classes:
        name = labels.get(c, c)
        if name not in out:
            out.append(name)
    return out


class GeneralAI:
    """Pre-trained auto-labeling for one category of objects.

    Args:
        category: One of :meth:`categories` (``"human"``, ``"animal"``,
            ``"autonomous driving"``, ``"human keypoints"``, ``"semantic segmentation"``,
            ``"face points"``); spaces, underscores and case are forgiven.
        classes: Subset of the category's classes to predict (default: all of them).
        weights: Checkpoint path, or a standard name; default is the category's
            checkpoint (``yolo11n.pt``, ``yolo11n-pose.pt``, ``yolo11n-seg.pt``,
            ``face_detection_yunet.onnx``), downloaded on first use when online. A ``.pt``
            file for ``"face points"`` is run as an ultralytics pose model.
        conf: Minimum confidence of a kept object (0-1); default 0.25, or 0.6 for
            ``"face points"`` with YuNet, or 0.05 with ``labels`` (a class known under other
            names scores lower; the loop shows the uncertain ones faint).
        imgsz: Inference size (long side, pixels) for YOLO models.
        device: ``"cpu"``, ``"cuda:0"``, ...; default lets ultralytics choose.
        batch: Images per forward pass.
        labels: Your class for each model class, for classes the model does not know by
            your name: ``{"cat": "raccoon", "dog": "raccoon", "bear": "raccoon"}`` predicts
            those three and names them all ``raccoon``. Only the mapped classes are
            predicted (``classes`` defaults to them); two boxes that become one class and
            overlap by more than IoU 0.5 are one object, the more confident kept.

    Attributes:
        category: Canonical category name.
        classes: Labels this predictor emits.
        task: ``"detect"``, ``"segment"`` or ``"pose"`` (boxes with keypoints).
        version: ``"<weights stem>@<8 hex of its SHA-256>"``, each record's ``source``.
        model_: The loaded model (after the first ``predict`` or :meth:`load`).

    Example:
        >>> ai = GeneralAI("animal", classes=["bird"], weights="../shared/models/yolov5n.pt")
        >>> birds = ai.predict(["garden.jpg"])[0]
        >>> len(birds), birds[0]["label"], birds[0]["source"]
        (5, 'bird', 'yolov5n@4f180cf2')

        A class of your own that the model knows under other names:

        >>> ai = GeneralAI("animal", labels={"cat": "raccoon", "bear": "raccoon"})
        >>> ai.classes
        ['raccoon']
    """

    def __init__(
        self,
        category: str = DEFAULT_CATEGORY,
        classes: str | Iterable[str] | None = None,
        weights: str | os.PathLike | None = None,
        conf: float | None = None,
        imgsz: int = 640,
        device: str | None = None,
        batch: int = 16,
        labels: Mapping[str, str] | None = None,
    ):
        spec = get_category(category)
        if spec.name == ALL and weights is not None and _is_file(weights):
            # a checkpoint trained on other classes (helmets, parts ...) is its own category
            names = checkpoint_names(Path(weights).expanduser())
            if names and set(names) != set(spec.classes):
                spec = replace(spec, classes=tuple(names), description=f"{Path(weights).name}")
        self._spec: Category = spec
        self.weights = weights
        if conf is None and labels:
            # a class the model knows under other names scores lower ("cat" for a raccoon),
            # and many right boxes fall under the usual 0.25: on 100 raccoon images found as
            # cat, dog or bear, a person would spend 4.8 s an image on the boxes down to
            # 0.05 shown faint from 0.5, against 6.1 s with those under 0.25 left out
            conf = MAPPED_CONF
        if conf is None:
            # the category's threshold is tuned for its default model, not for a .pt swap-in
            conf = spec.conf if self.backend == spec.backend else 0.25
        if isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            raise ValueError(f"conf must be a number between 0 and 1, got {conf!r}")
        if isinstance(imgsz, bool) or not isinstance(imgsz, int) or imgsz < 32:
            raise ValueError(f"imgsz must be a whole number of pixels >= 32, got {imgsz!r}")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number >= 1, got {batch!r}")
        self.category = spec.name
        self.labels = _check_labels(spec, labels)
        if self.labels and classes is None:
            classes = list(self.labels)
        # the model's names of what it predicts; ``classes`` are the names it writes
        self.model_classes = select_classes(spec, classes)
        self.classes = _renamed(self.model_classes, self.labels)
        self.conf = float(conf)
        self.imgsz = imgsz
        self.device = device
        self.batch = batch
        self._lock = threading.RLock()  # the loop may predict from a background thread

    def __getstate__(self) -> dict:
        # a pickled model (sent to a Ray worker) carries its checkpoint's bytes, not the
        # loaded network or the lock; it loads again on its first predict
        self.weights_path_  # noqa: B018 -- resolved here, where the file is
        return shipped_state(self, drop=("_lock", "model_", "class_ids_"), files=("_weights_path",))

    def __setstate__(self, state: dict) -> None:
        restore_state(self, state, locks={"_lock": threading.RLock})
        # pickled before labels existed: every class under its own name
        self.__dict__.setdefault("labels", {})
        self.__dict__.setdefault("model_classes", list(self.classes))

    def __repr__(self) -> str:
        labels = f", labels={self.labels!r}" if self.labels else ""
        return (
            f"GeneralAI(category={self.category!r}, classes={self.model_classes!r}, "
            f"weights={self.weights!r}, conf={self.conf}{labels})"
        )

    @staticmethod
    def categories() -> dict[str, list[str]]:
        """Category -> the classes it can predict (for menus).

        Example:
            >>> GeneralAI.categories()["animal"][:3]
            ['bird', 'cat', 'dog']
        """
        return categories()

    @property
    def task(self) -> str:
        return self._spec.task

    @property
    def backend(self) -> str:
        """``"yunet"`` for an ONNX face model, else ``"ultralytics"``."""
        if self._spec.backend == "yunet" and self.weights is not None:
            return "yunet" if Path(self.weights).suffix.lower() == ".onnx" else "ultralytics"
        return self._spec.backend

    @property
    def weights_path_(self) -> Path:
        """The checkpoint file in use (resolved, and downloaded if needed, on first access)."""
        with self._lock:
            if "_weights_path" not in self.__dict__:
                weights = self.weights
                if weights is None and self.backend == "yunet":
                    # the face detector's own setting for where its model lives
                    weights = os.environ.get("NBLABEL_YUNET") or None
                if weights is None and self.backend == "ultralytics":
                    self._weights_path = _default_checkpoint(self._spec)
                else:
                    self._weights_path = resolve_weights(
                        weights if weights is not None else self._spec.weights
                    )
            return self._weights_path

    @property
    def version(self) -> str:
        return model_version(self.weights_path_)

    def load(self) -> GeneralAI:
        """Load the model now instead of on the first :meth:`predict`; returns self.

        Raises:
            WeightsUnavailableError: default weights missing and no internet.
            FileNotFoundError: a ``weights=`` path that does not exist.
            ValueError: the checkpoint is of the wrong kind for the category or does not
                know the selected classes.
        """
        with self._lock:
            if getattr(self, "model_", None) is None:
                path = self.weights_path_
                if self.backend == "yunet":
                    self._load_yunet(path)
                else:
                    self._load_ultralytics(path)
        return self

    def _load_yunet(self, path: Path) -> None:
        from .faces import FaceDetector

        self.class_ids_ = None
        self.model_ = FaceDetector(path, score_threshold=self.conf)

    def _load_ultralytics(self, path: Path) -> None:
        from .checkpoints import YOLOV5, checkpoint_kind

        # recognised by content: a YOLOv5-repository file must never reach ultralytics'
        # loader, which would take "yolov5n.pt" for its own yolov5nu.pt and download that
        if path.suffix.lower() == ".pt" and checkpoint_kind(path) == YOLOV5:
            from .yolov5 import YOLOv5Model

            model = YOLOv5Model(path)
        else:
            from .checkpoints import load_ultralytics

            try:
                model = load_ultralytics(path)
            except Exception as e:
                raise ValueError(
                    f"{path} could not be loaded as an ultralytics YOLO checkpoint ({e}); pass "
                    f'a .pt file such as "{self._spec.weights}"'
                ) from e
        if model.task != self.task:
            raise ValueError(
                f"{path.name} is a {model.task!r} model but category {self.category!r} needs a "
                f"{self.task!r} model (e.g. {self._spec.weights})"
            )
        by_name = {_norm(n): i for i, n in model.names.items()}
        missing = [c for c in self.model_classes if _norm(c) not in by_name]
        if missing:
            raise ValueError(
                f"{path.name} does not predict {missing}; its classes are "
                f"{list(model.names.values())}. Pass weights trained on them or pick other classes."
            )
        # filtering inside ultralytics' NMS keeps its max_det slots for the wanted classes
        self.class_ids_ = sorted(by_name[_norm(c)] for c in self.model_classes)
        self.model_ = model

    def predict(self, images: ImageLike | Iterable[ImageLike]) -> list[list[dict]]:
        """Objects found in each image.

        Args:
            images: Paths or RGB arrays (grayscale, RGBA and 16-bit arrays/files are
                converted), or a single one.

        Returns:
            One list of annotation records per image, in original pixel coordinates, each
            with ``score`` and ``source`` set to :attr:`version`.

        Example:
            >>> ai = GeneralAI("human", weights="../shared/models/yolov5n.pt")
            >>> ai.predict("bus.jpg")[0][0]["label"]
            'person'
        """
        items = _as_list(images)
        self.load()
        source = self.version
        out: list[list[dict]] = []
        for start in range(0, len(items), self.batch):
            rgbs = [load_rgb(im) for im in items[start : start + self.batch]]
            with self._lock:
                if self.backend == "yunet":
                    out.extend(self._faces(rgb, source) for rgb in rgbs)
                else:
                    out.extend(self._ultralytics(rgbs, source))
        return out

    def _faces(self, rgb: np.ndarray, source: str) -> list[dict]:
        h, w = rgb.shape[:2]
        found = [
            {
                "label": "face",
                "bbox": f["bbox"],
                "keypoints": [[x, y, 2] for x, y in f["landmarks"]],
                "score": f["score"],
            }
            for f in self.model_.detect(rgb)
            if f["score"] >= self.conf
        ]
        return finish_records(found, w, h, source)

    def _ultralytics(self, rgbs: list[np.ndarray], source: str) -> list[list[dict]]:
        # ultralytics treats arrays as OpenCV BGR; decoding ourselves (rather than passing
        # paths) applies EXIF rotation and handles 16-bit/grayscale/RGBA the nblabel way
        bgrs = [np.ascontiguousarray(rgb[:, :, ::-1]) for rgb in rgbs]
        # ultralytics pads a batch of mixed sizes to a square but a batch of one size only to
        # the stride, so results would depend on the neighbours; same-size groups keep every
        # image's result what it is alone (and a camera's folder still runs in full batches)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, bgr in enumerate(bgrs):
            groups.setdefault(bgr.shape, []).append(i)
        out: list[list[dict]] = [[] for _ in bgrs]
        for idx in groups.values():
            results = self.model_.predict(
                [bgrs[i] for i in idx],
                conf=self.conf,
                imgsz=self.imgsz,
                device=self.device,
                classes=self.class_ids_,
                batch=len(idx),
                verbose=False,
            )
            for i, r in zip(idx, results):
                h, w = rgbs[i].shape[:2]
                recs = records_from_result(r, self.model_.names, width=w, height=h, source=source)
                out[i] = self._rename(recs)
        return out

    def _rename(self, recs: list[dict]) -> list[dict]:
        """The records under your class names (:attr:`labels`), one box per object."""
        if not self.labels:
            return recs
        by_norm = {_norm(k): v for k, v in self.labels.items()}
        renamed = [{**r, "label": by_norm.get(_norm(r["label"]), r["label"])} for r in recs]
        # a raccoon found as both cat and dog is one raccoon
        return one_per_object(renamed)
