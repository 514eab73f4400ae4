"""Notebook widgets: the Annotator (anywidget canvas editor) and its companions.

Example:
    >>> from nblabel.widgets import Annotator
    >>> Annotator(ds, classes=["raccoon"])  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Annotator": "nblabel.widgets.annotator"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # Loaded on first use: importing one widget module should not import the others.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nblabel.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
