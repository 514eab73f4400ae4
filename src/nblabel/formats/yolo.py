"""YOLO datasets as ultralytics trains on them: ``data.yaml`` + ``images/`` + ``labels/``.

One ``.txt`` per image, one line per object, coordinates normalized to 0..1:

- detect: ``class cx cy w h``
- segment: ``class x1 y1 x2 y2 ...`` (polygon)
- pose: ``class cx cy w h px1 py1 v1 ...`` (``kpt_shape: [K, 3]`` in data.yaml)

ultralytics rejects a sixth column on detection lines, so scores and sources are kept in a
sidecar ``nblabel.json`` next to ``data.yaml``; :func:`read_yolo` uses it to restore them (and
the original image paths and keys). Exported images are symlinks (copies where links are not
possible), so the original image folder is never written to.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.tasks import TASKS
from ..images import IMAGE_EXTENSIONS
from ._atomic import folder_export
from ._common import (
    FormatError,
    check_classes,
    extras,
    inside,
    json_safe,
    json_text,
    link_or_copy,
    make_record,
    natural_key,
    prepare_rows,
    real_size,
    unique_stem,
)
from ._common import keypoint_names as _keypoint_names
from ._masks import one_outline
from .limits import check_file_size, item_file_problem, keypoint_count_problem, label_problem

SIDECAR = "nblabel.json"


# -- reading -------------------------------------------------------------------------------------


def read_yolo(
    dataset_dir: str | os.PathLike, *, allow_outside: bool = False
) -> tuple[list[str], list[dict]]:
    """Read a YOLO dataset (detect, segment or pose).

    Args:
        dataset_dir: the folder holding ``data.yaml`` (or the YAML file itself). Without a
            YAML file, the folder's ``images/`` (or the folder itself) is scanned and class
            names come from ``classes.txt`` / ``obj.names``.
        allow_outside: follow a ``path``, split entry or image list line that leads out of
            the dataset folder (the YAML file's folder). Off by default, so a file from
            elsewhere cannot pull other files into a dataset and its exports: such a
            data.yaml is refused with what to change.

    Returns:
        ``(classes, items)``: classes in ``names`` order; one item per image of every split
        (``train``, ``val``, ``test``), with ``key`` (the file stem, or the key recorded in
        ``nblabel.json``). Lines that cannot be used (wrong column count, a class id outside
        ``names``) become ``issues`` naming ``file:line``.

    Example:
        >>> _ = write_yolo(rows, ["raccoon"], "export/yolo")  # or a folder another tool wrote
        >>> classes, items = read_yolo("export/yolo")
        >>> classes, len(items)
        (['raccoon'], 3)
    """
    src = Path(dataset_dir).expanduser()
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such folder or file")
    yaml_path = _find_yaml(src)
    if yaml_path is not None:
        data = _load_yaml(yaml_path)
        allowed = None if allow_outside else [yaml_path.parent]
        root = _dataset_root(yaml_path, data, allowed)
        names = _names(data.get("names"), yaml_path)
        kpt_shape = data.get("kpt_shape")
        images, notes = _split_images(root, data, yaml_path, allowed)
        base = yaml_path.parent
    else:
        names = _names_from_txt(src)
        kpt_shape = None
        root = base = src
        images = _scan(src / "images" if (src / "images").is_dir() else src)
        notes = {}
    if kpt_shape is not None:
        try:
            nkpt, ndim = (int(v) for v in kpt_shape)
            if ndim not in (2, 3) or nkpt < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise FormatError(
                yaml_path, f"kpt_shape must be [K, 2] or [K, 3], got {kpt_shape!r}"
            ) from None
        problem = keypoint_count_problem(nkpt)
        if problem:
            raise FormatError(yaml_path, f"kpt_shape: {problem}")
        kpt = (nkpt, ndim)
    else:
        kpt = None

    sidecar = _load_sidecar(base)
    items, seen, keys = [], set(), set()
    for image in images:
        label = _label_path(image)
        ident = str(label.resolve()) if label.exists() else str(image.resolve())
        if ident in seen:  # the same image listed by two splits (e.g. val pointing at train)
            continue
        seen.add(ident)
        item = _read_item(image, label, names, kpt, base, sidecar, keys, allow_outside)
        if image in notes:
            item["issues"].insert(0, notes[image])
        items.append(item)
    return list(names), items


def _find_yaml(src: Path) -> Path | None:
    if src.is_file():
        if src.suffix.lower() not in (".yaml", ".yml"):
            raise FormatError(src, "expected a dataset folder or its data.yaml")
        return src
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (src / name).is_file():
            return src / name
    found = sorted(src.glob("*.yaml")) + sorted(src.glob("*.yml"))
    return found[0] if len(found) == 1 else None


def _load_yaml(path: Path) -> dict:
    import yaml

    check_file_size(path, item=True)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise FormatError(path, f"not valid YAML ({getattr(e, 'problem', e)})", line) from None
    if not isinstance(data, dict) or "names" not in data:
        raise FormatError(path, "a YOLO data.yaml needs 'names' (the class list)")
    return data


def _dataset_root(yaml_path: Path, data: dict, allowed) -> Path:
    p = data.get("path")
    if not p:
        return yaml_path.parent
    p = Path(str(p)).expanduser()
    if not p.is_absolute():
        p = yaml_path.parent / p
    if not p.is_dir():
        return yaml_path.parent  # a dataset moved since it was written
    if allowed is not None and not inside(p, allowed):
        raise FormatError(
            yaml_path,
            f"path: {data.get('path')!r} leads out of {yaml_path.parent}; remove 'path:' "
            "(the folder of data.yaml is the default), or pass allow_outside=True if you "
            "trust the file",
        )
    return p


def _names(raw, path: Path) -> list[str]:
    if isinstance(raw, (dict, list)):
        values = raw.values() if isinstance(raw, dict) else raw
        for v in values:
            # a YAML alias can nest a list in itself a thousand times over: names are scalars
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise FormatError(
                    path, f"names must be class names (text), got a {type(v).__name__}"
                )  # not its repr: an alias bomb's repr alone would take minutes
            problem = label_problem(str(v), "class name")
            if problem:
                raise FormatError(path, f"names: {problem}")
    if isinstance(raw, dict):
        try:
            ids = sorted(int(k) for k in raw)
        except (TypeError, ValueError):
            raise FormatError(
                path, f"names keys must be class ids 0..N-1, got {list(raw)}"
            ) from None
        if ids != list(range(len(ids))):
            moves = ", ".join(f"{old} -> {new}" for new, old in enumerate(ids) if old != new)
            raise FormatError(
                path,
                f"names ids must run 0..{len(ids) - 1} without gaps (ultralytics requires it "
                f"too), got {ids}. Renumber the classes: change the ids {moves} in 'names' "
                "and in the first column of every label file",
            )
        lookup = {int(k): v for k, v in raw.items()}
        return [str(lookup[i]) for i in ids]
    if isinstance(raw, list):
        return [str(n) for n in raw]
    raise FormatError(path, f"names must be a list or a {{id: name}} mapping, got {raw!r}")


def _names_from_txt(src: Path) -> list[str]:
    for name in ("classes.txt", "obj.names", "labels/classes.txt"):
        p = src / name
        if p.is_file():
            return [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    raise FileNotFoundError(
        f"{src}: no data.yaml (or classes.txt / obj.names) with the class names; "
        "a YOLO dataset needs one"
    )


def _scan(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: natural_key(str(p.relative_to(folder))))


def _split_images(root: Path, data: dict, yaml_path: Path, allowed) -> tuple[list[Path], dict]:
    """Images of every split, and an issue for each image of a split found under another name."""
    if not any(data.get(k) for k in ("train", "val", "test")):
        raise FormatError(
            yaml_path,
            "names no 'train' or 'val' images (ultralytics needs both); add e.g. "
            "'train: images/train' and 'val: images/val'",
        )
    images: list[Path] = []
    notes: dict[Path, str] = {}
    for split in ("train", "val", "test"):
        entries = data.get(split)
        if not entries:
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            p, note = _split_path(root, str(entry), split, yaml_path)
            if allowed is not None and not inside(p, allowed):
                raise FormatError(
                    yaml_path,
                    f"{split}: {entry!r} leads out of the dataset folder {yaml_path.parent} "
                    f"(to {p}); move the images inside it, or pass allow_outside=True if you "
                    "trust the file",
                )
            if p.is_dir():
                found = _scan(p)
            elif p.is_file() and p.suffix == ".txt":
                found = _list_file(p, root)
                outside = [q for q in found if allowed is not None and not inside(q, allowed)]
                if outside:
                    raise FormatError(
                        p,
                        f"{len(outside)} image(s) listed lie outside the dataset folder "
                        f"{yaml_path.parent} (first: {outside[0]}); list images inside it, or "
                        "pass allow_outside=True if you trust the file",
                    )
            else:
                raise FormatError(
                    yaml_path,
                    f"{split}: {entry!r} is neither a folder nor a .txt "
                    f"list of images (looked for {p})",
                )
            images.extend(found)
            if note:
                notes.update(dict.fromkeys(found, note))
    return images, notes


# Split folder names that Roboflow (``valid``) and other tools (``val``) use for each other.
_SPLIT_ALIASES = {"valid": "val", "val": "valid", "validation": "val"}


def _split_path(root: Path, entry: str, split: str, yaml_path: Path) -> tuple[Path, str | None]:
    # ultralytics' rule (check_det_dataset): relative to the dataset root; an entry starting
    # with "../" that does not exist there is tried again without it. That is how a Roboflow
    # download's "train: ../train/images" finds the train/ folder beside data.yaml.
    q = Path(entry).expanduser()
    if q.is_absolute():
        p = q
    else:
        p = (root / q).resolve()
        if not p.exists() and entry.startswith("../"):
            p = (root / entry[3:]).resolve()
    if p.exists():
        return p, None
    # A split folder renamed between tools (valid/ vs val/) is read, and every image of it
    # says so: ultralytics itself will not find it until data.yaml is fixed.
    parts = list(p.parts)
    for i in range(len(parts) - 1, -1, -1):
        alias = _SPLIT_ALIASES.get(parts[i])
        if alias is not None:
            alt = Path(*parts[:i], alias, *parts[i + 1 :])
            if alt.exists():
                note = (
                    f"{yaml_path.name} {split}: {entry!r} does not exist; read {alt} instead. "
                    f"ultralytics will not find it: set '{split}:' in data.yaml to that folder"
                )
                return alt, note
    return p, None


def _list_file(p: Path, root: Path) -> list[Path]:
    check_file_size(p)
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        q = Path(line)
        if not q.is_absolute():
            q = (p.parent / q) if (p.parent / q).exists() else root / q
        out.append(q)
    return out


def _label_path(image: Path) -> Path:
    # ultralytics' rule: the last "images" folder in the path becomes "labels".
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")  # darknet style: labels next to images


def _load_sidecar(base: Path) -> dict:
    p = base / SIDECAR
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return data.get("files", {}) if isinstance(data, dict) else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # the sidecar only adds scores; a broken one must not block the labels


def _read_item(
    image, label, names, kpt, base: Path, sidecar: dict, keys: set, allow_outside: bool
) -> dict:
    issues: list[str] = []
    try:
        rel = label.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        rel = None
    meta = sidecar.get(rel) if rel else None
    meta = meta if isinstance(meta, dict) else {}
    original = Path(meta["image"]) if isinstance(meta.get("image"), str) else None
    if original is not None and not (allow_outside or _same_file(original, image)):
        original = None  # the sidecar may only name the file the dataset's own link shows
    shown = original if original is not None and original.is_file() else image.resolve()
    w, h = real_size(shown, (meta.get("width"), meta.get("height")), str(label), issues)
    key = meta.get("key", image.stem)
    if key in keys:
        key = f"{image.parent.name}/{image.stem}"  # same stem in two splits
    keys.add(key)
    item = {
        "image": str(shown),
        "width": w,
        "height": h,
        "annotations": [],
        "issues": issues,
        "key": key,
    }
    if not label.is_file():
        # ultralytics trains on it as background, but no file says anyone looked: unlabeled
        return item
    problem = item_file_problem(label)
    if problem:
        issues.append(problem)
        return item
    if not (w and h):
        issues.append(f"{label}: labels not read because the image size is unknown")
        return item
    objects = meta.get("objects") if isinstance(meta.get("objects"), list) else None
    lines = [ln for ln in label.read_text(encoding="utf-8-sig").splitlines()]
    n_used = sum(1 for ln in lines if ln.strip())
    if n_used == 0 and meta.get("status") != "unlabeled":
        item["negative"] = True  # an empty label file: someone said "nothing here"
    if objects is not None and len(objects) != n_used:
        issues.append(
            f"{label}: {SIDECAR} lists {len(objects)} objects but the file has "
            f"{n_used} lines (edited since export?); scores not restored"
        )
        objects = None
    k = -1
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        k += 1
        where = f"{label.name}:{lineno}"
        raw = _parse_line(line, names, kpt, w, h, where, issues)
        if raw is None:
            continue
        if objects is not None and isinstance(objects[k], dict):
            for key_, value in objects[k].items():
                if key_ not in ("label", "bbox", "points", "keypoints") or key_ not in raw:
                    raw[key_] = value  # the line's own geometry wins over the sidecar
        rec = make_record(raw, w, h, where, issues)
        if rec is not None:
            item["annotations"].append(rec)
    for n, raw in enumerate(meta.get("crowd") or [], start=1):
        if isinstance(raw, dict):
            rec = make_record(raw, w, h, f"{SIDECAR} crowd region {n}", issues)
            if rec is not None:
                item["annotations"].append(rec)
    return item


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _parse_line(line, names, kpt, w, h, where, issues) -> dict | None:
    try:
        vals = [float(v) for v in line.split()]
    except ValueError:
        issues.append(f"{where}: {line.strip()[:60]!r} is not a row of numbers; left out")
        return None
    cls = vals[0]
    if not math.isfinite(cls) or cls != int(cls) or not 0 <= cls < len(names):
        issues.append(
            f"{where}: class id {vals[0]:g} is not in names (0..{len(names) - 1}); object left out"
        )
        return None
    label = names[int(cls)]
    n = len(vals)
    if kpt is not None:
        nkpt, ndim = kpt
        if n != 5 + nkpt * ndim:
            issues.append(
                f"{where}: {n} columns, expected {5 + nkpt * ndim} for kpt_shape "
                f"[{nkpt}, {ndim}]; object left out"
            )
            return None
        cx, cy, bw, bh = vals[1:5]
        kps = []
        for i in range(nkpt):
            x, y = vals[5 + i * ndim], vals[6 + i * ndim]
            v = int(round(vals[7 + i * ndim])) if ndim == 3 else (0 if x == y == 0 else 2)
            kps.append([x * w, y * h, v] if v else [0.0, 0.0, 0])
        rec = {"label": label, "bbox": _xyxy(cx, cy, bw, bh, w, h)}
        if any(k[2] for k in kps):
            rec["keypoints"] = kps
        return rec
    if n == 5:
        return {"label": label, "bbox": _xyxy(*vals[1:5], w, h)}
    if n >= 7 and n % 2 == 1:
        pts = [[vals[i] * w, vals[i + 1] * h] for i in range(1, n, 2)]
        return {"label": label, "points": pts}
    issues.append(f"{where}: {n} columns is neither a box (5) nor a polygon (odd, >= 7); left out")
    return None


def _xyxy(cx, cy, bw, bh, w, h) -> list[float]:
    return [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]


# -- writing -------------------------------------------------------------------------------------


def write_yolo(
    rows: Iterable[dict],
    classes: Sequence[str],
    out_dir: str | os.PathLike,
    task: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    *,
    keypoint_names: Sequence[str] | None = None,
    include_unlabeled: bool = False,
) -> Path:
    """Write a YOLO dataset that ``ultralytics`` trains on as it is.

    Layout: ``images/train|val`` (links to the original images), ``labels/train|val``,
    ``data.yaml`` (absolute ``path``, ``names``, ``kpt_shape`` for pose) and ``nblabel.json``
    (scores, sources, keys and original image paths). The dataset is built in a temporary
    sibling folder and swapped with ``out_dir`` when complete, so a killed export leaves the
    earlier one whole. Files an earlier export wrote and this one does not are gone (no
    stale labels after deleting rows); files someone else put into ``out_dir`` are kept.
    A non-empty ``out_dir`` that no export wrote is refused.

    Args:
        rows: dicts with ``key``, ``image``, ``width``, ``height``, ``annotations``.
        classes: class names; ids are positions in this list.
        out_dir: folder to write into (created when missing).
        task: ``"detect"``, ``"segment"`` or ``"pose"``. Default: ``"pose"`` when any record
            has keypoints, ``"segment"`` when any has a polygon, else ``"detect"``. Boxes
            without a polygon are written as 4-corner polygons for ``segment``, and objects
            of several parts (multi-part polygons, masks) as one outline through all parts;
            objects without keypoints get absent (``0 0 0``) points for ``pose``. Crowd
            regions (``iscrowd``) are not written as objects to train on; ``nblabel.json``
            keeps them, so :func:`read_yolo` restores them.
        val_fraction: share of images put in ``val`` (at least one when there are two or
            more images and the fraction is above 0). With no val image, ``val`` is ``train``.
        seed: seed of the train/val shuffle, so the split is the same on every export.
        keypoint_names: names of the keypoints; with left/right pairs (``left_eye`` ...),
            ``flip_idx`` is written so ultralytics can flip pose images while training.
        include_unlabeled: also write rows whose ``status`` is ``"unlabeled"`` (as background
            images). Off by default: nobody has said those images are empty.

    Returns:
        The path of ``data.yaml``, ready for ``YOLO(...).train(data=...)``.

    Example:
        >>> data = write_yolo(rows, ["raccoon"], "export/yolo")

        Training on it takes minutes, so this line does not run with the examples:

        >>> YOLO("yolo11n.pt").train(data=data, epochs=10)  # doctest: +SKIP
    """
    classes = check_classes(classes)
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    rows = list(rows)
    prepared = prepare_rows(rows, classes, include_unlabeled)
    if not prepared:
        # ultralytics fails on an empty train folder with a message far from the cause
        raise ValueError(
            f"nothing to export: {len(rows)} row(s), none labeled; label some images first "
            "(or pass include_unlabeled=True to write them as background images)"
        )
    records = [r for row in prepared for r in row["annotations"]]
    if task is None:
        if any(r.get("keypoints") for r in records):
            task = "pose"
        elif any(r.get("points") for r in records):
            task = "segment"
        else:
            task = "detect"
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    nkpt = _keypoint_count(prepared) if task == "pose" else 0
    if task == "pose" and not nkpt:
        raise ValueError("task='pose' but no record has keypoints; use task='detect'")
    for row in prepared:
        if not Path(row["image"]).is_file():
            raise ValueError(
                f"row {row['key']!r}: image {row['image']} not found; fix the path "
                "or drop the row before exporting"
            )
        if Path(row["image"]).suffix.lower() not in IMAGE_EXTENSIONS:
            # the export links the file in: only images may travel (never /etc/passwd)
            raise ValueError(
                f"row {row['key']!r}: {row['image']} is not an image file (extensions "
                f"{sorted(IMAGE_EXTENSIONS)}); drop the row before exporting"
            )

    out = Path(out_dir).expanduser().resolve()
    order = list(range(len(prepared)))
    random.Random(seed).shuffle(order)
    n_val = round(len(order) * float(val_fraction))
    if val_fraction > 0 and len(order) >= 2:
        n_val = min(max(n_val, 1), len(order) - 1)
    val_rows = set(order[:n_val])

    # Built whole in a temporary sibling and swapped into place (see _atomic): a killed
    # re-export leaves the earlier dataset, never a mix of old and new label files. What an
    # earlier export wrote and this one does not (deleted rows, renamed images) is dropped,
    # and so are ultralytics' label caches, which would describe the old files.
    previous = _previous_outputs(out) | {f"labels/{s}.cache" for s in ("train", "val")}
    import yaml

    with folder_export(out, previous=previous, markers=(SIDECAR,)) as tmp:
        written: dict[str, dict] = {}
        used: set[str] = set()
        for i, row in enumerate(prepared):
            split = "val" if i in val_rows else "train"
            image = Path(row["image"])
            stem = unique_stem(image.stem, used)
            img_rel = f"images/{split}/{stem}{image.suffix.lower()}"
            lbl_rel = f"labels/{split}/{stem}.txt"
            (tmp / img_rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / lbl_rel).parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(image, tmp / img_rel)
            # crowd regions are not objects to learn (ultralytics' convert_coco leaves them
            # out too); the sidecar keeps them for the way back
            objects = [r for r in row["annotations"] if not _is_crowd(r)]
            crowd = [json_safe(r) for r in row["annotations"] if _is_crowd(r)]
            lines = [
                _line(r, classes.index(r["label"]), row["width"], row["height"], task, nkpt)
                for r in objects
            ]
            (tmp / lbl_rel).write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
            written[lbl_rel] = {
                "key": json_safe(row["key"]),
                "image": str(image.resolve()),
                "link": img_rel,
                "width": row["width"],
                "height": row["height"],
                "objects": [_object_meta(r, task) for r in objects],
            }
            if crowd:
                written[lbl_rel]["crowd"] = crowd
            if row.get("status") == "unlabeled":
                written[lbl_rel]["status"] = "unlabeled"

        data: dict = {
            "path": str(out),
            "train": "images/train",
            "val": "images/val" if n_val else "images/train",
            "names": dict(enumerate(classes)),
        }
        if task == "pose":
            data["kpt_shape"] = [nkpt, 3]
            names = _keypoint_names(nkpt, keypoint_names)
            flip = _flip_idx(names)
            if flip is not None:
                data["flip_idx"] = flip
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        (tmp / "data.yaml").write_text(text, encoding="utf-8")
        sidecar = {
            "format": "nblabel-yolo",
            "version": 1,
            "task": task,
            "names": classes,
            "files": written,
        }
        if task == "pose":
            sidecar["keypoint_names"] = _keypoint_names(nkpt, keypoint_names)
        (tmp / SIDECAR).write_text(json_text(sidecar, indent=1), encoding="utf-8")
    yaml_path = out / "data.yaml"
    return yaml_path


def _keypoint_count(rows: list[dict]) -> int:
    counts = {len(r["keypoints"]) for row in rows for r in row["annotations"] if r.get("keypoints")}
    if len(counts) > 1:
        raise ValueError(
            f"records have different keypoint counts {sorted(counts)}; a YOLO pose "
            "dataset needs one count (kpt_shape)"
        )
    return counts.pop() if counts else 0


def _previous_outputs(out: Path) -> set[str]:
    p = out / SIDECAR
    if not p.is_file():
        return set()
    try:
        files = json.loads(p.read_text(encoding="utf-8")).get("files", {})
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return set()
    prev = set()
    for rel, meta in files.items():
        # only paths inside out/images or out/labels: a tampered sidecar must not delete more
        for r in (rel, meta.get("link") if isinstance(meta, dict) else None):
            if isinstance(r, str) and r.split("/")[0] in ("images", "labels") and ".." not in r:
                prev.add(r)
    return prev


def _fmt(v: float) -> str:
    return f"{min(max(v, 0.0), 1.0):.6f}"


def _line(rec: dict, cls: int, w: int, h: int, task: str, nkpt: int) -> str:
    x1, y1, x2, y2 = rec["bbox"]
    box = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
    if task == "segment":
        # every part of the object, so the box ultralytics derives from it is the object's
        pts = one_outline(rec) or [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        return " ".join([str(cls)] + [_fmt(v) for x, y in pts for v in (x / w, y / h)])
    if task == "pose":
        kps = rec.get("keypoints") or [[0.0, 0.0, 0]] * nkpt
        cols = []
        for x, y, v in kps:
            cols += [_fmt(x / w), _fmt(y / h), str(int(v))] if v else ["0", "0", "0"]
        return " ".join([str(cls)] + [_fmt(v) for v in box] + cols)
    return " ".join([str(cls)] + [_fmt(v) for v in box])


def _is_crowd(rec: dict) -> bool:
    return str(rec.get("iscrowd", 0)).lower() not in ("0", "false", "", "none")


def _object_meta(rec: dict, task: str) -> dict:
    meta = {"score": rec.get("score"), "source": rec.get("source")}
    meta.update(json_safe(extras(rec)))
    # what this task's lines cannot hold (a pose line has no outline, a detect line neither
    # outline nor points) rides in the sidecar, so reading the export back loses nothing
    if rec.get("points") and task != "segment":
        meta["points"] = json_safe(rec["points"])
    if rec.get("keypoints") and task != "pose":
        meta["keypoints"] = json_safe(rec["keypoints"])
    return meta


def _flip_idx(names: Sequence[str]) -> list[int] | None:
    # A horizontal flip swaps each left_* point with its right_* twin.
    index = {n: i for i, n in enumerate(names)}
    flip, paired = [], False
    for i, n in enumerate(names):
        twin = None
        for a, b in (("left", "right"), ("right", "left")):
            if a in n:
                twin = index.get(n.replace(a, b))
        if twin is not None:
            paired = True
        flip.append(twin if twin is not None else i)
    return flip if paired else None
