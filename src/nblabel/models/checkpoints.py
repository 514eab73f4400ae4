"""Read PyTorch checkpoints as data: recognise their kind, and unpickle without running code.

A ``.pt`` file is a zip holding a pickle, and a pickle can call any function it names. Two
kinds of YOLO checkpoints reach nblabel: the ``ultralytics`` package's (``yolo11n.pt``, a
``best.pt`` from ``model.train``) and the YOLOv5 repository's (``train.py`` -> ``best.pt``,
the official ``yolov5n.pt``). The second pickles classes of that repository's ``models.yolo``
and ``models.common`` modules, which are not installed here and must not be: importing a
foreign ``models`` package would run its code.

:func:`checkpoint_kind` tells the kinds apart by the names the pickle refers to (read with
``pickletools``, nothing executed), so a file is recognised by its content, never by its name.
:func:`load_yolov5` unpickles a YOLOv5 checkpoint with an allow-list: tensors, storages,
``torch.nn`` layers and plain containers are rebuilt; each YOLOv5 module becomes an inert
:class:`torch.nn.Module` that only holds its sub-layers and attributes (enough for
``state_dict()``), and any other global (``os.system``, ``builtins.eval`` ...) is refused.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import types
import zipfile
from functools import cache, lru_cache
from pathlib import Path

YOLOV5 = "yolov5"
ULTRALYTICS = "ultralytics"

# Callables a checkpoint may name besides classes: how torch rebuilds tensors and parameters.
_TORCH_REBUILDERS = frozenset(
    {
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch", "Size"),
        ("torch", "float16"),
        ("torch", "float32"),
        ("torch", "device"),
    }
)
_CONTAINERS = frozenset(
    {
        ("collections", "OrderedDict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("__builtin__", "set"),
    }
)
# YOLOv5 repository packages whose classes are replaced by inert stand-ins.
_YOLOV5_PACKAGES = ("models.yolo", "models.common", "models.experimental", "utils.autoanchor")


class CheckpointError(ValueError):
    """A file that is not a checkpoint nblabel can use, with what to do about it."""


def _pickle_bytes(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as z:
            name = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
            if name is None:
                raise CheckpointError(
                    f"{path} is a zip file but not a PyTorch checkpoint (no data.pkl inside)"
                )
            return z.read(name)
    except zipfile.BadZipFile:
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (.pt zip archive); pass a YOLO11/YOLOv8 "
            "(ultralytics) or YOLOv5 checkpoint such as yolo11n.pt, yolov5n.pt or a best.pt "
            "from training"
        ) from None


def pickle_globals(path: str | os.PathLike) -> set[tuple[str, str]]:
    """``(module, name)`` of every global the checkpoint's pickle refers to, read statically.

    Example:
        >>> ("models.yolo", "Detect") in pickle_globals("yolov5n.pt")  # doctest: +SKIP
        True
    """
    data = _pickle_bytes(Path(path))
    found: set[tuple[str, str]] = set()
    strings: list[str] = []  # STACK_GLOBAL takes the two strings pushed before it
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                module, _, name = str(arg).partition(" ")
                found.add((module, name))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add((strings[-2], strings[-1]))
            if isinstance(arg, str) and "UNICODE" in op.name:
                strings.append(arg)
    except Exception as e:  # a truncated or corrupt pickle
        raise CheckpointError(f"{path} is a damaged checkpoint ({e}); download it again") from e
    return found


@lru_cache(maxsize=64)
def _kind_cached(path: str, size: int, mtime: int) -> str:
    modules = {m for m, _ in pickle_globals(path)}
    if any(m.startswith("ultralytics.") for m in modules):
        return ULTRALYTICS
    if any(m in _YOLOV5_PACKAGES for m in modules):
        return YOLOV5
    raise CheckpointError(
        f"{path} is a PyTorch file but neither an ultralytics (YOLO11/YOLOv8) nor a YOLOv5 "
        "repository checkpoint; pass one of those (e.g. a best.pt written by training)"
    )


def checkpoint_kind(path: str | os.PathLike) -> str:
    """``"ultralytics"`` or ``"yolov5"``, judged from the pickle's contents, not the file name.

    Raises:
        CheckpointError: not a zip checkpoint, damaged, or of another kind.

    Example:
        >>> checkpoint_kind("../shared/models/yolov5n.pt")  # doctest: +SKIP
        'yolov5'
    """
    p = Path(path)
    st = p.stat()
    return _kind_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


@cache
def _stand_in(module: str, name: str) -> type:
    """An inert ``nn.Module`` subclass standing for a YOLOv5 repository class."""
    import torch.nn as nn

    # no forward, no __setstate__ of its own: unpickling only fills in attributes and children
    return types.new_class(name, (nn.Module,), {}, lambda ns: ns.update(__module__=module))


def _allowed_torch_class(module: str, name: str):
    import importlib

    import torch.nn as nn

    if not module.startswith("torch.nn.modules."):
        return None
    obj = getattr(importlib.import_module(module), name, None)
    return obj if isinstance(obj, type) and issubclass(obj, nn.Module) else None


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _TORCH_REBUILDERS:
            import importlib

            return getattr(importlib.import_module(module), name)
        if (module, name) in _CONTAINERS:
            import builtins
            import collections

            return getattr(collections if module == "collections" else builtins, name)
        if module in _YOLOV5_PACKAGES:
            return _stand_in(module, name)
        cls = _allowed_torch_class(module, name)
        if cls is not None:
            return cls
        raise pickle.UnpicklingError(
            f"checkpoint refers to {module}.{name}, which is not a model, tensor or container "
            "class; refusing to load it (a checkpoint that runs code is not loaded)"
        )


# torch.load takes a pickle *module*; this one differs from pickle only in its Unpickler
_safe_pickle = types.ModuleType("nblabel_safe_pickle")
_safe_pickle.Unpickler = _AllowListUnpickler
_safe_pickle.load = pickle.load
_safe_pickle.__name__ = "nblabel_safe_pickle"


def load_yolov5(path: str | os.PathLike) -> dict:
    """Unpickle a YOLOv5 repository checkpoint with the allow-list (no code from the file runs).

    Returns:
        The checkpoint dict (``"model"`` or ``"ema"`` is the network, with YOLOv5 modules as
        inert stand-ins).

    Raises:
        CheckpointError: the file names a global outside the allow-list, or holds no model.
    """
    import torch

    try:
        ckpt = torch.load(
            Path(path), map_location="cpu", weights_only=False, pickle_module=_safe_pickle
        )
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path}: {e}") from None
    if not isinstance(ckpt, dict) or (ckpt.get("ema") or ckpt.get("model")) is None:
        raise CheckpointError(f"{path} holds no model (expected a dict with 'model' or 'ema')")
    return ckpt
