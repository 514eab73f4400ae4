"""The SQLite journal behind a Dataset: one row per image, an event log, and metadata.

Each row is stored as one JSON document so user columns of any shape round-trip without a
schema migration. The database runs in WAL mode: a write is one transaction, committed before
``write`` returns, so a process killed at any moment keeps every write that returned.
``durability="normal"`` (the default) survives the process being killed; ``"full"`` also
fsyncs each commit so it survives power loss, at a few times the cost per write.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    key TEXT,
    kind TEXT NOT NULL,
    source TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    n_objects INTEGER,
    status TEXT
);
"""


def _default(o: Any):
    """JSON for the values pandas and numpy put in cells."""
    item = getattr(o, "item", None)
    if callable(item):  # numpy scalars
        return item()
    tolist = getattr(o, "tolist", None)
    if callable(tolist):  # numpy arrays
        return tolist()
    iso = getattr(o, "isoformat", None)
    if callable(iso):  # datetime, pandas Timestamp
        return iso()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def _clean(o: Any):
    # JSON has no NaN; pandas uses NaN for "missing" in float cells.
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def dumps(o: Any) -> str:
    if isinstance(o, dict):
        o = {k: _clean(v) for k, v in o.items()}
    return json.dumps(o, default=_default, allow_nan=False, separators=(",", ":"))


def encode_key(key: Any) -> str:
    """Index labels keep their type (int stays int) through the journal."""
    return json.dumps(_default(key) if hasattr(key, "item") else key)


def decode_key(text: str) -> Any:
    return json.loads(text)


class Journal:
    """A thread-safe handle on one SQLite journal file."""

    def __init__(self, path: str | Path, durability: str = "normal"):
        if durability not in ("normal", "full"):
            raise ValueError("durability must be 'normal' or 'full'")
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            # autocommit mode; transactions are opened explicitly so each write is exactly one
            self._conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{self.path}: not an nblabel database ({e})") from None
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    # -- metadata -------------------------------------------------------------------------
    def get_meta(self, name: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, name: str, value: Any) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                (name, dumps(value)),
            )

    # -- rows -----------------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0]

    def iter_rows(self) -> Iterator[tuple[Any, dict]]:
        with self._lock:
            cur = self._conn.execute("SELECT key, data FROM rows ORDER BY pos")
            fetched = cur.fetchall()
        for key, data in fetched:
            yield decode_key(key), json.loads(data)

    def insert_rows(self, rows: Iterable[tuple[Any, dict]], event: dict | None = None) -> None:
        """Insert many rows in one transaction (an import)."""
        payload = [(encode_key(k), dumps(d)) for k, d in rows]
        with self._lock, self._tx():
            self._conn.executemany("INSERT INTO rows(key, data) VALUES(?, ?)", payload)
            if event:
                self._event(event)

    def write(self, updates: Iterable[tuple[Any, dict, dict | None]]) -> None:
        """Replace rows (key, full row data, optional event) in one transaction."""
        with self._lock, self._tx():
            for key, data, event in updates:
                cur = self._conn.execute(
                    "UPDATE rows SET data=? WHERE key=?", (dumps(data), encode_key(key))
                )
                if cur.rowcount != 1:
                    raise KeyError(key)
                if event:
                    self._event(dict(event, key=key))

    def log(self, event: dict) -> None:
        with self._lock, self._tx():
            self._event(event)

    def events(self) -> list[tuple]:
        with self._lock:
            return self._conn.execute(
                "SELECT ts, key, kind, source, seconds, n_objects, status FROM events ORDER BY id"
            ).fetchall()

    def _event(self, e: dict) -> None:
        key = e.get("key")
        self._conn.execute(
            "INSERT INTO events(ts, key, kind, source, seconds, n_objects, status) "
            "VALUES(?, ?, ?, ?, ?, ?, ?)",
            (
                e.get("ts", time.time()),
                None if key is None else encode_key(key),
                e["kind"],
                e.get("source"),
                float(e.get("seconds") or 0.0),
                e.get("n_objects"),
                e.get("status"),
            ),
        )

    class _Tx:
        def __init__(self, conn):
            self.conn = conn

        def __enter__(self):
            self.conn.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type, exc, tb):
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
            return False

    def _tx(self):
        return Journal._Tx(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
