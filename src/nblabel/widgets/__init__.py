"""Notebook widgets: the Annotator (anywidget canvas editor) and its companions.

Example:
    >>> from nblabel.widgets import Annotator
    >>> ann = Annotator(ds, classes=["raccoon"])
    >>> ann.classes, ann.tool
    (['raccoon'], 'box')
"""

from __future__ import annotations

from ..core.lazy import lazy_exports

# Loaded on first use: importing one widget module should not import the others.
_EXPORTS = {"Annotator": "nblabel.widgets.annotator"}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
