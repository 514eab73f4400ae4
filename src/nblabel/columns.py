"""The per-image columns every Dataset has, and the one check of each column's values.

The same checks guard both ends of the journal: a write is validated before it is committed
(:func:`check_value`, the error names the row and the column), and a row read back from a
journal written by an older version or by hand is repaired for display (:func:`clean_row`),
so one bad value can never stop a journal from opening.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .core.sources import HUMAN as HUMAN  # the source of a person's work, imported from here too
from .core.statuses import DONE_STATUSES as DONE_STATUSES  # imported from here too
from .core.statuses import STATUSES, UNLABELED

CORE_COLUMNS = (
    "image",
    "width",
    "height",
    "annotations",
    "status",
    "confidence",
    "source",
    "seconds",
    "edits",
    "issues",
    "updated",
)


def _whole(v: Any) -> int:
    if isinstance(v, bool) or v is None:
        raise ValueError("must be a whole number >= 0")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number >= 0") from None
    if not math.isfinite(f) or f < 0 or f != int(f):
        raise ValueError("must be a whole number >= 0")
    return int(f)


def _number(v: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, (bool, str)) or v is None:
        raise ValueError(_range_text(lo, hi))
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(_range_text(lo, hi)) from None
    if not math.isfinite(f) or (lo is not None and f < lo) or (hi is not None and f > hi):
        raise ValueError(_range_text(lo, hi))
    return f


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"must be a number from {lo:g} to {hi:g}"
    return "must be a number >= 0" if lo == 0 else "must be a finite number"


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return check(v)

    return optional


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"must be a string, got {type(v).__name__}")
    return v


def _status(v: Any) -> str:
    if v not in STATUSES:
        raise ValueError(f"must be one of {STATUSES}")
    return v


def _annotations(v: Any) -> list:
    if not isinstance(v, list) or not all(
        isinstance(a, dict) and isinstance(a.get("bbox"), list) and len(a["bbox"]) == 4 for a in v
    ):
        raise ValueError("must be a list of annotation records")
    return v


def confidence(v: Any) -> float | None:
    """A confidence: ``None`` or a number from 0 to 1."""
    return _optional(lambda x: _number(x, 0.0, 1.0))(v)


def seconds(v: Any) -> float:
    """Seconds of human time: a finite number >= 0."""
    return _number(v, 0.0)


# column -> (check returning the stored value, value shown when the journal holds a bad one)
CHECKS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "image": (_text, ""),
    "width": (_whole, 0),
    "height": (_whole, 0),
    "annotations": (_annotations, []),
    "status": (_status, UNLABELED),
    "confidence": (confidence, None),
    "source": (_optional(_text), None),
    "seconds": (seconds, 0.0),
    "edits": (_whole, 0),
    "issues": (_optional(_text), None),
    "updated": (_optional(_number), None),
}


_INF = float("inf")
_STATUS_SET = frozenset(STATUSES)


def _well_formed(d: dict) -> bool:
    """True when every core value of ``d`` already passes its check unchanged, tested
    with plain type and range comparisons: opening a million rows runs this per row, and
    the checks one by one (with their error handling) cost several times more. Anything
    else (a missing column, a wrong type, NaN) takes the full path in :func:`clean_row`."""
    try:
        w, h, e = d["width"], d["height"], d["edits"]
        conf, sec, upd = d["confidence"], d["seconds"], d["updated"]
        src, issues, anns = d["source"], d["issues"], d["annotations"]
        ok = (
            type(d["image"]) is str
            and type(w) is int
            and type(h) is int
            and type(e) is int
            and w >= 0
            and h >= 0
            and e >= 0
            and d["status"] in _STATUS_SET
            and (type(sec) is float or type(sec) is int)
            and 0 <= sec < _INF
            and (conf is None or ((type(conf) is float or type(conf) is int) and 0 <= conf <= 1))
            and (upd is None or ((type(upd) is float or type(upd) is int) and -_INF < upd < _INF))
            and (src is None or type(src) is str)
            and (issues is None or type(issues) is str)
            and type(anns) is list
        )
    except (KeyError, TypeError):
        return False
    if not ok:
        return False
    if anns:
        try:
            _annotations(anns)
        except ValueError:
            return False  # the full path reports it
    return True


def check_value(key: Any, column: str, value: Any) -> Any:
    """The value to store in ``column`` of row ``key``, or a ValueError naming both.

    User columns take any value (stored as JSON); core columns must have their type.

    Example:
        >>> check_value("img1", "width", 640.0)
        640
        >>> check_value("img1", "seconds", "x")
        Traceback (most recent call last):
        ...
        ValueError: row 'img1': seconds='x' must be a number >= 0; nothing was written
    """
    entry = CHECKS.get(column)
    if entry is None:
        return value
    try:
        return entry[0](value)
    except ValueError as e:
        raise ValueError(f"row {key!r}: {column}={value!r} {e}; nothing was written") from None


def clean_row(key: Any, data: Any) -> tuple[dict, list[str]]:
    """A journal row made safe to show, and what had to be replaced (one line per column).

    Example:
        >>> row, problems = clean_row("img1", {"image": "a.jpg", "width": None})
        >>> row["width"], problems[0]
        (0, "journal value width=None must be a whole number >= 0 (shown as 0); set it with ds.update('img1', width=...)")
    """  # noqa: E501
    if not isinstance(data, dict):
        # every column shown as its default, so the row still fits the table
        return clean_row(key, {})[0], [f"journal row is not a record ({type(data).__name__})"]
    if _well_formed(data):
        return dict(data), []
    row = dict(data)
    problems = []
    for col, (check, fallback) in CHECKS.items():
        if col not in row:
            row[col] = fallback
            continue
        try:
            row[col] = check(row[col])
        except ValueError as e:
            problems.append(
                f"journal value {col}={row[col]!r} {e} (shown as {fallback!r}); set it with "
                f"ds.update({key!r}, {col}=...)"
                if col != "annotations"
                else f"journal value annotations is unreadable ({e}; shown as none); "
                f"write them again with ds.annotate({key!r}, ...)"
            )
            row[col] = list(fallback) if isinstance(fallback, list) else fallback
    return row, problems
