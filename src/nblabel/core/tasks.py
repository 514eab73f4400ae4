"""The model tasks: what a model predicts for each object.

``detect``: a box; ``segment``: a box and its outline (polygon); ``pose``: a box and its
keypoints.

Example:
    >>> TASKS
    ('detect', 'segment', 'pose')
"""

from __future__ import annotations

TASKS = ("detect", "segment", "pose")
