"""A retrain reads back the weights it wrote through the allow-list, never ultralytics' loader.

After the last epoch ultralytics re-reads ``best.pt`` three times (to strip its optimizer
state, to validate it, and to become the trained model). The work folder lies beside the
database, where anyone who can write there can swap the file; here a callback of ultralytics'
own plugin mechanism swaps it for a hostile copy whose unpickling would run ``touch <marker>``.
"""

from __future__ import annotations

import pytest
import torch
from support.hostile import Payload
from ultralytics.utils.callbacks import base as callbacks

import nblabel as nbl
from nblabel.models.checkpoints import CheckpointError, load_ultralytics_checkpoint

_Payload = Payload


FAST = {"epochs": 1, "imgsz": 64, "batch": 2}


@pytest.fixture()
def labelled(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(3), db=tmp_path / "l.db", classes=["raccoon"])
    for k in ds.keys():
        ds.annotate(k, [{"label": "raccoon", "bbox": [10, 20, 200, 220]}])
    return ds


@pytest.mark.parametrize("when", ["on_model_save", "on_train_end"])
def test_a_best_pt_swapped_during_a_retrain_is_refused_before_its_payload_runs(
    when, labelled, det_checkpoint, tmp_path, monkeypatch
):
    marker = tmp_path / "payload-ran"

    def swap(trainer) -> None:
        if trainer.stop or when == "on_train_end":  # the last save, or training has ended
            ckpt = torch.load(trainer.best, map_location="cpu", weights_only=False)  # ours
            ckpt["extra"] = _Payload(marker)
            torch.save(ckpt, trainer.best)

    # the dict every new model copies its callbacks from (read when the model is made)
    defaults = callbacks.default_callbacks
    monkeypatch.setitem(defaults, when, [*defaults[when], swap])
    model = nbl.CustomAI(base=det_checkpoint, workdir=tmp_path / "work", **FAST)
    with pytest.raises(CheckpointError, match=r"(posix|os)\.system"):
        model.fit(labelled)
    assert not marker.exists(), "the checkpoint's payload ran"
    # nothing half-made is kept: no version, no folder for it
    assert model.version is None and not hasattr(model, "model_")
    assert not any((tmp_path / "work" / "detect").glob("v*"))


def test_a_genuine_retrain_still_strips_reloads_and_predicts(labelled, det_checkpoint, tmp_path):
    model = nbl.CustomAI(base=det_checkpoint, workdir=tmp_path / "work", conf=0.0, **FAST)
    model.fit(labelled)
    ckpt = load_ultralytics_checkpoint(model.weights_)
    assert ckpt.get("optimizer") is None, "best.pt kept its optimizer state (not stripped)"
    assert model.model_.overrides["model"] == str(model.weights_)  # the model is the new best.pt
    assert isinstance(model.predict([labelled.row(labelled.keys()[0])["image"]])[0], list)
