"""SAM checkpoints are data too: never picked up from the working folder, never able to run code.

The SAM network is ultralytics' real MobileSAM, built here untrained (no download); its
state dict is saved the way the official ``mobile_sam.pt`` is. The hostile copy holds one
more pickled object whose unpickling would run ``touch <marker>``.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from support.hostile import Payload

import nblabel as nbl
from nblabel.models import weights as W
from nblabel.models.checkpoints import CheckpointError, load_sam, load_state_dict
from nblabel.models.polygon import _SAM_CACHE, find_sam_weights

_Payload = Payload


@pytest.fixture(scope="module")
def sam_net():
    from ultralytics.models.sam.build import build_mobile_sam

    torch.manual_seed(0)
    return build_mobile_sam()  # the architecture, untrained


@pytest.fixture(scope="module")
def sam_checkpoint(sam_net, tmp_path_factory):
    path = tmp_path_factory.mktemp("sam") / "mobile_sam.pt"
    torch.save(sam_net.state_dict(), path)
    return path


@pytest.fixture()
def marker(tmp_path):
    return tmp_path / "payload-ran"


@pytest.fixture()
def evil_sam(sam_checkpoint, tmp_path, marker):
    path = tmp_path / "evil" / "mobile_sam.pt"
    path.parent.mkdir()
    state = torch.load(sam_checkpoint, map_location="cpu", weights_only=True)  # our own file
    torch.save({"model": state, "extra": _Payload(marker)}, path)
    return path


@pytest.fixture(autouse=True)
def _no_cached_sam():
    _SAM_CACHE.clear()  # every test loads its checkpoint itself
    yield
    _SAM_CACHE.clear()


def _scene():
    img = np.full((240, 320, 3), 30, np.uint8)
    img[60:180, 100:220] = (220, 190, 40)
    return img, [96, 56, 224, 184]


def test_a_hostile_sam_checkpoint_is_refused_before_its_payload_runs(evil_sam, marker):
    img, box = _scene()
    with pytest.raises(CheckpointError, match=r"(posix|os)\.system"):
        nbl.rect_to_polygon(img, box, method="sam", sam_weights=evil_sam)
    with pytest.raises(CheckpointError, match=r"(posix|os)\.system"):
        nbl.rect_to_polygon(img, box, method="auto", sam_weights=evil_sam)
    assert not marker.exists(), "the checkpoint's payload ran"
    # the payload is real: ultralytics' own SAM loader (torch.load, weights_only=False) runs it
    torch.load(evil_sam, map_location="cpu", weights_only=False)
    assert marker.exists()


def test_a_sam_checkpoint_in_the_working_folder_is_never_picked_up(
    evil_sam, marker, tmp_path, monkeypatch
):
    work = tmp_path / "notebook"
    work.mkdir()
    shutil.copy(evil_sam, work / "mobile_sam.pt")  # the default SAM's name, beside the notebook
    monkeypatch.chdir(work)
    monkeypatch.setenv(W.OFFLINE_ENV, "1")
    monkeypatch.delenv(W.WEIGHTS_DIR_ENV, raising=False)
    found = find_sam_weights()
    assert found is None or found.parent != work.resolve()
    img, box = _scene()
    if found is None:  # no SAM on this machine: "auto" is GrabCut, "sam" says what to fetch
        assert nbl.rect_to_polygon(img, box) == nbl.rect_to_polygon(img, box, method="grabcut")
        with pytest.raises(W.WeightsUnavailableError, match="mobile_sam.pt"):
            nbl.rect_to_polygon(img, box, method="sam")
    # given as a path, the user vouches for the file: it is loaded, through the allow-list
    with pytest.raises(CheckpointError):
        nbl.rect_to_polygon(img, box, method="sam", sam_weights="./mobile_sam.pt")
    assert not marker.exists(), "the checkpoint's payload ran"


def test_a_sam_checkpoint_holding_a_pickled_model_is_refused(sam_net, tmp_path):
    # a whole pickled network names SAM's module classes; a SAM checkpoint holds only tensors
    path = tmp_path / "mobile_sam.pt"
    torch.save(sam_net, path)
    with pytest.raises(CheckpointError, match="ultralytics.models.sam"):
        load_sam(path)


def test_a_genuine_sam_checkpoint_loads_its_weights_through_the_allow_list(
    sam_net, sam_checkpoint, tmp_path
):
    sam = load_sam(sam_checkpoint)
    want = sam_net.state_dict()
    got = sam.model.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)
    # SAM 2 checkpoints nest the state dict under "model"
    nested = tmp_path / "nested" / "mobile_sam.pt"
    nested.parent.mkdir()
    torch.save({"model": want}, nested)
    assert load_state_dict(nested).keys() == want.keys()
    img, box = _scene()
    poly = nbl.rect_to_polygon(img, box, method="sam", sam_weights=sam_checkpoint)
    assert len(poly) >= 3


def test_a_sam_checkpoint_with_other_tensors_says_what_is_wrong(tmp_path):
    path = tmp_path / "mobile_sam.pt"
    torch.save({"conv.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="does not hold the weights"):
        load_sam(path)
