"""CustomAI's settings are checked where they are typed (the constructor) and again when a
fit starts, so one changed afterwards fails clearly before any folder or training run."""

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
    assert model.version is None and model.model_ is None
