"""Which model's predictions a person sees: the General AI's or the Custom AI's.

A Custom AI trained from a few dozen corrections can be worse than the pre-trained General
AI it is meant to refine (a new head on 80 COCO classes, say, is far from the COCO head
after ten images). So when a loop has both, each image is predicted by both, the one that
*serves* is written and shown, and the other is kept beside it in the row's evidence. When a
person verifies the image, both predictions are priced with the effort model: the seconds it
would take to turn each into the verified objects (delete, move, relabel, draw). Neither
model trained on that image (the General AI never trains; the Custom version was made
before the image was verified), so these are fair, paired samples of what each costs.

Each model is priced as it would be served: the Annotator shows predictions under the
display line as faint suggestions (a wrong one costs nothing, a right one a click), so a
model's low-scored objects must not count as deletions. Each image is priced at every line
of :data:`LINES`, and each model at the line that is cheapest for it over the compared
images: a General AI asked for boxes down to 0.05 is not charged for those a person would
never see as labels.

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
# Display lines each model is priced at (suggestions under the line, labels from it).
LINES = tuple(i / 10 for i in range(11))


@dataclass(frozen=True)
class Comparison:
    """The seconds a person would spend on one verified image from each model's prediction.

    ``version`` is the Custom AI version whose prediction was priced; ``custom`` and
    ``general`` are the seconds from each model's prediction with every object shown as a
    label; ``custom_lines`` and ``general_lines`` the seconds at each of :data:`LINES`
    (empty in comparisons made before they were kept).
    """

    version: str
    custom: float
    general: float
    custom_lines: tuple[float, ...] = ()
    general_lines: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["custom_lines"], d["general_lines"] = list(self.custom_lines), list(self.general_lines)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Comparison:
        return cls(
            str(d["version"]),
            float(d["custom"]),
            float(d["general"]),
            tuple(float(x) for x in d.get("custom_lines") or ()),
            tuple(float(x) for x in d.get("general_lines") or ()),
        )

    @classmethod
    def priced(
        cls, version: str, custom: Sequence[dict], general: Sequence[dict], final, costs
    ) -> Comparison:
        """Both predictions of one verified image (``final``), priced at every line."""
        c, g = fix_lines(custom, final, costs), fix_lines(general, final, costs)
        return cls(str(version), c[0], g[0], c, g)


def fix_seconds(
    pred: Sequence[dict], final: Sequence[dict], costs: EffortCosts, shown_from: float = 0.0
) -> float:
    """Seconds to turn ``pred`` into ``final`` and submit, with the effort model's prices
    (objects scored under ``shown_from`` offered as faint suggestions).

    Example:
        >>> box = {"label": "cat", "bbox": [0, 0, 10, 10]}
        >>> fix_seconds([box], [box], EffortCosts()), fix_seconds([], [box], EffortCosts())
        (1.0, 8.0)
    """
    fix = plan_fix(list(pred), list(final), shown_from=shown_from)
    return sum(costs.seconds(kind) for kind in fix.kinds) + costs.accept


def fix_lines(pred: Sequence[dict], final: Sequence[dict], costs: EffortCosts) -> tuple:
    """:func:`fix_seconds` at each of :data:`LINES`.

    Example:
        >>> low = {"label": "cat", "bbox": [50, 50, 60, 60], "score": 0.3}  # a wrong one
        >>> box = {"label": "cat", "bbox": [0, 0, 10, 10]}
        >>> fix_lines([low], [box], EffortCosts())[:5]  # deleted while shown as a label
        (11.0, 11.0, 11.0, 11.0, 8.0)
    """
    return tuple(fix_seconds(pred, final, costs, line) for line in LINES)


def recent(comparisons: Sequence[Comparison]) -> list[Comparison]:
    return list(comparisons)[-WINDOW:]


def _served_seconds(window: Sequence[Comparison], which: str) -> float:
    """The window's seconds from one model's predictions, at the line cheapest for it."""
    lines = [getattr(c, f"{which}_lines") for c in window]
    if all(len(x) == len(LINES) for x in lines):
        return min(sum(x[i] for x in lines) for i in range(len(LINES)))
    return sum(getattr(c, which) for c in window)  # comparisons from before the lines


def custom_serves(comparisons: Sequence[Comparison]) -> bool:
    """Whether the Custom AI's predictions cost a person less than the General AI's, on the
    recent compared images, each model served at its cheapest display line."""
    window = recent(comparisons)
    if len(window) < MIN_COMPARED:
        return False
    return _served_seconds(window, "custom") < _served_seconds(window, "general")


def summary(comparisons: Sequence[Comparison]) -> dict:
    """``{"compared", "custom_seconds", "general_seconds"}`` per image, over the window,
    each model at its cheapest display line."""
    window = recent(comparisons)
    n = len(window)
    return {
        "compared": n,
        "custom_seconds": _served_seconds(window, "custom") / n if n else None,
        "general_seconds": _served_seconds(window, "general") / n if n else None,
    }
