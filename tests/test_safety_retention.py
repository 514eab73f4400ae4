"""Retraining does not fill the disk: CustomAI keeps its newest versions and deletes the rest,
never the version it serves nor one the user named as the base."""

from __future__ import annotations

import pytest
import test_safety_retrain as _retrain

import nblabel as nbl

FAST = _retrain.FAST
labelled = _retrain.labelled  # the same three labelled raccoon images, as a fixture


def _versions(root):
    return sorted(p.name for p in root.glob("v*"))


def _size_mb(folder) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def test_old_versions_are_deleted_beyond_keep_versions(labelled, det_checkpoint, tmp_path):
    work = tmp_path / "work"
    model = nbl.CustomAI(base=det_checkpoint, workdir=work, keep_versions=2, conf=0.0, **FAST)
    sizes = []
    for _ in range(3):
        model.fit(labelled)
        sizes.append(_size_mb(work / "detect"))
    assert _versions(work / "detect") == ["v2", "v3"]
    assert model.version.startswith("custom-detect-v3@") and model.weights_.is_file()
    assert sizes[2] < 1.5 * sizes[1], f"disk use kept growing: {sizes} MB"
    assert isinstance(model.predict([labelled.row(labelled.keys()[0])["image"]])[0], list)

    # a version the user names as the base stays, however old it gets
    named = work / "detect" / "v2"
    base = next(named.rglob("best.pt"))
    other = nbl.CustomAI(base=base, workdir=work, keep_versions=1, warm_start=False, **FAST)
    other.fit(labelled)
    assert _versions(work / "detect") == ["v2", "v4"]
    assert base.is_file() and other.weights_.is_file()


def test_keep_versions_none_keeps_everything_and_bad_values_are_refused(
    labelled, det_checkpoint, tmp_path
):
    work = tmp_path / "work"
    model = nbl.CustomAI(base=det_checkpoint, workdir=work, keep_versions=None, **FAST)
    model.fit(labelled).fit(labelled)
    assert _versions(work / "detect") == ["v1", "v2"]
    for bad in (0, -1, 2.5, "3"):
        with pytest.raises(ValueError, match="keep_versions must be an integer >= 1"):
            nbl.CustomAI(keep_versions=bad)
