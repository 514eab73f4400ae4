"""The loop's one worker: auto-labeling and retraining never overlap, the state never says
idle while work runs, summaries name the version that wrote the rows, and what the loop
knows about each image (prediction, reason, grade) is in the journal and survives a restart.
"""

from __future__ import annotations

import threading
import time

from test_autolabel import BrightModel

import nblabel as nbl
from nblabel.loop import AutoLabeler

HUMAN_BOX = [{"label": "raccoon", "bbox": [20, 20, 200, 200]}]


class SlowLearner(BrightModel):
    """BrightModel that can be retrained: each fit takes a moment and bumps the version.
    Every call records the loop's phase at that moment."""

    def __init__(self):
        super().__init__(version="slow@0")
        self.lab = None
        self.log: list[tuple[str, str, str]] = []  # (call, phase, version)

    def predict(self, images):
        self.log.append(("predict", self.lab.state["phase"], self.version))
        time.sleep(0.05)
        return super().predict(images)

    def fit(self, ds, keys=None, progress=None):
        self.log.append(("fit", self.lab.state["phase"], self.version))
        time.sleep(0.3)
        n = int(self.version.split("@")[1]) + 1
        self.version = f"slow@{n}"
        return self


def _labeler(ds, **kw):
    model = SlowLearner()
    lab = AutoLabeler(ds, model, batch=4, **kw)
    model.lab = lab
    return lab, model


def test_a_correction_during_autolabel_waits_for_it_instead_of_interleaving(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(40), db=tmp_path / "w.db", classes=["raccoon"])
    lab, model = _labeler(ds, retrain_every=2)
    first_batch = threading.Event()
    lab.on_autolabel_progress(lambda p: first_batch.set())
    result = {}
    t = threading.Thread(target=lambda: result.update(lab.autolabel(progress=False)))
    t.start()
    assert first_batch.wait(30)
    # a person verifies two images while auto-labeling runs: a retrain is due
    for k in ("raccoon-39", "raccoon-40"):
        ds.annotate(k, HUMAN_BOX, kind="submit")
    t.join(60)
    assert lab.wait(60)

    phases = [phase for _, phase, _ in model.log]
    calls = [call for call, _, _ in model.log]
    fit_at = calls.index("fit")
    # everything before the fit belongs to the auto-labeling run, everything after to the
    # retrain: the phase never goes autolabel -> training -> autolabel
    assert set(phases[:fit_at]) == {"autolabel"}
    assert phases[fit_at] == "training"
    assert set(phases[fit_at + 1 :]) == {"predicting"}
    assert result["version"] == "slow@0"


def test_state_is_never_idle_while_work_is_queued_or_running(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(20), db=tmp_path / "s.db", classes=["raccoon"])
    lab, _ = _labeler(ds, retrain_every=2)
    seen = []
    lab.on_state(lambda ended: seen.append((lab.state["phase"], lab.state["busy"])))
    for k in ("raccoon-1", "raccoon-2"):
        ds.annotate(k, HUMAN_BOX, kind="submit")  # queues a retrain
    summary = lab.autolabel(progress=False)  # runs after it, on the same worker
    st = lab.state
    assert not (st["phase"] == "idle" and st["busy"])
    assert lab.wait(60)
    st = lab.state
    assert st["phase"] == "idle" and not st["busy"]
    assert all(not (phase == "idle" and busy) for phase, busy in seen)
    assert summary["version"] == "slow@1"  # it ran after the retrain


def test_the_summary_names_the_version_that_wrote_every_row(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(24), db=tmp_path / "v.db", classes=["raccoon"])
    lab, model = _labeler(ds, retrain_every=2)
    started = threading.Event()
    lab.on_autolabel_progress(lambda p: started.set())
    result = {}
    first = [f"raccoon-{i}" for i in range(1, 23)]
    t = threading.Thread(target=lambda: result.update(lab.autolabel(keys=first, progress=False)))
    t.start()
    assert started.wait(30)
    for k in ("raccoon-23", "raccoon-24"):
        ds.annotate(k, HUMAN_BOX, kind="submit")
    t.join(60)
    df = ds.df
    written_by = set(df.loc[first, "source"])
    # the retrain waited for the run: its rows are all the summary's version, until the
    # new version re-predicts them afterwards
    assert written_by == {result["version"]}
    assert lab.wait(60)
    assert set(ds.df.loc[first, "source"]) == {model.version}


def test_predictions_reasons_and_grades_survive_a_restart(folder, tmp_path):
    db = tmp_path / "e.db"
    ds = nbl.Dataset.from_folder(folder(8), db=db, classes=["raccoon"])
    lab, _ = _labeler(ds, retrain_every=100)
    lab.autolabel(progress=False)
    before = lab.review_queue()["reason"].to_dict()
    predicted = ds.row("raccoon-1")["annotations"]
    ds.annotate("raccoon-1", predicted, kind="accepted")  # a person accepts it as it is
    assert [g.correct for g in lab.grades()] == [True]

    # a new kernel: the same journal, a new labeler
    ds2 = nbl.Dataset.open(db)
    lab2, _ = _labeler(ds2, retrain_every=100)
    assert [g.correct for g in lab2.grades()] == [True]
    assert lab2.review_queue()["reason"].to_dict() == {
        k: r for k, r in before.items() if k != "raccoon-1"
    }
    # a correction made after the restart is graded against the prediction the first kernel
    # wrote, which only the journal holds now
    ds2.annotate("raccoon-2", [], kind="submit", status="verified")
    grades = {g.correct for g in lab2.grades()}
    assert len(lab2.grades()) == 2 and grades == {True, False}
    ev = ds2.row("raccoon-2")["evidence"]
    assert ev["prediction"]["version"] == "slow@0" and ev["grade"]["correct"] is False


def test_evidence_in_the_layouts_older_journals_wrote_is_read_back(folder, tmp_path):
    """Journals written before evidence was a record held the bare grade, and grades before
    they kept labels: both still count, labels taken from the stored prediction."""
    db = tmp_path / "old.db"
    ds = nbl.Dataset.from_folder(folder(4), db=db, classes=["raccoon"])
    bare = {"version": "v1", "confidence": 0.9, "correct": True, "scores": [0.9]}
    bare |= {"hits": [True], "n_true": 1, "labels": ["raccoon"]}
    unlabeled = {**bare, "correct": False, "labels": []}
    prediction = {"version": "v1", "records": [{"label": "raccoon", "bbox": [1, 2, 3, 4]}]}
    comparison = {"version": "v1", "custom": 2.0, "general": 5.0}
    ds.update("raccoon-1", evidence=bare)
    ds.update("raccoon-2", evidence={"grade": unlabeled, "prediction": prediction})
    ds.update("raccoon-3", evidence={"comparison": comparison, "grade": "not a grade"})
    ds.update("raccoon-4", evidence="not a record")

    lab, _ = _labeler(nbl.Dataset.open(db), retrain_every=100)
    grades = {g.correct: g for g in lab.grades()}
    assert len(lab.grades()) == 2
    assert grades[True].labels == ("raccoon",) and grades[False].labels == ("raccoon",)
    assert lab.serving()["compared"] == 1


class Preparing(SlowLearner):
    """An untrained SlowLearner that can get ready for its first fit, which it records with
    the thread it ran on; ``fail`` makes the preparation raise."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.version = None  # nothing learned yet
        self.fail = fail
        self.order: list[tuple[str, str]] = []

    def prepare(self, ds):
        self.order.append(("prepare", threading.current_thread().name))
        time.sleep(0.3)
        if self.fail:
            raise RuntimeError("the training code cannot be imported")

    def fit(self, ds, keys=None, progress=None):
        self.order.append(("fit", threading.current_thread().name))
        self.version = f"prep@{len(self.order)}"
        return self


def test_an_untrained_model_gets_ready_on_the_worker_before_its_first_retrain(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(6), db=tmp_path / "p.db", classes=["raccoon"])
    model = Preparing()
    lab = AutoLabeler(ds, model, batch=4, retrain_every=2)
    model.lab = lab
    # getting ready is not a job: the loop is idle and nothing waits for it
    st = lab.state
    assert st["phase"] == "idle" and not st["busy"]
    for k in ("raccoon-1", "raccoon-2"):
        ds.annotate(k, HUMAN_BOX, kind="submit")  # the first retrain is due
    assert lab.wait(60)
    assert [call for call, _ in model.order] == ["prepare", "fit"]
    # the same worker, so the fit came after it and never ran beside it
    assert {name for _, name in model.order} == {model.order[1][1]}
    assert model.order[0][1].startswith("nblabel-loop")
    assert lab.errors == []


def test_a_failed_preparation_is_left_to_the_fit(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(6), db=tmp_path / "f.db", classes=["raccoon"])
    model = Preparing(fail=True)
    lab = AutoLabeler(ds, model, batch=4, retrain_every=2)
    model.lab = lab
    for k in ("raccoon-1", "raccoon-2"):
        ds.annotate(k, HUMAN_BOX, kind="submit")
    assert lab.wait(60)
    assert [call for call, _ in model.order] == ["prepare", "fit"]
    assert lab.errors == [] and lab.version.startswith("prep@")


def test_a_trained_model_is_not_prepared_again(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(4), db=tmp_path / "t.db", classes=["raccoon"])
    model = Preparing()
    model.version = "prep@1"  # a fit already ran (an earlier session's model)
    lab = AutoLabeler(ds, model, batch=4)
    assert lab.wait(10)
    time.sleep(0.2)
    assert model.order == []
