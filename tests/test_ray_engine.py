"""Auto-labeling on a real local Ray cluster gives what in-process auto-labeling gives.

The COCO ``yolov5n.pt`` labels coco128 images once in the kernel and once through Ray Data
actors; the journals must hold the same records, statuses and confidences. A worker killed
with SIGKILL in the middle of a run must cost only a retry: every image written once, none
lost, and a person's correction made meanwhile kept.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import threading

import pandas as pd
import pytest

import nblabel as nbl
from nblabel.loop.ray_engine import INSTALL_HINT, RayEngine

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

N_IMAGES = 12
COLUMNS = ["annotations", "status", "source", "confidence"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


@pytest.fixture()
def coco_folder(shared_dir, tmp_path):
    src = sorted((shared_dir / "datasets" / "coco128" / "images").rglob("*.jpg"))[:N_IMAGES]
    dst = tmp_path / "images"
    dst.mkdir()
    for p in src:
        shutil.copy(p, dst / p.name)
    return dst


def _model(shared_dir):
    # 160 px keeps a 2-core run short; the checkpoint is the real COCO detector
    return nbl.GeneralAI("all", weights=shared_dir / "models" / "yolov5n.pt", imgsz=160)


def _labeled(folder, db, shared_dir, **autolabel):
    ds = nbl.Dataset.from_folder(folder, db=db)
    labeler = nbl.AutoLabeler(ds, _model(shared_dir), retrain_every=10**6)
    summary = labeler.autolabel(progress=False, **autolabel)
    labeler.close()
    return ds, summary


def test_ray_and_in_process_write_the_same_records(cluster, coco_folder, shared_dir, tmp_path):
    local, s_local = _labeled(coco_folder, tmp_path / "local.db", shared_dir)
    on_ray, s_ray = _labeled(coco_folder, tmp_path / "ray.db", shared_dir, engine="ray")
    assert s_ray["written"] == s_local["written"] == N_IMAGES
    assert (s_ray["auto"], s_ray["review"]) == (s_local["auto"], s_local["review"])
    assert sum(len(a) for a in local.df["annotations"]) > N_IMAGES  # real detections
    pd.testing.assert_frame_equal(on_ray.df[COLUMNS], local.df[COLUMNS])
    # what the loop will grade corrections against is the same too
    assert list(on_ray.df["evidence"]) == list(local.df["evidence"])


def test_a_worker_killed_mid_run_costs_a_retry_not_an_image(
    cluster, coco_folder, shared_dir, tmp_path
):
    ds = nbl.Dataset.from_folder(coco_folder, db=tmp_path / "kill.db")
    # batches of 2: the run is still going when the first one is written
    labeler = nbl.AutoLabeler(ds, _model(shared_dir), retrain_every=10**6, batch=2)
    keys = list(ds.keys())
    mine = keys[-1]  # a person corrects the last image while the run goes on
    person = [{"label": "dog", "bbox": [1, 2, 30, 40]}]
    killed = threading.Event()
    victim = []

    def kill_one_worker(progress):
        if killed.is_set():
            return
        killed.set()
        ds.annotate(mine, person, status="verified")
        alive = _alive_predictors()
        assert alive, "no Ray Data actor is running the model"
        victim.append(alive[0]["ActorID"])
        os.kill(alive[0]["Pid"], signal.SIGKILL)  # the process dies as on a lost node

    labeler.on_autolabel_progress(kill_one_worker)
    summary = labeler.autolabel(progress=False, engine=RayEngine(workers=2), keys=keys)
    labeler.close()
    assert killed.is_set()
    from ray._private import state

    assert state.actors()[victim[0]]["NumRestarts"] >= 1  # Ray brought the worker back
    assert summary["written"] == N_IMAGES - 1
    assert summary["unreadable"] == {}
    # one journal write per image: the retried batch was not written a second time
    writes = _journal_writes(ds)
    assert sorted(writes) == sorted(k for k in keys if k != mine)
    assert all(n == 1 for n in writes.values()), writes
    row = ds.df.loc[mine]
    assert row["status"] == "verified" and row["annotations"][0]["label"] == "dog"
    others = ds.df.drop(index=mine)
    assert set(others["status"]) <= {"auto", "review"}
    assert others["source"].str.startswith("yolov5n@").all()


def _alive_predictors() -> list[dict]:
    from ray._private import state

    return [
        a
        for a in state.actors().values()
        if a.get("State") == "ALIVE" and "MapWorker" in str(a.get("ActorClassName", ""))
    ]


def _journal_writes(ds) -> dict:
    events = ds.events()
    return events[events["kind"] == "predict"].groupby("key").size().to_dict()


def test_models_travel_with_their_weights_and_version(shared_dir):
    ai = _model(shared_dir)
    copy = pickle.loads(pickle.dumps(ai))
    assert copy.version == ai.version
    assert copy.weights_path_ != ai.weights_path_  # a cached copy, as on another machine
    bus = shared_dir / "datasets" / "coco128" / "images"
    image = sorted(bus.rglob("*.jpg"))[0]
    assert copy.predict([image]) == ai.predict([image])


def test_a_model_that_cannot_travel_says_why(cluster, coco_folder, tmp_path):
    class Locked:
        def __init__(self):
            self.lock = threading.Lock()

        def predict(self, paths):
            return [[] for _ in paths]

    ds = nbl.Dataset.from_folder(coco_folder, db=tmp_path / "l.db")
    labeler = nbl.AutoLabeler(ds, Locked(), retrain_every=10**6)
    with pytest.raises(TypeError, match="cannot be sent to Ray workers"):
        labeler.autolabel(progress=False, engine="ray")
    labeler.close()
    assert set(ds.df["status"]) == {"unlabeled"}


def test_engine_arguments_are_checked(coco_folder, tmp_path):
    ds = nbl.Dataset.from_folder(coco_folder, db=tmp_path / "e.db")
    labeler = nbl.AutoLabeler(ds, _model_none(), retrain_every=10**6)
    with pytest.raises(ValueError, match='engine must be "local", "ray"'):
        labeler.autolabel(engine="spark")
    with pytest.raises(ValueError, match="ray_address is for engine"):
        labeler.autolabel(ray_address="auto")
    with pytest.raises(ValueError, match="workers must be"):
        RayEngine(workers=0)
    labeler.close()
    assert "pip install 'nblabel[ray]'" in INSTALL_HINT


def _model_none():
    class Nothing:
        def predict(self, paths):
            return [[] for _ in paths]

    return Nothing()
