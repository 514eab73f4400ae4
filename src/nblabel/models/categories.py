"""General AI categories: what each one predicts, and with which default checkpoint.

Pure data and validation (no heavy imports), so the setup panel can list categories and
classes instantly and a typo in a class name fails before any model is loaded.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .weights import TASK_WEIGHTS, YUNET_NAME

# The 80 COCO class names, in the order pre-trained YOLO checkpoints number them.
COCO80 = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

ANIMALS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe")
ROAD = (
    "person", "bicycle", "car", "motorcycle", "bus", "train", "truck", "traffic light",
    "fire hydrant", "stop sign", "parking meter",
)  # fmt: skip

# COCO's own super-categories (as its annotation files name them), so that every class a
# COCO checkpoint knows can be picked from a menu, not only the named use cases above.
COCO_SUPER = {
    "vehicle": ("bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"),
    "outdoor": ("traffic light", "fire hydrant", "stop sign", "parking meter", "bench"),
    "accessory": ("backpack", "umbrella", "handbag", "tie", "suitcase"),
    "sports": (
        "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
        "baseball glove", "skateboard", "surfboard", "tennis racket",
    ),
    "kitchen": ("bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl"),
    "food": (
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
        "donut", "cake",
    ),
    "furniture": ("chair", "couch", "potted plant", "bed", "dining table", "toilet"),
    "electronic": ("tv", "laptop", "mouse", "remote", "keyboard", "cell phone"),
    "appliance": ("microwave", "oven", "toaster", "sink", "refrigerator"),
    "indoor": ("book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"),
}  # fmt: skip
# Category whose classes are every class of the checkpoint in use (COCO's 80 by default,
# a user's own names for a checkpoint trained on other classes).
ALL = "all"
# The standard checkpoint of each kind of output.
DETECT, SEGMENT, POSE = TASK_WEIGHTS["detect"], TASK_WEIGHTS["segment"], TASK_WEIGHTS["pose"]
# The category GeneralAI and the setup panel start from.
DEFAULT_CATEGORY = "human"


@dataclass(frozen=True)
class Category:
    """One General AI category.

    Attributes:
        name: Canonical name, e.g. ``"autonomous driving"``.
        task: Shape of the output: ``"detect"`` (boxes), ``"segment"`` (boxes + polygons)
            or ``"pose"`` (boxes + keypoints).
        classes: Labels the category can produce, in model order.
        weights: Default checkpoint file name.
        backend: ``"ultralytics"`` or ``"yunet"`` (OpenCV's face detector).
        description: One line for the setup panel.
        conf: Default confidence threshold. YuNet's scores run lower on non-faces than
            YOLO's, so its published default (0.6) is used; below it, it reports patches of
            hair and background as faces.
    """

    name: str
    task: str
    classes: tuple[str, ...]
    weights: str
    backend: str = "ultralytics"
    description: str = ""
    conf: float = 0.25


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category(DEFAULT_CATEGORY, "detect", ("person",), DETECT, description="person boxes"),
        Category("animal", "detect", ANIMALS, DETECT, description="boxes of 10 animals"),
        Category("autonomous driving", "detect", ROAD, DETECT, description="road users and signs"),
        Category(
            "human keypoints",
            "pose",
            ("person",),
            POSE,
            description="person boxes with 17 COCO body keypoints",
        ),
        Category(
            "semantic segmentation",
            "segment",
            COCO80,
            SEGMENT,
            description="object outlines (polygons) for the 80 COCO classes",
        ),
        *(
            Category(name, "detect", classes, DETECT, description=f"COCO {name} classes")
            for name, classes in COCO_SUPER.items()
        ),
        Category(ALL, "detect", COCO80, DETECT, description="every class of the model"),
        Category(
            "face points",
            "pose",
            ("face",),
            YUNET_NAME,
            backend="yunet",
            description="face boxes with 5 landmarks (eyes, nose tip, mouth corners)",
            conf=0.6,
        ),
    )
}

# Other names people type for a category. They are not accepted as the category (one name
# per category, the one ``ai.category``, the setup panel and the docs show): each is the
# "did you mean" of an error. Spaces, underscores, dashes and case are normalised first.
_SUGGEST = {
    "person": "human",
    "people": "human",
    "humans": "human",
    "animals": "animal",
    "driving": "autonomous driving",
    "road": "autonomous driving",
    "pose": "human keypoints",
    "keypoints": "human keypoints",
    "body keypoints": "human keypoints",
    "segmentation": "semantic segmentation",
    "face": "face points",
    "faces": "face points",
    "face keypoints": "face points",
    "face landmarks": "face points",
    "vehicles": "vehicle",
    "electronics": "electronic",
    "appliances": "appliance",
    "accessories": "accessory",
    "every class": ALL,
    "everything": ALL,
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def get_category(name: str) -> Category:
    """Look up a category by name, accepting ``"Autonomous_Driving"``-style spellings.

    Raises:
        ValueError: unknown category; the message suggests the closest category (for a
            class name, the category that has it) and lists the valid names.

    Example:
        >>> get_category("autonomous_driving").name
        'autonomous driving'
        >>> get_category("animals")
        Traceback (most recent call last):
        ...
        ValueError: unknown category 'animals' (did you mean 'animal'?); choose one of ...
    """
    if not isinstance(name, str):
        raise ValueError(f"category must be a string, got {name!r}; choose from {list(CATEGORIES)}")
    key = _norm(name)
    if key in CATEGORIES:
        return CATEGORIES[key]
    raise ValueError(
        f"unknown category {name!r}{_did_you_mean(key)}; choose one of {list(CATEGORIES)}"
    )


def _did_you_mean(key: str) -> str:
    """The closest category to a normalised name that is not one, in parentheses, or ""."""
    if key in _SUGGEST:
        return f" (did you mean {_SUGGEST[key]!r}?)"
    # a class name typed as the category: the smallest category that predicts it
    singular = key[:-1] if key.endswith("s") else key
    for cls in (key, singular):
        having = [c for c in CATEGORIES.values() if cls in c.classes and c.name != ALL]
        if having:
            best = min(having, key=lambda c: len(c.classes))
            return f" ({cls!r} is a class: did you mean category {best.name!r} with classes=[{cls!r}]?)"
    names = {**{n: n for n in CATEGORIES}, **_SUGGEST}
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.75)
    return f" (did you mean {names[close[0]]!r}?)" if close else ""


def select_classes(category: Category, classes: str | Iterable[str] | None) -> list[str]:
    """The classes to predict: all of the category's, or the validated subset asked for.

    Class names match case-insensitively and with ``_`` for spaces (``"Traffic_Light"``);
    the result uses the canonical names in the category's order, without duplicates.

    Raises:
        ValueError: a class is not part of the category (the message lists the valid
            ones), or the selection is empty.

    Example:
        >>> select_classes(get_category("animal"), ["Dog", "bird"])
        ['bird', 'dog']
    """
    if classes is None:
        return list(category.classes)
    if isinstance(classes, str):
        classes = [classes]
    wanted = list(classes)
    if not wanted:
        raise ValueError(
            f"classes is empty; pick at least one of {list(category.classes)} "
            "or pass classes=None for all of them"
        )
    by_norm = {_norm(c): c for c in category.classes}
    unknown = [c for c in wanted if not isinstance(c, str) or _norm(c) not in by_norm]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} not in category {category.name!r}; "
            f"valid classes: {list(category.classes)}"
        )
    chosen = {by_norm[_norm(c)] for c in wanted}
    return [c for c in category.classes if c in chosen]


def category_for(classes: Iterable[str]) -> tuple[str | None, list[str]]:
    """The category that predicts most of a dataset's ``classes``, and those it predicts.

    Detection categories come first (a dataset of boxes wants boxes), then the one with the
    most of the classes, then the smallest (``human`` rather than ``all`` for ``person``).
    ``(None, [])`` when no category predicts any of them: a class only Custom AI can learn.

    Example:
        >>> category_for(["raccoon", "person"])
        ('human', ['person'])
        >>> category_for(["Dog", "cat", "car"])
        ('animal', ['cat', 'dog'])
        >>> category_for(["raccoon"])
        (None, [])
    """
    wanted = {_norm(c) for c in classes if isinstance(c, str)}
    best, best_rank, matched = None, None, []
    for order, cat in enumerate(CATEGORIES.values()):
        if cat.name == ALL:
            continue  # its classes depend on the checkpoint; pick it by hand
        have = [c for c in cat.classes if _norm(c) in wanted]
        rank = (cat.task != "detect", -len(have), len(cat.classes), order)
        if have and (best_rank is None or rank < best_rank):
            best, best_rank, matched = cat.name, rank, have
    return best, matched


def unpredicted(category: Category, classes: Iterable[str]) -> list[str]:
    """The names in ``classes`` that ``category`` does not predict, as given.

    Example:
        >>> unpredicted(get_category("human"), ["raccoon", "Person"])
        ['raccoon']
    """
    known = {_norm(c) for c in category.classes}
    return [c for c in classes if isinstance(c, str) and _norm(c) not in known]


def categories() -> dict[str, list[str]]:
    """Category name -> class list, for menus.

    Example:
        >>> categories()["human"]
        ['person']
    """
    return {name: list(c.classes) for name, c in CATEGORIES.items()}
