"""nblabel: Jupyter-native auto-labeling of images.

Example:
    >>> import nblabel as nbl
    >>> ds = nbl.Dataset.from_folder("images/", db="labels.db", classes=["raccoon"])
    >>> nbl.Annotator(ds)  # the last line of a cell: the widget shows under it
    Annotator(image 1/2 'img1', status 'unlabeled', tool 'box')
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# Public names and the module that defines each. Loaded on first use so that
# `import nblabel` stays fast and does not import torch or ultralytics.
_EXPORTS = {
    "Dataset": "nblabel.dataset",
    "STATUSES": "nblabel.dataset",
    "ImageError": "nblabel.images",
    "JournalGoneError": "nblabel.journal",
    "load_rgb": "nblabel.images",
    "AnnotationError": "nblabel.records",
    "NblabelError": "nblabel.core.errors",
    "WeightsUnavailableError": "nblabel.models.weights",
    "SetupPanel": "nblabel.widgets.setup_panel",
    "ReviewGrid": "nblabel.widgets.review",
    "Annotator": "nblabel.widgets.annotator",
    "GeneralAI": "nblabel.models.general",
    "CustomAI": "nblabel.models.custom",
    "AutoLabeler": "nblabel.loop.autolabeler",
    "RayEngine": "nblabel.loop.ray_engine",
    "deidentify": "nblabel.models.deidentify",
    "rect_to_polygon": "nblabel.models.polygon",
    "setup_panel": "nblabel.widgets.setup_panel",
    "smooth_keypoints": "nblabel.models.smoothing",
    "smooth_dataset": "nblabel.models.smoothing",
    "get_skeleton": "nblabel.models.keypoints",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
