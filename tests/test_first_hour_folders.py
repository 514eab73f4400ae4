"""The first folder a person passes: a wrong path says where it was looked for, a folder
without images is an error rather than an empty dataset, and images come in the order a file
browser lists them (img2 before img10)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

import nblabel as nbl
from nblabel.images import IMAGE_EXTENSIONS


@pytest.fixture()
def photos(raccoon_dir, tmp_path):
    """``photos(names, where="images")``: links to real raccoon photos under those names."""
    sources = sorted((raccoon_dir / "images").glob("*.jpg"))

    def make(names, where="images"):
        d = tmp_path / where
        for src, name in zip(sources, names):
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src, d / name)
        return d

    return make


def test_a_missing_folder_names_the_absolute_path_and_the_working_directory(
    photos, tmp_path, monkeypatch
):
    photos(["a.jpg"], where="data/images")
    monkeypatch.chdir(tmp_path / "data")
    with pytest.raises(FileNotFoundError) as e:
        nbl.Dataset.from_folder("imges", db=tmp_path / "x.db")
    msg = str(e.value)
    assert f"no such folder: {tmp_path / 'data' / 'imges'}" in msg
    assert f"(working directory: {tmp_path / 'data'})" in msg
    assert f"did you mean '{tmp_path / 'data' / 'images'}'?" in msg
    assert "not a folder of images" not in msg
    assert not (tmp_path / "x.db").exists()  # nothing is written for a wrong path

    with pytest.raises(FileNotFoundError, match="does not exist either"):
        nbl.Dataset.from_folder("../shared/datasets/raccoon/images", db=tmp_path / "x.db")


def test_a_file_is_not_taken_for_a_folder(photos, tmp_path):
    folder = photos(["a.jpg"])
    with pytest.raises(NotADirectoryError, match=r"not a folder: .*a\.jpg is a file"):
        nbl.Dataset.from_folder(folder / "a.jpg", db=tmp_path / "x.db")


def test_a_folder_without_images_is_an_error_naming_it_and_the_extensions(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError) as e:
        nbl.Dataset.from_folder(empty, db=tmp_path / "x.db")
    msg = str(e.value)
    assert f"no images in {empty}" in msg
    assert all(ext in msg for ext in IMAGE_EXTENSIONS)
    assert not (tmp_path / "x.db").exists()

    (empty / "notes.txt").write_text("labels to do")
    (empty / "labels.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match=r"found 2 other file\(s\): labels.csv, notes.txt"):
        nbl.Dataset.from_folder(empty, db=tmp_path / "x.db")


def test_images_only_in_subfolders_say_recursive(photos, tmp_path):
    folder = photos(["day1/a.jpg", "day2/b.jpg"])
    with pytest.raises(ValueError, match=r"2 image\(s\) are in subfolders: pass recursive=True"):
        nbl.Dataset.from_folder(folder, db=tmp_path / "x.db", recursive=False)
    assert len(nbl.Dataset.from_folder(folder, db=tmp_path / "y.db")) == 2


def test_an_empty_dataset_is_still_made_on_purpose(tmp_path):
    ds = nbl.Dataset.from_dataframe(pd.DataFrame({"path": []}), db=tmp_path / "e.db")
    assert len(ds) == 0 and ds.keys() == []


def test_keys_come_in_natural_order_and_the_annotator_follows_it(photos, tmp_path):
    names = ["img10.jpg", "img2.jpg", "img1.jpg", "IMG3.png", "b/img1.jpg", "a10/x.jpg"]
    names += ["a9/x.jpg"]
    folder = photos(names)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "n.db")
    assert ds.keys() == ["a9/x", "a10/x", "b/img1", "img1", "img2", "IMG3", "img10"]
    assert list(ds.df.index) == ds.keys()

    from nblabel.widgets.annotator import Annotator

    w = Annotator(ds, classes=["raccoon"])
    w.next()  # Next goes through the dataset in that order
    assert w.meta["key"] == "a10/x"


def test_the_raccoon_folder_starts_at_its_first_photo(raccoon_dir, tmp_path):
    ds = nbl.Dataset.from_folder(raccoon_dir / "images", db=tmp_path / "r.db")
    assert ds.keys()[:3] == ["raccoon-1", "raccoon-2", "raccoon-3"]
    assert ds.keys()[-1] == "raccoon-200"
