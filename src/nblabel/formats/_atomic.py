"""Exports that are complete or absent.

A training run or a colleague reading an export while it is written, or after the kernel
was killed half way, must see either the previous export or the new one, never a mix:

- a single-file export (COCO, Label Studio, CVAT) is written to a temporary sibling, flushed
  and renamed over the destination;
- a folder export (YOLO, VOC, LabelMe) is built whole in a temporary sibling folder, and
  then swapped with the destination in one ``renameat2(RENAME_EXCHANGE)`` (Linux). Where
  that call does not exist, the previous export is renamed to a backup name, the new one
  into place, and the backup removed; an export killed between the two renames is restored
  from the backup by the next export to the same place.

Temporary siblings are named ``.<name>.nblabel-tmp-<pid>-<random>``; an exception removes
its own, and the next export to the same destination removes those whose process is gone
(a SIGKILL leaves no chance to clean up).

A folder export only replaces a folder that is new, empty, or an earlier export (it holds
the :data:`MANIFEST` the exports write, or a marker file the caller names). Anything in it
that the earlier export did not write (a user's notes, ultralytics' ``runs``) is carried
into the new folder as hard links, so the swap loses nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Written into every folder export: the relative paths of the files the export made.
MANIFEST = ".nblabel-export"
_TMP = ".nblabel-tmp-"
_OLD = ".nblabel-old-"
_RENAME_EXCHANGE = 2


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place.

    Text is written as UTF-8. On any error the temporary file is removed and ``path`` is
    left as it was.

    Example:
        >>> write_atomic("export/instances.json", "{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep(path)
    tmp = _sibling(path, _TMP)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def folder_export(
    out: str | os.PathLike, *, previous: Iterable[str] = (), markers: Iterable[str] = ()
) -> Iterator[Path]:
    """Build a folder export in a temporary sibling and swap it with ``out`` when done.

    Yields the temporary folder to write into. On a normal exit the files written there are
    listed in :data:`MANIFEST`, whatever the earlier export at ``out`` held besides its own
    files is carried over, and the folders are swapped; on an exception the temporary
    folder is removed and ``out`` is untouched.

    Args:
        out: the export folder (created when missing).
        previous: relative paths the earlier export wrote besides those in its manifest
            (e.g. from a format's own sidecar); they are not carried over.
        markers: file names that also identify an earlier export of this format.

    Raises:
        ValueError: ``out`` is a file, or a folder with other files and no marker of an
            earlier export (replacing it could lose work).

    Example:
        >>> with folder_export("export/voc") as tmp:
        ...     _ = (tmp / "a.xml").write_text("<annotation/>")
        >>> sorted(p.name for p in Path("export/voc").iterdir())
        ['.nblabel-export', 'a.xml']
    """
    out = Path(os.path.abspath(Path(out).expanduser()))
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file; give a folder to export into")
    out.parent.mkdir(parents=True, exist_ok=True)
    _restore_backup(out)
    sweep(out)
    prev = set(previous)
    if out.is_dir() and any(out.iterdir()):
        listed = _manifest(out)
        if listed is None and not any((out / m).exists() for m in markers):
            raise ValueError(
                f"{out} already holds files that nblabel did not write; export into a new "
                "or empty folder (an export replaces its folder as a whole)"
            )
        prev |= listed or set()
    tmp = _sibling(out, _TMP)
    tmp.mkdir()
    try:
        yield tmp
        written = {p.relative_to(tmp).as_posix() for p in _files(tmp)}
        (tmp / MANIFEST).write_text(
            json.dumps({"format": "nblabel-export", "files": sorted(written)}, indent=0),
            encoding="utf-8",
        )
        if out.is_dir():
            _carry_over(out, tmp, prev | written | {MANIFEST})
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep(dst: Path) -> None:
    """Remove temporary siblings of ``dst`` left by exports whose process is gone."""
    prefix = f".{dst.name}{_TMP}"
    try:
        entries = list(os.scandir(dst.parent))
    except OSError:
        return
    for e in entries:
        if not e.name.startswith(prefix):
            continue
        pid = e.name[len(prefix) :].split("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue  # another export to the same place is running
        p = Path(e.path)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


def _sibling(dst: Path, tag: str) -> Path:
    return dst.with_name(f".{dst.name}{tag}{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def _manifest(out: Path) -> set[str] | None:
    p = out / MANIFEST
    if not p.is_file():
        return None
    try:
        files = json.loads(p.read_text(encoding="utf-8")).get("files", [])
    except (ValueError, UnicodeDecodeError, AttributeError):
        return set()  # a broken manifest still marks the folder as an export
    return {f for f in files if isinstance(f, str)}


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            yield Path(dirpath) / n


def _carry_over(old: Path, new: Path, skip: set[str]) -> None:
    # What the user (or a training run) put into an earlier export, as hard links (copies
    # across file systems); files the earlier export wrote itself are replaced, not carried.
    for p in _files(old):
        rel = p.relative_to(old).as_posix()
        dst = new / rel
        if rel in skip or dst.exists() or dst.is_symlink():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink():
            dst.symlink_to(os.readlink(p))
            continue
        try:
            os.link(p, dst)
        except OSError:
            shutil.copy2(p, dst)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # kernel or file system without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(b))


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # now the earlier export
        return
    old = _sibling(out, _OLD)
    os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _restore_backup(out: Path) -> None:
    # An export killed between its two renames left the earlier export under a backup name.
    prefix = f".{out.name}{_OLD}"
    backups = sorted(p for p in out.parent.glob(f".{_glob_escape(out.name)}{_OLD}*"))
    if not backups:
        return
    if not out.exists():
        os.rename(backups[-1], out)
        backups = backups[:-1]
    for b in backups:
        if b.name.startswith(prefix):
            shutil.rmtree(b, ignore_errors=True)


def _glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)
