"""Checkpoint resolution: explicit paths, standard names, the fast offline error, hashes."""

from __future__ import annotations

import hashlib
import os
import shutil
import time

import pytest

from nblabel.models import weights as W
from nblabel.models.general import GeneralAI
from nblabel.models.weights import (
    WeightsUnavailableError,
    model_version,
    network_available,
    resolve_weights,
    short_hash,
)

# TEST-NET-1 (RFC 5737): never routed, so a connect either fails at once or hangs until the
# timeout, the two ways an offline machine behaves.
UNROUTABLE = ("192.0.2.1", 443)


@pytest.fixture()
def no_local_weights(tmp_path, monkeypatch):
    """A clean lookup: empty current folder, weights and cache folders, no offline flags."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    monkeypatch.delenv(W.OFFLINE_ENV, raising=False)
    monkeypatch.delenv("YOLO_OFFLINE", raising=False)
    monkeypatch.setenv("NBLABEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NBLABEL_YUNET", raising=False)
    # ultralytics' own weights folder is machine-wide; a copy there must not hide the error
    monkeypatch.setattr(W, "_ultralytics_weights_dir", lambda: tmp_path / "ultralytics-weights")
    return work


def test_explicit_path_is_returned_resolved(det_checkpoint, monkeypatch):
    monkeypatch.chdir(det_checkpoint.parent)
    assert resolve_weights(f"./{det_checkpoint.name}") == det_checkpoint.resolve()
    assert resolve_weights(det_checkpoint) == det_checkpoint.resolve()


def test_missing_explicit_path_names_the_file(tmp_path):
    missing = tmp_path / "models" / "yolo11n.pt"
    with pytest.raises(FileNotFoundError, match="models/yolo11n.pt"):
        resolve_weights(missing)


def test_unknown_bare_name_lists_where_it_looked(no_local_weights):
    with pytest.raises(FileNotFoundError) as e:
        resolve_weights("my_detector.pt")
    assert "my_detector.pt" in str(e.value) and str(no_local_weights) in str(e.value)
    assert 'weights="path/to/my_detector.pt"' in str(e.value)


def test_a_bare_name_never_loads_a_file_from_the_current_folder(
    no_local_weights, det_checkpoint, monkeypatch
):
    # a checkpoint is code: one beside the notebook is used only when given as a path
    shutil.copy(det_checkpoint, no_local_weights / "yolo11n.pt")
    monkeypatch.setenv(W.OFFLINE_ENV, "1")  # proves no download was attempted
    with pytest.raises(WeightsUnavailableError):
        resolve_weights("yolo11n.pt")
    assert resolve_weights("./yolo11n.pt") == (no_local_weights / "yolo11n.pt").resolve()


def test_standard_name_is_found_in_the_weights_dir_env(
    no_local_weights, det_checkpoint, tmp_path, monkeypatch
):
    wdir = tmp_path / "my-models"
    wdir.mkdir()
    shutil.copy(det_checkpoint, wdir / "yolo11n-seg.pt")
    monkeypatch.setenv(W.WEIGHTS_DIR_ENV, str(wdir))
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    assert resolve_weights("yolo11n-seg.pt") == (wdir / "yolo11n-seg.pt").resolve()


def test_yunet_is_found_under_its_model_zoo_name_in_the_cache(
    no_local_weights, yunet_path, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(yunet_path, cache / "face_detection_yunet_2023mar.onnx")
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    found = resolve_weights("face_detection_yunet.onnx")
    assert found == (cache / "face_detection_yunet_2023mar.onnx").resolve()


def test_offline_flag_fails_at_once_with_instructions(no_local_weights, monkeypatch):
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    t0 = time.monotonic()
    with pytest.raises(WeightsUnavailableError) as e:
        resolve_weights("yolo11n.pt")
    assert time.monotonic() - t0 < 2
    msg = str(e.value)
    assert isinstance(e.value, RuntimeError)
    assert 'weights="path/to/yolo11n.pt"' in msg
    assert "https://github.com/ultralytics/assets/releases/download/" in msg
    assert e.value.name == "yolo11n.pt"


def test_network_probe_gives_up_within_its_timeout():
    t0 = time.monotonic()
    assert network_available(UNROUTABLE, timeout=1.0) is False
    assert time.monotonic() - t0 < 3


def test_general_ai_without_weights_offline_fails_fast_and_shallow(no_local_weights, monkeypatch):
    # the real default path: no flag set, the network check itself must find out
    monkeypatch.setattr(W, "PROBE_ADDRESS", UNROUTABLE)
    ai = GeneralAI("animal", classes=["bird"])  # constructing never touches the network
    t0 = time.monotonic()
    with pytest.raises(WeightsUnavailableError) as e:
        ai.predict([])
    assert time.monotonic() - t0 < 10
    assert "yolo11n.pt" in str(e.value) and "unreachable" in str(e.value)
    # no chained ultralytics/requests traceback under the message
    assert e.value.__cause__ is None and e.value.__context__ is None


@pytest.mark.parametrize(
    ("category", "name"),
    [
        ("human keypoints", "yolo11n-pose.pt"),
        ("semantic segmentation", "yolo11n-seg.pt"),
        ("face points", "face_detection_yunet.onnx"),
    ],
)
def test_each_category_names_its_own_default_file_when_offline(
    no_local_weights, monkeypatch, category, name
):
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    with pytest.raises(WeightsUnavailableError, match=f'weights="path/to/{name}"'):
        GeneralAI(category).load()


def test_short_hash_is_the_sha256_prefix_and_follows_file_changes(tmp_path):
    f = tmp_path / "w.pt"
    f.write_bytes(b"first weights")
    assert short_hash(f) == hashlib.sha256(b"first weights").hexdigest()[:8]
    f.write_bytes(b"other weights")  # same size: only the mtime tells the cache it changed
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert short_hash(f) == hashlib.sha256(b"other weights").hexdigest()[:8]
    assert len(short_hash(f, 12)) == 12


def test_model_version_is_stem_at_hash(det_checkpoint):
    digest = hashlib.sha256(det_checkpoint.read_bytes()).hexdigest()[:8]
    assert model_version(det_checkpoint) == f"{det_checkpoint.stem}@{digest}"
