"""Checkpoints are data: a hostile .pt file is refused before any of its code runs.

The hostile files are real ultralytics checkpoints (built from the yaml by the model
fixtures) with one more pickled object whose unpickling would run ``touch <marker>``.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from support.hostile import Payload

import nblabel as nbl
from nblabel.models import weights as W
from nblabel.models.checkpoints import (
    CheckpointError,
    checkpoint_kind,
    load_ultralytics,
    load_ultralytics_checkpoint,
)
from nblabel.models.general import GeneralAI

_Payload = Payload


class _CallsAModelClass:
    """Unpickles as ``DetectionModel(<file's arguments>)``: the class's __init__ would run."""

    def __reduce__(self):
        from ultralytics.nn.tasks import DetectionModel

        return (DetectionModel, ("not-a-model.yaml",))


def _hostile(det_checkpoint, path, extra) -> None:
    ckpt = torch.load(det_checkpoint, map_location="cpu", weights_only=False)  # our own file
    ckpt["extra"] = extra
    torch.save(ckpt, path)


@pytest.fixture()
def assets():
    from ultralytics.utils import ASSETS

    return W.Path(ASSETS)


@pytest.fixture()
def marker(tmp_path):
    return tmp_path / "payload-ran"


@pytest.fixture()
def evil(det_checkpoint, tmp_path, marker):
    path = tmp_path / "evil" / "yolo11n.pt"
    path.parent.mkdir()
    _hostile(det_checkpoint, path, _Payload(marker))
    assert checkpoint_kind(path) == "ultralytics"
    return path


def test_a_hostile_ultralytics_checkpoint_is_refused_before_its_payload_runs(evil, marker):
    with pytest.raises(CheckpointError, match=r"(posix|os)\.system"):
        load_ultralytics(evil)
    with pytest.raises(CheckpointError):
        load_ultralytics_checkpoint(evil)
    with pytest.raises(ValueError, match="system"):
        GeneralAI("animal", weights=evil).load()
    assert not marker.exists(), "the checkpoint's payload ran"
    # the payload is real: ultralytics' default loader (weights_only=False) runs it
    torch.load(evil, map_location="cpu", weights_only=False)
    assert marker.exists()


def test_custom_ai_refuses_a_hostile_base(evil, marker, folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(3), db=tmp_path / "l.db", classes=["raccoon"])
    for k in ds.keys():
        ds.annotate(k, [{"label": "raccoon", "bbox": [10, 20, 200, 220]}])
    model = nbl.CustomAI(base=evil, epochs=1, imgsz=64, batch=2, workdir=tmp_path / "work")
    with pytest.raises(CheckpointError):
        model.fit(ds)
    assert not marker.exists(), "the checkpoint's payload ran"


def test_a_checkpoint_in_the_working_folder_is_never_picked_up_by_default(
    evil, marker, tmp_path, monkeypatch
):
    work = tmp_path / "notebook"
    work.mkdir()
    shutil.copy(evil, work / "yolo11n.pt")  # the default checkpoint's name, beside the notebook
    monkeypatch.chdir(work)
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    monkeypatch.setattr(W, "_ultralytics_weights_dir", lambda: tmp_path / "ultralytics-weights")
    shared = os.environ.get("NBLABEL_WEIGHTS_DIR")
    if shared:  # offline, a COCO detector there is the default instead
        ai = GeneralAI("animal")
        assert ai.weights_path_.parent == W.Path(shared).resolve()
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    with pytest.raises(W.WeightsUnavailableError):
        GeneralAI("animal").load()
    with pytest.warns(UserWarning, match="from scratch"):  # nothing to fine-tune offline
        start, _ = nbl.CustomAI(classes=["raccoon"])._starting_point(["raccoon"])
    assert W.Path(start).resolve() != (work / "yolo11n.pt").resolve()
    assert not marker.exists(), "the checkpoint's payload ran"


def test_a_checkpoint_calling_a_model_class_with_its_own_arguments_is_refused(
    det_checkpoint, tmp_path
):
    path = tmp_path / "calls.pt"
    _hostile(det_checkpoint, path, _CallsAModelClass())
    with pytest.raises(CheckpointError, match="DetectionModel with arguments"):
        load_ultralytics(path)


def test_a_checkpoint_naming_a_module_that_is_not_installed_is_refused(det_checkpoint, tmp_path):
    # ultralytics' own loader would try to pip-install a module a checkpoint names
    import sys
    import types

    fake = types.ModuleType("nblabel_no_such_pkg")

    class Thing:
        pass

    Thing.__module__ = "nblabel_no_such_pkg"
    Thing.__qualname__ = "Thing"
    fake.Thing = Thing
    sys.modules["nblabel_no_such_pkg"] = fake
    try:
        path = tmp_path / "needs.pt"
        _hostile(det_checkpoint, path, Thing())
    finally:
        del sys.modules["nblabel_no_such_pkg"]
    with pytest.raises(CheckpointError, match="nblabel_no_such_pkg.Thing"):
        load_ultralytics(path)


def test_genuine_checkpoints_still_load_and_predict(det_checkpoint, seg_checkpoint, assets):
    for path, task in ((det_checkpoint, "detect"), (seg_checkpoint, "segment")):
        model = load_ultralytics(path)
        assert model.task == task and len(model.names) == 80
    ai = GeneralAI("animal", weights=det_checkpoint, conf=0.0)
    assert isinstance(ai.predict(assets / "bus.jpg")[0], list)
