"""Lazy package attributes (their one definition is :mod:`nblabel.core.lazy`)."""

from __future__ import annotations

from .core.lazy import lazy_exports

__all__ = ["lazy_exports"]
