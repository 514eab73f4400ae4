"""A saved copy of a large Dataset's DataFrame beside its journal, for a fast reopen.

Reopening a journal decodes every row's JSON, checks it, and builds the DataFrame column by
column: about 10 µs a row, ten seconds at a million rows, paid again after every kernel
restart. A journal of at least :data:`MIN_ROWS` rows therefore keeps its DataFrame as it
was built, in columns (``<journal>-frame``), and :func:`load` reads it back in a fraction
of that; the rows written since are then pulled from the journal like another kernel's
writes.

The journal stays the only record. The frame is a cache: it names the journal it copies
(its ``journal_id``) and the event it reflects (id, time, kind and key of the newest event
that wrote a row), and is used only when the journal holds that same event, so a copy of
the file that went its own way, or a rebuilt one, is read row by row instead. Each column
carries a CRC-32, checked on every read: a frame torn by a crash (it is renamed into place
unsynced, since a lost one costs only a slower open) or damaged is never read as labels.
Anything unexpected (a column type it does not keep, an unwritable folder, a bad file)
means no frame, and the journal is read as before.

The format holds only numbers and JSON text (no pickle): a frame from someone else's folder
can at worst be wrong, and a wrong one is refused by the checks above.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"w": [640, 320], "s": ["a", "b"]},
    ...                   index=pd.Index(["x", "y"], name="key"))
    >>> df["s"] = df["s"].astype(object)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.db-frame"
    >>> save(p, df, {"journal_id": "j1", "rev": 7, "mark": [1.5, "edit", "x"]})
    True
    >>> back, info = load(p, "j1")
    >>> back.equals(df), info["rev"]
    (True, 7)
    >>> load(p, "another journal") is None
    True
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

# Rows from which a journal keeps a frame: under it the rows decode in under half a second.
MIN_ROWS = 50_000
# The frame is written again when the rows written since it outnumber this share of all.
STALE_SHARE = 0.05
SUFFIX = "-frame"
# Values per piece of a text column: each is encoded, written and let go before the next
CHUNK = 65_536

_MAGIC = b"nblabel-frame\x00"
_VERSION = 1
_TAIL = struct.Struct("<Q")  # the footer's length, the file's last 8 bytes
_NUMBERS = {"int64": "<i8", "float64": "<f8", "bool": "|b1"}
# columns of a few distinct strings (statuses, sources): stored once each, plus a code per
# row, and read back as one shared object per value, as the journal's reader shares them
_CODED = frozenset({"status", "source", "issues"})


def path_for(db: str | os.PathLike) -> Path:
    """The frame file of the journal at ``db``.

    Example:
        >>> path_for("labels.db").name
        'labels.db-frame'
    """
    return Path(str(db) + SUFFIX)


def save(path: str | os.PathLike, df: pd.DataFrame, info: dict) -> bool:
    """Write ``df`` with ``info`` (``journal_id``, ``rev``, ``mark`` ...) to ``path``,
    complete or not at all; False (and nothing written) when a column cannot be kept or the
    file cannot be written."""
    path = Path(path)
    _sweep(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC)
            columns = []
            offset = len(_MAGIC)
            # one column encoded at a time, each written and let go before the next: the
            # whole frame as bytes would add its size (150 MB at a million rows) to the peak
            for name, blobs, meta in _encoded(df):
                parts = []
                for blob in blobs:  # a generator for text columns: one chunk in memory
                    f.write(blob)
                    parts.append([offset, len(blob), zlib.crc32(blob)])
                    offset += len(blob)
                columns.append({"name": name, "parts": parts, **meta})
                blobs = blob = None
            footer = orjson.dumps(
                {
                    "version": _VERSION,
                    **info,
                    "rows": len(df),
                    "index_name": df.index.name,
                    "columns": columns,
                }
            )
            f.write(footer)
            f.write(_TAIL.pack(len(footer)))
        os.replace(tmp, path)
        return True
    except (OSError, TypeError, ValueError, orjson.JSONEncodeError):
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False


def _sweep(path: Path) -> None:
    """Remove the temporary files of saves whose process is gone (a kernel killed mid-save
    leaves one the size of the frame)."""
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            pid = tmp.name[len(path.name) + 2 : -4]
            if pid.isdigit() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def load(path: str | os.PathLike, journal_id: str) -> tuple[pd.DataFrame, dict] | None:
    """The DataFrame saved at ``path`` and its info, or None when there is none, it was
    saved for another journal, or anything about it does not check out."""
    try:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return None
            f.seek(-_TAIL.size, os.SEEK_END)
            end = f.tell()
            (n,) = _TAIL.unpack(f.read(_TAIL.size))
            if n > end:
                return None
            f.seek(end - n)
            info = orjson.loads(f.read(n))
            if info.get("version") != _VERSION or info.get("journal_id") != journal_id:
                return None

            def read(parts):  # one piece at a time, each checked before it is decoded
                for offset, size, crc in parts:
                    f.seek(offset)
                    blob = f.read(size)
                    if len(blob) != size or zlib.crc32(blob) != crc:
                        raise ValueError("damaged")
                    yield blob

            cols = info["columns"]
            rows = info["rows"]
            index = pd.Index(_values(read(cols[0]["parts"])), name=info["index_name"])
            if len(index) != rows or str(index.dtype) != cols[0]["dtype"]:
                return None
            data = {c["name"]: _decode(c, read(c["parts"]), index) for c in cols[1:]}
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error):
        return None
    df = pd.DataFrame(data, index=index)
    if [str(t) for t in df.dtypes] != [c["dtype"] for c in cols[1:]]:
        return None
    return df, info


def _encoded(df: pd.DataFrame):
    keys = df.index.tolist()
    yield None, _chunks(keys, pd.isna(df.index)), {"kind": "json", "dtype": str(df.index.dtype)}
    for c in df.columns:
        yield _encode(c, df[c])


def _encode(name: str, s: pd.Series) -> tuple[str, list[bytes], dict]:
    dtype = str(s.dtype)
    if dtype in _NUMBERS:
        return (
            name,
            [s.to_numpy().astype(_NUMBERS[dtype], copy=False).tobytes()],
            {
                "kind": "numbers",
                "dtype": dtype,
            },
        )
    if dtype != "object" and dtype != "str":
        raise TypeError(f"column {name!r}: {dtype} is not kept in a frame")
    if name in _CODED and dtype == "object":
        # missing values are code -1, so the distinct ones are all present values
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        return (
            name,
            [codes.astype("<i4").tobytes(), orjson.dumps(uniques.tolist())],
            {"kind": "coded", "dtype": dtype},
        )
    values = s.tolist()
    missing = s.isna().to_numpy()
    if dtype == "str":  # its missing values read back as missing from null
        values = [None if m else v for v, m in zip(values, missing)]
        missing = None
    return name, _chunks(values, missing), {"kind": "json", "dtype": dtype}


def _chunks(values: list, missing):
    """``values`` as JSON lists of :data:`CHUNK` values each."""
    for at in range(0, max(len(values), 1), CHUNK):
        yield _json(values[at : at + CHUNK], None if missing is None else missing[at : at + CHUNK])


def _json(values: list, missing) -> bytes:
    # orjson writes NaN as null and refuses integers past 64 bits: values that would not
    # come back as they are take the standard encoder, which keeps both (``missing`` marks
    # the None and NaN values, found by pandas at C speed)
    if missing is not None and any(values[i] is not None for i in np.flatnonzero(missing)):
        return json.dumps(values, allow_nan=True).encode()
    try:
        return orjson.dumps(values)
    except orjson.JSONEncodeError:
        return json.dumps(values, allow_nan=True).encode()


def _values(blobs) -> list:
    values: list = []
    for blob in blobs:
        try:
            values += orjson.loads(blob)
        except orjson.JSONDecodeError:
            values += json.loads(blob)  # NaN or a long integer: the standard encoder's
    return values


def _decode(col: dict, blobs, index: pd.Index) -> pd.Series:
    kind, dtype, rows = col["kind"], col["dtype"], len(index)
    if kind == "numbers":
        (blob,) = blobs
        arr = np.frombuffer(blob, dtype=_NUMBERS[dtype])
        if len(arr) != rows:
            raise ValueError("length")
        return pd.Series(arr.astype(dtype), index=index)  # a writable, native-order copy
    if kind == "coded":
        codes_blob, uniques_blob = blobs
        codes = np.frombuffer(codes_blob, dtype="<i4")
        uniques = np.array([*orjson.loads(uniques_blob), None], dtype=object)
        if len(codes) != rows or (rows and not -1 <= codes.min() <= codes.max() < len(uniques) - 1):
            raise ValueError("codes")
        return pd.Series(uniques[codes], index=index, dtype=object)  # -1: the None above
    values = _values(blobs)
    if len(values) != rows:
        raise ValueError("length")
    return pd.Series(values, index=index, dtype=dtype)
