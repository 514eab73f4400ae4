"""Annotation formats: pure readers and writers for COCO, YOLO, Pascal VOC, Label Studio,
CVAT and LabelMe.

Every reader returns ``(classes, items)``: ``classes`` a list of names in a stable order,
``items`` one plain dict per image::

    {"image": "/abs/path.jpg", "width": 650, "height": 417, "key": "raccoon-1",
     "annotations": [record, ...],     # see nblabel.records
     "issues": ["raccoon-1.xml object 2 (raccoon): box ... clipped", ...],
     "negative": True}                 # only when the file lists the image with no objects

``negative`` marks a file's "nothing here" (a COCO image without annotations, an empty YOLO
label file, a VOC file or CVAT image without objects, a LabelMe file without shapes, a Label
Studio annotation with no regions): ``Dataset.from_*`` makes such a row ``verified`` with no
objects, and every export writes it back as an image without objects. Rows nobody has
labeled (``unlabeled``) are exported only with ``include_unlabeled=True``, marked so that
reading the export back keeps them ``unlabeled``.

Width and height are ``0`` when the image cannot be read (the issue says why). Every writer
takes ``(rows, classes, destination, **options)`` with rows as dicts of ``key``, ``image``,
``width``, ``height``, ``annotations`` (and optionally ``status``: COCO, YOLO and VOC leave
out ``"unlabeled"`` rows unless ``include_unlabeled=True``) and returns the path it wrote. ``nblabel.Dataset.from_*`` / ``to_*`` are thin wrappers over these functions.

Example:
    >>> from nblabel.formats import read_voc, write_coco
    >>> classes, items = read_voc("raccoon/annotations", "raccoon/images")
    >>> write_coco(items, classes, "instances.json")
    PosixPath('instances.json')
"""

from __future__ import annotations

from ._common import FormatError
from .coco import read_coco, write_coco
from .cvat import read_cvat, write_cvat
from .labelme import read_labelme, write_labelme
from .labelstudio import label_config, read_labelstudio, write_labelstudio
from .voc import read_voc, write_voc
from .yolo import read_yolo, write_yolo

__all__ = [
    "FormatError",
    "label_config",
    "read_coco",
    "read_cvat",
    "read_labelme",
    "read_labelstudio",
    "read_voc",
    "read_yolo",
    "write_coco",
    "write_cvat",
    "write_labelme",
    "write_labelstudio",
    "write_voc",
    "write_yolo",
]
