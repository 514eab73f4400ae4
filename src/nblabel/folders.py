"""Listing an image folder: what is an image, what is not, in the order a person counts.

A folder of a million images is listed with ``os.scandir`` and plain strings (``pathlib``
objects for every entry cost more than reading the image headers), and sorted in natural
order of each path component, so ``b/x`` stays after every ``a/...`` file and ``img-2``
comes before ``img-10``.

Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name in ("img-10.jpg", "img-2.jpg", "notes.txt"):
    ...     open(os.path.join(root, name), "w").close()
    >>> listing = list_folder(root)
    >>> [os.path.basename(p) for p in listing.images + listing.other]
    ['img-2.jpg', 'img-10.jpg', 'notes.txt']
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from .images import IMAGE_EXTENSIONS, natural_key, size_or_problem

# Below this many images one process reads the headers faster than starting others would.
PARALLEL_FROM = 20_000
_CHUNK = 4_000


@dataclass
class Listing:
    """Paths, each list in natural order: ``images``, files (or links) named like images;
    ``other``, other files; ``odd``, entries that are not files (a folder named like an image,
    a link to a folder)."""

    images: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    odd: list[str] = field(default_factory=list)


def is_image_name(name: str) -> bool:
    """True when ``name`` ends in an image extension nblabel reads."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def list_folder(root: str | os.PathLike, recursive: bool = True) -> Listing:
    """Every entry under ``root`` sorted into images, other files and odd entries.

    Names starting with a dot are skipped (their folders are still searched, as a glob
    would); linked folders are listed but not entered, so a link loop cannot hang the import.
    """
    found: dict[str, list] = {"images": [], "other": [], "odd": []}
    _scan(os.fspath(root), [], recursive, found)
    for kind in found.values():
        kind.sort(key=lambda item: item[0])
    return Listing(**{kind: [path for _, path in items] for kind, items in found.items()})


def _scan(folder: str, prefix: list, recursive: bool, found: dict) -> None:
    """Sort ``folder``'s entries into ``found``; ``prefix`` is the folder's own sort key
    (one ``(natural key, name)`` per path component; the name breaks ties such as "a01"
    and "a1", so the order never depends on the disk)."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except PermissionError:
        return  # a folder the user cannot read holds nothing to label
    for entry in entries:
        name = entry.name
        try:
            real_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            real_dir = False
        if real_dir and recursive:
            _scan(entry.path, [*prefix, (natural_key(name), name)], recursive, found)
        if name.startswith("."):
            continue
        image = is_image_name(name)
        try:
            is_file = entry.is_file()  # follows links: a link to an image is an image
        except OSError:
            is_file = False
        if is_file:
            kind = "images" if image else "other"
        elif entry.is_symlink():
            # a link to nothing, or to itself: an image that is missing, said so in its row
            # when it is named like one
            kind = "images" if image else "odd"
        elif real_dir and image:
            kind = "odd"
        else:
            continue
        found[kind].append(([*prefix, (natural_key(name), name)], entry.path))


def image_sizes(
    paths: Sequence[str], workers: int | None = None, progress: bool = True
) -> list[tuple[int, int, str | None]]:
    """:func:`~nblabel.images.size_or_problem` of every path, in order.

    From :data:`PARALLEL_FROM` images on, the headers are read by ``workers`` processes
    (default: one per CPU), with a progress bar.

    Example:
        >>> image_sizes(["missing.jpg"])
        [(0, 0, 'file not found')]
    """
    workers = min(workers or os.cpu_count() or 1, -(-len(paths) // _CHUNK))
    if workers < 2 or len(paths) < PARALLEL_FROM:
        return [size_or_problem(p) for p in paths]
    import threading

    from tqdm.auto import tqdm

    # Plain child processes fed on stdin, not multiprocessing: a spawned pool imports the
    # caller's script again (an import cell in a script without a main guard would run
    # twice), and a forked one would inherit the kernel's threads mid-step.
    shards = [paths[i::workers] for i in range(workers)]
    results: list[list] = [[] for _ in shards]
    errors: list[str] = []
    bar = tqdm(total=len(paths), desc="reading image headers", unit="img", disable=not progress)
    lock = threading.Lock()

    def run(i: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nblabel.folders"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
        )
        feeder = threading.Thread(target=_feed, args=(proc.stdin, shards[i]), daemon=True)
        feeder.start()
        for line in proc.stdout:
            chunk = json.loads(line)
            results[i].extend(tuple(r) for r in chunk)
            with lock:
                bar.update(len(chunk))
        feeder.join()
        if proc.wait() != 0:
            errors.append(proc.stderr.read().strip()[-500:])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    if errors or sum(map(len, results)) != len(paths):
        # a worker that could not start or died: read the headers here instead
        return [size_or_problem(p) for p in paths]
    out: list = [None] * len(paths)
    for i, shard in enumerate(results):
        out[i::workers] = shard
    return out


def _feed(stream, paths: Sequence[str]) -> None:
    try:
        for p in paths:
            stream.write(json.dumps(p) + "\n")
    finally:
        stream.close()


def _worker() -> None:
    """``python -m nblabel.folders``: JSON paths on stdin, sizes on stdout a chunk a line."""
    sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")
    chunk = []
    for line in sys.stdin:
        chunk.append(size_or_problem(json.loads(line)))
        if len(chunk) == 1000:
            print(json.dumps(chunk), flush=True)
            chunk = []
    if chunk:
        print(json.dumps(chunk), flush=True)


if __name__ == "__main__":
    _worker()
