"""The auto-labeling loop: predict, route, learn from corrections, report the effort saved.

Example:
    >>> from nblabel.loop import AutoLabeler
"""

from __future__ import annotations

from .autolabeler import AutoLabeler
from .counts import autolabel_count_range, check_count
from .ray_engine import RayEngine
from .report import EffortCosts, effort_report
from .routing import Evidence, estimate_precision, review_order, route

__all__ = [
    "AutoLabeler",
    "EffortCosts",
    "Evidence",
    "RayEngine",
    "autolabel_count_range",
    "check_count",
    "effort_report",
    "estimate_precision",
    "review_order",
    "route",
]
