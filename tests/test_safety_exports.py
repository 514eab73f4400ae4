"""One unreadable image does not block an export: its row is left out with a message naming
it, and every other row is written."""

from __future__ import annotations

import json
import shutil

import pytest

import nblabel as nbl


@pytest.fixture()
def with_broken(raccoon_dir, tmp_path):
    """Three raccoon photos and a file named like an image that is not one."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in sorted((raccoon_dir / "images").glob("*.jpg"))[:3]:
        shutil.copy(p, folder)
    (folder / "broken.jpg").write_bytes(b"this is not a JPEG")
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db", classes=["raccoon"])
    assert ds.row("broken")["issues"]
    return ds


def test_an_unreadable_image_is_left_out_of_the_label_studio_export_by_name(with_broken, tmp_path):
    ds = with_broken
    good = [k for k in ds.keys() if k != "broken"]
    ds.annotate(good[0], [{"label": "raccoon", "bbox": [10, 20, 200, 220]}])
    out = tmp_path / "tasks.json"
    with pytest.warns(UserWarning, match=r"left out 1 row.*'broken'.*broken\.jpg.*issues"):
        ds.to_labelstudio(out)
    tasks = json.loads(out.read_text())
    assert sorted(t["data"]["nblabel_key"] for t in tasks) == sorted(good)
    back = nbl.Dataset.from_labelstudio(out, db=tmp_path / "back.db", classes=["raccoon"])
    assert back.row(good[0])["annotations"][0]["bbox"] == pytest.approx([10, 20, 200, 220])
    assert back.row(good[0])["status"] == "verified"
