"""Read PyTorch checkpoints as data: recognise their kind, and unpickle without running code.

A ``.pt`` file is a zip holding a pickle, and a pickle can call any function it names. Two
kinds of YOLO checkpoints reach nblabel: the ``ultralytics`` package's (``yolo11n.pt``, a
``best.pt`` from ``model.train``) and the YOLOv5 repository's (``train.py`` -> ``best.pt``,
the official ``yolov5n.pt``). The second pickles classes of that repository's ``models.yolo``
and ``models.common`` modules, which are not installed here and must not be: importing a
foreign ``models`` package would run its code.

:func:`checkpoint_kind` tells the kinds apart by the names the pickle refers to (read with
``pickletools``, nothing executed), so a file is recognised by its content, never by its name.
Both kinds are unpickled with an allow-list: tensors, storages, dtypes, ``torch.nn`` layers,
plain containers and the handful of data classes checkpoints hold are rebuilt; each YOLOv5
module becomes an inert :class:`torch.nn.Module` that only holds its sub-layers and attributes
(enough for ``state_dict()``); ``ultralytics`` model classes are the real ones
(:func:`load_ultralytics`); any other global (``os.system``, ``builtins.eval`` ...) is
refused with :class:`CheckpointError`. Model classes are only ever *re-created* (``__new__``
and their saved attributes), never *called*: a pickle that calls one with arguments of its
choosing (which would run the class's ``__init__``) is refused too.

SAM checkpoints are plain state dicts: :func:`load_state_dict` allows tensors and containers
alone, and :func:`load_sam` builds SAM's network empty and fills in those tensors.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import threading
import types
import zipfile
from contextlib import contextmanager
from functools import cache, lru_cache
from pathlib import Path

from ..core.errors import NblabelError

YOLOV5 = "yolov5"
ULTRALYTICS = "ultralytics"

# Callables a checkpoint may name besides classes: how torch rebuilds tensors and parameters.
_TORCH_REBUILDERS = frozenset(
    {
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch", "Size"),
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
# ultralytics modules whose nn.Module classes are rebuilt as themselves, and modules whose own
# plain classes checkpoints hold (a model's loss and its assigner).
_ULTRALYTICS_MODEL_MODULES = ("ultralytics.nn.tasks", "ultralytics.nn.modules")
_ULTRALYTICS_CLASS_MODULES = ("ultralytics.utils.loss", "ultralytics.utils.tal")
# Names older ultralytics releases pickled, and where they live now.
_RENAMED_MODULES = {
    "ultralytics.yolo.utils": "ultralytics.utils",
    "ultralytics.yolo.v8": "ultralytics.models.yolo",
    "ultralytics.yolo.data": "ultralytics.data",
}
_RENAMED = {
    ("ultralytics.nn.modules.block", "Silence"): ("torch.nn.modules.linear", "Identity"),
    ("ultralytics.nn.tasks", "YOLOv10DetectionModel"): ("ultralytics.nn.tasks", "DetectionModel"),
    ("ultralytics.utils.loss", "v10DetectLoss"): ("ultralytics.utils.loss", "E2EDetectLoss"),
}
# Attributes a checkpoint may take with getattr: layers that saved a swapped forward method.
_GETATTR_NAMES = frozenset({"forward", "forward_fuse"})


class CheckpointError(NblabelError, ValueError):
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
        >>> ("models.yolo", "Detect") in pickle_globals("../shared/models/yolov5n.pt")
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
        >>> checkpoint_kind("../shared/models/yolov5n.pt")
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


def _module_class(module: str, name: str, base: type | None):
    """``module.name`` when it is a class (a subclass of ``base``, or, without a base, one
    defined in ``module`` itself), else None. Only called for allow-listed modules."""
    import importlib

    try:
        obj = getattr(importlib.import_module(module), name, None)
    except ImportError:  # a module of that name does not exist here: refuse, never install
        return None
    if not isinstance(obj, type):
        return None
    if base is not None:
        return obj if issubclass(obj, base) else None
    return obj if obj.__module__ == module else None


def _restricted_getattr(obj, name: str):
    import torch.nn as nn

    is_module = isinstance(obj, nn.Module) or (isinstance(obj, type) and issubclass(obj, nn.Module))
    if is_module and name in _GETATTR_NAMES:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f"checkpoint asks for getattr({type(obj).__name__}, {name!r}); refusing to load it"
    )


def _data_global(module: str, name: str):
    """The plain data types and constructors checkpoints hold, or None."""
    import importlib

    if (module, name) in _TORCH_REBUILDERS:
        return getattr(importlib.import_module(module), name)
    if (module, name) in _CONTAINERS:
        import builtins
        import collections

        return getattr(collections if module == "collections" else builtins, name)
    if module == "torch":
        import torch

        obj = getattr(torch, name, None)
        return obj if isinstance(obj, torch.dtype) else None
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "scalar":
        import numpy as np

        return np.float64(0).__reduce__()[0]  # numpy's scalar rebuilder, wherever it lives
    if (module, name) == ("numpy", "dtype"):
        import numpy as np

        return np.dtype
    if module in ("pathlib", "pathlib._local") and name in ("PosixPath", "WindowsPath"):
        import pathlib

        return pathlib.PurePath  # a pickled training path is kept as text, never touched
    if (module, name) in (("builtins", "getattr"), ("__builtin__", "getattr")):
        return _restricted_getattr
    return None


def _ultralytics_global(module: str, name: str):
    import torch.nn as nn

    module, name = _RENAMED.get((module, name), (module, name))
    for old, new in _RENAMED_MODULES.items():
        if module == old or module.startswith(old + "."):
            module = new + module[len(old) :]
    if module == "ultralytics.utils" and name == "IterableSimpleNamespace":
        from ultralytics.utils import IterableSimpleNamespace

        return IterableSimpleNamespace
    if module.startswith("torch.nn.modules."):
        return _module_class(module, name, nn.Module)
    if any(module == m or module.startswith(m + ".") for m in _ULTRALYTICS_MODEL_MODULES):
        return _module_class(module, name, nn.Module)
    if module in _ULTRALYTICS_CLASS_MODULES:
        return _module_class(module, name, None)
    return None


def _refuse(module: str, name: str):
    raise pickle.UnpicklingError(
        f"checkpoint refers to {module}.{name}, which is not a model, tensor or container "
        "class; refusing to load it (a checkpoint that runs code is not loaded)"
    )


class _AllowListUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (its opcodes can be overridden), with an allow-list of
    globals and calls. YOLOv5 classes become inert stand-ins; see :class:`_UltralyticsUnpickler`.
    A checkpoint's pickle is small (the tensors live in separate zip entries), so speed is
    not the pure-Python unpickler's concern here."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str):
        obj = _data_global(module, name)
        if obj is None and module in _YOLOV5_PACKAGES:
            obj = _stand_in(module, name)
        if obj is None and module.startswith("torch.nn.modules."):
            import torch.nn as nn

            obj = _module_class(module, name, nn.Module)
        return obj if obj is not None else _refuse(module, name)

    @staticmethod
    def _call(func, args, kwargs=None):
        # a class is only re-created from its saved state (NEWOBJ + BUILD); calling it would
        # run its __init__ with the file's arguments. Data types and rebuilders may be called.
        if isinstance(func, type):
            import torch.nn as nn

            if issubclass(func, nn.Module) or func.__module__.startswith("ultralytics."):
                if args or kwargs:
                    raise pickle.UnpicklingError(
                        f"checkpoint calls {func.__module__}.{func.__qualname__} with "
                        "arguments; refusing to load it (a checkpoint that runs code is not "
                        "loaded)"
                    )
                return func.__new__(func)
        return func(*args, **(kwargs or {}))

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = self._call(self.stack[-1], args)

    def load_inst(self):
        module = self.readline()[:-1].decode("ascii")
        name = self.readline()[:-1].decode("ascii")
        self.append(self._call(self.find_class(module, name), tuple(self.pop_mark())))

    def load_obj(self):
        args = self.pop_mark()
        cls = args.pop(0)
        self.append(self._call(cls, tuple(args)))

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.INST[0]] = load_inst
    dispatch[pickle.OBJ[0]] = load_obj


class _UltralyticsUnpickler(_AllowListUnpickler):
    """The same allow-list, with the ultralytics package's own classes as themselves."""

    dispatch = _AllowListUnpickler.dispatch

    def find_class(self, module: str, name: str):
        obj = _data_global(module, name)
        if obj is None:
            obj = _ultralytics_global(module, name)
        return obj if obj is not None else _refuse(module, name)


class _WeightsUnpickler(_AllowListUnpickler):
    """Tensors, dtypes and containers only: all a weights-only checkpoint (a state dict, such
    as SAM's) holds, so no model class, YOLOv5 stand-in or ultralytics class is allowed."""

    dispatch = _AllowListUnpickler.dispatch

    def find_class(self, module: str, name: str):
        obj = _data_global(module, name)
        return obj if obj is not None else _refuse(module, name)


def _pickle_module(unpickler: type) -> types.ModuleType:
    # torch.load takes a pickle *module*; these differ from pickle only in their Unpickler
    mod = types.ModuleType(f"nblabel_safe_pickle_{unpickler.__name__}")
    mod.Unpickler = unpickler
    mod.load = pickle.load
    return mod


_safe_pickle = _pickle_module(_AllowListUnpickler)
_safe_ultralytics_pickle = _pickle_module(_UltralyticsUnpickler)
_safe_weights_pickle = _pickle_module(_WeightsUnpickler)


def _torch_load_safely(path, pickle_module) -> object:
    import torch

    try:
        return torch.load(
            Path(path), map_location="cpu", weights_only=False, pickle_module=pickle_module
        )
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path}: {e}") from None


def load_yolov5(path: str | os.PathLike) -> dict:
    """Unpickle a YOLOv5 repository checkpoint with the allow-list (no code from the file runs).

    Returns:
        The checkpoint dict (``"model"`` or ``"ema"`` is the network, with YOLOv5 modules as
        inert stand-ins).

    Raises:
        CheckpointError: the file names a global outside the allow-list, or holds no model.
    """
    ckpt = _torch_load_safely(path, _safe_pickle)
    if not isinstance(ckpt, dict) or (ckpt.get("ema") or ckpt.get("model")) is None:
        raise CheckpointError(f"{path} holds no model (expected a dict with 'model' or 'ema')")
    return ckpt


def load_ultralytics_checkpoint(path: str | os.PathLike) -> dict:
    """Unpickle an ultralytics checkpoint with the allow-list (no code from the file runs).

    Raises:
        CheckpointError: the file names a global outside the allow-list, or holds no model.

    Example:
        >>> ckpt = load_ultralytics_checkpoint("best.pt")
        >>> type(ckpt["model"]).__name__
        'DetectionModel'
    """
    ckpt = _torch_load_safely(path, _safe_ultralytics_pickle)
    if not isinstance(ckpt, dict) or (ckpt.get("ema") or ckpt.get("model")) is None:
        raise CheckpointError(f"{path} holds no model (expected a dict with 'model' or 'ema')")
    return ckpt


_routing = threading.local()  # set while this thread loads through load_ultralytics
_route_lock = threading.Lock()


def _route_ultralytics_loads() -> None:
    """Make ultralytics' checkpoint loader use the allow-list while this thread is inside
    :func:`safe_loading`; other threads and other code keep ultralytics' own loader."""
    import ultralytics.nn.tasks as tasks
    import ultralytics.utils.torch_utils as torch_utils

    # tasks loads models (YOLO(path), validation); torch_utils re-reads a trained best.pt to
    # strip its optimizer state
    with _route_lock:
        for module in (tasks, torch_utils):
            if getattr(module.torch_load, "_nblabel_router", False):
                continue
            module.torch_load = _router(module.torch_load)


def _router(original):
    def torch_load(file, *args, **kwargs):
        if getattr(_routing, "depth", 0):
            return _torch_load_safely(file, _safe_ultralytics_pickle)
        return original(file, *args, **kwargs)

    torch_load._nblabel_router = True
    return torch_load


@contextmanager
def quiet_ultralytics(quiet: bool):
    """Silence ultralytics' log and progress bars (they would print into whichever notebook
    cell is running while a background retrain goes on)."""
    if not quiet:
        yield
        return
    import logging

    from ultralytics.utils import LOGGER

    level = LOGGER.level
    LOGGER.setLevel(logging.WARNING)  # ultralytics' TQDM also turns itself off above INFO
    try:
        yield
    finally:
        LOGGER.setLevel(level)


@contextmanager
def safe_loading():
    """Inside this block, every checkpoint ultralytics loads in this thread (``YOLO(path)``,
    the best weights reloaded after ``train``) goes through the allow-list unpickler.

    Example:
        >>> from ultralytics import YOLO
        >>> with safe_loading():
        ...     model = YOLO("best.pt")
        >>> model.task
        'detect'
    """
    _route_ultralytics_loads()
    _routing.depth = getattr(_routing, "depth", 0) + 1
    try:
        yield
    finally:
        _routing.depth -= 1


def load_ultralytics(path: str | os.PathLike, task: str | None = None):
    """``ultralytics.YOLO`` for a checkpoint (or model yaml) without running code from it.

    The file is unpickled with the allow-list, so a hostile ``best.pt`` is refused with a
    :class:`CheckpointError` instead of running its payload.

    Example:
        >>> model = load_ultralytics("runs/train/weights/best.pt")
        >>> model.task
        'detect'
    """
    from ultralytics import YOLO

    with safe_loading():
        return YOLO(str(path), task=task)


def load_state_dict(path: str | os.PathLike) -> dict:
    """Unpickle a weights-only checkpoint (``name -> tensor``) with the strictest allow-list.

    SAM checkpoints (``mobile_sam.pt``, ``sam_b.pt``, ``sam2.1_t.pt`` ...) hold a state dict,
    alone or under ``"model"``: tensors in containers and nothing else, so any class at all
    in the file is refused before it is built.

    Raises:
        CheckpointError: the file names a global outside tensors and containers, or is not
            a state dict.

    Example:
        >>> import os, tempfile, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "weights.pt")
        >>> torch.save({"model": {"conv.weight": torch.ones(2)}}, path)
        >>> load_state_dict(path)["conv.weight"].tolist()
        [1.0, 1.0]
    """
    import torch

    state = _torch_load_safely(path, _safe_weights_pickle)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path} is not a state dict of tensors (a SAM checkpoint such as mobile_sam.pt is one)"
        )
    return state


def _sam_builder(name: str):
    """ultralytics' builder of the SAM architecture a checkpoint's file name stands for."""
    from ultralytics.models.sam.build import sam_model_map

    # a renamed file may end in more than one known name; the longest is the most specific
    matches = [k for k in sam_model_map if name.endswith(k)]
    if not matches:
        raise CheckpointError(
            f"cannot tell which SAM architecture {name!r} holds; name the file like the official "
            f"checkpoint it came from (one of {', '.join(sorted(sam_model_map))})"
        )
    return sam_model_map[max(matches, key=len)]


def load_sam(path: str | os.PathLike):
    """``ultralytics.SAM`` for a SAM checkpoint without running code from it.

    ultralytics builds SAM's network from the file name and unpickles the weights with
    ``weights_only=False``; here the network is built empty and the weights come from
    :func:`load_state_dict`, so a hostile ``mobile_sam.pt`` is refused with a
    :class:`CheckpointError` instead of running its payload.

    Example:
        SAM's checkpoint is 40 MB and downloaded on first use, so these lines do not run
        with the examples:

        >>> sam = load_sam("mobile_sam.pt")  # doctest: +SKIP
        >>> sam.predict(image, bboxes=[[10, 10, 90, 90]])  # doctest: +SKIP
    """
    from ultralytics import SAM

    class _SafeSAM(SAM):
        def _load(self, weights: str, task=None):
            builder = _sam_builder(Path(weights).name)
            state = load_state_dict(weights)  # before building: a refused file costs nothing
            net = builder(None)  # the architecture alone, untrained
            try:
                net.load_state_dict(state)
            except RuntimeError as e:  # other tensors than the architecture has
                raise CheckpointError(
                    f"{weights} does not hold the weights of {Path(weights).name}'s SAM "
                    f"architecture ({str(e).splitlines()[0]}); check the file name"
                ) from None
            self.model = net

    return _SafeSAM(str(Path(path)))
