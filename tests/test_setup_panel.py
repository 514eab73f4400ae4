"""The setup panel without a browser: its form, the count rule, errors, and a real start.

The panel is driven the way a user drives it (set the inputs, press Start) and checked by what
a user relies on: the count input follows the rule, errors are readable text, and a start
really writes predictions into the Dataset and opens the editor.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import nblabel as nbl
from nblabel.loop.counts import check_count
from nblabel.models.custom import CustomAI
from nblabel.models.weights import WeightsUnavailableError
from nblabel.widgets.annotator import Annotator
from nblabel.widgets.setup_panel import FIXED_NOTE, SetupPanel, parse_class_names


def raccoon_images(raccoon_dir: Path) -> list[Path]:
    return sorted(
        (raccoon_dir / "images").glob("*.jpg"),
        key=lambda p: int("".join(filter(str.isdigit, p.stem))),
    )


@pytest.fixture()
def make_ds(raccoon_dir, tmp_path):
    """``make_ds(n, extra=())``: a Dataset over ``n`` symlinked raccoon images (+ ``extra``)."""

    def make(n: int, extra=()):
        folder = tmp_path / f"images{n}"
        folder.mkdir()
        for src in [*raccoon_images(raccoon_dir)[:n], *extra]:
            os.symlink(src, folder / src.name)
        return nbl.Dataset.from_folder(folder, db=tmp_path / f"labels{n}.db")

    return make


def message_outputs(panel: SetupPanel) -> list[dict]:
    return list(panel.message_area.outputs)


# -- the count rule ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "lo", "fixed"),
    [(199, 100, False), (100, 100, False), (99, 99, True), (1, 1, True)],
)
def test_count_input_follows_the_rule(make_ds, n, lo, fixed):
    ds = make_ds(n)
    assert len(ds) == n
    panel = nbl.setup_panel(ds)
    box = panel.count_input
    assert (box.min, box.max, box.value) == (lo, n, n)  # all images by default
    assert box.disabled is fixed
    assert (panel.count_note.value == FIXED_NOTE) is fixed

    # a value outside the rule is refused with the rule's own message, shown in the panel
    bad = lo - 1 if lo > 1 else n + 1
    with pytest.raises(ValueError) as expected:
        check_count(n, bad)
    with pytest.raises(ValueError) as got:
        panel.count = bad
    assert str(got.value) == str(expected.value)
    assert panel.message == str(expected.value)
    assert message_outputs(panel)[0]["name"] == "stderr"
    assert panel.count == n  # unchanged

    if not fixed:
        panel.count = 150 if n == 199 else 100
        assert box.value == (150 if n == 199 else 100)


def test_count_box_hidden_for_custom_ai(make_ds):
    panel = nbl.setup_panel(make_ds(3))
    assert panel.count_box.layout.display != "none"
    assert panel.custom_box.layout.display == "none"
    panel.ai_choice.value = "custom"
    assert panel.count_box.layout.display == "none"  # Custom AI labels all after each retrain
    assert panel.general_box.layout.display == "none"
    assert panel.custom_box.layout.display != "none"


# -- the form ----------------------------------------------------------------------------------
def test_category_change_refreshes_classes(make_ds):
    panel = nbl.setup_panel(make_ds(2))
    cats = nbl.GeneralAI.categories()
    assert list(panel.category_input.options) == list(cats)
    for name in ("animal", "autonomous driving", "face points", "human"):
        panel.category_input.value = name
        assert list(panel.classes_input.options) == cats[name]
        assert list(panel.classes_input.value) == cats[name]  # all selected by default
    panel.category_input.value = "face points"
    assert "face_detection_yunet.onnx" in panel.weights_input.placeholder
    assert "downloads when online" in panel.weights_input.placeholder


def test_custom_class_names_prefilled_from_dataset(raccoon_dir, tmp_path):
    ds = nbl.Dataset.from_voc(
        raccoon_dir / "annotations", images=raccoon_dir / "images", db=tmp_path / "v.db"
    )
    panel = nbl.setup_panel(ds)
    assert panel.class_names_input.value == "raccoon"
    assert parse_class_names(" raccoon, dog,,raccoon ") == ["raccoon", "dog"]


# -- errors ------------------------------------------------------------------------------------
def test_offline_standard_weights_show_a_clear_error(make_ds, monkeypatch, tmp_path):
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.delenv("NBLABEL_WEIGHTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    ds = make_ds(3)
    panel = nbl.setup_panel(ds, weights="yolo11x.pt")  # a standard name, never on this machine
    with pytest.raises(WeightsUnavailableError):
        panel.start(wait=True)
    text = panel.message
    assert "yolo11x.pt" in text and "cannot be downloaded" in text
    assert 'weights="path/to/yolo11x.pt"' in text  # what to do about it
    assert "Traceback" not in text and "File " not in text
    assert [o["output_type"] for o in message_outputs(panel)] == ["stream"]
    assert panel.progress_bar.bar_style == "danger"
    assert not panel.start_button.disabled  # the user can fix the path and try again
    assert panel.annotator is None and panel.result_box.children == ()
    assert set(ds.df["status"]) == {"unlabeled"}


def test_bad_classes_are_refused_with_text(make_ds):
    ds = make_ds(3)
    panel = nbl.setup_panel(ds)
    panel.classes_input.value = ()
    assert panel.start() is None  # refused before any work starts
    assert "no class selected" in panel.message

    panel.ai_choice.value = "custom"
    panel.class_names_input.value = " , ,"
    with pytest.raises(ValueError, match="no class names given"):
        panel.start(wait=True)
    assert "comma-separated" in panel.message

    # text the user typed comes back as a text stream, never as markup
    panel.class_names_input.value = "raccoon"
    panel.base_input.value = "<b>nowhere</b>/base.pt"
    with pytest.raises(FileNotFoundError):
        panel.start(wait=True)
    assert "<b>nowhere</b>/base.pt" in panel.message
    (out,) = message_outputs(panel)
    assert (out["output_type"], out["name"]) == ("stream", "stderr")
    assert set(ds.df["status"]) == {"unlabeled"}


# -- starting ----------------------------------------------------------------------------------
def test_general_ai_start_writes_predictions_and_opens_annotator(make_ds, det_checkpoint):
    ds = make_ds(12)
    writers: list[str] = []
    ds.on_change(lambda key: writers.append(threading.current_thread().name))
    panel = nbl.setup_panel(ds, weights=str(det_checkpoint))
    panel.category_input.value = "animal"
    busy: list[bool] = []
    panel.start_button.observe(lambda c: busy.append(c["new"]), names="disabled")

    thread = panel.start()  # returns at once; the work runs in the background
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert panel.error is None, panel.error_traceback

    df = nbl.Dataset.open(ds.db_path).df  # what reached the journal
    assert set(df["status"]) <= {"review", "auto"}
    assert set(df["source"]) == {panel.model.version}
    assert panel.model.weights_path_ == Path(det_checkpoint).resolve()
    assert panel.model.classes == nbl.GeneralAI.categories()["animal"]
    assert panel.summary["written"] == 12
    # the loop's worker writes, never the kernel's thread
    assert writers and all(w.startswith("nblabel-") for w in writers)
    assert busy == [True, False]  # Start is disabled while running, then offered again
    assert (panel.progress_bar.value, panel.progress_bar.max) == (12, 12)
    assert isinstance(panel.annotator, Annotator)
    (view,) = panel.result_box.children  # the loop's view: status bar, editor, errors
    assert view.annotator is panel.annotator
    assert panel.annotator.key in ds.keys()
    assert panel.message.startswith("Auto-labeled 12 of 12 images with ")


def test_custom_ai_opens_labeler_before_any_prediction(make_ds):
    ds = make_ds(4)
    panel = nbl.setup_panel(ds)
    panel.ai_choice.value = "custom"
    panel.task_input.value = "detect"
    panel.class_names_input.value = "raccoon, dog"
    panel.retrain_input.value = 5
    panel.start(wait=True)
    assert isinstance(panel.model, CustomAI)
    assert panel.model.classes == ["raccoon", "dog"] and panel.model.version is None
    assert panel.labeler.retrain_every == 5 and panel.labeler.model is panel.model
    assert set(ds.df["status"]) == {"unlabeled"}  # nothing predicted before the first fit
    assert ds.classes[:2] == ["raccoon", "dog"]
    assert isinstance(panel.annotator, Annotator)
    assert list(panel.annotator.classes) == ["raccoon", "dog"]
    assert "Label about 5 images" in panel.message


def test_deidentification_runs_before_autolabeling(make_ds, det_checkpoint, yunet_path):
    from ultralytics.utils import ASSETS

    ds = make_ds(2, extra=[Path(ASSETS) / "zidane.jpg"])
    panel = nbl.setup_panel(ds, weights=str(det_checkpoint), face_model=str(yunet_path))
    panel.face_input.value = True
    panel.method_input.value = "mosaic"
    panel.start(wait=True)

    df = nbl.Dataset.open(ds.db_path).df
    deid = Path(ds.db_path).parent / f"{Path(ds.db_path).stem}_deid"
    for key, row in df.iterrows():
        assert Path(row["image"]).parent == deid, key  # rows point at the copies
        assert Path(row["original_image"]).name == Path(key).name + ".jpg"
        assert row["status"] in ("review", "auto")
    faces = df.at["zidane", "deid_regions"]
    assert faces and {r["kind"] for r in faces} == {"face"}
    assert {r["method"] for r in faces} == {"mosaic"}
    assert int(panel.deid_summary["faces"].sum()) == len(faces)

    # every image was de-identified before the first prediction was written
    ev = ds.events()
    updates = ev[(ev["kind"] == "update") & ev["source"].str.contains("image")]
    predicts = ev[ev["kind"] == "predict"]
    assert len(updates) == 3 and len(predicts) == 3
    assert updates["ts"].max() <= predicts["ts"].min()


def test_model_classes_named_as_yours_label_raccoons_as_raccoons(raccoon_dir, tmp_path, shared_dir):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for src in raccoon_images(raccoon_dir)[:6]:
        os.symlink(src, folder / src.name)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "labels.db", classes=["raccoon"])
    panel = nbl.setup_panel(ds, weights=str(shared_dir / "models" / "yolov5n.pt"))
    assert panel.ai_choice.value == "custom"  # no category predicts raccoons by that name
    panel.ai_choice.value = "general"
    panel.category_input.value = "animal"
    assert "raccoon" in panel.classes_note.value
    panel.labels_input.value = "cat=raccoon, dog=raccoon, bear=raccoon"
    assert panel.classes_input.disabled  # the named model classes are what it predicts
    assert panel.classes_note.value == ""  # raccoons are predicted now
    panel.start(wait=True)
    assert panel.error is None, panel.error_traceback
    assert panel.model.labels == {"cat": "raccoon", "dog": "raccoon", "bear": "raccoon"}
    objects = [r for recs in nbl.Dataset.open(ds.db_path).df["annotations"] for r in recs]
    assert objects, "the mapped model found no raccoon in 6 raccoon images"
    assert {r["label"] for r in objects} == {"raccoon"}
    panel.labels_input.value = ""
    assert not panel.classes_input.disabled


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("cat raccoon", "is not model class=your class"),
        ("cta=raccoon", "cat"),  # an unknown model class: the valid ones are listed
        ("cat=raccoon, cat=dog", "named twice"),
    ],
)
def test_a_wrong_class_naming_is_refused_with_text(make_ds, shared_dir, text, says):
    ds = make_ds(3)
    panel = nbl.setup_panel(ds, weights=str(shared_dir / "models" / "yolov5n.pt"))
    panel.ai_choice.value = "general"
    panel.category_input.value = "animal"
    panel.labels_input.value = text
    with pytest.raises(ValueError):
        panel.start(wait=True)
    assert isinstance(panel.error, ValueError)
    assert says in panel.message
    assert set(nbl.Dataset.open(ds.db_path).df["status"]) == {"unlabeled"}  # nothing written
