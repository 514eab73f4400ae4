"""The SQLite journal behind a Dataset: one row per image, an event log, and metadata.

Each row is stored as one JSON document so user columns of any shape round-trip without a
schema migration. The database runs in WAL mode: a write is one transaction, committed before
``write`` returns, so a process killed at any moment keeps every write that returned.
``durability="normal"`` (the default) survives the process being killed; ``"full"`` also
fsyncs each commit so it survives power loss, at a few times the cost per write.

Several writers may share one journal (a notebook cell run again while the old objects still
write, two kernels on one file). Every row carries ``rev``, the id of the event that last
wrote it, so a reader asks for what changed since the last revision it saw instead of
trusting its own memory; the events after that revision name the rows (rows.rev has no
index of its own, which would cost every write two more pages of log).

An ``annotate()`` write does not rewrite its row: it appends the columns it changed to its
event (``events.changes``), so a write touches only the last page of the event log instead
of a row page anywhere in a table of a million, and needs no read of the row (the Dataset
knows it). The changes are *folded* into the rows, many at once, before anything reads rows
(:meth:`Journal.read_row`, :meth:`Journal.scan`, :meth:`Journal.rows_since` ...), and in the
background once :data:`FOLD_AT` are waiting; ``meta.folded`` is the newest event whose
changes are in the rows. The events keep the changes after that: each write's history.

A write is one ``BEGIN IMMEDIATE`` transaction (writers queue on SQLite's lock), and before
it changes anything it checks that the file on disk is still the one this handle opened: a
journal deleted, or re-created by ``overwrite=True``, under a writer makes the write raise
:class:`JournalGoneError` instead of vanishing into an unlinked file.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from orjson import dumps as _orjson_dumps
from orjson import loads as _orjson_loads

from . import wal
from .core.edits import IMPORT
from .core.errors import NblabelError
from .core.jsonsafe import json_default

# 2: rows.rev, meta.journal_id. 3: a row's revision is the id of the event that wrote it
# (no index on rows.rev: it cost two of a write's four pages). 4: events.changes, meta.folded
SCHEMA_VERSION = 4
# Changes waiting in the event log from which a writer folds them into the rows in the
# background, so the next open or reader never has more than about this many to fold.
FOLD_AT = 20_000
# Rows read and rewritten per statement of a fold.
_FOLD_PART = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE NOT NULL,
    data TEXT NOT NULL,
    rev INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    key TEXT,
    kind TEXT NOT NULL,
    source TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    n_objects INTEGER,
    status TEXT,
    changes TEXT
);
"""
# events.id is a plain rowid: events are only ever appended, so it grows as AUTOINCREMENT
# would, without the sqlite_sequence page AUTOINCREMENT rewrites in every commit (a fifth of
# a write's pages). Journals made with AUTOINCREMENT keep it; both read the same.
_TABLES = {"meta", "rows", "events"}
# The rows written after revision ?1, asked after another connection commits, when a few
# rows at most are new. The events after ?1 name the rows written since, found through the
# key index. The rows an import added have no event of their own: only when one of those
# events is an import are all rows looked at (the second half starts at the first row or
# past the last one), which is rare, another kernel importing meanwhile.
_ROWS_SINCE = f"""
SELECT pos, key, data, rev FROM rows
WHERE rev > ?1 AND key IN (SELECT key FROM events WHERE id > ?1 AND key IS NOT NULL)
UNION
SELECT pos, key, data, rev FROM rows
WHERE pos >= (SELECT CASE WHEN EXISTS (
    SELECT 1 FROM events WHERE id > ?1 AND key IS NULL AND kind = '{IMPORT}'
) THEN 0 ELSE 9223372036854775807 END) AND rev > ?1
ORDER BY pos
"""


class JournalGoneError(NblabelError, RuntimeError):
    """The journal file was deleted or replaced after this handle opened it; nothing was
    written. Reopen it with ``Dataset.open(path)`` (or rebuild the dataset)."""


def _finite(o: Any):
    # JSON has no NaN; pandas uses NaN for "missing" in float cells. Written as null at any
    # depth, as orjson writes it.
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def dumps(o: Any) -> str:
    """A value as the compact JSON text the journal stores.

    orjson encodes a row several times faster than the standard library (a write encodes one
    row, and at ten thousand writes a second that counts); it writes NaN and infinity as
    ``null``, which is what a missing float cell means. What it refuses (a dict key that is
    not a string, an integer beyond 64 bits, a type it does not know) goes through the
    standard encoder and ``json_default``, as before.

    Example:
        >>> dumps({"bbox": [1, 2.5], "score": float("nan"), "label": "café"})
        '{"bbox":[1,2.5],"score":null,"label":"café"}'
        >>> dumps({1: 2**70, "scores": [0.5, float("nan")]})
        '{"1":1180591620717411303424,"scores":[0.5,null]}'
    """
    try:
        return _orjson_dumps(o, default=json_default).decode()
    except TypeError:
        pass
    try:  # nearly every row holds no NaN: encode it as it is
        return json.dumps(o, default=json_default, allow_nan=False, separators=(",", ":"))
    except ValueError:
        pass
    return json.dumps(_finite(o), default=json_default, allow_nan=False, separators=(",", ":"))


def encode_key(key: Any) -> str:
    """Index labels keep their type (int stays int) through the journal."""
    # a plain ASCII key needs no escape: it is its own text between quotes (three keys are
    # encoded on every write)
    if (
        type(key) is str
        and key.isascii()
        and key.isprintable()
        and '"' not in key
        and "\\" not in key
    ):
        return f'"{key}"'
    return json.dumps(json_default(key) if hasattr(key, "item") else key)


# orjson reads integers within 64 bits exactly and larger ones as floats. Such an integer is
# a run of at least 19 digits in the text, which no float the journal writes has (Python
# writes at most 17 significant digits): the text is tested for one with a byte table, a
# fixed cost per row, where walking the decoded values grew with the row's objects.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"0" * 9)
_LONG_DIGIT_RUN = b"0" * 19


def loads(text: str) -> Any:
    """A journaled value. orjson parses a row about five times faster than the standard
    library, which counts when a million rows open; what it refuses or may read differently
    (a NaN in a journal edited by hand, an integer beyond 64 bits) is read by the standard
    parser, as before.

    Example:
        >>> loads('{"n": 123456789012345678901234567890, "x": NaN}')["n"]
        123456789012345678901234567890
        >>> loads('{"n": 18446744073709551616}')["n"]  # one past 64 bits, still exact
        18446744073709551616
    """
    try:
        value = _orjson_loads(text)
    except ValueError:
        return json.loads(text)
    if _LONG_DIGIT_RUN in text.encode().translate(_DIGITS_AS_ZERO):
        return json.loads(text)  # rare: the standard parser keeps every digit
    return value


def decode_key(text: str) -> Any:
    # a JSON string with no escape in it is its own text between the quotes; a million keys
    # are decoded on every open, so the parser is left to the rest
    if text[:1] == '"' and "\\" not in text:
        return text[1:-1]
    return json.loads(text)


# (key, image, valid, data): each row's image read out by SQLite, and the text of a row it
# does not take for JSON (decoded in Python instead)
_ROW_IMAGES = (
    "SELECT key, CASE WHEN json_valid(data) THEN json_extract(data, '$.image') END,"
    " json_valid(data), CASE WHEN json_valid(data) THEN NULL ELSE data END"
    " FROM rows ORDER BY pos"
)


# the newest event whose changes are in the rows (0: none folded yet)
_FOLDED = "COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE name='folded'), 0)"


def fold(conn: sqlite3.Connection, limit: int | None = None) -> int:
    """Inside a write transaction on ``conn``: write the changes waiting in the event log
    into their rows, oldest first (at most ``limit`` events of them); returns how many.

    Each row is read and rewritten once however many writes it had waiting, in key order so
    neighbouring rows share pages, :data:`_FOLD_PART` rows a statement. A row whose text is
    not a JSON record becomes the changes alone, as a write over it always did.
    """
    (done,) = conn.execute(f"SELECT {_FOLDED}").fetchone()
    waiting = conn.execute(
        "SELECT id, key, changes FROM events WHERE id > ? AND changes IS NOT NULL ORDER BY id"
        + ("" if limit is None else f" LIMIT {int(limit)}"),
        (done,),
    ).fetchall()
    if limit is None or len(waiting) < limit:
        (upto,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()
    else:  # events after the last one folded may still be waiting
        upto = waiting[-1][0]
    merged: dict[str, list] = {}  # encoded key -> [newest event id, its changes merged]
    for event_id, key, changes in waiting:
        try:
            change = loads(changes)
        except ValueError:
            change = None
        if not isinstance(change, dict) or key is None:
            # not written by nblabel (edited by hand): nothing to fold, and no reason for
            # every later read to fail on it
            continue
        seen = merged.get(key)
        if seen is None:
            merged[key] = [event_id, change]
        else:
            seen[0] = event_id
            seen[1].update(change)
    keys = sorted(merged)
    for i in range(0, len(keys), _FOLD_PART):
        part = keys[i : i + _FOLD_PART]
        marks = ",".join("?" * len(part))
        updates = []
        for key, data in conn.execute(f"SELECT key, data FROM rows WHERE key IN ({marks})", part):
            try:
                row = loads(data)
            except ValueError:
                row = None
            if not isinstance(row, dict):
                row = {}
            event_id, change = merged[key]
            row.update(change)
            updates.append((dumps(row), event_id, key))
        conn.executemany("UPDATE rows SET data=?, rev=? WHERE key=?", updates)
    if upto > done:
        conn.execute(
            "INSERT INTO meta(name, value) VALUES('folded', ?) "
            "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            (str(upto),),
        )
    return len(waiting)


def waiting_after(conn: sqlite3.Connection, rev: int = 0) -> bool:
    """True when a change after event ``rev`` is still only in the event log (not yet
    folded into its row)."""
    (waiting,) = conn.execute(
        f"SELECT EXISTS(SELECT 1 FROM events WHERE changes IS NOT NULL AND id > MAX(?, {_FOLDED}))",
        (rev,),
    ).fetchone()
    return bool(waiting)


_folding: set[str] = set()  # paths a background fold is running on
_folding_lock = threading.Lock()


def fold_in_background(path: Path, part: int = 1_000) -> None:
    """Fold what waits in the journal at ``path`` on a thread of its own, over its own
    connection, ``part`` events a transaction with a pause between them, so a writer is held
    up for one part at a time (tens of milliseconds) and never for the whole fold."""
    key = str(path)
    with _folding_lock:
        if key in _folding:
            return
        _folding.add(key)

    def run():
        try:
            # mode=rw: a journal deleted meanwhile is not created again, empty
            conn = sqlite3.connect(
                f"file:{path}?mode=rw", uri=True, timeout=30, isolation_level=None
            )
            try:
                while True:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        n = fold(conn, limit=part)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    if n < part:
                        return
                    # the writer's turn: longer than the longest sleep of SQLite's busy
                    # handler (100 ms), so a writer that queued behind the part gets in
                    time.sleep(0.12)
            finally:
                conn.close()
        except (sqlite3.Error, OSError):
            pass  # best effort: whatever still waits is folded by the next reader
        finally:
            with _folding_lock:
                _folding.discard(key)

    threading.Thread(target=run, name="nblabel-journal-fold", daemon=True).start()


def wait_folded(path: Path, timeout: float = 60.0) -> bool:
    """Block until no background fold runs on ``path``; False on timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with _folding_lock:
            if str(path) not in _folding:
                return True
        time.sleep(0.01)
    return False


def journaled_images(path: Path) -> set[str]:
    """The image paths the journal at ``path`` already has, read without opening it for
    writing; empty when there is none or it cannot be read here (a caller that then reads
    every image's header loses only time, and the journal, once opened, says what is wrong).
    A row SQLite does not take for JSON is left out: :meth:`Journal.row_images` decides."""
    if not path.is_file():
        return set()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return set()
    try:
        return {image for _, image, _, _ in conn.execute(_ROW_IMAGES) if isinstance(image, str)}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _check_is_journal(path: Path, blank_ok: bool) -> None:
    """Refuse, without writing a byte, a file that is not an nblabel journal (``blank_ok``:
    a SQLite file without any table may become one).

    The file is only ever read through SQLite. Opening and closing it any other way (even
    to read its first bytes) would drop the locks this process's open journals hold on it:
    POSIX locks belong to the process and go with any close of the file. The next
    connection to close anywhere would then take itself for the last one, checkpoint and
    delete the log, and the writes of a journal still open would go to a deleted file.
    """
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an nblabel database")
    if path.stat().st_size == 0 and not blank_ok:
        raise ValueError(f"{path}: not an nblabel database (an empty file); nothing was changed")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return  # e.g. a read-only folder; opening it for writing says what is wrong
    except sqlite3.DatabaseError as e:
        raise ValueError(
            f"{path}: not an nblabel database (not a SQLite file: {e}); nothing was changed"
        ) from None
    if (tables or not blank_ok) and not tables >= _TABLES:
        raise ValueError(
            f"{path}: not an nblabel database (a SQLite file of another program, with tables "
            f"{sorted(tables)}); nothing was changed. Pass the .db file a Dataset was built with."
        )


class Journal:
    """A thread-safe handle on one SQLite journal file.

    Args:
        path: The database file.
        durability: ``"normal"`` or ``"full"`` (fsync on every commit).
        create: Make the file when it does not exist (imports). ``False`` (reopening) refuses
            a file that is not already an nblabel journal and changes nothing in it.
    """

    def __init__(self, path: str | os.PathLike, durability: str = "normal", create: bool = True):
        if durability not in ("normal", "full"):
            raise ValueError("durability must be 'normal' or 'full'")
        self.path = Path(path).expanduser().resolve()
        if self.path.exists() and (not create or self.path.stat().st_size):
            _check_is_journal(self.path, blank_ok=create)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._in_tx = False
        self._seen_version: int | None = None
        self._commits = 0
        self._bulk = False  # the open transaction inserts rows: an import, checkpointed after it
        self._unfolded = 0  # changes this handle left in the event log since it last folded
        try:
            # autocommit mode; transactions are opened explicitly so each write is exactly one
            self._conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            # checkpoints run on a background thread (nblabel.wal), not inside a commit
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            with _Write(self, check=False):
                # statement by statement: executescript() would COMMIT the open transaction
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self._conn.execute(statement)
                self._migrate()
        except sqlite3.OperationalError as e:
            if not os.access(self.path.parent, os.W_OK) or "readonly" in str(e):
                raise PermissionError(
                    f"{self.path}: cannot write the journal here ({e}); nblabel writes every "
                    "label to it, so pass db= a file in a folder you can write to"
                ) from None
            raise ValueError(f"{self.path}: not an nblabel database ({e})") from None
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{self.path}: not an nblabel database ({e})") from None
        self.journal_id = self.get_meta("journal_id")
        self._file = _file_id(self.path)
        self._path_text = str(self.path)  # os.stat of a str: no Path conversion per write
        # Python's sqlite3 connection sits in a reference cycle (with its statement cache), so
        # dropping the last Dataset on a file left the connection, its three open files and
        # its locks until the next full garbage collection, and commits on the file through
        # the next Dataset's connection were two to four times slower meanwhile (a cell run
        # again reopens the dataset)
        weakref.finalize(self, self._conn.close)

    def _migrate(self) -> None:
        cols = {r[1] for r in self._conn.execute("PRAGMA table_info(rows)")}
        if "rev" not in cols:  # a journal written before rows had revisions
            self._conn.execute("ALTER TABLE rows ADD COLUMN rev INTEGER NOT NULL DEFAULT 0")
        if "changes" not in {r[1] for r in self._conn.execute("PRAGMA table_info(events)")}:
            # every row of a journal written before is up to date: nothing waits to be folded
            self._conn.execute("ALTER TABLE events ADD COLUMN changes TEXT")
        indexes = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        if "rows_rev" in indexes:
            # revisions become event ids: the next event id must be above every revision
            # written so far (asked while the index makes MAX cheap), then the index goes
            top = self._conn.execute("SELECT COALESCE(MAX(rev), 0) FROM rows").fetchone()[0]
            if top > self.rev():
                self._conn.execute(
                    "INSERT INTO events(id, ts, kind, n_objects) VALUES(?, ?, 'upgrade', 0)",
                    (top, time.time()),
                )
            self._conn.execute("DROP INDEX rows_rev")
        if self.get_meta("schema_version") != SCHEMA_VERSION:
            self.set_meta("schema_version", SCHEMA_VERSION)
        if self.get_meta("journal_id") is None:
            self.set_meta("journal_id", uuid.uuid4().hex)

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

    def data_version(self) -> int:
        """Changes each time *another* connection commits (SQLite's ``data_version``).
        Inside a write transaction nobody else can commit, so it is the value read when the
        transaction began."""
        with self._lock:
            if self._in_tx:
                return self._seen_version  # read when the open transaction began
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def rev(self) -> int:
        """The newest revision in the file: the id of its newest event (a row's revision is
        the id of the event that wrote it last)."""
        with self._lock:
            return self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def event_mark(self, event_id: int) -> list | None:
        """``[ts, kind, key]`` of one event, None when there is none. With its id, it tells
        this journal's history from that of a copy of the file that went its own way (a
        frame saved from one is not the other's)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT ts, kind, key FROM events WHERE id=?", (event_id,)
            ).fetchone()
        return None if row is None else list(row)

    def row_images(self) -> list[tuple[Any, Any]]:
        """``(key, image)`` of every row in row order, the image read out by SQLite, so an
        import run again does not decode a million rows for one field each. A row SQLite
        does not take for JSON (a NaN written by hand) is decoded here, as a scan would."""
        with self._lock:
            self._fold_waiting()
            fetched = self._conn.execute(_ROW_IMAGES).fetchall()
        out = []
        for k, image, valid, data in fetched:
            if not valid:
                try:
                    d = loads(data)
                except ValueError:
                    d = None
                image = d.get("image") if isinstance(d, dict) else None
            out.append((decode_key(k), image))
        return out

    def events_after(self, rev: int) -> tuple[int, bool]:
        """How many events came after revision ``rev``, and whether one of them is an
        import that added rows (rows without an event of their own)."""
        with self._lock:
            n, imported = self._conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(kind = ? AND COALESCE(n_objects, 1) > 0), 0) "
                "FROM events WHERE id > ?",
                (IMPORT, rev),
            ).fetchone()
        return n, bool(imported)

    def rows_since(self, rev: int) -> list[tuple[Any, dict, int]]:
        """``(key, data, rev)`` of every row written after revision ``rev``, in row order.

        One statement, so one consistent snapshot even while others write.
        """
        if rev < 0:  # a full load
            query, args = "SELECT pos, key, data, rev FROM rows ORDER BY pos", ()
        else:
            query, args = _ROWS_SINCE, (rev,)
        with self._lock:
            # changes up to ``rev`` the caller has (its own, waiting in the log, among them)
            self._fold_waiting(max(rev, 0))
            fetched = self._conn.execute(query, args).fetchall()
        return [(decode_key(k), loads(d), r) for _, k, d, r in fetched]

    def scan(self, chunk: int = 10_000) -> Iterator[tuple[Any, dict, int]]:
        """``(key, data, rev)`` of every row in row order, decoded a chunk at a time.

        One statement, so one consistent snapshot; for reading a whole journal without
        holding all of it decoded at once.
        """
        with self._lock:
            self._fold_waiting()
            cursor = self._conn.execute("SELECT key, data, rev FROM rows ORDER BY pos")
            while batch := cursor.fetchmany(chunk):
                for k, d, r in batch:
                    yield decode_key(k), loads(d), r

    def read_row(self, key: Any) -> dict | None:
        """The row as stored now (inside a :meth:`transaction`, as this write will see it)."""
        with self._lock:
            self._fold_waiting()
            row = self._conn.execute(
                "SELECT data FROM rows WHERE key=?", (encode_key(key),)
            ).fetchone()
        return None if row is None else loads(row[0])

    def put_row(self, key: Any, data: dict, event: dict) -> int:
        """Replace one existing row inside a :meth:`transaction`, with the event that says
        why; returns the row's new revision (the event's id)."""
        rev = self.event(event)
        cur = self._conn.execute(
            "UPDATE rows SET data=?, rev=? WHERE key=?", (dumps(data), rev, encode_key(key))
        )
        if cur.rowcount != 1:
            raise KeyError(key)
        return rev

    def put_changes(self, key: Any, changes: dict, event: dict) -> int:
        """Inside a :meth:`transaction`: write ``changes`` (columns and their new values) to
        row ``key`` by appending them to the event that says why, without reading or
        rewriting the row (see the module's note on folding); returns the row's new revision.
        The caller checked that the row exists."""
        self._unfolded += 1
        return self.event(event, changes=dumps(changes))

    def fold(self) -> int:
        """Write every change waiting in the event log into its row now; returns how many
        there were. Readers of rows do this themselves; it is here for a caller that wants
        the file's rows table complete (another program about to read it)."""
        with self._lock:
            if self._in_tx:
                return self._fold_now()
            with self.transaction():
                return self._fold_now()

    def _fold_now(self) -> int:
        n = fold(self._conn)
        self._unfolded = 0
        return n

    def _fold_waiting(self, rev: int = 0) -> None:
        """Before rows are read: fold the changes after event ``rev`` still waiting in the
        event log (and, with them, all that wait)."""
        # this handle's own changes wait only when it wrote some since its last fold; a caller
        # asking from a revision on already has them
        if not (self._unfolded and not rev) and not waiting_after(self._conn, rev):
            return
        if self._in_tx:
            self._fold_now()
        else:
            with self.transaction():
                self._fold_now()

    def add_rows(self, rows: Iterable[tuple[Any, dict]], event: dict) -> int:
        """Insert new rows inside a :meth:`transaction`, with the import ``event`` (whose
        kind is set to ``"import"``); returns their revision."""
        rev = self.event({**event, "kind": IMPORT})
        self._bulk = True
        self._conn.executemany(
            "INSERT INTO rows(key, data, rev) VALUES(?, ?, ?)",
            ((encode_key(k), dumps(d), rev) for k, d in rows),  # encoded as they go in
        )
        return rev

    def transaction(self) -> _Write:
        """One write transaction: queued behind other writers, all or nothing, and refused
        (:class:`JournalGoneError`) when the file is no longer the one opened."""
        return _Write(self)

    def _committed(self) -> None:
        """After a write transaction committed: the log's upkeep."""
        self._commits += 1
        if self._bulk:
            # an import: its log is the size of the table, and the next open reads it
            # back at once, so it goes into the file now, as part of the import
            self._bulk = False
            wal.finish(self._conn, self.path)
        elif self._commits % wal.EVERY == 0:
            wal.request(self.path)
        elif self._commits % 8 == 0 and wal.needs_finish(self.path):
            # asked every few commits: a long log waits a few writes more, each write less
            wal.finish(self._conn, self.path)
        if self._unfolded >= FOLD_AT:
            fold_in_background(self.path)
            self._unfolded = 0

    def log(self, event: dict) -> None:
        with self.transaction():
            self.event(event)

    def events(self) -> list[tuple]:
        with self._lock:
            return self._conn.execute(
                "SELECT ts, key, kind, source, seconds, n_objects, status FROM events ORDER BY id"
            ).fetchall()

    def event(self, e: dict, changes: str | None = None) -> int:
        """Append one event inside a :meth:`transaction`; returns its id."""
        key = e.get("key")
        return self._conn.execute(
            "INSERT INTO events(ts, key, kind, source, seconds, n_objects, status, changes) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.get("ts", time.time()),
                None if key is None else encode_key(key),
                e["kind"],
                e.get("source"),
                float(e.get("seconds") or 0.0),
                e.get("n_objects"),
                e.get("status"),
                changes,
            ),
        ).lastrowid

    def check_same_file(self) -> None:
        """Raise :class:`JournalGoneError` when the path no longer holds the opened file."""
        try:
            st = os.stat(self._path_text)
            if (st.st_dev, st.st_ino) == self._file:
                return
        except FileNotFoundError:
            pass
        now = _file_id(self.path)
        if now is None:
            raise JournalGoneError(
                f"{self.path} was deleted after this Dataset opened it, so this write would be "
                "lost; nothing was written. Rebuild the dataset (or restore the file and "
                "reopen it with Dataset.open)."
            )
        if now != self._file:
            raise JournalGoneError(
                f"{self.path} was replaced by another database (e.g. a Dataset built with "
                "overwrite=True) after this Dataset opened it; nothing was written. Reopen it "
                f"with nbl.Dataset.open({str(self.path)!r}) and use the new object."
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class _Write:
    """:meth:`Journal.transaction`: a class rather than a generator, since a person's click
    or a model's write pays for this on every call. ``check=False`` (creating the schema)
    skips the check that the file is still the one opened."""

    __slots__ = ("journal", "check")

    def __init__(self, journal: Journal, check: bool = True):
        self.journal = journal
        self.check = check

    def __enter__(self) -> Journal:
        j = self.journal
        j._lock.acquire()
        try:
            conn = j._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self.check:
                    j.check_same_file()
                j._seen_version = conn.execute("PRAGMA data_version").fetchone()[0]
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            j._in_tx = True
        except BaseException:
            j._lock.release()
            raise
        return j

    def __exit__(self, exc_type, exc, tb) -> bool:
        j = self.journal
        try:
            j._in_tx = False
            j._conn.execute("ROLLBACK" if exc_type else "COMMIT")
            if exc_type is None:
                j._committed()
        finally:
            j._lock.release()
        return False
