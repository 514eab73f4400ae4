"""Effort report and the simulated annotator, on a real journaled Dataset of raccoon images."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from support.model_fixtures import voc_items  # noqa: E402

import nblabel as nbl  # noqa: E402
from nblabel.loop import AutoLabeler  # noqa: E402
from nblabel.loop.report import EffortCosts, effort_report, plot_report  # noqa: E402
from nblabel.loop.simulate import apply_fix, label_f1, plan_fix  # noqa: E402


@pytest.fixture()
def small(raccoon_dir, db):
    items = voc_items(raccoon_dir, 6)
    df = pd.DataFrame({"path": [str(p) for p, _ in items]}, index=[p.stem for p, _ in items])
    ds = nbl.Dataset.from_dataframe(df, image_col="path", db=db, classes=["raccoon"])
    truth = {p.stem: recs for p, recs in items}
    return ds, truth


def shifted(recs, dx):
    return [
        {**r, "bbox": [r["bbox"][0] + dx, r["bbox"][1], r["bbox"][2] + dx, r["bbox"][3]]}
        for r in recs
    ]


def scored(recs, score=0.8):
    return [{**r, "score": score} for r in recs]


def test_plan_fix_actions_and_result():
    truth = [
        {"label": "raccoon", "bbox": [10, 10, 110, 110]},
        {"label": "raccoon", "bbox": [300, 300, 360, 380]},
        {"label": "raccoon", "bbox": [500, 10, 560, 90]},
    ]
    pred = [
        {"label": "raccoon", "bbox": [30, 10, 130, 110], "score": 0.7},  # off: IoU ~0.67
        {"label": "dog", "bbox": [300, 300, 360, 380], "score": 0.6},  # right box, wrong label
        {"label": "raccoon", "bbox": [700, 700, 760, 760], "score": 0.4},  # nothing there
    ]
    fix = plan_fix(pred, truth)
    assert fix.kinds == ["deleted", "moved", "relabelled", "added"]
    assert sorted(map(tuple, (r["bbox"] for r in fix.final))) == sorted(
        tuple(t["bbox"]) for t in truth
    )
    assert all(r["label"] == "raccoon" and r["source"] == "human" for r in fix.final)
    assert plan_fix(scored(truth), truth).kinds == []  # nothing to fix: just accept


def test_apply_fix_journals_gestures_then_verifies(small):
    ds, truth = small
    key = next(iter(truth))
    ds.annotate(key, scored(shifted(truth[key], 40)), source="m@1", status="review")
    fix = plan_fix(ds.row(key)["annotations"], truth[key])
    seconds = apply_fix(ds, key, fix)
    row = ds.row(key)
    assert row["status"] == "verified" and row["source"] == "human"
    assert [a["bbox"] for a in row["annotations"]] == [
        [float(v) for v in t["bbox"]] for t in truth[key]
    ]
    ev = ds.events()
    human = ev[(ev["key"] == key) & (ev["source"] == "human")]
    assert list(human["kind"]) == [*fix.kinds, "submit"]
    # gestures keep the review status; only the submit verifies
    assert list(human["status"]) == ["review"] * len(fix.kinds) + ["verified"]
    assert seconds == pytest.approx(3.0 * len(fix.kinds) + 1.0) == human["seconds"].sum()


def test_effort_report_from_a_session(small):
    ds, truth = small
    keys = list(truth)
    costs = EffortCosts()
    ds.annotate_many(
        [
            (
                k,
                scored(shifted(truth[k], 60 if i % 2 else 0)),
                {"source": "m@1", "status": "review"},
            )
            for i, k in enumerate(keys)
        ]
    )
    ds.annotate(keys[5], scored(truth[keys[5]], 0.95), source="m@2", status="auto")
    expected = 0.0
    kinds: dict[str, int] = {}
    for k in keys[:4]:
        fix = plan_fix(ds.row(k)["annotations"], truth[k])
        expected += apply_fix(ds, k, fix, costs)
        for kind in fix.kinds or ["accepted"]:
            kinds[kind] = kinds.get(kind, 0) + 1
        if fix.kinds:
            kinds["submit"] = kinds.get("submit", 0) + 1
    # a script that writes a whole image at once: costed as drawing each of its objects
    ds.annotate(keys[4], truth[keys[4]])

    rep = effort_report(ds.events(), ds.df, costs)
    acts = rep.loc["actions"]
    kinds["edit"] = 1
    assert {k: int(v) for k, v in acts["count"].items()} == kinds
    imgs = rep.loc["images"]["count"]
    assert (imgs["verified"], imgs["auto"], imgs["review"], imgs["touched by a person"]) == (
        5,
        1,
        0,
        5,
    )
    models = rep.loc["models"]["count"]
    assert (models["m@1"], models["m@2"]) == (6, 1)  # predictions written per version, in order
    assert list(models.index) == ["m@1", "m@2"]

    n_objects = sum(len(truth[k]) for k in keys)
    eff = rep.loc["effort"]
    # by hand: every object drawn and every labeled image (5 verified, 1 auto) submitted
    by_hand = n_objects * 7.0 + 6 * 1.0
    assert eff.loc["by hand", "seconds"] == by_hand
    with_model = expected + 7.0 * len(truth[keys[4]])
    assert eff.loc["with model", "seconds"] == pytest.approx(with_model)
    assert eff.loc["saved", "seconds"] == pytest.approx(by_hand - with_model)
    assert eff.loc["measured", "seconds"] == pytest.approx(expected)
    assert "box 7 s, correction 3 s, accept 1 s" in eff.loc["with model", "note"]

    fig = plot_report(rep, ds.events())
    assert len(fig.axes) == 4
    assert [a.get_title() for a in fig.axes][:2] == ["Human actions", "Images"]
    matplotlib.pyplot.close(fig)


def test_labeler_report_and_figure(small):
    ds, truth = small

    class Fixed:
        classes = ["raccoon"]
        version = "fixed@1"

        def predict(self, images):
            return [[{"label": "raccoon", "bbox": [0, 0, 50, 50], "score": 0.9}] for _ in images]

    lab = AutoLabeler(ds, Fixed())
    lab.autolabel(progress=False)
    rep = lab.report(plot=True)
    assert rep.loc[("models", "fixed@1"), "count"] == len(ds)
    assert rep.loc[("images", "review"), "count"] == len(ds)  # no evidence yet: all reviewed
    assert lab.figure is not None and len(lab.figure.axes) == 4
    matplotlib.pyplot.close(lab.figure)
    assert lab.report(plot=False).equals(rep)


def test_label_f1():
    truth = {
        "a": [{"label": "cat", "bbox": [0, 0, 10, 10]}, {"label": "cat", "bbox": [20, 0, 30, 10]}],
        "b": [{"label": "cat", "bbox": [0, 0, 10, 10]}],
    }
    labeled = {
        "a": [{"label": "cat", "bbox": [0, 0, 10, 10]}, {"label": "dog", "bbox": [20, 0, 30, 10]}],
        "b": [{"label": "cat", "bbox": [0, 0, 10, 10]}, {"label": "cat", "bbox": [50, 50, 60, 60]}],
    }
    s = label_f1(labeled, truth)
    assert (s["tp"], s["n_pred"], s["n_true"]) == (2, 4, 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert label_f1({}, truth)["f1"] == 0.0
