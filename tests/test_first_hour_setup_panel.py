"""The setup panel as a newcomer meets it: it starts from the dataset's own classes, an error
goes away once the setting it was about is changed, and its hints can be read whole."""

from __future__ import annotations

import os

import pytest

import nblabel as nbl
from nblabel.models.categories import CATEGORIES
from nblabel.models.weights import WeightsUnavailableError

# Characters a 520 px input (120 px of it the description) shows whole in JupyterLab's font;
# the browser test measures the real widths.
PLACEHOLDER_CHARS = 60


@pytest.fixture()
def make_ds(raccoon_dir, tmp_path):
    """``make_ds(n, classes)``: a Dataset of ``n`` linked raccoon photos with those classes."""

    def make(n, classes=()):
        folder = tmp_path / f"images{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for src in sorted((raccoon_dir / "images").glob("*.jpg"))[:n]:
            os.symlink(src, folder / src.name)
        return nbl.Dataset.from_folder(folder, db=folder.with_suffix(".db"), classes=classes)

    return make


def test_a_raccoon_dataset_starts_on_custom_ai_and_says_why(make_ds):
    panel = nbl.setup_panel(make_ds(3, ["raccoon"]))
    assert panel.ai_choice.value == "custom"
    assert panel.class_names_input.value == "raccoon"
    panel.ai_choice.value = "general"  # the person looks anyway
    assert panel.category_input.value == "human"
    assert panel.classes_note.value.startswith("not predicted by human: raccoon")
    assert panel.classes_note.layout.display != "none"


def test_the_category_and_classes_come_from_the_dataset(make_ds):
    # the quickstart's dataset: raccoons and people
    panel = nbl.setup_panel(make_ds(3, ["raccoon", "person"]))
    assert panel.ai_choice.value == "general"
    assert panel.category_input.value == "human"
    assert panel.classes_input.value == ("person",)
    assert "not predicted by human: raccoon" in panel.classes_note.value

    panel = nbl.setup_panel(make_ds(3, ["Dog", "cat", "car"]))
    assert (panel.category_input.value, panel.classes_input.value) == ("animal", ("cat", "dog"))
    assert "car" in panel.classes_note.value
    panel.category_input.value = "vehicle"  # a category picked by hand offers all its classes
    assert panel.classes_input.value == tuple(CATEGORIES["vehicle"].classes)
    assert "Dog" in panel.classes_note.value and "car" not in panel.classes_note.value

    # a dataset without classes yet: the first category, nothing to say
    panel = nbl.setup_panel(make_ds(3))
    assert (panel.ai_choice.value, panel.category_input.value) == ("general", "human")
    assert panel.classes_note.value == "" and panel.classes_note.layout.display == "none"


def test_an_error_goes_away_when_the_setting_it_was_about_changes(make_ds, monkeypatch, tmp_path):
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.delenv("NBLABEL_WEIGHTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    panel = nbl.setup_panel(make_ds(3), weights="yolo11x.pt")
    with pytest.raises(WeightsUnavailableError):
        panel.start(wait=True)
    assert "yolo11x.pt" in panel.message and panel.message_area.outputs
    assert panel.progress_bar.bar_style == "danger"

    panel.ai_choice.value = "custom"
    assert panel.message == "" and panel.message_area.outputs == ()
    assert panel.progress_bar.bar_style == "" and panel.stage_label.value == ""
    assert isinstance(panel.error, WeightsUnavailableError)  # still there for a bug report
    panel.ai_choice.value = "general"
    assert panel.message_area.outputs == ()  # and it does not come back

    # a refused count, then another category: the refusal is not left on screen
    with pytest.raises(ValueError):
        panel.count = 0
    assert panel.message_area.outputs[0]["name"] == "stderr"
    panel.category_input.value = "animal"
    assert panel.message_area.outputs == ()


def test_a_message_that_is_not_an_error_stays(make_ds):
    panel = nbl.setup_panel(make_ds(3, ["raccoon"]))
    panel._say("Label about 10 images in the editor below")
    panel.ai_choice.value = "general"
    assert panel.message == "Label about 10 images in the editor below"


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_the_weights_hint_is_short_enough_to_read_whole(make_ds, category):
    panel = nbl.setup_panel(make_ds(1))
    panel.category_input.value = category
    hint = panel.weights_input.placeholder
    assert CATEGORIES[category].weights in hint and "downloads when online" in hint
    assert len(hint) <= PLACEHOLDER_CHARS
    assert len(panel.base_input.placeholder) <= PLACEHOLDER_CHARS


def test_custom_ai_says_in_the_panel_when_it_must_train_from_scratch(
    make_ds, monkeypatch, tmp_path, shared_dir
):
    from nblabel.models import weights as weights_mod

    # no yolo11n.pt anywhere nblabel looks, and no network
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.delenv("NBLABEL_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(weights_mod, "_ultralytics_weights_dir", lambda: tmp_path)
    panel = nbl.setup_panel(make_ds(3, ["raccoon"]))
    assert panel.ai_choice.value == "custom"
    with pytest.warns(UserWarning, match="from scratch"):
        panel.start(wait=True)
    assert "trains yolo11n.yaml from scratch" in panel.message
    assert "base checkpoint" in panel.message

    # a COCO detector in the weights folder is the start instead, and the panel names it
    monkeypatch.setenv("NBLABEL_WEIGHTS_DIR", str(shared_dir / "models"))
    panel.start(wait=True)
    assert "from scratch" not in panel.message
    assert "It fine-tunes yolov5n" in panel.message
