"""Import a dataset with Datumaro and print what it saw as JSON (run inside .venv-datumaro).

Datumaro is the import and export engine of CVAT. It pins pandas 2 and OpenCV 4, which the
project's own environment has moved past, so it lives in a virtual environment of its own
(``bash scripts/setup.sh test`` makes ``.venv-datumaro``) and tests run this script there
with ``subprocess``. It imports nothing but Datumaro and the standard library.

Usage::

    .venv-datumaro/bin/python tests/support/datumaro_probe.py voc export/voc
    .venv-datumaro/bin/python tests/support/datumaro_probe.py coco_instances \
        project/annotations/instances_default.json

Output: ``{"datumaro", "format", "labels", "items", "errors", "warnings"}``; ``labels`` is
Datumaro's label categories in order, each item ``{"id", "subset", "image", "image_found",
"width", "height", "annotations"}`` with annotations ``{"type", "label", "bbox": [x, y, w,
h], "attributes"}``. Every problem Datumaro reports (an item or annotation it skipped, an
import that failed, a logged warning) is a line in ``errors`` or ``warnings``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings

# Datumaro is imported inside the functions: this file is also collected (doctest-modules)
# by the project's own environment, which has no Datumaro.


def _collecting_policy():
    """An error policy that keeps going past a broken item or annotation and remembers it
    (Datumaro's default stops at the first)."""
    from datumaro.components.contexts.importer import ImportErrorPolicy

    class Collect(ImportErrorPolicy):
        def __init__(self) -> None:
            self.errors: list[str] = []

        def _handle_item_error(self, error) -> None:
            self.errors.append(_describe(error))

        def _handle_annotation_error(self, error) -> None:
            self.errors.append(_describe(error))

    return Collect()


def _describe(error: BaseException) -> str:
    # "Failed to import item (id, subset) annotation: InvalidFieldError: ... 'difficult' ..."
    cause = error.__cause__
    return f"{error}: {type(cause).__name__}: {cause}" if cause else str(error)


class _Warnings(logging.Handler):
    """Datumaro reports skipped files and odd input through ``logging.warning``."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def _plain(value):
    # attribute values are bools, numbers and strings, sometimes tuples; JSON takes lists
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def probe(fmt: str, path: str) -> dict:
    """Import ``path`` as Datumaro format ``fmt`` and describe the dataset it built."""
    import datumaro
    from datumaro.components.annotation import AnnotationType

    policy = _collecting_policy()
    handler = _Warnings()
    logging.getLogger().addHandler(handler)
    labels: list[str] = []
    items: list[dict] = []
    errors = policy.errors
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # an error policy makes the import eager: every file is parsed here
            dataset = datumaro.Dataset.import_from(path, fmt, error_policy=policy)
            categories = dataset.categories().get(AnnotationType.label)
            labels = [c.name for c in categories] if categories is not None else []
            for item in dataset:
                items.append(_item(item, labels))
        except Exception as e:  # the report says what failed; the caller asserts on it
            errors.append(f"import failed: {type(e).__name__}: {e}")
    logging.getLogger().removeHandler(handler)
    lines = handler.lines + [f"{w.category.__name__}: {w.message}" for w in caught]
    return {
        "datumaro": datumaro.__version__,
        "format": fmt,
        "labels": labels,
        "items": sorted(items, key=lambda it: (it["subset"], it["id"])),
        "errors": errors,
        "warnings": lines,
    }


def _item(item, labels: list[str]) -> dict:
    from datumaro.components.annotation import AnnotationType

    media = item.media
    path = getattr(media, "path", None) or None
    size = getattr(media, "size", None) if media is not None else None
    annotations = []
    for ann in item.annotations:
        label = getattr(ann, "label", None)
        out = {
            "type": ann.type.name,
            "label": labels[label] if label is not None and 0 <= label < len(labels) else label,
            "attributes": {str(k): _plain(v) for k, v in (ann.attributes or {}).items()},
        }
        if ann.type == AnnotationType.bbox:
            out["bbox"] = [float(ann.x), float(ann.y), float(ann.w), float(ann.h)]
        annotations.append(out)
    return {
        "id": item.id,
        "subset": item.subset,
        "image": os.path.basename(path) if path else None,
        "image_found": bool(path) and os.path.isfile(path),
        "width": size[1] if size else None,
        "height": size[0] if size else None,
        "annotations": annotations,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: datumaro_probe.py FORMAT PATH (e.g. voc export/voc)", file=sys.stderr)
        return 2
    json.dump(probe(argv[0], argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
