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
from dataclasses import dataclass, field

from .images import IMAGE_EXTENSIONS, natural_key


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
