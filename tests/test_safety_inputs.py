"""Arguments that look right but are not: a single key given where a list of keys belongs."""

from __future__ import annotations

import pytest

import nblabel as nbl


def test_autolabel_with_one_key_as_a_string_says_to_pass_a_list(folder, tmp_path, det_checkpoint):
    ds = nbl.Dataset.from_folder(folder(3), db=tmp_path / "l.db", classes=["raccoon"])
    key = ds.keys()[0]
    labeler = nbl.AutoLabeler(ds, nbl.GeneralAI("animal", weights=det_checkpoint))
    try:
        # iterating "raccoon-1" would look up the rows "r", "a", "c" ...
        with pytest.raises(TypeError, match=f"list of row keys, got the string '{key}'"):
            labeler.autolabel(keys=key, progress=False)
        assert ds.df["status"].eq("unlabeled").all()  # nothing was written
        summary = labeler.autolabel(keys=[key], progress=False)
        assert summary["selected"] == 1
    finally:
        labeler.close()
