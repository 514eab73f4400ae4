"""Lazy package attributes: public names load their module on first use.

This keeps ``import nblabel`` fast and free of torch, ultralytics and OpenCV, which only load
when a model or widget is actually used.
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in submodules.

    The first lookup of a name imports its module and stores the value on the package, so
    later lookups are plain attribute reads.

    Example:
        >>> import types
        >>> pkg = types.ModuleType("demo_pkg")
        >>> sys.modules["demo_pkg"] = pkg
        >>> getattr_, dir_, all_ = lazy_exports("demo_pkg", {"dedent": "textwrap"})
        >>> all_, getattr_("dedent")("  a") == "a", "dedent" in vars(pkg)
        (['dedent'], True, True)
        >>> getattr_("nope")
        Traceback (most recent call last):
        ...
        AttributeError: module 'demo_pkg' has no attribute 'nope'
        >>> del sys.modules["demo_pkg"]
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
