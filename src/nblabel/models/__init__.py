"""Predictors: anything with ``predict(images) -> list[list[record]]``.

Names are imported on first use, so ``import nblabel.models`` does not load torch,
ultralytics or OpenCV.

Example:
    >>> from nblabel.models import GeneralAI
    >>> list(GeneralAI.categories())[:3]
    ['human', 'animal', 'autonomous driving']
"""

from __future__ import annotations

from nblabel.core.lazy import lazy_exports

# Public name -> module that defines it.
_EXPORTS = {
    "GeneralAI": "nblabel.models.general",
    "CATEGORIES": "nblabel.models.categories",
    "COCO80": "nblabel.models.categories",
    "Category": "nblabel.models.categories",
    "categories": "nblabel.models.categories",
    "WeightsUnavailableError": "nblabel.models.weights",
    "resolve_weights": "nblabel.models.weights",
    "short_hash": "nblabel.models.weights",
    "model_version": "nblabel.models.weights",
    "CustomAI": "nblabel.models.custom",
    "FaceDetector": "nblabel.models.faces",
    "PlateDetector": "nblabel.models.plates",
    "deidentify": "nblabel.models.deidentify",
    "rect_to_polygon": "nblabel.models.polygon",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
