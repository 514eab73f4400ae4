"""Dataset: a pandas DataFrame of images that is journaled to SQLite on every write.

The DataFrame (``ds.df``) is the view users analyse; the journal is the source of truth on
disk. Every write goes to the journal first, in one transaction, and only then to the
DataFrame, so a kernel that dies mid-session loses nothing that was written.

Other writers on the same file (a Dataset built again by a re-run cell, another kernel) are
expected: a write first takes SQLite's write lock, pulls every row others changed since this
object last looked (the journal's row revisions), and then changes only the fields it means
to change, starting from the row as the journal holds it. So two writers never erase each
other's work, and model output checked against "a person touched this row" is checked
against the file, not against this object's memory.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import re
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import frames
from .columns import CORE_COLUMNS, check_value, clean_row
from .core.edits import EDIT, PREDICT
from .core.sources import HUMAN
from .core.statuses import STATUSES
from .folders import image_sizes, list_folder
from .images import (
    image_folder,
    is_image_path,
    load_rgb,
    no_images_error,
    size_or_problem,
)
from .journal import Journal, decode_key, journaled_images
from .records import AnnotationError, image_confidence, normalize_record

__all__ = ["CORE_COLUMNS", "HUMAN", "STATUSES", "Dataset", "default_db_path"]

# The options of one annotate() write; anything else is a typo that must not pass silently
# (a misspelt "source" would otherwise write model output as a person's).
WRITE_OPTIONS = (
    "source",
    "status",
    "confidence",
    "seconds",
    "kind",
    "count_edit",
    "skip_human",
    "columns",
)
_WRITE_OPTION_SET = frozenset(WRITE_OPTIONS)
# Columns a write through annotate() owns; update() may not set them.
_ANNOTATE_ONLY = ("annotations",)
# The columns of its row a write of objects builds on (the skip_human rule, the image size
# that clips boxes, the totals it adds to)
_WRITE_READS = ("width", "height", "seconds", "edits", "status", "source")


def _db_path(db, source) -> Path:
    """The journal file an import writes: ``db`` when given, else the source's default."""
    return Path(db).expanduser() if db is not None else default_db_path(source or "dataset")


def default_db_path(source: str | os.PathLike) -> Path:
    """Where a dataset is journaled when no ``db=`` is given.

    One file per source under ``$NBLABEL_HOME`` (default ``~/.nblabel``), so running the same
    cell again resumes the same labels instead of starting over.
    """
    home = Path(os.environ.get("NBLABEL_HOME", Path.home() / ".nblabel")).expanduser()
    src = str(Path(source).expanduser().resolve()) if source else "dataset"
    slug = (
        re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(src).name or "dataset").strip("-")[:40] or "dataset"
    )
    digest = hashlib.sha1(src.encode()).hexdigest()[:8]
    return home / "datasets" / f"{slug}-{digest}.db"


def _base_row(image: str, width: int, height: int, issues: str | None) -> dict:
    return {
        "image": image,
        "width": int(width),
        "height": int(height),
        "annotations": [],
        "status": "unlabeled",
        "confidence": None,
        "source": None,
        "seconds": 0.0,
        "edits": 0,
        "issues": issues,
        "updated": None,
    }


def _join_issues(*parts: str | None) -> str | None:
    if len(parts) == 1:  # one issue or none, on nearly every row of an import
        return parts[0] or None
    text = "; ".join(p for p in parts if p)
    return text or None


class Dataset:
    """Images, their annotations and review state: a DataFrame backed by a SQLite journal.

    Build one with a ``from_*`` constructor or :meth:`open`; do not call ``Dataset()``.

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db", classes=["cat"])
        >>> ds.annotate("img1", [{"label": "cat", "bbox": [10, 20, 200, 220]}])
        >>> ds.df.loc["img1", "status"]
        'verified'
    """

    def __init__(self, journal: Journal, df: pd.DataFrame, classes: list[str], rev: int = 0):
        self._journal = journal
        self._lock = threading.RLock()
        self._df = df
        self._classes = list(classes)
        self._listeners: list[Callable[[Any], None]] = []
        self.import_report: list[str] = []
        self._rev = rev  # newest journal revision this object's DataFrame reflects
        self._status_counts: dict[str, int] | None = None  # counts(), kept by _set_row
        # unknown until the first sync, which asks the journal once: a commit made while
        # the rows were being read is pulled then, not missed
        self._data_version: int | None = None

    # The frame is written behind: a write keeps its new cells in ``_pending`` (by row
    # position) and they reach the frame in one pass the next time the whole table is read.
    # Setting cells one by one in pandas cost more than the SQLite commit of the write, and
    # most writes (a person's clicks, a model's batches) are never followed by a table read.
    @property
    def _df(self) -> pd.DataFrame:
        if self._pending:
            with self._lock:
                self._flush()
        return self._table

    @_df.setter
    def _df(self, df: pd.DataFrame) -> None:
        self._table = df
        self._pending: dict[int, dict] = {}
        self._arrays: dict = {}  # columns as arrays (see _column), kept until the frame changes

    def _stored(self, key, owner: bool) -> tuple[int, dict]:
        """The columns a write builds on (:data:`_WRITE_READS`), as the journal holds them
        now: inside a write transaction, after :meth:`_sync`, this object's rows are the
        journal's (every commit of another writer pulled, its own applied), so a write
        needs no read of its row. Read from the frame's arrays, not cell by cell through
        pandas, which cost more than the rest of the write. ``status`` and ``source`` (who
        wrote the row last) only when ``owner``: at a million rows each column read is a
        cache miss. Returns the row's position too."""
        try:
            pos = self._table.index.get_loc(key)
        except (KeyError, TypeError):
            self._check_key(key)
            raise
        columns = self._arrays.get(_WRITE_READS)
        if columns is None:
            columns = self._arrays[_WRITE_READS] = [self._column(c) for c in _WRITE_READS]
        width, height, seconds, edits, status, source = columns
        stored = {
            "width": int(width[pos]),
            "height": int(height[pos]),
            "seconds": float(seconds[pos]),
            "edits": int(edits[pos]),
        }
        if owner:
            source = source[pos]
            stored["status"] = str(status[pos])
            stored["source"] = source if isinstance(source, str) else None
        written = self._pending.get(pos)
        if written:  # written behind, not yet in the arrays
            for col in _WRITE_READS:
                if col in written:
                    stored[col] = written[col]
        return pos, stored

    def _flush(self) -> None:
        """Move the written-behind cells into the frame: column by column, as one array
        assignment where the values fit the column's type, else cell by cell (which widens
        a column whose type changed, like a write always did)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        self._arrays = {}  # the frame's columns change below, some as new arrays
        by_col: dict[str, tuple[list[int], list]] = {}
        for pos, changes in pending.items():
            for col, value in changes.items():
                ps, vs = by_col.setdefault(col, ([], []))
                ps.append(pos)
                vs.append(value)
        df = self._table
        for col, (ps, vs) in by_col.items():
            c, kind = self._column_kinds()[col]
            if len(ps) >= _BULK and _assign_column(df, c, kind, ps, vs):
                continue
            for pos, value in zip(ps, vs):
                self._set_cell(pos, col, value)

    def _cell(self, pos: int, col: str):
        """One cell as written: a write still waiting beside the frame, else the frame's."""
        written = self._pending.get(pos)
        if written is not None and col in written:
            return written[col]
        return self._column(col)[pos]

    def _column(self, col: str):
        """The frame's column as the array pandas holds it in (no copy), kept until a cell
        of it is set: ``iat`` cost more than a write's commit. A set cell may move the whole
        column to a new array (pandas copies on write while anything else shares it), so
        :meth:`_set_cell` and :meth:`_flush` drop what is kept."""
        values = self._arrays.get(col)
        if values is None:
            c = self._column_kinds()[col][0]
            get = getattr(self._table, "_get_column_array", None)  # O(1): the block's own
            values = get(c) if get is not None else self._table.iloc[:, c].array
            self._arrays[col] = values
        return values

    def _set_cell(self, pos: int, col: str, value) -> None:
        df = self._table
        if self._arrays:
            self._arrays = {}
        c, _ = self._column_kinds()[col]
        try:
            df.iat[pos, c] = value
        except (TypeError, ValueError):
            # a user column changing type (7 -> "seven"): widen it rather than keep the
            # journal and the DataFrame disagreeing
            df[col] = df[col].astype(object)
            c, _ = self._column_kinds(fresh=True)[col]
            df.iat[pos, c] = value

    # -- construction -------------------------------------------------------------------
    @classmethod
    def _create(
        cls,
        items: Sequence[dict],
        *,
        db,
        source: str | os.PathLike | None,
        classes: Sequence[str] = (),
        overwrite: bool = False,
        durability: str = "normal",
        report: Sequence[str] = (),
        plain: bool = False,
    ) -> Dataset:
        """Journal ``items`` (dicts with image/width/height/annotations/issues/key + extras).

        ``plain``: the items hold only JSON's own types, so what the journal would give back
        is what they are, and a new journal's DataFrame is built from them directly instead
        of being read back (a folder import of a million images saves the second pass).
        """
        explicit_db = db is not None
        path = _db_path(db, source)
        if overwrite and path.exists():
            for suffix in ("", "-wal", "-shm", frames.SUFFIX):
                Path(str(path) + suffix).unlink(missing_ok=True)
        classes = _class_list(classes)
        journal = Journal(path, durability=durability)
        # One transaction from reading what the journal knows to adding what it does not, so
        # two kernels importing into one file at once cannot add the same image twice.
        with journal.transaction():
            rows, known = cls._new_rows(journal, items, classes, source)
            added = len(rows)
            rev = journal.add_rows(rows, {"source": str(source), "n_objects": added})
        if plain and not known:
            problems: list[str] = []
            with _gc_paused():
                df = _frame_of((k, _view_row(k, d, problems)) for k, d in _drained(rows))
            ds = cls._from_frame(journal, df, rev, problems)
            ds._save_frame(problems)
        else:
            del rows  # freed before the DataFrame is read back: a million dicts are gigabytes
            # nothing added (an import cell run again): the saved frame serves as on open
            ds = (not added and cls._from_saved_frame(journal)) or cls._from_journal(journal)
        ds.import_report = list(report) + ds.import_report
        if known:
            ds.import_report.append(
                f"resumed {known} journaled rows from {path}; added {added} new"
            )
        if not explicit_db:
            ds.import_report.append(f"journaling to {path} (pass db= to choose the file)")
        for line in ds.import_report:
            print(f"nblabel: {line}")
        return ds

    @staticmethod
    def _new_rows(journal: Journal, items, classes, source):
        """Inside the import transaction: the rows to add and how many the journal had."""
        known_rows = journal.row_images()
        # A journal already holds this dataset: keep every label in it and only add the
        # images it does not know yet, so re-running an import cell never loses work.
        known_classes = journal.get_meta("classes", []) or []
        known_images = {image for _, image in known_rows if image is not None}
        known_keys = {k for k, _ in known_rows}
        all_classes = list(known_classes)
        for c in classes:
            if c not in all_classes:
                all_classes.append(c)
        journal.set_meta("classes", all_classes)
        if journal.get_meta("created") is None:
            journal.set_meta("created", time.time())
            journal.set_meta("source", str(source) if source is not None else None)

        rows: list[tuple[Any, dict]] = []
        used = set(known_keys)
        for item in items:
            if item["image"] in known_images:
                continue
            key = item.get("key")
            if key is None:
                key = Path(item["image"]).stem
            key = _unique_key(key, used)
            used.add(key)
            row = _base_row(
                item["image"],
                item.get("width", 0),
                item.get("height", 0),
                _join_issues(*(item.get("issues") or [])),
            )
            anns = item.get("annotations") or []
            if anns:
                row["annotations"] = anns
                human = all((a.get("source") or HUMAN) == HUMAN for a in anns)
                row["status"] = "verified" if human else "predicted"
                row["source"] = HUMAN if human else anns[0].get("source")
                row["confidence"] = None if human else image_confidence(anns)
            elif item.get("negative"):
                # The file says someone looked and found nothing: a verified "nothing here",
                # which every export writes as an image without objects.
                row["status"] = "verified"
                row["source"] = HUMAN
            for k, v in item.items():
                if k not in (
                    "key",
                    "issues",
                    "annotations",
                    "image",
                    "width",
                    "height",
                    "negative",
                ):
                    row[k] = v
            rows.append((key, row))
        return rows, len(known_rows)

    @classmethod
    def _from_journal(cls, journal: Journal) -> Dataset:
        problems: list[str] = []
        revs = [0]

        def rows():
            # one row decoded at a time: a million rows never exist as a million dicts
            for k, d, r in journal.scan():
                if r > revs[0]:
                    revs[0] = r
                yield k, _view_row(k, d, problems)

        with _gc_paused():
            df = _frame_of(rows())
        ds = cls._from_frame(journal, df, revs[0], problems)
        ds._save_frame(problems)
        return ds

    @classmethod
    def _from_saved_frame(cls, journal: Journal) -> Dataset | None:
        """The Dataset from the frame saved beside the journal and the rows written since,
        or None when there is no frame for this journal's history (see nblabel.frames)."""
        path = frames.path_for(journal.path)
        if not path.exists():
            return None
        with _gc_paused():
            loaded = frames.load(path, journal.journal_id)
        if loaded is None:
            return None
        df, info = loaded
        rev = info.get("rev")
        if not isinstance(rev, int) or journal.event_mark(rev) != info.get("mark"):
            return None
        since, imported = journal.events_after(rev)
        if imported or since > len(df) // 2:
            return None  # rows an import added, or so many writes that reading rows is cheaper
        ds = cls._from_frame(journal, df, rev, [])
        with ds._lock:
            ds._sync()  # the rows written since the frame was saved
        if since > frames.STALE_SHARE * len(df):
            ds._save_frame([])
        return ds

    def _save_frame(self, problems: list) -> None:
        """Keep this Dataset's frame beside a large journal for the next open. Not when some
        journaled values were invalid: the warning that lists them comes from reading rows."""
        if len(self._table) < frames.MIN_ROWS or problems:
            return
        with self._lock:
            df = self._df
            mark = self._journal.event_mark(self._rev)
            if mark is not None:
                info = {"journal_id": self._journal.journal_id, "rev": self._rev, "mark": mark}
                frames.save(frames.path_for(self._journal.path), df, info)

    @classmethod
    def _from_frame(cls, journal: Journal, df: pd.DataFrame, rev: int, problems: list) -> Dataset:
        ds = cls(journal, df, _class_list(journal.get_meta("classes", []) or []), rev)
        if len(df):
            # pandas builds an index's key table on the first lookup (a quarter of a second
            # at a million keys): here, rather than in the person's first click
            _ = df.index[0] in df.index
        if problems:
            # a bad value must never lock the user out of their labels: open, and say where
            ds.import_report = [
                f"{len(problems)} journaled value(s) are invalid and shown as defaults; see "
                f"ds.df['issues']: "
                + "; ".join(problems[:3])
                + (" ..." if len(problems) > 3 else "")
            ]
            warnings.warn(f"nblabel: {journal.path}: {ds.import_report[0]}", stacklevel=3)
        return ds

    @classmethod
    def open(cls, db: str | os.PathLike, durability: str = "normal") -> Dataset:
        """Reopen a journaled dataset, e.g. after a kernel restart or crash.

        A journal of many rows (``nblabel.frames.MIN_ROWS``) keeps a copy of its DataFrame
        beside it (``<db>-frame``), read back in a fraction of the time its rows take to
        decode; the rows written since are read from the journal, which stays the record.
        Deleting the copy only makes the next open slower.

        Example:
            >>> _ = nbl.Dataset.from_folder("images/", db="labels.db")  # then the kernel dies
            >>> ds = nbl.Dataset.open("labels.db")
            >>> list(ds.df.index)
            ['img1', 'img2']
        """
        path = Path(db).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such database; build one with Dataset.from_folder")
        journal = Journal(path, durability=durability, create=False)
        return cls._from_saved_frame(journal) or cls._from_journal(journal)

    @classmethod
    def from_folder(
        cls,
        folder: str | os.PathLike,
        db: str | os.PathLike | None = None,
        *,
        classes: Sequence[str] = (),
        recursive: bool = True,
        overwrite: bool = False,
        durability: str = "normal",
    ) -> Dataset:
        """One row per image file under ``folder``.

        Files that are not images by extension are listed in ``ds.import_report`` (not
        silently dropped); image files that cannot be read become rows whose ``issues``
        column says why, so they can be found and fixed. Rows follow the file names in
        natural order (``img2`` before ``img10``), folder by folder.

        Raises:
            FileNotFoundError: no such folder (the message shows its absolute path and the
                working directory).
            NotADirectoryError: ``folder`` is a file.
            ValueError: the folder holds no image file (the message lists the extensions
                looked for). An empty Dataset is made with
                ``Dataset.from_dataframe(pd.DataFrame({"path": []}), db=...)``.

        Example:
            >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
        """
        root = image_folder(folder)
        with _gc_paused():
            return cls._import_folder(root, db, classes, recursive, overwrite, durability)

    @classmethod
    def _import_folder(cls, root: Path, db, classes, recursive, overwrite, durability):
        listing = list_folder(root, recursive)
        other, odd = [Path(o) for o in listing.other], [Path(o) for o in listing.odd]
        if not listing.images:
            # checked before any journal is made: a wrong folder leaves nothing behind
            nested = 0 if recursive else sum(1 for q in root.rglob("*") if is_image_path(q))
            raise no_images_error(root, recursive, other, nested)
        prefix = len(os.path.join(os.fspath(root), ""))
        # an import run again reads the headers of the new images only: the journal keeps
        # the others' (a million headers are most of a re-run's time)
        known = set() if overwrite else journaled_images(_db_path(db, root))
        todo = [p for p in listing.images if p not in known] if known else listing.images
        # (width, height, problem) per image: three values, not a dict, held per row until
        # the journal has them
        sizes = image_sizes(todo)
        items = (
            {
                "image": path,
                "width": w,
                "height": h,
                "issues": [problem] if problem else [],
                "key": os.path.splitext(path[prefix:])[0].replace(os.sep, "/"),
            }
            for path, (w, h, problem) in zip(todo, sizes)
        )
        report = []
        if other:
            names = ", ".join(o.name for o in other[:5]) + (" ..." if len(other) > 5 else "")
            report.append(f"ignored {len(other)} non-image file(s): {names}")
        if odd:
            names = ", ".join(_odd_entry(o) for o in odd[:5]) + (" ..." if len(odd) > 5 else "")
            report.append(f"ignored {len(odd)} entr(ies) that are not image files: {names}")
        bad = sum(1 for _, _, problem in sizes if problem)
        if bad:
            report.append(f"{bad} image(s) could not be read; see ds.df['issues']")
        return cls._create(
            items,
            db=db,
            source=root,
            classes=classes,
            overwrite=overwrite,
            durability=durability,
            report=report,
            plain=True,  # paths, sizes and problems: JSON's own types
        )

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        image_col: str = "path",
        db: str | os.PathLike | None = None,
        *,
        annotations_col: str | None = None,
        classes: Sequence[str] = (),
        overwrite: bool = False,
        durability: str = "normal",
    ) -> Dataset:
        """Rows of ``df`` become images; the index labels become the keys; other columns stay.

        Example:
            >>> df = pd.DataFrame({"path": ["a.jpg", "b.jpg"]}, index=["a", "b"])
            >>> ds = nbl.Dataset.from_dataframe(df, image_col="path", db="x.db")
        """
        if image_col not in df.columns:
            raise KeyError(
                f"column {image_col!r} not in the DataFrame; columns: {list(df.columns)}"
            )
        dup_index = df.index[df.index.duplicated()].unique().tolist()
        if dup_index:
            raise ValueError(
                f"the DataFrame index must be unique; repeated labels: {dup_index[:10]}"
            )
        seen: dict[str, Any] = {}
        items, all_classes = [], list(classes)
        for key, rec in zip(df.index, df.to_dict("records")):
            path = str(rec.pop(image_col))
            item = _sized(str(Path(path)))
            item["image"] = path  # keep the user's spelling of the path
            item["key"] = key.item() if hasattr(key, "item") else key
            resolved = str(Path(path).resolve())
            if resolved in seen:
                item["issues"].append(f"duplicate image: same file as row {seen[resolved]!r}")
            seen.setdefault(resolved, key)
            if annotations_col:
                raw = rec.pop(annotations_col) or []
                anns = []
                for a in raw:
                    try:
                        anns.append(
                            normalize_record(
                                a, width=item["width"] or None, height=item["height"] or None
                            )
                        )
                    except AnnotationError as e:
                        item["issues"].append(f"annotation dropped: {e}")
                for a in anns:
                    if a["label"] not in all_classes:
                        all_classes.append(a["label"])
                item["annotations"] = anns
            item.update(rec)
            items.append(item)
        return cls._create(
            items,
            db=db,
            # the same list of images maps to the same default database, so a re-run resumes
            source=db
            or "dataframe-"
            + hashlib.sha1("\n".join(map(str, df[image_col])).encode()).hexdigest()[:12],
            classes=all_classes,
            overwrite=overwrite,
            durability=durability,
        )

    @classmethod
    def _from_reader(cls, reader, args, db, source, overwrite, durability, classes=()) -> Dataset:
        found, items = reader(*args)
        merged = list(classes) + [c for c in found if c not in classes]
        bad = sum(1 for i in items if i.get("issues"))
        report = [f"{bad} row(s) have issues; see ds.df['issues']"] if bad else []
        return cls._create(
            items,
            db=db,
            source=source,
            classes=merged,
            overwrite=overwrite,
            durability=durability,
            report=report,
        )

    @classmethod
    def from_voc(
        cls, annotations, images=None, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """Pascal VOC XML files (one per image).

        Example:
            >>> ds = nbl.Dataset.from_voc("raccoon/annotations", images="raccoon/images",
            ...                           db="labels.db")
        """
        from .formats.voc import read_voc

        return cls._from_reader(
            read_voc, (annotations, images), db, annotations, overwrite, durability, classes
        )

    @classmethod
    def from_coco(
        cls, path, images=None, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """A COCO instances JSON file (boxes, polygons, keypoints).

        The file's category ids are kept in the journal, so :meth:`to_coco` writes them back.

        Example:
            >>> ds = nbl.Dataset.from_coco("instances_val2017.json", images="val2017/",
            ...                            db="labels.db")  # doctest: +SKIP
        """
        from .formats.coco import read_coco

        meta: dict = {}

        def reader(*args):
            return read_coco(*args, meta=meta)

        ds = cls._from_reader(reader, (path, images), db, path, overwrite, durability, classes)
        known = ds._journal.get_meta("coco_category_ids", {}) or {}
        taken = set(known.values())
        for name, cid in meta.get("category_ids", {}).items():
            if not isinstance(cid, int) or isinstance(cid, bool):
                continue  # COCO tools need int ids; the export numbers such classes anew
            if name not in known and cid not in taken:  # a resumed journal keeps its ids
                known[name] = cid
                taken.add(cid)
        ds._journal.set_meta("coco_category_ids", known)
        return ds

    @classmethod
    def from_yolo(
        cls, path, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """A YOLO dataset folder (``data.yaml``, ``images/``, ``labels/``)."""
        from .formats.yolo import read_yolo

        return cls._from_reader(read_yolo, (path,), db, path, overwrite, durability, classes)

    @classmethod
    def from_labelstudio(
        cls, path, images=None, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """A Label Studio JSON export / import file (tasks with annotations and predictions)."""
        from .formats.labelstudio import read_labelstudio

        return cls._from_reader(
            read_labelstudio, (path, images), db, path, overwrite, durability, classes
        )

    @classmethod
    def from_cvat(
        cls, path, images=None, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """A CVAT for images 1.1 XML export (boxes, polygons, points, attributes).

        Example:
            >>> ds = nbl.Dataset.from_cvat("annotations.xml", images="images/",
            ...                            db="labels.db")  # doctest: +SKIP
        """
        from .formats.cvat import read_cvat

        return cls._from_reader(read_cvat, (path, images), db, path, overwrite, durability, classes)

    @classmethod
    def from_labelme(
        cls, folder, images=None, db=None, *, classes=(), overwrite=False, durability="normal"
    ) -> Dataset:
        """A folder of LabelMe JSON files (rectangles, polygons, points).

        Example:
            >>> ds = nbl.Dataset.from_labelme("labelme_dir/", db="labels.db")  # doctest: +SKIP
        """
        from .formats.labelme import read_labelme

        return cls._from_reader(
            read_labelme, (folder, images), db, folder, overwrite, durability, classes
        )

    @classmethod
    def from_video(
        cls,
        path,
        every: int = 5,
        db=None,
        *,
        frames_dir=None,
        max_frames=None,
        progress=True,
        overwrite=False,
        durability="normal",
        classes=(),
    ) -> Dataset:
        """One row per kept frame (every ``every``-th) with ``frame`` and ``timestamp`` columns.

        Objects on frames may carry a ``track`` id (see :mod:`nblabel.tracks`).

        Frames are written as JPEG files next to the database (or to ``frames_dir``).

        Example:
            >>> ds = nbl.Dataset.from_video("clip.mp4", every=5, db="clip.db")
        """
        from .video import extract_frames

        video = Path(path).expanduser()
        dbp = Path(db).expanduser() if db is not None else default_db_path(video)
        out = Path(frames_dir) if frames_dir else dbp.parent / f"{dbp.stem}_frames"
        frames = extract_frames(
            video, every=every, out_dir=out, max_frames=max_frames, progress=progress
        )
        items = [
            dict(f, key=f"{video.stem}-{f['frame']:06d}", issues=[], annotations=[]) for f in frames
        ]
        return cls._create(
            items,
            db=dbp,
            source=video,
            classes=classes,
            overwrite=overwrite,
            durability=durability,
        )

    # -- reading ------------------------------------------------------------------------
    @property
    def df(self) -> pd.DataFrame:
        """The live DataFrame, one row per image. Read it freely; write through
        :meth:`annotate` and :meth:`update` so every change is journaled.

        Each read brings in the writes made since the last one (they wait beside the frame,
        so a write does not pay for pandas), and the changes other writers committed to the
        same journal file. Ask ``ds.df`` again after writing rather than keeping the frame
        of an earlier read.
        """
        self.refresh()
        return self._df

    def refresh(self) -> list:
        """Pull the rows other writers (another Dataset on this file, another kernel) have
        committed since this object last looked; returns their keys. Cheap when nothing
        changed (one ``PRAGMA data_version``); every write does it too.

        Example:
            >>> ds.refresh()  # doctest: +SKIP
            ['raccoon-7']
        """
        # a reader never waits behind a write queued on another process's lock: that write
        # pulls the changes itself
        if not self._lock.acquire(blocking=False):
            return []
        try:
            return self._sync()
        finally:
            self._lock.release()

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    @property
    def db_path(self) -> Path:
        return self._journal.path

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        counts = self._df["status"].value_counts().to_dict() if len(self._df) else {}
        states = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
        return (
            f"Dataset({len(self)} images, classes={self._classes}, {states or 'empty'}, "
            f"db='{self.db_path}')"
        )

    def keys(self) -> list:
        return list(self._table.index)

    def row(self, key) -> dict:
        """One row as a plain dict (a copy)."""
        self.refresh()
        self._check_key(key)
        with self._lock:
            df = self._table
            pos = df.index.get_loc(key)
            # cell by cell: building a Series of the row costs several times more, and the
            # loop reads the row of every image it writes
            d = {col: _native(df.iat[pos, i]) for i, col in enumerate(df.columns)}
            for col, value in self._pending.get(pos, {}).items():
                d[col] = _native(value)
        d["annotations"] = [dict(a) for a in d["annotations"] or []]
        return d

    def path(self, key) -> str:
        self._check_key(key)
        with self._lock:
            return self._cell(self._table.index.get_loc(key), "image")

    def image(self, key):
        """The image of ``key`` as an RGB ``uint8`` array (EXIF rotation applied)."""
        return load_rgb(self.path(key))

    def counts(self) -> dict[str, int]:
        """Number of images per status.

        Counted once, then kept up to date by every write: a status bar asks several times a
        second, and counting a million rows each time takes about 0.1 s.
        """
        with self._lock:
            if self._status_counts is None:
                vc = self._df["status"].value_counts().to_dict()
                self._status_counts = {s: int(vc.get(s, 0)) for s in STATUSES}
            return dict(self._status_counts)

    def objects(self) -> pd.DataFrame:
        """A long table: one row per object, for pandas analysis.

        Example:
            >>> ds.objects().groupby("label").size()
            label
            raccoon    3
            dtype: int64
        """
        out = []
        with self._lock:
            for key, image, status, anns in zip(
                self._df.index, self._df["image"], self._df["status"], self._df["annotations"]
            ):
                for i, a in enumerate(anns or []):
                    x1, y1, x2, y2 = a["bbox"]
                    out.append(
                        {
                            "key": key,
                            "object": i,
                            "image": image,
                            "label": a["label"],
                            "x1": x1,
                            "y1": y1,
                            "x2": x2,
                            "y2": y2,
                            "area": (x2 - x1) * (y2 - y1),
                            "score": a.get("score"),
                            "source": a.get("source"),
                            "status": status,
                            "has_polygon": a.get("points") is not None,
                            "has_keypoints": a.get("keypoints") is not None,
                        }
                    )
        cols = [
            "key",
            "object",
            "image",
            "label",
            "x1",
            "y1",
            "x2",
            "y2",
            "area",
            "score",
            "source",
            "status",
            "has_polygon",
            "has_keypoints",
        ]
        return pd.DataFrame(out, columns=cols)

    def tracks(self) -> pd.DataFrame:
        """One row per track of a video dataset (:func:`nblabel.tracks.tracks_table`)."""
        from .tracks import tracks_table

        return tracks_table(self)

    def events(self) -> pd.DataFrame:
        """The journal's event log: one row per write (time, key, kind, source, seconds)."""
        rows = [
            (
                pd.Timestamp(ts, unit="s"),
                None if k is None else decode_key(k),
                kind,
                src,
                sec,
                n,
                st,
            )
            for ts, k, kind, src, sec, n, st in self._journal.events()
        ]
        return pd.DataFrame(
            rows, columns=["ts", "key", "kind", "source", "seconds", "n_objects", "status"]
        )

    # -- writing ------------------------------------------------------------------------
    def add_classes(self, names: Iterable[str]) -> list[str]:
        """Add class names (kept in order; existing names are ignored). Returns all classes."""
        names = _class_list(names)
        with self._lock:
            if all(n in self._classes for n in names):
                return self.classes
            with self._journal.transaction():
                self._sync()  # another writer's new classes are kept, not replaced
                new = list(self._classes)
                for n in names:
                    if n not in new:
                        new.append(n)
                if new != self._classes:
                    self._journal.set_meta("classes", new)
            self._classes = new
        return self.classes

    def annotate(
        self,
        key,
        annotations: Sequence[dict],
        source: str = HUMAN,
        *,
        status: str | None = None,
        confidence: float | None = None,
        seconds: float = 0.0,
        kind: str | None = None,
        count_edit: bool | None = None,
    ) -> None:
        """Replace the objects of image ``key``; durable when it returns.

        A human write (``source="human"``) marks the image ``verified`` unless ``status``
        says otherwise, adds ``seconds`` to the time spent and counts one edit. A model write
        (any other source) sets status ``predicted`` unless given, and the image's confidence
        to its least confident object.

        Raises:
            KeyError: unknown key.
            ValueError: an unknown class, an empty box, a malformed record (nothing is written).

        Example:
            >>> ds.annotate("raccoon-1", [{"label": "raccoon", "bbox": [81, 88, 522, 408]}])
        """
        self.annotate_many(
            [
                (
                    key,
                    annotations,
                    {
                        "source": source,
                        "status": status,
                        "confidence": confidence,
                        "seconds": seconds,
                        "kind": kind,
                        "count_edit": count_edit,
                    },
                )
            ]
        )

    def annotate_many(self, writes: Iterable[tuple[Any, Sequence[dict], dict]]) -> list:
        """Several :meth:`annotate` calls in one transaction (all or nothing).

        Each write is ``(key, records, options)`` with the keyword options of annotate. A
        write whose options hold ``skip_human=True`` is left out when the row is verified or
        was last written by a person: model output written from a background thread must
        never replace a correction made meanwhile, so the check and the write are one step.
        ``columns={...}`` sets other (non-core) columns of the row in the same step.

        Returns:
            The keys written.
        """
        writes = [_check_write(w) for w in writes]
        prepared = []
        with self._lock:
            with self._journal.transaction():
                self._sync()
                batch: dict = {}  # rows written earlier in this batch, as they are now
                for key, anns, opt in writes:
                    skip_human = opt.get("skip_human")
                    pos, stored = batch.get(key) or self._stored(key, owner=skip_human)
                    if skip_human and (stored["status"] == "verified" or stored["source"] == HUMAN):
                        continue
                    source = opt.get("source") or HUMAN
                    human = source == HUMAN
                    status = opt.get("status") or ("verified" if human else "predicted")
                    check_value(key, "status", status)
                    w = stored["width"] or None
                    h = stored["height"] or None
                    try:
                        recs = [
                            normalize_record(
                                a, width=w, height=h, classes=self._classes, default_source=source
                            )
                            for a in anns
                        ]
                    except AnnotationError as e:
                        raise AnnotationError(f"image {key!r}: {e}") from None
                    conf = opt.get("confidence")
                    if conf is None and not human:
                        conf = image_confidence(recs)
                    conf = check_value(key, "confidence", conf)
                    seconds = check_value(key, "seconds", opt.get("seconds") or 0.0)
                    count_edit = opt.get("count_edit")
                    if count_edit is None:
                        count_edit = human
                    # only what this write changes; the rest stays as the journal has it
                    changes = dict(
                        annotations=recs,
                        status=status,
                        confidence=None if human and conf is None else conf,
                        source=source,
                        seconds=stored["seconds"] + seconds,
                        edits=stored["edits"] + (1 if count_edit else 0),
                        updated=time.time(),
                    )
                    # other columns set in the same step (a model's evidence beside its rows)
                    changes.update(opt.get("columns") or {})
                    event = {
                        "kind": opt.get("kind") or (EDIT if human else PREDICT),
                        "source": source,
                        "seconds": seconds,
                        "n_objects": len(recs),
                        "status": status,
                        "key": key,
                    }
                    if len(writes) > 1:  # a second write of the key here counts from this
                        batch[key] = pos, {**stored, **changes}
                    rev = self._journal.put_changes(key, changes, event)
                    prepared.append((key, changes, rev, pos))
            for key, changes, rev, pos in prepared:
                self._apply(key, changes, rev, pos)
        written = [p[0] for p in prepared]
        self._notify(written)
        return written

    def update(self, key, **columns) -> None:
        """Set other columns of one row (``image``, ``issues``, user columns ...), journaled.

        ``annotations`` must go through :meth:`annotate` so they are validated.

        Example:
            >>> ds.update("img1", image="deid/img1.jpg", original_image="img1.jpg")  # doctest: +SKIP
        """
        if any(c in columns for c in _ANNOTATE_ONLY):
            raise ValueError("use ds.annotate(key, records, ...) to change annotations")
        checked = {c: check_value(key, c, v) for c, v in columns.items()}
        for c, v in checked.items():
            _check_json(key, c, v)
        with self._lock:
            with self._journal.transaction():
                self._sync()
                self._check_key(key)
                event = {"kind": "update", "source": ",".join(columns), "key": key}
                rev = self._put(key, checked, event)
            self._apply(key, checked, rev)
        self._notify([key])

    def on_change(
        self, fn: Callable[[Any], None], remove: bool = False, weak: bool = False
    ) -> None:
        """Call ``fn(key)`` after every write to the dataset (from the writing thread).

        With ``weak=True`` and a bound method, the dataset holds the method's object only
        weakly: a widget or labeler that is closed or forgotten (a notebook cell run again)
        is dropped instead of being kept alive and called forever.

        Example:
            >>> ds.on_change(lambda key: print("changed", key))
        """
        entry = weakref.WeakMethod(fn) if weak and hasattr(fn, "__self__") else fn
        with self._lock:
            if remove:
                self._listeners = [e for e in self._listeners if e != fn and _resolve(e) != fn]
            elif all(_resolve(e) != fn for e in self._listeners):
                self._listeners.append(entry)

    # -- export -------------------------------------------------------------------------
    def _export_rows(self, extra: Sequence[str] = ()) -> list[dict]:
        """Rows for a writer; ``extra`` names columns an import kept for its own export
        (e.g. Label Studio's task ids), passed on where a row has a value."""
        with self._lock:
            rows = [
                {
                    "key": k,
                    "image": im,
                    "width": int(w),
                    "height": int(h),
                    "annotations": list(a or []),
                    "status": st,
                }
                for k, im, w, h, a, st in zip(
                    self._df.index,
                    self._df["image"],
                    self._df["width"],
                    self._df["height"],
                    self._df["annotations"],
                    self._df["status"],
                )
            ]
            for col in extra:
                if col not in self._df.columns:
                    continue
                for row, value in zip(rows, self._df[col]):
                    value = _plain(value)
                    if value is not None:
                        row[col] = value
            return rows

    def to_coco(self, path, **options) -> Path:
        """Write a COCO instances JSON file (boxes, polygons, keypoints, scores).

        Category ids imported by :meth:`from_coco` are written back unchanged (classes added
        since get the next free ids); ``category_ids=`` overrides them.
        """
        from .formats.coco import write_coco

        ids = self._journal.get_meta("coco_category_ids")
        if ids and "category_ids" not in options:
            options["category_ids"] = ids
        return write_coco(self._export_rows(), self.classes, path, **options)

    def to_yolo(self, out_dir, **options) -> Path:
        """Write a YOLO dataset (labels + ``data.yaml`` that ultralytics trains on)."""
        from .formats.yolo import write_yolo

        return write_yolo(self._export_rows(), self.classes, out_dir, **options)

    def to_voc(self, out_dir, **options) -> Path:
        """Write one Pascal VOC XML file per image."""
        from .formats.voc import write_voc

        return write_voc(self._export_rows(), self.classes, out_dir, **options)

    def to_cvat(self, path, **options) -> Path:
        """Write a CVAT for images 1.1 ``annotations.xml`` (see :func:`nblabel.formats.write_cvat`).

        Example:
            >>> ds.to_cvat("export/annotations.xml")
            PosixPath('export/annotations.xml')
        """
        from .formats.cvat import ROW_COLUMNS, write_cvat

        # the shapes an import kept for this format (polylines, lines ...) go back out
        return write_cvat(self._export_rows(ROW_COLUMNS), self.classes, path, **options)

    def to_labelme(self, out_dir, **options) -> Path:
        """Write one LabelMe JSON file per image (see :func:`nblabel.formats.write_labelme`).

        Example:
            >>> ds.to_labelme("export/labelme").name
            'labelme'
        """
        from .formats.labelme import ROW_COLUMNS, write_labelme

        # the shapes an import kept for this format (polylines, lines ...) go back out
        return write_labelme(self._export_rows(ROW_COLUMNS), self.classes, out_dir, **options)

    def to_labelstudio(self, path, **options) -> Path:
        """Write a Label Studio import JSON (human labels as annotations, model output as
        predictions with scores)."""
        from .formats.labelstudio import ROW_COLUMNS, write_labelstudio

        return write_labelstudio(self._export_rows(ROW_COLUMNS), self.classes, path, **options)

    # -- internals ----------------------------------------------------------------------
    def _check_key(self, key) -> None:
        if key not in self._table.index:
            sample = list(self._table.index[:5])
            raise KeyError(f"no image with key {key!r} in this dataset (keys look like {sample})")

    def _put(self, key, changes: dict, event: dict) -> int:
        """Inside a journal transaction: write ``changes`` over the row as stored now;
        returns the row's new revision."""
        stored = self._journal.read_row(key)
        if not isinstance(stored, dict):
            stored = {}
        stored.update(changes)
        return self._journal.put_row(key, stored, event)

    def _apply(self, key, changes: dict, rev: int, pos: int | None = None) -> None:
        """After a commit: show what was written, and remember that this object has seen its
        own revision (everything before it was pulled inside the same transaction)."""
        self._set_row(key, changes, pos)
        if rev > self._rev:
            self._rev = rev

    def _sync(self) -> list:
        """Pull rows committed by other writers, when SQLite says another connection
        committed since this object last looked (inside a write transaction as well: the
        transaction's snapshot holds every commit made before it began, so an unchanged
        ``data_version`` means nothing to pull, and each write skips two queries)."""
        dv = self._journal.data_version()
        if dv == self._data_version:
            return []
        self._data_version = dv
        changed = self._journal.rows_since(self._rev)
        self._classes = _class_list(self._journal.get_meta("classes", []) or [])
        if not changed:
            return []
        problems: list[str] = []
        new_keys, new_rows = [], []
        for key, data, rev in changed:
            row = _view_row(key, data, problems)
            if key in self._df.index:
                self._set_row(key, row)
            else:
                new_keys.append(key)
                new_rows.append(row)
            self._rev = max(self._rev, rev)
        if new_keys:
            self._status_counts = None
            self._df = _frame(
                list(self._df.index) + new_keys,
                [*self._df.to_dict("records"), *new_rows],
            )
        return [k for k, _, _ in changed]

    def _set_row(self, key, row: dict, pos: int | None = None) -> None:
        df = self._table
        if pos is None:
            pos = df.index.get_loc(key)
        kinds = self._column_kinds()
        written = self._pending.get(pos)
        counts = self._status_counts
        if counts is not None and "status" in row:
            old, new = self._cell(pos, "status"), row["status"]
            if old in counts and new in counts:
                counts[old] -= 1
                counts[new] += 1
            else:
                self._status_counts = None  # counted again on the next ask
        if not row.keys() <= kinds.keys():
            # a new column: the frame changes shape, so everything written behind goes in
            # first and this row is set directly
            self._flush()
            for col, value in row.items():
                if col not in self._column_kinds():
                    df[col] = pd.Series([None] * len(df), index=df.index, dtype=object)
                    self._column_kinds(fresh=True)
                if value is None and self._column_kinds()[col][1] == "f":
                    value = float("nan")
                self._set_cell(pos, col, value)
            return
        if written is None:
            written = self._pending[pos] = {}
        written.update(row)
        for col, value in row.items():
            if value is None and kinds[col][1] == "f":
                written[col] = float("nan")

    def _column_kinds(self, fresh: bool = False) -> dict:
        """``{column: (position, dtype kind)}`` of the DataFrame, kept between writes: asking
        pandas for ``dtypes`` builds a Series, which cost more than the write itself."""
        df = self._table
        cached = getattr(self, "_kinds", None)
        if fresh or cached is None or cached[0] is not df or len(cached[1]) != len(df.columns):
            kinds = {
                col: (i, getattr(dt, "kind", "O"))
                for i, (col, dt) in enumerate(zip(df.columns, df.dtypes))
            }
            self._kinds = cached = (df, kinds)
        return cached[1]

    def _notify(self, keys) -> None:
        for entry in list(self._listeners):
            fn = _resolve(entry)
            if fn is None:  # the owner of a weak listener is gone
                with self._lock:
                    if entry in self._listeners:
                        self._listeners.remove(entry)
                continue
            for k in keys:
                try:
                    fn(k)
                except Exception as e:  # the write is already durable; report, don't undo it
                    warnings.warn(f"nblabel: on_change callback {fn!r} failed: {e!r}", stacklevel=3)


def _resolve(entry):
    return entry() if isinstance(entry, weakref.WeakMethod) else entry


def _class_list(names) -> list[str]:
    """Class names as a list; one name given as a string is one class, not its letters."""
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise ValueError(f"class names must be non-empty strings, got {n!r}")
    return names


def _check_write(write) -> tuple:
    try:
        key, anns, opt = write
    except (TypeError, ValueError):
        raise ValueError(f"each write is (key, records, options), got {write!r}") from None
    opt = dict(opt or {})
    if not opt.keys() <= _WRITE_OPTION_SET:
        unknown = [o for o in opt if o not in WRITE_OPTIONS]
        import difflib

        hint = difflib.get_close_matches(str(unknown[0]), WRITE_OPTIONS, n=1)
        raise ValueError(
            f"row {key!r}: unknown write option {unknown[0]!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; options are {WRITE_OPTIONS}. Nothing was written."
        )
    if opt.get("source") is not None and not isinstance(opt["source"], str):
        raise ValueError(f"row {key!r}: source must be a string, got {opt['source']!r}")
    if isinstance(anns, (str, bytes, dict)):
        raise ValueError(f"row {key!r}: records must be a list of dicts, got {type(anns).__name__}")
    extra = opt.get("columns")
    if extra is not None:
        if not isinstance(extra, dict):
            raise ValueError(f"row {key!r}: columns must be a dict, got {type(extra).__name__}")
        owned = [c for c in extra if c in CORE_COLUMNS]
        if owned:
            raise ValueError(
                f"row {key!r}: columns may not set {owned}; the write itself sets those"
            )
        opt["columns"] = {c: check_value(key, c, v) for c, v in extra.items()}
        for c, v in opt["columns"].items():
            _check_json(key, c, v)
    # checked before the write lock is taken; the same checks run again on the values stored
    check_value(key, "confidence", opt.get("confidence"))
    if opt.get("seconds") is not None:
        check_value(key, "seconds", opt["seconds"])
    return key, list(anns), opt


def _check_json(key, column, value) -> None:
    from .journal import dumps

    try:
        dumps({column: value})
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"row {key!r}: {column}={value!r} cannot be stored ({e}); nothing was written"
        ) from None


def _plain(value):
    """A DataFrame cell as the value it was written as: ``None`` for a missing one (a column
    that only some rows have), a Python int for an id pandas widened to float."""
    if isinstance(value, (list, dict, str)):
        return value
    if value is None or pd.isna(value):
        return None
    if hasattr(value, "item"):
        value = value.item()  # a numpy scalar
    return int(value) if isinstance(value, float) and value.is_integer() else value


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection while a million rows are built: the collector would
    walk every object made so far, again and again, for cycles these rows never form."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            # the rows made meanwhile are all young: left there, the collector's first
            # look at them (about 0.2 s at a million rows) lands in a later write or click,
            # so it is taken now, and they move to the old generation it rarely walks
            gc.collect(1)


def _drained(items: list):
    """The items of ``items`` in order, each dropped from the list as it is handed out
    (a million row dicts are freed one by one as the DataFrame takes their values)."""
    items.reverse()
    while items:
        yield items.pop()


# from this many written-behind cells of one column on, the column is assigned as one array
_BULK = 64


def _assign_column(df: pd.DataFrame, c: int, kind: str, positions: list[int], values: list):
    """Set ``values`` at ``positions`` of column ``c`` in one assignment; False (nothing
    changed) where a value does not fit the column as it is, for the cell-by-cell path."""
    if kind == "O":
        if df.dtypes.iloc[c] != np.dtype(object):
            return False  # pandas' string and other extension columns keep their type
        arr = df.iloc[:, c].to_numpy(dtype=object, copy=True)
        for pos, value in zip(positions, values):
            arr[pos] = value  # one by one: a list value must stay one object, not a row
    elif kind == "f":
        if not all(type(v) in (float, int) for v in values):
            return False
        arr = df.iloc[:, c].to_numpy(copy=True)
        arr[positions] = values
    elif kind == "i":
        if not all(type(v) is int for v in values):
            return False
        arr = df.iloc[:, c].to_numpy(copy=True)
        info = np.iinfo(arr.dtype)
        if not all(info.min <= v <= info.max for v in values):
            return False
        arr[positions] = values
    else:
        return False
    # as a Series of its own dtype: pandas would read an object array of text as a string
    # column, and the frame would change type under the user
    df.isetitem(c, pd.Series(arr, index=df.index, dtype=arr.dtype, copy=False))
    return True


def _native(value):
    """A numpy scalar as the Python number it holds (as ``Series.to_dict`` gives it)."""
    return value.item() if isinstance(value, np.generic) else value


def _view_row(key, data, problems: list[str]) -> dict:
    """A journal row as the DataFrame shows it: bad core values replaced, and said so in
    ``issues`` (and in ``problems``) until they are written again."""
    row, bad = clean_row(key, data)
    if bad:
        problems.extend(f"row {key!r}: {b}" for b in bad)
        row["issues"] = _join_issues(row.get("issues"), *bad)
    return row


def _frame(keys: list, rows: list[dict]) -> pd.DataFrame:
    return _frame_of(zip(keys, rows))


# Columns whose values repeat across rows ("unlabeled", a model's version): one string object
# per distinct value instead of one per row, a few hundred MB at a million rows.
_REPEATED = ("status", "source", "issues")
_CORE_SET = frozenset(CORE_COLUMNS)
_OBJECT_COLUMNS = ("annotations", "issues", "source", "status", "image")


def _frame_of(rows: Iterable[tuple[Any, dict]]) -> pd.DataFrame:
    """The Dataset's DataFrame from ``(key, row)`` pairs, built column by column."""
    keys: list = []
    columns: dict[str, list] = {c: [] for c in CORE_COLUMNS}
    sparse: dict[str, dict[int, Any]] = {}  # columns some rows lack: {position: value}
    shared: dict[str, str] = {}
    core = [(c, columns[c].append) for c in CORE_COLUMNS]
    repeated = [columns[c] for c in _REPEATED]
    n = 0
    for n, (key, row) in enumerate(rows, 1):  # n: rows so far
        keys.append(key)
        for col, append in core:
            append(row.get(col))  # clean_row gave every row all of them
        for values in repeated:
            v = values[-1]
            if type(v) is str:
                values[-1] = shared.setdefault(v, v)
        if len(row) > len(CORE_COLUMNS):  # clean_row gave it every core column, and more
            for col, value in row.items():
                if col not in _CORE_SET:
                    sparse.setdefault(col, {})[n - 1] = value
    index = pd.Index(keys, name="key")
    data: dict[str, Any] = dict(columns)
    for col in _OBJECT_COLUMNS:
        # kept as Python objects: inferred as text, pandas would copy every string into
        # an Arrow buffer and back, losing the sharing above
        data[col] = pd.Series(columns[col], index=index, dtype=object)
    partial = {}
    for col, at in sparse.items():  # the other columns, in the order rows bring them
        if len(at) == n:
            data[col] = list(at.values())  # every row has it: pandas picks the dtype
        else:
            data[col] = None  # placed below, keeping the column order
            partial[col] = at
    df = pd.DataFrame(data, index=index)
    for col, at in partial.items():
        # missing is None, as a write leaves it in memory (an object column)
        values = [None] * n
        for i, v in at.items():
            values[i] = v
        df[col] = pd.Series(values, index=df.index, dtype=object)
    for col in CORE_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype=object)
    extra = [c for c in df.columns if c not in CORE_COLUMNS]
    df = df[list(CORE_COLUMNS) + extra]
    if len(df):
        # rows went through clean_row, so these casts cannot fail
        for col in ("width", "height", "edits"):
            df[col] = df[col].astype(int)
        for col in ("seconds", "confidence", "updated"):
            df[col] = df[col].astype(float)
    for col in _OBJECT_COLUMNS:
        # object columns hold None for "missing" (never NaN), in memory and after reopening
        s = df[col].astype(object)
        df[col] = s.where(s.notna(), None)
    return df


def _odd_entry(p: Path) -> str:
    if p.is_symlink():
        return f"{p.name} (a broken link to {os.readlink(p)})"
    return f"{p.name} (a folder)"


def _sized(p: str) -> dict:
    w, h, problem = size_or_problem(p)
    issues = [problem] if problem else []
    return {"image": p, "width": w, "height": h, "issues": issues, "annotations": []}


def _unique_key(key, used: set):
    if key not in used:
        return key
    i = 2
    while f"{key}~{i}" in used:
        i += 1
    return f"{key}~{i}"
