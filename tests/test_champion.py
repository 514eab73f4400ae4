"""A loop with a General AI and a Custom AI shows whichever one costs a person less.

The two models here are predictors of known quality on the real raccoon images: they
return the Pascal VOC boxes of each image, exactly or moved off it, so which model is
cheaper to correct is known in advance. The person verifies an image by writing its VOC
boxes, as the widget's submit does.
"""

from __future__ import annotations

import pandas as pd
import pytest
from support.model_fixtures import voc_items

import nblabel as nbl
from nblabel.core.sources import HUMAN
from nblabel.loop import AutoLabeler
from nblabel.loop.champion import MIN_COMPARED, Comparison, custom_serves, summary
from nblabel.loop.report import EffortCosts


class TruthModel:
    """The VOC boxes of each image (``wrong``: a 10-pixel box in the top-left corner
    instead of each, which a person deletes before drawing the true one)."""

    classes = ["raccoon"]

    def __init__(self, truth: dict, version: str | None, wrong: bool = False):
        self.truth, self.wrong, self._version = truth, wrong, version

    @property
    def version(self):
        return self._version

    def predict(self, images):
        if self._version is None:
            raise RuntimeError("not fitted")
        out = []
        for path in images:
            recs = self.truth[str(path)]
            out.append(
                [
                    {
                        "label": r["label"],
                        "bbox": [0, 0, 10, 10] if self.wrong else list(r["bbox"]),
                        "score": 0.9,
                    }
                    for r in recs
                ]
            )
        return out


class TrainableTruthModel(TruthModel):
    """A Custom AI stand-in: nothing before its first fit, then ``version`` v1, v2, ..."""

    def __init__(self, truth: dict, wrong: bool, fits: int = 0):
        super().__init__(truth, f"custom-v{fits}" if fits else None, wrong)
        self.fits = fits

    def fit(self, ds, keys=None, progress=None):
        self.fits += 1
        self._version = f"custom-v{self.fits}"
        return self


@pytest.fixture()
def items(raccoon_dir):
    return voc_items(raccoon_dir, 40)


def _dataset(items, db):
    df = pd.DataFrame({"path": [str(p) for p, _ in items]}, index=[p.stem for p, _ in items])
    return nbl.Dataset.from_dataframe(df, image_col="path", db=db, classes=["raccoon"])


def _verify(ds, lab, items, keys):
    truth = {p.stem: recs for p, recs in items}
    for k in keys:
        ds.annotate(k, [{"label": r["label"], "bbox": r["bbox"]} for r in truth[k]])
    assert lab.wait(timeout=120)
    assert lab.errors == []


def _model_sources(ds) -> set:
    df = ds.df
    return set(df.loc[df["source"] != HUMAN, "source"])


def test_a_custom_ai_worse_than_the_general_ai_is_never_shown(items, tmp_path):
    truth = {str(p): recs for p, recs in items}
    ds = _dataset(items, tmp_path / "worse.db")
    general = TruthModel(truth, "general@1")
    custom = TrainableTruthModel(truth, wrong=True)
    lab = AutoLabeler(ds, custom, general=general, retrain_every=5)
    assert "General AI until the first Custom AI version" in lab.state["serving"]["text"]

    # before any fit the General AI labels everything
    assert lab.autolabel(progress=False)["written"] == len(items)
    assert _model_sources(ds) == {"general@1"}

    keys = list(ds.keys())
    _verify(ds, lab, items, keys[:5])  # retrain 1: custom-v1 predicts beside the General AI
    assert custom.version == "custom-v1"
    assert _model_sources(ds) == {"general@1"}
    # ten compared images, and two more retrains (one after each five: five verified before
    # a queued retrain starts would train it, and start no other)
    _verify(ds, lab, items, keys[5:10])
    _verify(ds, lab, items, keys[10:15])

    s = lab.serving()
    assert s["model"] == "general" and s["version"] == "general@1"
    assert s["compared"] == 10
    assert s["custom_seconds"] > s["general_seconds"]
    assert s["general_seconds"] == 1.0  # right as it was: one submit
    # what a person sees next is still the General AI's, and the newest Custom version's
    # prediction waits beside it
    assert custom.version == "custom-v3"
    assert _model_sources(ds) == {"general@1"}
    pending = ds.df.loc[ds.df["status"] != "verified", "evidence"]
    assert {e["prediction"]["alternative"]["version"] for e in pending} == {"custom-v3"}
    assert "General" in lab.state["serving"]["text"]


def test_a_custom_ai_that_proves_cheaper_takes_over_and_the_proof_survives_a_reopen(
    items, tmp_path
):
    truth = {str(p): recs for p, recs in items}
    db = tmp_path / "better.db"
    ds = _dataset(items, db)
    general = TruthModel(truth, "general@1", wrong=True)
    custom = TrainableTruthModel(truth, wrong=False)  # right once trained
    lab = AutoLabeler(ds, custom, general=general, retrain_every=MIN_COMPARED)
    lab.autolabel(progress=False)
    keys = list(ds.keys())

    _verify(ds, lab, items, keys[:MIN_COMPARED])  # retrain 1: nothing compared yet
    assert lab.serving()["model"] == "general"
    assert _model_sources(ds) == {"general@1"}

    # the next images are compared; the retrain they start finds the Custom AI cheaper
    _verify(ds, lab, items, keys[MIN_COMPARED : 2 * MIN_COMPARED])
    s = lab.serving()
    assert s["model"] == "custom" and s["version"] == "custom-v2"
    assert s["compared"] == MIN_COMPARED
    assert s["custom_seconds"] == 1.0  # right as it was: one submit
    # every box drawn again: at the line best for it its wrong boxes are faint and ignored
    assert s["general_seconds"] >= 8.0
    assert _model_sources(ds) == {"custom-v2"}
    # and the General AI's view is the one kept beside it now
    pending = ds.df.loc[ds.df["status"] != "verified", "evidence"]
    assert {e["prediction"]["alternative"]["version"] for e in pending} == {"general@1"}
    lab.close()

    # a new session on the reopened journal knows what was proven
    again = nbl.Dataset.open(db)
    lab2 = AutoLabeler(
        again, TrainableTruthModel(truth, wrong=False, fits=2), general=general, retrain_every=5
    )
    s2 = lab2.serving()
    assert (s2["model"], s2["compared"]) == ("custom", MIN_COMPARED)
    assert s2["general_seconds"] == pytest.approx(s["general_seconds"])


def test_each_model_is_priced_at_the_display_line_best_for_it():
    """A General AI asked for boxes down to a low score returns wrong ones there, which the
    Annotator shows faint and a person ignores: they must not make a Custom AI that needs
    a move on every image look cheaper."""
    box = {"label": "raccoon", "bbox": [0, 0, 100, 100]}
    general = [
        {**box, "score": 0.9},
        {"label": "raccoon", "bbox": [200, 200, 220, 220], "score": 0.1},
        {"label": "raccoon", "bbox": [300, 300, 320, 320], "score": 0.15},
    ]
    custom = [{"label": "raccoon", "bbox": [0, 0, 100, 120], "score": 0.9}]  # IoU 0.83
    c = Comparison.priced("custom-v1", custom, general, [box], EffortCosts())
    assert (c.general, c.custom) == (1 + 2 * 3, 1 + 3)  # every object a label
    pairs = [c] * MIN_COMPARED
    assert not custom_serves(pairs)
    assert summary(pairs) == {
        "compared": MIN_COMPARED,
        "custom_seconds": 4.0,
        "general_seconds": 1.0,
    }
    assert Comparison.from_dict(c.as_dict()) == c  # kept in the journal's evidence
    # comparisons an older version kept, without the lines: the whole prices decide
    old = [Comparison.from_dict({"version": "v", "custom": 4.0, "general": 7.0})] * MIN_COMPARED
    assert custom_serves(old)
