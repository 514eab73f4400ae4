"""Find a model checkpoint on disk, or download a standard one, failing fast when offline.

``resolve_weights("yolo11n.pt")`` looks for the file locally first (``$NBLABEL_WEIGHTS_DIR``,
then ultralytics' weights folder) and otherwise downloads it the way ultralytics does.

A bare name is never looked up in the current folder: a checkpoint is a pickle that can run
code, and a file that happens to sit beside a notebook (or was put there) must not be loaded
just because its name is the default's. A file there is used when it is given as a path,
e.g. ``weights="./yolo11n.pt"``. Without internet that download would retry for a long time and end in a
deep traceback, so nblabel checks the network first (a TCP connect with a short timeout) and
raises :class:`WeightsUnavailableError` saying which file to fetch and how to pass it in.
Set ``NBLABEL_OFFLINE=1`` (or ultralytics' ``YOLO_OFFLINE=1``) to skip even that check.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path

from nblabel.core.errors import NblabelError

OFFLINE_ENV = "NBLABEL_OFFLINE"
WEIGHTS_DIR_ENV = "NBLABEL_WEIGHTS_DIR"

# The default face model (YuNet) and where it comes from on machines with internet: the
# OpenCV model zoo, which names the file by its date.
YUNET_NAME = "face_detection_yunet.onnx"
YUNET_ZOO_NAME = "face_detection_yunet_2023mar.onnx"
YUNET_URL = (
    f"https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/{YUNET_ZOO_NAME}"
)

# Files that do not come from ultralytics' release assets: name -> download URL.
EXTRA_URLS = {YUNET_NAME: YUNET_URL}
# Published checksums of those files: a truncated or substituted download is not kept.
EXTRA_SHA256 = {YUNET_NAME: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"}
# Other file names the same model is saved under (the model zoo's dated file name).
ALSO_KNOWN_AS = {YUNET_NAME: (YUNET_ZOO_NAME,)}
# The standard checkpoint of each task: what GeneralAI's categories and CustomAI start from.
TASK_WEIGHTS = {"detect": "yolo11n.pt", "segment": "yolo11n-seg.pt", "pose": "yolo11n-pose.pt"}
# Checkpoints on this machine that stand in, offline, for the standard COCO detector: their
# class names are COCO's, so every detection category works with them.
DETECT_FALLBACKS = ("yolov5n.pt", "yolov5s.pt", "yolov8n.pt", "yolo11s.pt")
ULTRALYTICS_RELEASES = "https://github.com/ultralytics/assets/releases"

# Host probed before a download; both kinds of assets are served from GitHub.
PROBE_ADDRESS = ("github.com", 443)
PROBE_TIMEOUT_S = 3.0

_hash_cache: dict[tuple[str, int, int], str] = {}


class WeightsUnavailableError(NblabelError, RuntimeError):
    """A standard checkpoint is not on this machine and cannot be downloaded now.

    Attributes:
        name: The file name that was asked for, e.g. ``"yolo11n.pt"``.
        url: Where to download it on a machine with internet.
    """

    def __init__(self, name: str, reason: str, url: str):
        self.name = name
        self.url = url
        super().__init__(
            f"model weights {name!r} are not on this machine and cannot be downloaded "
            f"({reason}). Download {name} from {url} on a machine with internet, copy it "
            f'here and pass its path, e.g. weights="path/to/{name}" (or put it in '
            f"${WEIGHTS_DIR_ENV})."
        )


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def network_available(address: tuple[str, int] | None = None, timeout: float | None = None) -> bool:
    """True when a TCP connection to ``address`` (default github.com:443) opens in time.

    DNS lookups ignore socket timeouts and can hang on a misconfigured machine, so the whole
    probe runs in a daemon thread and is abandoned after ``timeout`` seconds.
    """
    host, port = address or PROBE_ADDRESS
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    ok: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, name="nblabel-network-probe", daemon=True)
    t.start()
    t.join(timeout)
    return bool(ok)


def _is_bare_name(weights: str | os.PathLike) -> bool:
    # "yolo11n.pt" may be downloaded; "models/yolo11n.pt" is a path the user vouches for
    s = os.fspath(weights)
    return os.sep not in s and "/" not in s and not Path(s).is_absolute()


def _ultralytics_assets() -> frozenset[str]:
    from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

    return frozenset(GITHUB_ASSETS_NAMES)


def _ultralytics_weights_dir() -> Path:
    from ultralytics.utils import SETTINGS

    return Path(SETTINGS["weights_dir"])


def cache_dir() -> Path:
    """Folder for downloaded model files: ``$NBLABEL_CACHE`` or ``~/.cache/nblabel``.

    The face detector caches its model here too, so one download serves both.
    """
    env = os.environ.get("NBLABEL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "nblabel"


def search_dirs(name: str) -> list[Path]:
    """Folders searched, in order, for a checkpoint given by bare file name.

    The last one is where a download is saved. The current folder is not one of them (see
    the module's docstring): pass a path to use a file there.
    """
    dirs = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(Path(os.environ[WEIGHTS_DIR_ENV]).expanduser())
    # ultralytics (and torch) are only imported for its own checkpoints
    dirs.append(cache_dir() if name in EXTRA_URLS else _ultralytics_weights_dir())
    return dirs


def _candidates(name: str) -> list[Path]:
    names = [name, *ALSO_KNOWN_AS.get(name, ())]
    return [d / n for d in search_dirs(name) for n in names]


def find_local(names) -> Path | None:
    """The first of ``names`` found in the folders searched for bare names, or None.

    Never downloads. Example:
        >>> find_local(["no-such-checkpoint.pt"]) is None
        True
    """
    for name in names:
        for candidate in _candidates(name):
            if candidate.is_file():
                return candidate.resolve()
    return None


def source_url(name: str) -> str:
    """Where a standard checkpoint can be downloaded by hand."""
    if name in EXTRA_URLS:
        return EXTRA_URLS[name]
    import inspect

    from ultralytics.utils.downloads import attempt_download_asset

    # the release tag ultralytics itself downloads from, so the link matches its version
    release = inspect.signature(attempt_download_asset).parameters["release"].default
    if isinstance(release, str) and release:
        return f"{ULTRALYTICS_RELEASES}/download/{release}/{name}"
    return f"{ULTRALYTICS_RELEASES} (file {name})"


def _download(name: str, dest: Path) -> Path:
    from ultralytics.utils.downloads import attempt_download_asset, safe_download

    dest.parent.mkdir(parents=True, exist_ok=True)
    if name in EXTRA_URLS:
        safe_download(EXTRA_URLS[name], file=dest, retry=1, min_bytes=1e4)
        expected = EXTRA_SHA256.get(name)
        if expected and _sha256(dest) != expected:
            dest.unlink(missing_ok=True)
            raise OSError(f"checksum mismatch for {EXTRA_URLS[name]}")
    else:
        # a full path makes ultralytics save into its weights folder, not the notebook's folder
        attempt_download_asset(dest, retry=1)
    return dest


def resolve_weights(weights: str | os.PathLike) -> Path:
    """Path of a checkpoint file, downloading a standard one when needed and possible.

    Args:
        weights: A path to a file (must exist) or a standard file name such as
            ``"yolo11n.pt"``, ``"yolo11n-seg.pt"`` or ``"face_detection_yunet.onnx"``.

    Returns:
        The absolute path of an existing file.

    Raises:
        FileNotFoundError: a path (or an unknown bare name) that does not exist.
        WeightsUnavailableError: a standard name that is not here and cannot be downloaded.

    Example:
        >>> resolve_weights("../shared/models/yolov5n.pt").is_absolute()
        True
    """
    if weights is None or (isinstance(weights, str) and not weights.strip()):
        raise ValueError(f'weights must be a file path or name like "yolo11n.pt", got {weights!r}')
    p = Path(weights).expanduser()
    if not _is_bare_name(weights):
        if not p.is_file():
            raise FileNotFoundError(
                f"model weights file not found: {os.fspath(weights)!r} "
                f"(resolved to {p.resolve()}); check the path"
            )
        return p.resolve()

    name = p.name
    for candidate in _candidates(name):
        if candidate.is_file():
            return candidate.resolve()
    standard = name in EXTRA_URLS or name in _ultralytics_assets()
    if not standard:
        raise FileNotFoundError(
            f"model weights file not found: {name!r} (looked in "
            f"{', '.join(str(d) for d in search_dirs(name))}); pass the full path, e.g. "
            f'weights="path/to/{name}" (a file in the current folder {Path.cwd()} is used '
            f'when given as weights="./{name}")'
        )
    url = source_url(name)
    if _env_true(OFFLINE_ENV) or _env_true("YOLO_OFFLINE"):
        raise WeightsUnavailableError(name, f"{OFFLINE_ENV} or YOLO_OFFLINE is set", url)
    if not network_available():
        host, port = PROBE_ADDRESS
        raise WeightsUnavailableError(
            name, f"no internet connection: {host}:{port} unreachable", url
        )
    dest = search_dirs(name)[-1] / name
    try:
        path = _download(name, dest)
    except Exception as e:  # any network or disk failure means the same thing to the user
        raise WeightsUnavailableError(name, f"download failed: {e}", url) from None
    if not path.is_file():
        raise WeightsUnavailableError(name, "download produced no file", url)
    return path.resolve()


def short_hash(path: str | os.PathLike, length: int = 8) -> str:
    """First ``length`` hex digits of the file's SHA-256, cached by path, size and mtime.

    Used as a model version: two files with the same name but different weights (a
    fine-tuned ``best.pt`` overwritten by the next run) get different versions.

    Example:
        >>> short_hash("../shared/models/yolov5n.pt")
        '4f180cf2'
    """
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    digest = _hash_cache.get(key)
    if digest is None:
        digest = _hash_cache[key] = _sha256(p)
    return digest[:length]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_version(path: str | os.PathLike) -> str:
    """``"<file stem>@<short hash>"``, the ``source`` written into predicted records.

    Example:
        >>> model_version("../shared/models/yolov5n.pt")
        'yolov5n@4f180cf2'
    """
    return f"{Path(path).stem}@{short_hash(path)}"
