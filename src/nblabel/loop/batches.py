"""One batch of images through a model, the same way in the kernel and on a Ray worker.

Both engines call :func:`predict_batch`, so an image predicted on a cluster gets exactly the
records, and a broken file exactly the problem, that it gets in-process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from ..images import ImageError, load_rgb


def predict_batch(model, paths: Sequence, lock=None) -> tuple[dict[int, list], dict[int, str]]:
    """``({position: records}, {position: problem})`` from one ``predict`` call for ``paths``.

    When the call fails, the batch's images are checked: unreadable ones are set aside and
    the rest predicted again, so one broken file does not stop a run. When every image reads
    fine the model itself failed, and that error is raised as it is.

    Example:
        >>> class Boxes:
        ...     def predict(self, paths):
        ...         return [[{"label": "cat", "bbox": [0, 0, 2, 2]}] for _ in paths]
        >>> predict_batch(Boxes(), ["a.jpg", "b.jpg"])[0][1]
        [{'label': 'cat', 'bbox': [0, 0, 2, 2]}]
    """
    positions = list(range(len(paths)))
    return _predict(model, list(paths), positions, lock)


def _predict(model, paths: list, positions: list[int], lock) -> tuple[dict, dict]:
    try:
        with lock if lock is not None else contextlib.nullcontext():
            results = model.predict(paths)
    except Exception:
        bad = {i: p for i, path in zip(positions, paths) if (p := image_problem(path))}
        if not bad:
            raise
        rest = [(i, path) for i, path in zip(positions, paths) if i not in bad]
        good, more_bad = (
            _predict(model, [p for _, p in rest], [i for i, _ in rest], lock) if rest else ({}, {})
        )
        return good, {**bad, **more_bad}
    return dict(zip(positions, checked(model, results, len(paths)))), {}


def checked(model, results, n: int) -> list[list[dict]]:
    """``results`` as one list of records per image, or an error naming the model."""
    results = list(results)
    if len(results) != n:
        raise RuntimeError(
            f"{type(model).__name__}.predict returned {len(results)} results for {n} "
            "images; it must return one list of records per image"
        )
    return [list(r or []) for r in results]


def image_problem(path) -> str | None:
    """Why ``path`` cannot be read, or None when it reads fine (the model is at fault)."""
    try:
        load_rgb(path)
    except ImageError as e:
        return e.problem
    return None
