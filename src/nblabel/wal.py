"""WAL checkpoints off the writer's path.

A journal runs in SQLite's write-ahead-log mode: a commit appends the pages it changed to the
``-wal`` file, and a *checkpoint* copies them back into the database and syncs it. SQLite
does that by default inside the commit that crosses 1,000 pages, so one write in a few
hundred waits for the copy and the sync (about 10 ms on a big journal, where every write
touches pages far apart). Journals turn that off and ask this module instead: one daemon
thread, shared by every journal of the process, runs a passive checkpoint (it never blocks a
writer or a reader) over its own connection every :data:`EVERY` commits. Durability does not
change: a commit is in the log before it returns; a checkpoint only moves it.

SQLite starts the log over only when a write begins after a checkpoint copied *all* of it.
Under writes that never pause (a script annotating in a loop, an auto-labeling run) the
background pass always ends a few commits behind, so the log would grow without end and
every page read would search a longer log. Once a pass finds the log longer than
:data:`RESTART_FRAMES`, the writer copies the few pages behind it itself (:func:`finish`),
and its next write starts the log over.

Example:
    >>> import sqlite3, tempfile, pathlib
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "x.db"
    >>> conn = sqlite3.connect(db, isolation_level=None)
    >>> conn.execute("PRAGMA journal_mode=WAL").fetchone()
    ('wal',)
    >>> _ = conn.execute("CREATE TABLE t (v)")
    >>> request(db)
    >>> wait_idle(5)
    True
"""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading

# Commits between two checkpoint requests of one journal: a few hundred pages of log.
EVERY = 200
# Log pages from which the writer finishes a checkpoint itself: one of SQLite's log index
# tables (4,096 pages, 16 MB); a page read searches one table per 4,096 pages of log.
RESTART_FRAMES = 4096

_queue: queue.Queue = queue.Queue()
_pending: set[str] = set()  # paths queued and not yet checkpointed: asked once, done once
_log_pages: dict[str, int] = {}  # the log's length as the last pass found it, per path
_lock = threading.Lock()
_thread: threading.Thread | None = None
_idle = threading.Event()
_idle.set()


def request(path: str | os.PathLike) -> None:
    """Ask for a passive checkpoint of the database at ``path`` soon (returns at once)."""
    global _thread
    key = str(path)
    with _lock:
        if key in _pending:
            return
        _pending.add(key)
        _idle.clear()
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="nblabel-wal-checkpoint", daemon=True)
            _thread.start()
    _queue.put(key)


def needs_finish(path: str | os.PathLike) -> bool:
    """True when the last background pass over ``path`` found a long log and has ended:
    the writer should :func:`finish` the checkpoint."""
    key = str(path)
    with _lock:
        return key not in _pending and _log_pages.get(key, 0) >= RESTART_FRAMES


def finish(conn: sqlite3.Connection, path: str | os.PathLike) -> None:
    """On the writer's connection, between its transactions: copy what is still only in the
    log (what the last background pass left, or a whole import), so the next write starts
    the log over. Best effort: a busy file is left for the next pass."""
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    with _lock:
        _log_pages.pop(str(path), None)


def wait_idle(timeout: float | None = None) -> bool:
    """Block until every requested checkpoint ran; False on timeout."""
    return _idle.wait(timeout)


def _run() -> None:
    while True:
        key = _queue.get()
        try:
            checkpoint(key)
        finally:
            with _lock:
                _pending.discard(key)
                if not _pending:
                    _idle.set()


def checkpoint(path: str | os.PathLike) -> None:
    """One passive checkpoint of an existing database; nothing when it is gone or busy (the
    next request tries again, and SQLite checkpoints when the last connection closes)."""
    # mode=rw: a journal deleted meanwhile is not created again, empty, by the checkpoint
    uri = f"file:{os.fspath(path)}?mode=rw"
    with contextlib.suppress(sqlite3.Error, OSError):
        conn = sqlite3.connect(uri, uri=True, timeout=0.1, isolation_level=None)
        try:
            _, pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        with _lock:
            _log_pages[str(path)] = pages
