"""Prequential evidence: grades of reviewed images, the Clopper-Pearson accept threshold,
the cost-aware display threshold, and grades kept in the journal across a restart."""

from __future__ import annotations

import math
import random

import pytest
from test_autolabel import BrightModel

import nblabel as nbl
from nblabel.loop import AutoLabeler
from nblabel.loop.evidence import (
    Grade,
    accept_threshold,
    display_threshold,
    grade,
    guarantee,
    lower_bound,
)


def _synthetic(n, p_right, seed=0):
    """Grades of a predictor whose images are right with probability ``p_right`` whatever
    their confidence (so no threshold can select a better subset)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        conf = rng.uniform(0.3, 1.0)
        ok = rng.random() < p_right
        out.append(Grade("v1", conf, ok, (conf,), (ok,), 1, ("cat",)))
    return out


def test_lower_bound_is_exact_clopper_pearson():
    assert lower_bound(59, 59) > 0.95 > lower_bound(58, 58)
    # the defining property, summed independently: at the bound, 95 or more of 100 happen
    # with probability 5 %
    p = lower_bound(95, 100)
    tail = sum(math.comb(100, i) * p**i * (1 - p) ** (100 - i) for i in range(95, 101))
    assert tail == pytest.approx(0.05, abs=1e-6)
    assert 0.85 < p < 0.95
    assert lower_bound(0, 5) == 0.0 and lower_bound(3, 0) == 0.0


@pytest.mark.parametrize("n", [20, 100, 500, 2000])
def test_an_80_percent_predictor_is_never_auto_accepted(n):
    assert accept_threshold(_synthetic(n, 0.80, seed=n), target=0.95) is None


def test_a_99_percent_predictor_is_accepted_once_enough_images_were_reviewed():
    few = _synthetic(30, 0.99, seed=1)
    assert accept_threshold(few, target=0.95) is None  # 30 images cannot prove 95 %
    many = _synthetic(400, 0.99, seed=1)
    g = guarantee(many, target=0.95)
    assert g.allowed and g.lower >= 0.95 and g.n_above >= 59
    expected, bound = g.expected_wrong(1000)
    assert expected <= bound <= 50  # at most 5 % of 1000 wrong, at 95 % confidence


def test_the_threshold_separates_a_predictor_whose_confident_images_are_right():
    rng = random.Random(3)
    grades = []
    for _ in range(300):
        conf = rng.uniform(0, 1)
        ok = conf > 0.6 or rng.random() < 0.3
        grades.append(Grade("v1", conf, ok, (conf,), (ok,), 1, ("cat",)))
    t = accept_threshold(grades, target=0.95)
    assert t is not None and 0.55 <= t <= 0.75


def test_display_threshold_moves_the_way_the_costs_say():
    rng = random.Random(5)
    objs = []
    for _ in range(400):
        s = rng.uniform(0, 1)
        objs.append((s, rng.random() < s))  # higher scores are right more often
    g = [Grade("v1", None, False, tuple(s for s, _ in objs), tuple(h for _, h in objs), 0)]
    base = display_threshold(g, delete_cost=3, draw_cost=7)
    cheap_drawing = display_threshold(g, delete_cost=3, draw_cost=1)
    cheap_deleting = display_threshold(g, delete_cost=0.5, draw_cost=7)
    assert cheap_deleting < base < cheap_drawing
    # break-even: show an object when P(right) > delete / (delete + draw) = 0.3
    assert base == pytest.approx(0.3, abs=0.1)


def test_grade_is_per_image_every_object_right_and_nothing_missing():
    p = [
        {"label": "cat", "bbox": [0, 0, 10, 10], "score": 0.9},
        {"label": "cat", "bbox": [50, 50, 60, 60], "score": 0.4},
    ]
    both = [{"label": "cat", "bbox": [0, 0, 10, 10]}, {"label": "cat", "bbox": [50, 50, 60, 60]}]
    assert grade(p, both, "v").correct and grade(p, both, "v").confidence == 0.4
    assert not grade(p, both[:1], "v").correct  # one extra object
    assert not grade(p[:1], both, "v").correct  # one missing
    relabel = [{"label": "dog", "bbox": [0, 0, 10, 10]}, both[1]]
    g = grade(p, relabel, "v")
    assert not g.correct and g.hits == (False, True)


def test_reviewed_images_are_graded_and_the_grades_survive_a_restart(folder, tmp_path):
    db = tmp_path / "g.db"
    ds = nbl.Dataset.from_folder(folder(12), db=db)
    lab = AutoLabeler(ds, BrightModel(), retrain_every=100)
    lab.autolabel(progress=False)
    keys = list(ds.keys())
    # the person keeps the prediction on 3 images and moves the box far away on 2
    for k in keys[:3]:
        recs = [{"label": a["label"], "bbox": a["bbox"]} for a in ds.df.at[k, "annotations"]]
        ds.annotate(k, recs, kind="accepted")
    for k in keys[3:5]:
        ds.annotate(k, [{"label": "raccoon", "bbox": [0, 0, 5, 5]}], kind="moved")
    grades = {g.correct for g in lab.grades()}
    assert len(lab.grades()) == 5 and grades == {True, False}
    assert sum(g.correct for g in lab.grades()) == 3
    assert all(g.version == "bright@1" for g in lab.grades())
    st = lab.state
    assert st["guarantee"]["n_graded"] == 5 and not st["guarantee"]["auto_accept_allowed"]
    lab.close()

    again = nbl.Dataset.open(db)
    lab2 = AutoLabeler(again, BrightModel())
    assert sorted((g.correct, g.confidence) for g in lab2.grades()) == sorted(
        (g.correct, g.confidence) for g in lab.grades()
    )


def test_a_class_typo_in_a_trainable_model_fails_when_the_loop_is_built(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(3), db=tmp_path / "t.db", classes=["raccoon"])
    with pytest.raises(ValueError, match="did you mean 'raccoon'"):
        AutoLabeler(ds, nbl.CustomAI(classes=["racoon"]))
    assert ds.classes == ["raccoon"]  # nothing was added


def _classed(n, p_right, label, seed):
    return [
        Grade("v1", g.confidence, g.correct, g.scores, g.hits, 1, (label,))
        for g in _synthetic(n, p_right, seed=seed)
    ]


def test_evidence_is_per_class_an_easy_class_does_not_vouch_for_a_hard_one():
    easy, hard = _classed(400, 0.995, "cat", 1), _classed(100, 0.80, "dog", 2)
    pooled = [
        Grade(g.version, g.confidence, g.correct, g.scores, g.hits, 1, ("x",)) for g in easy + hard
    ]
    # pooled over both classes the images are right often enough ...
    assert guarantee(pooled, target=0.95).allowed
    g = guarantee(easy + hard, target=0.95)
    # ... but each class must prove itself: cats are accepted, dogs and unseen classes wait
    assert g.threshold_for({"cat"}) is not None
    assert g.threshold_for({"dog"}) is None and g.threshold_for({"cat", "dog"}) is None
    assert g.threshold_for({"cow"}) is None and g.threshold_for(set()) is None
    assert g.by_class["dog"].n == 100 and g.by_class["cat"].n_above >= 59
    # what the rule lets through was right, and the guarantee says so
    assert g.lower >= 0.95 and g.n_above == g.by_class["cat"].n_above
    assert g.as_dict()["by_class"]["dog"]["threshold"] is None


def test_an_image_showing_a_class_without_evidence_goes_to_review(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(4), db=tmp_path / "c.db", classes=["raccoon"])
    lab = AutoLabeler(ds, BrightModel(), retrain_every=100)
    lab._grades.update({f"old{i}": g for i, g in enumerate(_classed(200, 1.0, "raccoon", 3))})
    box = {"bbox": [0, 0, 10, 10], "score": 0.99}
    routed = lab._routed(
        {
            "a": [{**box, "label": "raccoon"}],
            "b": [{**box, "label": "raccoon"}, {**box, "label": "cat"}],
        },
        {},
    )
    (_, _, status_a, _, _), (_, _, status_b, reason_b, _) = routed
    assert status_a == "auto"
    assert status_b == "review" and reason_b == "not enough evidence yet"
    lab.close()


def test_the_report_states_the_expected_wrong_images_and_each_class(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(3), db=tmp_path / "r.db", classes=["raccoon"])
    lab = AutoLabeler(ds, BrightModel(), retrain_every=100)
    lab._grades.update({f"old{i}": g for i, g in enumerate(_classed(300, 0.99, "raccoon", 4))})
    lab._grades.update({f"dog{i}": g for i, g in enumerate(_classed(30, 0.5, "dog", 5))})
    rep = lab.report(plot=False).loc["guarantee"]
    g = lab.guarantee()
    assert "at most" in rep.loc["wrong among auto-accepted", "note"]
    assert rep.loc["class raccoon", "count"] == 300
    assert f"{g.by_class['raccoon'].threshold:.2f}" in rep.loc["class raccoon", "note"]
    assert "not proven yet" in rep.loc["class dog", "note"]
    lab.close()


def test_keep_threshold_is_the_score_at_which_most_graded_images_are_right():
    from nblabel.loop.evidence import keep_threshold

    rng = random.Random(7)
    for _ in range(200):
        grades = []
        for _ in range(rng.randint(1, 12)):
            m = rng.randint(0, 4)
            scores = tuple(round(rng.random(), 2) for _ in range(m))
            hits = tuple(rng.random() < 0.7 for _ in range(m))
            grades.append(Grade("v", None, False, scores, hits, rng.randint(0, 3)))
        t = keep_threshold(grades)
        best = max(
            sum(g.at(c).correct for g in grades)
            for c in [0.0, 1.01] + [s for g in grades for s in g.scores]
        )
        assert sum(g.at(t).correct for g in grades) == best


def test_grades_match_the_most_confident_object_first():
    # a low duplicate overlapping the person's box more must not take the confident one's
    # match, or re-grading at a higher score would call a right image wrong
    final = [{"label": "cat", "bbox": [0, 0, 100, 100]}]
    pred = [
        {"label": "cat", "bbox": [0, 0, 80, 80], "score": 0.9},
        {"label": "cat", "bbox": [0, 0, 99, 99], "score": 0.2},
    ]
    g = grade(pred, final, "v")
    assert g.hits == (True, False) and not g.correct
    assert g.at(0.5).correct and g.at(0.5).confidence == pytest.approx(0.9)


def test_the_loop_offers_more_as_suggestions_when_ignoring_them_is_free(folder, tmp_path):
    # Each image gets the model's box and a second, wrong one scored 0.1-0.9. A person keeps
    # the first. Shown as a label, the wrong box costs a deletion; as a faint suggestion it
    # costs nothing, and a right suggestion a click. Hidden (hide_below), a right one is
    # drawn again. So the loop moves the line between labels and suggestions up when its
    # widget draws the suggestions, and keeps it lower when it hides them.
    rng = random.Random(11)

    class WithWrongBox(BrightModel):
        def predict(self, images):
            out = []
            for recs in super().predict(images):
                wrong = {"label": "raccoon", "bbox": [0, 0, 6, 6], "score": rng.uniform(0.1, 0.9)}
                out.append(recs + [wrong])
            return out

    ds = nbl.Dataset.from_folder(folder(30), db=tmp_path / "s.db")
    lab = AutoLabeler(ds, WithWrongBox(), retrain_every=100)
    lab.autolabel(progress=False)
    for k in ds.keys():
        right = ds.df.at[k, "annotations"][0]
        ds.annotate(k, [{"label": right["label"], "bbox": right["bbox"]}], kind="submit")
    assert len(lab.grades()) == 30
    faint, keep = lab.display_threshold(), lab.keep_threshold()  # no widget: drawn faint
    view = lab.widget(hide_below=True)
    hidden = lab.display_threshold()
    assert view.annotator.hide_below and hidden < faint
    # what an auto-accepted image keeps does not depend on how a person is shown things
    assert lab.keep_threshold() == keep
    view.close()
    lab.close()
