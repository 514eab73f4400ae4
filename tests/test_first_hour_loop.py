"""A failed background retrain is said in the loop's status bar, as text, until a retrain
succeeds: the traceback under the Annotator is easy to miss while the phase says idle."""

from __future__ import annotations

import pytest
from test_autolabel import BrightModel

import nblabel as nbl
from nblabel.loop import AutoLabeler
from nblabel.loop.routing import is_held_out

HUMAN_BOX = [{"label": "raccoon", "bbox": [20, 20, 200, 200]}]

# the worker warns about each error it records, from its own thread
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class Learner(BrightModel):
    """BrightModel that can be retrained on the keys it is given; each fit is a new version."""

    def __init__(self):
        super().__init__(version="learner@0")
        self.fits: list[list] = []

    def fit(self, ds, keys=None, progress=None):
        self.fits.append(list(keys))
        self.version = f"learner@{len(self.fits)}"
        return self


def _bar_texts(view) -> list[str]:
    return [c.value for c in view.bar.children if isinstance(getattr(c, "value", None), str)]


def _failure_shown(view) -> str:
    said = [t for t in _bar_texts(view) if "retrain failed" in t]
    assert len(said) <= 1
    return said[0] if said else ""


def test_a_failed_retrain_is_said_in_the_status_bar_until_one_succeeds(folder, tmp_path):
    ds = nbl.Dataset.from_folder(folder(12), db=tmp_path / "f.db", classes=["raccoon"])
    model = Learner()
    lab = AutoLabeler(ds, model, retrain_every=1, holdout=0.5)
    view = lab.widget()
    held = next(k for k in ds.keys() if is_held_out(k, lab.holdout))
    trained = next(k for k in ds.keys() if not is_held_out(k, lab.holdout))
    assert _failure_shown(view) == ""

    # the only verified image is held out for grading: the loop cannot train, and says why
    ds.annotate(held, HUMAN_BOX, kind="submit")
    assert lab.wait(60)
    assert lab.state["phase"] == "idle" and model.fits == []
    said = _failure_shown(view)
    assert said.startswith("retrain failed: ValueError: no verified image to train on")
    assert "verify more images" in said and len(said) < 220
    assert "Traceback" not in said and "\n" not in said  # one line; the traceback is below
    assert view.failure.layout.display != "none"
    view.refresh(force=True)  # later news of the loop does not wipe it
    assert _failure_shown(view) == said

    # a widget built again still says it
    view = lab.widget()
    assert _failure_shown(view) == said

    # the next retrain succeeds: the bar stops saying it failed
    ds.annotate(trained, HUMAN_BOX, kind="submit")
    assert lab.wait(60)
    assert model.fits == [[trained]]
    assert _failure_shown(view) == ""
    assert view.failure.layout.display == "none"
    view.refresh(force=True)  # the job's last news may still be on its way from the worker
    assert any("learner@1" in t for t in _bar_texts(view))
    # and a widget built after the success does not bring the old failure back
    assert _failure_shown(lab.widget()) == ""


def test_a_failing_fit_names_its_error_in_one_line_of_plain_text(folder, tmp_path):
    class Broken(Learner):
        def fit(self, ds, keys=None, progress=None):
            raise RuntimeError("<b>CUDA</b> out of memory\nTried to allocate 2.0 GiB " + "x" * 400)

    ds = nbl.Dataset.from_folder(folder(4), db=tmp_path / "b.db", classes=["raccoon"])
    lab = AutoLabeler(ds, Broken(), retrain_every=1)
    view = lab.widget()
    ds.annotate(ds.keys()[0], HUMAN_BOX, kind="submit")
    assert lab.wait(60)
    said = _failure_shown(view)
    # a Label shows its value as text: the markup stays visible characters
    assert said.startswith("retrain failed: RuntimeError: <b>CUDA</b> out of memory Tried")
    assert "\n" not in said and len(said) < 220 and said.endswith("(details below)")
    assert view.failure.tooltip.startswith("RuntimeError: <b>CUDA</b>")
    shown = "".join(o.get("text", "") for o in view.errors.outputs)
    assert "Traceback" in shown and "x" * 400 in shown  # the whole error stays below


def test_a_re_route_that_goes_through_clears_the_failure_line(folder, tmp_path):
    """A model without ``fit`` re-routes instead of retraining: when one re-route fails
    (grading the newly verified image crashes) and the next goes through, the bar stops
    saying it failed."""
    ds = nbl.Dataset.from_folder(folder(6), db=tmp_path / "r.db", classes=["raccoon"])
    model = BrightModel(fail_on_call=1)  # grading the first verified image crashes
    lab = AutoLabeler(ds, model, retrain_every=1)
    view = lab.widget()
    keys = ds.keys()
    ds.annotate(keys[0], HUMAN_BOX, kind="submit")
    assert lab.wait(60)
    said = _failure_shown(view)
    assert said.startswith("retrain failed: RuntimeError: model crashed"), said

    ds.annotate(keys[1], HUMAN_BOX, kind="submit")  # the next re-route grades and routes
    assert lab.wait(60)
    assert _failure_shown(view) == ""
    assert view.failure.layout.display == "none"
    assert _failure_shown(lab.widget()) == ""
