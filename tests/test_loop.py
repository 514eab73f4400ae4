"""The Custom AI loop with a real CustomAI: corrections -> background retrain -> re-predict.

Tiny settings (40 raccoon images, 64 px, one epoch from an untrained YOLO11n checkpoint):
the predictions are poor, but every part runs for real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import traitlets
from support.model_fixtures import voc_items

import nblabel as nbl
from nblabel.loop import AutoLabeler

TESTS = Path(__file__).resolve().parent


@pytest.fixture()
def raccoons(raccoon_dir, db):
    """40 raccoon images in a fresh Dataset, with their VOC boxes as ground truth."""
    items = voc_items(raccoon_dir, 40)
    df = pd.DataFrame({"path": [str(p) for p, _ in items]}, index=[p.stem for p, _ in items])
    ds = nbl.Dataset.from_dataframe(df, image_col="path", db=db, classes=["raccoon"])
    return ds, {p.stem: recs for p, recs in items}


def tiny_custom(base, workdir, epochs=1):
    return nbl.CustomAI(
        task="detect",
        classes=["raccoon"],
        base=base,
        epochs=epochs,
        imgsz=64,
        batch=8,
        workdir=workdir,
    )


def wait_for(cond, timeout=120.0):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the loop")
        time.sleep(0.01)


def boxes(recs):
    return [[float(v) for v in r["bbox"]] for r in recs]


@pytest.mark.slow
def test_corrections_trigger_background_retrains_one_at_a_time(raccoons, det_checkpoint, tmp_path):
    ds, truth = raccoons
    keys = list(truth)
    model = tiny_custom(det_checkpoint, tmp_path / "custom")
    lab = AutoLabeler(ds, model, retrain_every=10)
    log: list[tuple[str, float, dict]] = []
    corrected: list = []
    lab.on_retrain_start(lambda info: log.append(("start", time.monotonic(), info)))
    lab.on_retrain_end(lambda m: log.append(("end", time.monotonic(), m)))
    lab.on_correction(corrected.append)

    for k in keys[:9]:
        ds.annotate(k, truth[k], kind="submit")
    ds.annotate(keys[0], truth[keys[0]])  # the same image again: not a new correction
    ds.annotate(keys[12], truth[keys[12]], status="review", kind="added")  # a gesture: no
    assert corrected == keys[:9]
    assert lab.state["corrections_until_retrain"] == 1 and not lab.state["busy"]

    ds.annotate(keys[9], truth[keys[9]], kind="submit")  # the 10th: retrain starts
    wait_for(lambda: lab.state["training"])
    # The kernel side stays responsive while the model trains: writes journal at once and
    # traitlets observers fire.
    probe = traitlets.HasTraits()
    probe.add_traits(n=traitlets.Int(0))
    fired = []
    probe.observe(lambda ch: fired.append(ch["new"]), "n")
    slowest = 0.0
    for i, k in enumerate(keys[10:13]):
        t = time.perf_counter()
        ds.annotate(k, truth[k], kind="submit")
        probe.n = i + 1
        slowest = max(slowest, time.perf_counter() - t)
    assert lab.state["training"], "training ended before the responsiveness check"
    assert slowest < 0.5 and fired == [1, 2, 3]
    assert lab.wait(timeout=300)

    assert [e[0] for e in log] == ["start", "end"]  # exactly one retrain
    first = log[1][2]
    assert "error" not in first, first
    assert first["version"] == model.version and model.version.startswith("custom-detect-v1")
    assert first["n_train"] + first["n_holdout"] == 10  # the ten that triggered it
    assert first["first_prediction_seconds"] > 0
    df = ds.df
    rest = df[df["status"] != "verified"]
    assert len(rest) == 40 - 13 == first["repredicted"]
    assert set(rest["source"]) == {model.version}  # every unverified row has the new version
    assert set(rest["status"]) <= {"review", "auto"}
    for k in keys[:13]:  # no correction was replaced by a prediction
        assert df.at[k, "status"] == "verified" and boxes(df.at[k, "annotations"]) == boxes(
            truth[k]
        )
    # the three corrections made during the retrain count toward the next one
    st = lab.state
    assert st["corrections_until_retrain"] == 7 and st["retrains"] == 1 and st["errors"] == 0

    # Second round: 7 more start retrain 2; 10 made while it runs queue exactly one more,
    # which starts only after retrain 2 has ended.
    for k in keys[13:20]:
        ds.annotate(k, truth[k], kind="submit")
    # training, not only queued: corrections made before a queued retrain starts are part of
    # its training set, and rightly start no other
    wait_for(lambda: lab.state["training"])
    for k in keys[20:30]:
        ds.annotate(k, truth[k], kind="submit")
    assert lab.wait(timeout=400)
    kinds = [e[0] for e in log]
    assert kinds == ["start", "end"] * 3
    times = [e[1] for e in log]
    assert times == sorted(times)  # never two retrains at once
    assert log[5][2]["version"].startswith("custom-detect-v3") and "error" not in log[5][2]
    assert log[4][2]["n_train"] + log[4][2]["n_holdout"] == 30
    rest = ds.df[ds.df["status"] != "verified"]
    assert len(rest) == 10 and set(rest["source"]) == {model.version}
    assert lab.errors == []


CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    import pandas as pd
    import nblabel as nbl
    from support.model_fixtures import voc_items

    ds = nbl.Dataset.open({db!r})
    truth = {{p.stem: r for p, r in voc_items({raccoon!r}, 40)}}
    model = nbl.CustomAI(task="detect", classes=["raccoon"], base={ckpt!r}, epochs=3, imgsz=64,
                         batch=8, workdir={workdir!r})
    lab = nbl.AutoLabeler(ds, model, retrain_every=10)
    keys = list(truth)
    def say(k):
        st = lab.state
        print("WROTE", k, st["phase"], st["message"].replace(" ", "_") or "-", flush=True)

    for k in keys[:10]:
        ds.annotate(k, truth[k], kind="submit")
        say(k)
    while lab.state["phase"] != "training":
        time.sleep(0.01)
    for k in keys[10:25]:
        ds.annotate(k, truth[k], kind="submit")
        say(k)
        time.sleep(0.05)
    while lab.state["phase"] == "training" and not lab.state["message"].startswith("epoch"):
        time.sleep(0.01)  # one epoch done, more to go: the middle of a retrain
    for k in keys[25:]:
        ds.annotate(k, truth[k], kind="submit")
        say(k)
        time.sleep(0.05)
    print("DONE", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_sigkill_during_retrain_loses_no_correction(
    raccoons, raccoon_dir, det_checkpoint, db, tmp_path
):
    ds, truth = raccoons
    del ds  # the child process owns the dataset from here
    script = tmp_path / "child.py"
    script.write_text(
        CHILD.format(
            tests=str(TESTS),
            db=str(db),
            raccoon=str(raccoon_dir),
            ckpt=str(det_checkpoint),
            workdir=str(tmp_path / "custom"),
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    written, lines = [], []
    killed_mid_training = False
    try:
        for line in proc.stdout:
            lines.append(line)
            parts = line.split()
            if parts[:1] == ["WROTE"]:
                written.append(parts[1])
                # kill once an epoch has finished and training goes on, corrections streaming
                if parts[2] == "training" and parts[3].startswith("epoch_1/"):
                    os.kill(proc.pid, signal.SIGKILL)
                    killed_mid_training = True
                    break
            if parts[:1] == ["DONE"]:
                break
    finally:
        if proc.poll() is None and not killed_mid_training:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert killed_mid_training, "".join(lines[-5:]) + proc.stderr.read()[-3000:]
    assert proc.returncode == -signal.SIGKILL

    reopened = nbl.Dataset.open(db)
    df = reopened.df
    for k in written:  # every correction that returned is there, as it was made
        assert df.at[k, "status"] == "verified" and df.at[k, "source"] == "human", k
        assert boxes(df.at[k, "annotations"]) == boxes(truth[k]), k
    assert len(written) >= 26  # ten before the retrain, sixteen during it
    ev = reopened.events()
    assert set(written) <= set(ev[(ev["kind"] == "submit")]["key"])
