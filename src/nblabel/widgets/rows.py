"""RowIndex: what a widget needs to know about every row of a Dataset, kept up to date per write.

A widget on a million-row Dataset must not scan the table each time a model writes a row, a
person presses a key or an image changes. This index is built once from ``ds.df`` and then
updated one row at a time from the Dataset's notifications: the keys in row order and each
row's status as one byte, so the next image with a status is a ``bytearray.find`` and the
status counts are a running tally. A key's position is a hash lookup in the Dataset's own
index (``ds.df.index.get_loc``), never ``list.index``; a second key -> position dict would
cost a million entries more for the same answer.

Rows are only ever appended to a Dataset (rows another writer added are pulled in at the end),
so positions never change; rows that appeared since are taken from the end of ``ds.df``.

Rows another writer changed are pulled into ``ds.df`` without a notification: the status this
index holds for them is corrected when a search lands on them (:meth:`RowIndex.find` checks
each hit) or by :meth:`RowIndex.rebuild`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..columns import STATUSES

UNKNOWN = 255  # the byte of a status that is not one of STATUSES (never written by nblabel)
CODES = {s: i for i, s in enumerate(STATUSES)}


def status_codes(statuses) -> bytes:
    """One byte per status (its place in ``STATUSES``; :data:`UNKNOWN` for anything else).

    Example:
        >>> list(status_codes(["verified", "unlabeled", None]))
        [4, 0, 255]
    """
    values = statuses if isinstance(statuses, pd.Series) else list(statuses)
    codes = pd.Categorical(values, categories=STATUSES).codes
    return np.where(codes < 0, UNKNOWN, codes).astype(np.uint8).tobytes()


class RowIndex:
    """Keys, positions and statuses of a Dataset's rows, updated one row at a time.

    Call :meth:`note` with each key the Dataset reports changed (``ds.on_change``); every
    other method then answers without looking at the whole table.

    Args:
        ds: the :class:`nblabel.Dataset` (anything with a ``df`` whose index holds the keys
            and whose ``status`` column holds the statuses).

    Example:
        >>> rows = RowIndex(ds)
        >>> _ = ds.on_change(rows.note)
        >>> box = {"label": "raccoon", "bbox": [10, 10, 90, 90], "score": 0.4}
        >>> _ = ds.annotate("raccoon-3", [box], source="model@1", status="review")
        >>> rows.find(["review"], start=rows.position("raccoon-1") + 1)
        2
    """

    def __init__(self, ds):
        self.ds = ds
        # a loop's thread reports writes while the kernel's thread moves between images
        self._lock = threading.RLock()
        self.rebuild()

    def rebuild(self) -> None:
        """Read every row again (once; e.g. when the Dataset changed in a way not reported)."""
        with self._lock:
            self._read_all()

    def _read_all(self) -> None:
        df = self.ds.df
        self.keys: list = df.index.tolist()
        self._codes = bytearray(status_codes(df["status"]))
        tally = np.bincount(np.frombuffer(bytes(self._codes), np.uint8), minlength=256)
        self._tally: list[int] = tally[: len(STATUSES)].tolist()

    def __len__(self) -> int:
        return len(self.keys)

    def extend(self) -> bool:
        """Take in rows appended to the Dataset since this index last looked.

        Returns:
            Whether there were any.
        """
        df = self.ds.df
        with self._lock:
            n = len(self.keys)
            if len(df) == n:
                return False
            if len(df) < n or (n and df.index[n - 1] != self.keys[-1]):
                # rows are only ever appended; anything else is read again from scratch
                self._read_all()
                return True
            new = df.index[n:].tolist()
            codes = status_codes(df["status"].iloc[n:])
            for c in codes:
                self._count(c, 1)
            self.keys.extend(new)
            self._codes.extend(codes)
            return True

    def position(self, key, df: pd.DataFrame | None = None) -> int | None:
        """Row position of ``key`` (None when the Dataset has no such row)."""
        index = (self.ds.df if df is None else df).index
        try:
            pos = index.get_loc(key)
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            return None
        if not isinstance(pos, (int, np.integer)):  # keys are unique; anything else is not one
            return None
        pos = int(pos)
        if pos >= len(self.keys):
            self.extend()  # a row appended since
        return pos if pos < len(self.keys) else None

    def note(self, key, status: str | None = None) -> int | None:
        """Take in a change to row ``key`` (``status``: its status now, read from the
        Dataset when not given). Returns the row's position (None for an unknown key)."""
        df = self.ds.df
        pos = self.position(key, df)
        if pos is None:
            return None
        if status is None:
            status = df["status"].iat[pos]
        self._set(pos, CODES.get(status, UNKNOWN))
        return pos

    def find(self, statuses: Iterable[str], start: int = 0, stop: int | None = None) -> int | None:
        """First row position in ``start..stop-1`` whose status is one of ``statuses``.

        A C search over one byte per row, from ``start`` until the first hit. The hit is
        checked against the Dataset (a row another writer changed without a notification is
        corrected here and the search goes on), so the answer is a row with that status now.
        """
        stop = len(self.keys) if stop is None else min(stop, len(self.keys))
        wanted = {CODES.get(s, UNKNOWN) for s in statuses}
        status = None
        while start < stop:
            hits = [i for i in (self._codes.find(c, start, stop) for c in wanted) if i >= 0]
            if not hits:
                return None
            pos = min(hits)
            if status is None:
                status = self.ds.df["status"]
            actual = CODES.get(status.iat[pos], UNKNOWN)
            if actual in wanted:
                return pos
            self._set(pos, actual)
            start = pos + 1
        return None

    def counts(self) -> dict[str, int]:
        """Number of rows per status (what ``ds.counts()`` says, without counting)."""
        return {s: int(self._tally[i]) for i, s in enumerate(STATUSES)}

    def _set(self, pos: int, code: int) -> None:
        with self._lock:
            old = self._codes[pos]
            if old != code:
                self._codes[pos] = code
                self._count(old, -1)
                self._count(code, 1)

    def _count(self, code: int, delta: int) -> None:
        if code != UNKNOWN:
            self._tally[code] += delta


__all__ = ["CODES", "UNKNOWN", "RowIndex", "status_codes"]
