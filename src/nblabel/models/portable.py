"""Models that travel: pickling a model carries its weights, not its loaded network.

A model sent to another process (a Ray worker, a ``multiprocessing`` pool) must not carry
thread locks or a half-initialised ultralytics predictor, and on another machine the path of
its checkpoint may not exist. So a pickled model holds its configuration and the bytes of the
checkpoint it predicts with; the receiving process writes them to a cache file of the same
name (the name and content make the model's version string, so records written from there
carry the same ``source``) and loads the network on its first ``predict``.

Example:
    >>> import pickle
    >>> from nblabel.models import GeneralAI
    >>> ai = GeneralAI("animal", classes=["bird"], weights="../shared/models/yolov5n.pt")
    >>> copy = pickle.loads(pickle.dumps(ai))
    >>> copy.version == ai.version
    True
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

_FILES = "_shipped_files"


def shipped_state(obj, drop: tuple[str, ...], files: tuple[str, ...]) -> dict:
    """``obj.__dict__`` without ``drop`` and with the content of the files named by ``files``.

    Each attribute in ``files`` holds a path (or ``None``); its bytes travel with the state.
    """
    state = {k: v for k, v in obj.__dict__.items() if k not in drop}
    shipped = {}
    for name in files:
        path = state.get(name)
        if path is not None and Path(path).is_file():
            shipped[name] = (Path(path).name, Path(path).read_bytes())
    state[_FILES] = shipped
    return state


def restore_state(obj, state: dict, locks: dict[str, type]) -> None:
    """Set ``obj``'s attributes from :func:`shipped_state`, write the shipped files to the
    local cache and point their attributes there, and make fresh ``locks``."""
    state = dict(state)
    shipped = state.pop(_FILES, {})
    for name, (filename, data) in shipped.items():
        state[name] = _cached_file(filename, data)
    obj.__dict__.update(state)
    for name, kind in locks.items():
        setattr(obj, name, kind())


def _cached_file(filename: str, data: bytes) -> Path:
    """A local file with ``data`` named ``filename``; one per content, written once, atomically
    (several workers on one machine may unpickle the same model at the same moment)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    root = Path(os.environ.get("NBLABEL_CACHE") or Path(tempfile.gettempdir()) / "nblabel-models")
    folder = root / digest
    path = folder / filename
    if path.is_file() and path.stat().st_size == len(data):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{filename}.{os.getpid()}.{threading.get_ident()}.part"
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
