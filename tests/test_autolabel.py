"""AutoLabeler.autolabel on real raccoon images: count rule, batching, routing, resume."""

from __future__ import annotations

import gc
import os
import shutil
import warnings

import numpy as np
import pytest
from PIL import Image

import nblabel as nbl
from nblabel.loop import AutoLabeler
from nblabel.loop.routing import REASON_DISAGREE
from nblabel.records import image_confidence


class BrightModel:
    """A tiny real detector: one box around the central mass (10th to 90th percentile) of
    the brighter-than-average pixels of a 1/8-scale decode; the tighter that box, the higher
    its score. A real image statistic that differs from photo to photo."""

    classes = ["raccoon"]

    def __init__(self, version="bright@1", fail_on_call=None):
        self.version = version
        self.calls: list[int] = []
        self.fail_on_call = fail_on_call

    def predict(self, images):
        self.calls.append(len(images))
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise RuntimeError("model crashed")
        out = []
        for path in images:
            with Image.open(path) as im:
                w, h = im.size
                im.draft("L", (max(1, w // 8), max(1, h // 8)))
                g = np.asarray(im.convert("L"), dtype=np.float32)
            ys, xs = np.nonzero(g > g.mean())
            x1, x2 = np.percentile(xs, [10, 90])
            y1, y2 = np.percentile(ys, [10, 90])
            sx, sy = w / g.shape[1], h / g.shape[0]
            box = [x1 * sx, y1 * sy, (x2 + 1) * sx, (y2 + 1) * sy]
            area = (box[2] - box[0]) * (box[3] - box[1]) / (w * h)
            out.append([{"label": "raccoon", "bbox": box, "score": round(1.0 - area, 4)}])
        return out


@pytest.fixture()
def ds200(raccoon_dir, db):
    return nbl.Dataset.from_folder(raccoon_dir / "images", db=db)


def test_autolabel_batches_writes_version_and_routes_everything_to_review(ds200):
    model = BrightModel()
    lab = AutoLabeler(ds200, model, batch=16)
    seen = []
    lab.on_autolabel_progress(seen.append)
    summary = lab.autolabel(progress=False)

    assert ds200.classes == ["raccoon"]  # the model's classes were added first
    assert summary["written"] == 200 and summary["review"] == 200 and summary["auto"] == 0
    assert sum(model.calls) == 200 and max(model.calls) == 16  # batched, each image once
    df = ds200.df
    assert set(df["source"]) == {"bright@1"}
    # nobody verified anything yet: no evidence, so nothing is auto-accepted
    assert set(df["status"]) == {"review"}
    for key in ["raccoon-1", "raccoon-77", "raccoon-200"]:
        anns = df.at[key, "annotations"]
        assert len(anns) == 1 and anns[0]["source"] == "bright@1"
        assert df.at[key, "confidence"] == pytest.approx(image_confidence(anns))
    assert [p["done"] for p in seen] == [*range(16, 200, 16), 200]
    assert all(p["total"] == 200 and p["version"] == "bright@1" for p in seen)
    ev = ds200.events()
    assert (ev["kind"] == "predict").sum() == 200
    # review queue: hardest (least confident) first
    q = lab.review_queue()
    assert len(q) == 200 and q["confidence"].is_monotonic_increasing


def test_count_rule(ds200, folder, tmp_path):
    lab = AutoLabeler(ds200, BrightModel())
    for bad in (50, 99, 201, 0):
        with pytest.raises(ValueError, match="between 100 and 200"):
            lab.autolabel(limit=bad, progress=False)
    with pytest.raises(ValueError, match="whole number"):
        lab.autolabel(limit=120.0, progress=False)
    assert ds200.counts()["unlabeled"] == 200  # nothing written by a refused call
    s = lab.autolabel(limit=120, progress=False)
    assert s["written"] == 120
    assert ds200.counts()["unlabeled"] == 80
    assert (ds200.df["status"].iloc[:120] == "review").all()

    small = nbl.Dataset.from_folder(folder(40), db=tmp_path / "small.db")
    lab = AutoLabeler(small, BrightModel())
    with pytest.raises(ValueError, match="fixed to 40"):
        lab.autolabel(limit=30, progress=False)
    assert lab.autolabel(limit=40, progress=False)["written"] == 40


def test_skips_verified_editing_and_unreadable_rows(folder, tmp_path):
    d = folder(6)
    (d / "broken.jpg").write_bytes(b"this is not a jpeg")
    ds = nbl.Dataset.from_folder(d, db=tmp_path / "s.db", classes=["raccoon"])
    human = [{"label": "raccoon", "bbox": [10, 10, 100, 100]}]
    ds.annotate("raccoon-2", human)  # verified by a person
    ds.annotate("raccoon-3", human, status="review", kind="added")  # being edited
    # an image that was fine at import and broke afterwards: predict fails on it
    gone = d / "raccoon-5.jpg"
    gone.unlink()
    shutil.copyfile(d / "broken.jpg", gone)
    model = BrightModel()
    s = AutoLabeler(ds, model, batch=8).autolabel(progress=False)

    assert s["skipped_verified"] == ["raccoon-2"]
    assert s["skipped_editing"] == ["raccoon-3"]
    assert set(s["unreadable"]) == {"broken", "raccoon-5"}
    assert s["written"] == 3  # raccoon-1, -4, -6
    df = ds.df
    assert df.at["raccoon-2", "status"] == "verified" and df.at["raccoon-2", "source"] == "human"
    assert df.at["raccoon-3", "source"] == "human" and df.at["raccoon-3", "status"] == "review"
    assert [a["bbox"] for a in df.at["raccoon-3", "annotations"]] == [[10.0, 10.0, 100.0, 100.0]]
    assert df.at["raccoon-5", "status"] == "unlabeled"
    assert "not an image" in df.at["raccoon-5", "issues"]  # recorded for the user to fix
    for k in ("raccoon-1", "raccoon-4", "raccoon-6"):
        assert df.at[k, "source"] == "bright@1"


def test_resume_after_interrupt_and_after_crash(ds200, db):
    lab = AutoLabeler(ds200, BrightModel(), batch=16)

    def stop(p):
        if p["done"] >= 32:
            raise KeyboardInterrupt

    lab.on_autolabel_progress(stop)
    with pytest.raises(KeyboardInterrupt):
        lab.autolabel(progress=False)
    lab.on_autolabel_progress(stop, remove=True)
    # what was written is durable: a fresh process sees it
    reopened = nbl.Dataset.open(db)
    assert (reopened.df["source"] == "bright@1").sum() == 32

    crashing = BrightModel(fail_on_call=3)
    lab = AutoLabeler(ds200, crashing, batch=16)
    with pytest.raises(RuntimeError, match="model crashed"):
        lab.autolabel(progress=False)
    assert (ds200.df["source"] == "bright@1").sum() == 64  # two more batches, then the crash

    model = BrightModel()
    s = AutoLabeler(ds200, model, batch=16).autolabel(progress=False)
    assert s["already_done"] == 64 and s["written"] == 136
    assert sum(model.calls) == 136  # resumed: done rows were not predicted again
    assert (ds200.df["source"] == "bright@1").all()
    # a new model version predicts everything again
    newer = BrightModel(version="bright@2")
    assert AutoLabeler(ds200, newer).autolabel(progress=False)["written"] == 200


def test_auto_accept_needs_evidence_from_verified_images(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(40), db=tmp_path / "e.db")
    model = BrightModel()
    # a low target so that a handful of reviewed images can prove it (0.05 ** (1/6) = 0.61)
    lab = AutoLabeler(ds, model, target_accuracy=0.5, min_verified_for_auto=3, retrain_every=6)
    lab.autolabel(progress=False)
    assert set(ds.df["status"]) == {"review"}
    assert not lab.evidence().allowed

    # a person accepts six predictions as they are, the least confident ones above 0.4:
    # evidence that the model is right from their confidence up
    df = ds.df.sort_values("confidence")
    keys = list(df.index[df["confidence"] >= 0.4][:6])
    lowest = df.loc[keys, "confidence"].min()
    for k in keys:
        recs = [{"label": a["label"], "bbox": a["bbox"]} for a in ds.df.at[k, "annotations"]]
        ds.annotate(k, recs, kind="accepted")
    ev = lab.evidence()
    assert (ev.n_graded, ev.accuracy, ev.allowed) == (6, 1.0, True)
    assert ev.threshold == pytest.approx(lowest)
    # six corrections with a model that cannot learn: the background step re-routes
    assert lab.wait(timeout=60)
    assert lab.errors == []
    df = ds.df
    rest = df[df["status"] != "verified"]
    expected = np.where(rest["confidence"] >= ev.threshold, "auto", "review")
    assert list(rest["status"]) == list(expected)
    assert (rest["status"] == "auto").any() and (rest["status"] == "review").any()
    assert (ds.events()["kind"] == "route").sum() == (rest["status"] == "auto").sum()

    # evidence against the model: a person moves the boxes of the six most confident
    # images left far away; the grades come back from the journal in a new labeler
    lab.close()
    lab2 = AutoLabeler(ds, model, target_accuracy=0.5, min_verified_for_auto=6)
    lab2.autolabel(progress=False)
    top = ds.df[ds.df["status"] != "verified"].sort_values("confidence", ascending=False)
    for k in list(top.index[:6]):
        ds.annotate(k, [{"label": "raccoon", "bbox": [0, 0, 5, 5]}])
    assert lab2.reroute() > 0
    ev = lab2.evidence()
    assert ev.n_graded == 12 and not ev.allowed
    assert sum(g.correct for g in lab2.grades()) == 6
    assert "auto" not in set(ds.df["status"])


def test_general_and_custom_disagreement_goes_to_review(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(12), db=tmp_path / "g.db")
    custom = BrightModel(version="custom@1")

    class Shifted(BrightModel):
        """Agrees with the custom model on even-numbered images only."""

        def predict(self, images):
            out = super().predict(images)
            for path, recs in zip(images, out):
                if int(os.path.basename(path)[8:-4]) % 2:
                    for r in recs:
                        r["bbox"] = [
                            r["bbox"][0] + 200,
                            r["bbox"][1],
                            r["bbox"][2] + 200,
                            r["bbox"][3],
                        ]
            return out

    general = Shifted(version="general@1")
    # a target two right images can prove (0.05 ** (1/2) = 0.22)
    lab = AutoLabeler(ds, custom, general=general, target_accuracy=0.2, min_verified_for_auto=2)
    lab.autolabel(progress=False)
    assert set(ds.df["status"]) == {"review"}  # no evidence yet
    # a person accepts the two least confident predictions as they are: every image is at
    # least that confident, so all may be auto-accepted where the models agree
    accepted = list(ds.df.sort_values("confidence").index[:2])
    for k in accepted:
        recs = ds.df.at[k, "annotations"]
        ds.annotate(k, [{"label": a["label"], "bbox": a["bbox"]} for a in recs], kind="accepted")
    assert lab.evidence().allowed
    even_left = [k for k in ds.keys() if k not in accepted and int(k.split("-")[1]) % 2 == 0]
    assert lab.reroute() == len(even_left) > 0
    df = ds.df
    q = lab.review_queue()
    for k in df.index[df["status"] != "verified"]:
        odd = int(k.split("-")[1]) % 2 == 1
        assert df.at[k, "status"] == ("review" if odd else "auto"), k
        if odd:
            assert q.at[k, "reason"] == REASON_DISAGREE
    assert sum(general.calls) == 12  # the general model ran once per image, then was cached


def test_hook_errors_are_captured_shown_and_warned(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(20), db=tmp_path / "h.db")
    lab = AutoLabeler(ds, BrightModel(), batch=8)
    box = lab.widget()
    calls = []

    def broken(p):
        calls.append(p["done"])
        raise ValueError("bad hook")

    lab.on_autolabel_progress(broken)
    with pytest.warns(RuntimeWarning, match="bad hook"):
        s = lab.autolabel(progress=False)
    assert s["written"] == 20  # a broken hook does not stop the work
    assert calls == [8, 16, 20]
    assert len(lab.errors) == 3
    assert "on_autolabel_progress" in lab.errors[0]["where"]
    assert "ValueError: bad hook" in lab.errors[0]["traceback"]
    out = box.children[-1]
    shown = "".join(o.get("text", "") for o in out.outputs)
    assert "ValueError: bad hook" in shown and out.layout.display != "none"
    # the status bar reflects the dataset
    bar = box.children[0]
    texts = [c.value for c in bar.children if hasattr(c, "value") and isinstance(c.value, str)]
    assert any("review 20" in t for t in texts)

    lab.on_autolabel_progress(broken, remove=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AutoLabeler(ds, BrightModel(version="bright@2")).autolabel(progress=False)
    assert calls == [8, 16, 20]


def test_bad_arguments_are_explained(ds200):
    with pytest.raises(TypeError, match="predict"):
        AutoLabeler(ds200, object())
    with pytest.raises(TypeError, match="Dataset"):
        AutoLabeler(ds200.df, BrightModel())
    with pytest.raises(ValueError, match="accept_threshold"):
        AutoLabeler(ds200, BrightModel(), accept_threshold=1.5)
    with pytest.raises(ValueError, match="retrain_every"):
        AutoLabeler(ds200, BrightModel(), retrain_every=0)
    with pytest.raises(ValueError, match="holdout"):
        AutoLabeler(ds200, BrightModel(), holdout=1.0)
    with pytest.raises(KeyError, match="nope"):
        AutoLabeler(ds200, BrightModel()).autolabel(keys=["nope"], progress=False)


def test_a_correction_made_while_the_model_predicts_is_never_overwritten(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(8), db=tmp_path / "r.db", classes=["raccoon"])
    human = [{"label": "raccoon", "bbox": [5, 5, 50, 50]}]

    class Meddling(BrightModel):
        def predict(self, images):
            out = super().predict(images)
            # a person submits raccoon-3 in the widget while its batch is being predicted
            if any(str(p).endswith("raccoon-3.jpg") for p in images):
                ds.annotate("raccoon-3", human, kind="submit")
            return out

    s = AutoLabeler(ds, Meddling(), batch=8).autolabel(progress=False)
    assert s["written"] == 7
    row = ds.row("raccoon-3")
    assert row["status"] == "verified" and row["source"] == "human"
    assert [a["bbox"] for a in row["annotations"]] == [[5.0, 5.0, 50.0, 50.0]]


def test_a_labeler_nobody_holds_stops_listening(folder, tmp_path):
    # re-running a notebook cell replaces the labeler; the old one must not keep counting
    ds = nbl.Dataset.from_folder(folder(4), db=tmp_path / "w.db", classes=["raccoon"])
    box = [{"label": "raccoon", "bbox": [5, 5, 50, 50]}]
    counted = []
    lab = AutoLabeler(ds, BrightModel(), retrain_every=1)
    lab.on_correction(counted.append)
    ds.annotate("raccoon-1", box)
    assert lab.wait(timeout=60)
    assert counted == ["raccoon-1"]
    del lab
    gc.collect()
    ds.annotate("raccoon-2", box)
    assert counted == ["raccoon-1"]


def test_an_image_is_judged_and_auto_accepted_as_a_person_would_see_it(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(30), db=tmp_path / "h.db")

    class WithJunk(BrightModel):
        # every image also gets a faint box: a suggestion (below the display threshold)
        def predict(self, images):
            junk = {"label": "raccoon", "bbox": [0, 0, 8, 8], "score": 0.05}
            return [recs + [dict(junk)] for recs in super().predict(images)]

    lab = AutoLabeler(ds, WithJunk(), target_accuracy=0.5, min_verified_for_auto=3,
                      retrain_every=6)  # fmt: skip
    assert lab.display_threshold() == pytest.approx(0.25)
    lab.autolabel(progress=False)
    df = ds.df
    # the row keeps every object the model found, and the confidence of those on screen
    assert all(a[-1]["score"] == 0.05 for a in df["annotations"])
    for recs, conf in zip(df["annotations"], df["confidence"]):
        on_screen = [a["score"] for a in recs if a["score"] >= 0.25]
        if on_screen:
            assert conf == pytest.approx(min(on_screen))
    keys = list(df[df["confidence"] >= 0.3].sort_values("confidence").index[:6])
    for k in keys:  # a person keeps the one box on screen and submits
        seen = [a for a in ds.df.at[k, "annotations"] if a["score"] >= 0.25]
        ds.annotate(k, [{"label": a["label"], "bbox": a["bbox"]} for a in seen], kind="submit")
    # right as kept: the faint suggestion is neither an error nor the image's confidence
    assert [g.correct for g in lab.grades()] == [True] * 6
    assert min(g.confidence for g in lab.grades()) > 0.25
    assert lab.wait(60) and lab.errors == []
    auto = ds.df[ds.df["status"] == "auto"]
    assert len(auto)
    for recs in auto["annotations"]:  # accepted as a submit would keep them: no faint box
        assert [a["score"] >= 0.25 for a in recs] == [True]
    assert ds.row(auto.index[0])["evidence"]["prediction"]["records"][-1]["score"] == 0.05
