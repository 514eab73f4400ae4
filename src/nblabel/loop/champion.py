"""Which model's predictions a person sees: the General AI's or the Custom AI's.

A Custom AI trained from a few dozen corrections can be worse than the pre-trained General
AI it is meant to refine (a new head on 80 COCO classes, say, is far from the COCO head
after ten images). So when a loop has both, each image is predicted by both, the one that
*serves* is written and shown, and the other is kept beside it in the row's evidence. When a
person verifies the image, both predictions are priced with the effort model: the seconds it
would take to turn each into the verified objects (delete, move, relabel, draw). Neither
model trained on that image (the General AI never trains; the Custom version was made
before the image was verified), so these are fair, paired samples of what each costs.

The Custom AI serves once its recent predictions cost less than the General AI's on the
same images: over the last :data:`WINDOW` compared images, with at least
:data:`MIN_COMPARED` of them.

Example:
    >>> pairs = [Comparison("custom-v2", custom=4.0, general=9.0)] * 6
    >>> custom_serves(pairs)
    True
    >>> custom_serves(pairs[:2])  # too few compared images: the General AI keeps serving
    False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .report import EffortCosts
from .simulate import plan_fix

# Compared images the choice looks back over: recent ones, since every retrain makes a
# better Custom version and old comparisons describe versions long gone.
WINDOW = 20
# Compared images needed before the Custom AI may replace the General AI.
MIN_COMPARED = 5


@dataclass(frozen=True)
class Comparison:
    """The seconds a person would spend on one verified image from each model's prediction.

    ``version`` is the Custom AI version whose prediction was priced; ``custom`` and
    ``general`` are the seconds from each model's prediction.
    """

    version: str
    custom: float
    general: float

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Comparison:
        return cls(str(d["version"]), float(d["custom"]), float(d["general"]))


def fix_seconds(pred: Sequence[dict], final: Sequence[dict], costs: EffortCosts) -> float:
    """Seconds to turn ``pred`` into ``final`` and submit, with the effort model's prices.

    Example:
        >>> box = {"label": "cat", "bbox": [0, 0, 10, 10]}
        >>> fix_seconds([box], [box], EffortCosts()), fix_seconds([], [box], EffortCosts())
        (1.0, 8.0)
    """
    fix = plan_fix(list(pred), list(final))
    return sum(costs.seconds(kind) for kind in fix.kinds) + costs.accept


def recent(comparisons: Sequence[Comparison]) -> list[Comparison]:
    return list(comparisons)[-WINDOW:]


def custom_serves(comparisons: Sequence[Comparison]) -> bool:
    """Whether the Custom AI's predictions cost a person less than the General AI's, on the
    recent compared images."""
    window = recent(comparisons)
    if len(window) < MIN_COMPARED:
        return False
    return sum(c.custom for c in window) < sum(c.general for c in window)


def summary(comparisons: Sequence[Comparison]) -> dict:
    """``{"compared", "custom_seconds", "general_seconds"}`` per image, over the window."""
    window = recent(comparisons)
    n = len(window)
    return {
        "compared": n,
        "custom_seconds": sum(c.custom for c in window) / n if n else None,
        "general_seconds": sum(c.general for c in window) / n if n else None,
    }
