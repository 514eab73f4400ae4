"""CustomAI's settings are checked where they are typed (the constructor, set_params) and
again when a fit starts, so one changed afterwards fails clearly before any folder or training
run; like a scikit-learn estimator it keeps them as given and learns only in fit."""

from __future__ import annotations

import pytest

import nblabel as nbl


@pytest.fixture()
def ds(folder, db):
    ds = nbl.Dataset.from_folder(folder(3), db=db, classes=["raccoon"])
    for key in ds.keys():
        ds.annotate(key, [{"label": "raccoon", "bbox": [10, 10, 100, 100]}])
    return ds


@pytest.mark.parametrize(
    "attr, value, error, match",
    [
        ("epochs", 0, ValueError, "epochs must be an integer >= 1, got 0"),
        ("imgsz", 16, ValueError, "imgsz must be an integer >= 32"),
        ("conf", 1.5, ValueError, "conf must be between 0 and 1"),
        ("task", "classify", ValueError, "task must be one of"),
        ("classes", "raccoon", TypeError, "list of names"),
        ("time_budget", 0, ValueError, "time_budget"),
    ],
)
def test_a_setting_changed_after_construction_fails_at_fit(ds, tmp_path, attr, value, error, match):
    with pytest.raises(error, match=match):
        nbl.CustomAI(**{attr: value})  # at construction, as before
    model = nbl.CustomAI(classes=["raccoon"], workdir=tmp_path / "work", epochs=1, imgsz=64)
    setattr(model, attr, value)
    with pytest.raises(error, match=match):
        model.fit(ds)
    assert not (tmp_path / "work").exists(), "nothing is written before the check"
    assert model.version is None and not hasattr(model, "model_")


def test_settings_are_kept_as_given_and_nothing_is_learned_before_fit(tmp_path):
    given = dict(classes=("raccoon",), epochs=3, workdir="runs", time_budget=None)
    model = nbl.CustomAI(**given)
    params = model.get_params()
    assert {k: params[k] for k in given} == given  # not copied into a list or resolved
    assert list(params) == list(nbl.CustomAI().get_params())  # every constructor argument
    learned = [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
    assert learned == [] and model.version is None
    # the same settings build the same (untrained) model, as scikit-learn's clone does
    assert (
        repr(nbl.CustomAI(**params))
        == repr(model)
        == ("CustomAI(classes=('raccoon',), epochs=3, workdir='runs', time_budget=None)")
    )


def test_set_params_checks_names_and_values_and_refuses_all_or_nothing():
    model = nbl.CustomAI(classes=["raccoon"])
    assert model.set_params(epochs=5, imgsz=256) is model
    assert (model.epochs, model.imgsz) == (5, 256)
    with pytest.raises(ValueError, match="no setting 'imgsize' \\(did you mean 'imgsz'\\?\\)"):
        model.set_params(imgsize=128)
    with pytest.raises(ValueError, match="batch must be an integer >= 1, got 0"):
        model.set_params(epochs=7, batch=0)
    assert (model.epochs, model.batch) == (5, 4), "a refused change leaves every setting as it was"


def test_a_fit_stops_before_an_epoch_would_overrun_its_time_budget():
    from nblabel.models.custom import budget_spent

    assert budget_spent(15.0, 4.0, 18.0)  # 19 s > 18 s: stop now, not one epoch past it
    assert not budget_spent(13.0, 4.0, 18.0)  # 17 s fits
    assert budget_spent(0.5, 30.0, 18.0)  # one epoch always runs; a long one is the last
    assert not budget_spent(1e6, 1e3, None)
