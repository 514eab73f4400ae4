"""Who wrote an annotation: the ``source`` of a record and of an image row.

A person's work has the source ``"human"``; a model's has its name and version
(``"<model>@<version>"``, e.g. ``"yolo11n@3f2a9c1b"``), so each prediction can be traced to the
weights that made it.

Example:
    >>> HUMAN
    'human'
"""

from __future__ import annotations

HUMAN = "human"
