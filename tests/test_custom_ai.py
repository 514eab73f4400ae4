"""CustomAI on real raccoon images: fine-tune with a frozen backbone, versions, threads, errors.

Training settings are tiny (12 images, 128-160 px, 1-2 epochs) so the file runs in about a
minute on two CPU cores; how well a model learns is measured in benchmarks, not here.
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pytest
from support.model_fixtures import voc_items

import nblabel as nbl
from nblabel.images import load_rgb
from nblabel.models import weights as weights_mod

FAST = {"epochs": 2, "imgsz": 160, "batch": 4}
VERSION = re.compile(r"custom-(detect|segment|pose)-v(\d+)@[0-9a-f]{8}")


@pytest.fixture(scope="module")
def truth(raccoon_dir):
    """40 raccoon images with their VOC boxes: ``[(path, records), ...]``."""
    return voc_items(raccoon_dir, 40)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, truth):
    """The 40 images; the first 12 verified with their true boxes, the rest unlabeled."""
    import pandas as pd

    paths = [str(p) for p, _ in truth]
    frame = pd.DataFrame({"path": paths}, index=[os.path.basename(p)[:-4] for p in paths])
    db = tmp_path_factory.mktemp("custom") / "labels.db"
    ds = nbl.Dataset.from_dataframe(frame, image_col="path", db=db, classes=["raccoon"])
    for (_, recs), key in zip(truth[:12], ds.keys()):
        ds.annotate(key, recs)
    return ds


def _state(weights):
    import torch

    return {
        k: v.float()
        for k, v in torch.load(weights, weights_only=False)["model"].state_dict().items()
    }


@pytest.fixture(scope="module")
def fitted(labelled, raccoon_checkpoint):
    """One fine-tune from the raccoon checkpoint, with what was seen while it trained."""
    import torch

    seen = []
    old = torch.get_num_threads()
    torch.set_num_threads(3)
    model = nbl.CustomAI(classes=["raccoon"], base=raccoon_checkpoint, conf=0.01, **FAST)
    out = model.fit(labelled, progress=lambda f, m: seen.append((f, m, torch.get_num_threads())))
    yield out, model, seen, torch.get_num_threads()
    torch.set_num_threads(old)


def test_fit_returns_self_with_a_version(fitted, labelled):
    out, model, seen, threads_after = fitted
    assert out is model
    assert model.version_ == 1 and VERSION.fullmatch(model.version).group(2) == "1"
    assert model.version.endswith(weights_mod.short_hash(model.weights_))
    m = model.fit_metrics_
    assert m["n_images"] == 12 and m["n_objects"] >= 12 and m["epochs"] == 2
    # by default every layer but the detection head (YOLO11n: layers 0-22 of 24)
    assert m["from_scratch"] is False and m["frozen_layers"] == 23
    assert m["box_loss"] > 0 and m["seconds"] > 0
    assert model.classes_ == ["raccoon"] and model.from_scratch_ is False
    # weights live next to the dataset's database, so versions survive a restart
    assert model.weights_.is_relative_to(labelled.db_path.parent / "labels_custom" / "detect")


def test_progress_each_epoch_with_one_core_left_free(fitted):
    _, _, seen, threads_after = fitted
    epochs = [(f, msg) for f, msg, _ in seen if msg.startswith("epoch")]
    assert [f for f, _ in epochs] == [0.5, 1.0]
    assert "box loss" in epochs[0][1]
    assert seen[-1][0] == 1.0 and "trained custom-detect-v1" in seen[-1][1]
    during = {n for f, msg, n in seen if msg.startswith("epoch")}
    assert during == {max(1, (os.cpu_count() or 2) - 1)}
    assert threads_after == 3  # the caller's setting is given back


def test_backbone_is_frozen_and_head_learns(fitted, raccoon_checkpoint):
    _, model, _, _ = fitted
    before, after = _state(raccoon_checkpoint), _state(model.weights_)
    backbone = [k for k in before if int(k.split(".")[1]) < 10]
    head = [k for k in before if int(k.split(".")[1]) >= 10 and k.endswith("weight")]
    assert len(backbone) > 50 and head
    changed = [k for k in backbone if not np.array_equal(before[k].numpy(), after[k].numpy())]
    assert changed == []  # weights and batch-norm statistics alike
    assert any(not np.array_equal(before[k].numpy(), after[k].numpy()) for k in head)


def test_predictions_carry_the_version_from_paths_and_arrays(fitted, labelled):
    _, model, _, _ = fitted
    paths = [labelled.path(k) for k in labelled.keys()[20:24]]
    from_paths = model.predict(paths)
    from_arrays = model.predict([load_rgb(p) for p in paths])
    assert len(from_paths) == 4 and any(from_paths)
    for recs, same in zip(from_paths, from_arrays):
        assert len(recs) == len(same)
        assert np.allclose([r["bbox"] for r in recs], [r["bbox"] for r in same], atol=1e-3)
        for r in recs:
            assert r["label"] == "raccoon" and r["source"] == model.version
            assert 0.01 <= r["score"] <= 1 and r["points"] is None
    # the records go straight into the dataset
    key = labelled.keys()[20]
    labelled.annotate(key, from_paths[0], source=model.version)
    assert labelled.row(key)["source"] == model.version


def test_one_box_per_object_after_clipping_to_the_image(fitted, labelled):
    # at conf 0.01 a lightly trained head returns many overlapping boxes; of two raccoon
    # boxes overlapping by more than ``iou`` only the better one comes back
    from nblabel.core.geometry import box_iou

    _, model, _, _ = fitted
    paths = [labelled.path(k) for k in labelled.keys()[12:40]]
    n_pairs = {}
    for iou in (1.0, 0.5):
        model.iou = iou
        try:
            preds = model.predict(paths)
        finally:
            model.iou = 0.5
        pairs = 0
        for recs in preds:
            m = np.asarray(box_iou([r["bbox"] for r in recs], [r["bbox"] for r in recs]))
            pairs += int((np.triu(m, 1) > 0.5).sum()) if len(recs) > 1 else 0
        n_pairs[iou] = pairs
    assert n_pairs[1.0] > 0, "the test needs duplicates to remove"
    assert n_pairs[0.5] == 0
    with pytest.raises(ValueError, match="iou must be above 0"):
        nbl.CustomAI(iou=0)


def test_refit_in_a_thread_while_the_old_version_keeps_predicting(fitted, labelled, truth):
    _, model, _, _ = fitted
    v1 = model.version
    labelled.annotate(labelled.keys()[12], truth[12][1])  # one more correction
    errors, done = [], threading.Event()

    def train():
        try:
            model.fit(labelled)
        except Exception as e:  # reported to the test below
            errors.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=train, name="retrain")
    worker.start()
    during = model.predict([labelled.path(labelled.keys()[30])])  # the kernel stays usable
    worker.join(timeout=240)
    assert not worker.is_alive() and errors == []
    assert all(r["source"] == v1 for r in during[0])
    assert model.version_ == 2 and model.version != v1
    assert model.fit_metrics_["n_images"] == 13
    after = model.predict([labelled.path(labelled.keys()[30])])
    assert all(r["source"] == model.version for r in after[0])


def test_without_a_checkpoint_trains_from_scratch_and_says_so(labelled, tmp_path, monkeypatch):
    # no yolo11n.pt anywhere nblabel looks, and no network
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.delenv("NBLABEL_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(weights_mod, "_ultralytics_weights_dir", lambda: tmp_path)
    model = nbl.CustomAI(epochs=1, imgsz=128, batch=4, workdir=tmp_path / "work")
    with pytest.warns(UserWarning, match="from scratch"):
        model.fit(labelled, keys=labelled.keys()[:4])
    assert model.from_scratch_ is True and model.fit_metrics_["from_scratch"] is True
    assert model.fit_metrics_["frozen_layers"] == 0  # a random backbone is worth nothing frozen
    assert model.classes_ == labelled.classes  # classes default to the dataset's
    assert model.version.startswith("custom-detect-v1@")
    assert model.weights_.is_relative_to(tmp_path / "work" / "detect" / "v1")


def test_segment_predicts_polygons(labelled, seg_checkpoint, tmp_path):
    model = nbl.CustomAI(
        task="segment", base=seg_checkpoint, epochs=1, imgsz=128, batch=4, conf=0.0,
        workdir=tmp_path,
    )  # fmt: skip
    model.fit(labelled, keys=labelled.keys()[:4])  # boxes train as 4-corner polygons
    recs = model.predict(labelled.path(labelled.keys()[5]))[0]
    assert recs and VERSION.fullmatch(recs[0]["source"]).group(1) == "segment"
    with_polygon = [r for r in recs if r["points"]]
    assert with_polygon and all(len(r["points"]) >= 3 for r in with_polygon)


def test_pose_predicts_keypoints(truth, pose_checkpoint, tmp_path):
    # real images with a made-up five-point skeleton: the box corners and its centre
    import pandas as pd

    def five(b):
        x1, y1, x2, y2 = b
        return [
            [x1, y1, 2],
            [x2, y1, 2],
            [(x1 + x2) / 2, (y1 + y2) / 2, 2],
            [x1, y2, 2],
            [x2, y2, 2],
        ]

    paths = [str(p) for p, _ in truth[:4]]
    frame = pd.DataFrame({"path": paths}, index=["a", "b", "c", "d"])
    ds = nbl.Dataset.from_dataframe(frame, image_col="path", db=tmp_path / "pose.db",
                                    classes=["raccoon"])  # fmt: skip
    for key, (_, recs) in zip(ds.keys(), truth[:4]):
        ds.annotate(key, [dict(r, keypoints=five(r["bbox"])) for r in recs])
    model = nbl.CustomAI(
        task="pose", base=pose_checkpoint, epochs=1, imgsz=128, batch=4, conf=0.0,
        workdir=tmp_path / "work",
    )  # fmt: skip
    recs = model.fit(ds).predict(ds.path("a"))[0]
    assert recs and model.version.startswith("custom-pose-v1@")
    for r in recs:
        assert len(r["keypoints"]) == 5 and len(r["keypoint_scores"]) == 5
        assert {k[2] for k in r["keypoints"]} <= {0, 2}


def test_bad_input_is_refused_with_a_clear_message(labelled, tmp_path):
    with pytest.raises(ValueError, match="task must be one of"):
        nbl.CustomAI(task="classify")
    with pytest.raises(ValueError, match="imgsz"):
        nbl.CustomAI(imgsz=0)
    with pytest.raises(TypeError, match="list of names"):
        nbl.CustomAI(classes="raccoon")
    model = nbl.CustomAI(classes=["raccoon"], workdir=tmp_path, **FAST)
    with pytest.raises(RuntimeError, match="call fit first"):
        model.predict([labelled.path(labelled.keys()[0])])
    with pytest.raises(ValueError, match="at least 2"):
        model.fit(labelled, keys=labelled.keys()[:1])
    with pytest.raises(ValueError, match="has an object to learn"):
        model.fit(labelled, keys=labelled.keys()[30:35])  # unlabeled: nothing to learn
    with pytest.raises(KeyError, match="nope"):
        model.fit(labelled, keys=["nope", labelled.keys()[0]])
    with pytest.raises(ValueError, match=r"'raccoon'.*not one of the classes \['dog'\]"):
        nbl.CustomAI(classes=["dog"], workdir=tmp_path).fit(labelled)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        nbl.CustomAI(base=tmp_path / "missing.pt", workdir=tmp_path).fit(labelled)
    assert model.version is None and not any(tmp_path.iterdir())  # nothing trained or written


def test_a_relative_workdir_is_where_the_user_ran_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = nbl.CustomAI(task="detect", classes=["raccoon"], workdir="runs-here")
    monkeypatch.chdir("/")
    assert model._workdir(None) == tmp_path / "runs-here" / "detect"
