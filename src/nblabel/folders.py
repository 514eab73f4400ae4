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

import os
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
    _scan(os.fspath(root), (), recursive, found)
    for kind in found.values():
        kind.sort(key=lambda item: item[0])
    return Listing(**{kind: [path for _, path in items] for kind, items in found.items()})


def _order(parts: tuple, name: str) -> list:
    # the name itself breaks ties ("a01", "a1") so the order never depends on the disk
    return [(natural_key(n), n) for n in (*parts, name)]


def _scan(folder: str, parts: tuple, recursive: bool, found: dict) -> None:
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
            _scan(entry.path, (*parts, name), recursive, found)
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
        found[kind].append((_order(parts, name), entry.path))


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
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(paths) < PARALLEL_FROM:
        return [size_or_problem(p) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    chunks = [list(paths[i : i + _CHUNK]) for i in range(0, len(paths), _CHUNK)]
    out: list[tuple[int, int, str | None]] = []
    # spawned, not forked: a notebook kernel runs threads (torch, the loop's worker) that a
    # forked child would inherit mid-step
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(workers, mp_context=context) as pool,
        tqdm(
            total=len(paths), desc="reading image headers", unit="img", disable=not progress
        ) as bar,
    ):
        for sizes in pool.map(_sizes_of, chunks):
            out.extend(sizes)
            bar.update(len(sizes))
    return out


def _sizes_of(paths: list[str]) -> list[tuple[int, int, str | None]]:
    return [size_or_problem(p) for p in paths]
