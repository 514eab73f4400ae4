"""Lazy package attributes: public names load their module on first use.

This keeps ``import nblabel`` fast and free of torch, ultralytics and OpenCV, which only load
when a model or widget is actually used.
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in submodules.

    Example:
        >>> __getattr__, __dir__, __all__ = lazy_exports(__name__, {"Dataset": "nblabel.dataset"})
        ... # doctest: +SKIP
    """

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__, sorted(exports)
