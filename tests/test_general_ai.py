"""General AI: categories, class filtering, input kinds, polygons, keypoints and face points.

The YOLO checkpoints are built from ultralytics' yaml files with random weights (BatchNorm
calibrated on real photos so the output depends on the picture). They produce objects of
many classes at low confidence, enough to test everything around the network, so ``conf``
is tiny.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from PIL import Image
from support.model_fixtures import make_checkpoint

from nblabel.images import load_rgb
from nblabel.models.categories import ANIMALS, COCO80, ROAD
from nblabel.models.general import GeneralAI
from nblabel.records import iou

LOW = 1e-5  # random-weight models score everything around 1e-4
SMALL = 160  # inference size: fast on CPU, still exercises the rescale to original pixels


@pytest.fixture(scope="module")
def assets():
    from ultralytics.utils import ASSETS

    return ASSETS


@pytest.fixture(scope="module")
def raccoon_image(raccoon_dir):
    return raccoon_dir / "images" / "raccoon-1.jpg"


def _key(rec):
    return rec["label"], tuple(round(v, 2) for v in rec["bbox"])


def _same(a, b):
    """Same objects up to float noise (batch size changes how convolutions are summed)."""
    return len(a) == len(b) and all(
        x["label"] == y["label"]
        and np.allclose(x["bbox"], y["bbox"], atol=0.05)
        and np.isclose(x["score"], y["score"], rtol=1e-3)
        for x, y in zip(a, b)
    )


def _boxes(recs):
    # exact values: the same pixels through the same network give bit-identical output
    return [(r["label"], r["bbox"], r["score"]) for r in recs]


# --- categories and classes (no model needed) ---


def test_categories_map_to_their_classes():
    cats = GeneralAI.categories()
    assert set(cats) == {
        "human",
        "animal",
        "autonomous driving",
        "human keypoints",
        "semantic segmentation",
        "face points",
        # COCO's super-categories and every class of the checkpoint
        "vehicle",
        "outdoor",
        "accessory",
        "sports",
        "kitchen",
        "food",
        "furniture",
        "electronic",
        "appliance",
        "indoor",
        "all",
    }
    assert cats["human"] == ["person"]
    assert cats["animal"] == [
        "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
    ]  # fmt: skip
    assert cats["autonomous driving"] == list(ROAD) and "stop sign" in ROAD and "dog" not in ROAD
    assert cats["semantic segmentation"] == list(COCO80)
    assert cats["face points"] == ["face"]
    cats["human"].append("cat")  # callers get copies
    assert GeneralAI.categories()["human"] == ["person"]


@pytest.mark.parametrize(
    ("alias", "canonical", "task"),
    [
        ("autonomous_driving", "autonomous driving", "detect"),
        ("Autonomous Driving", "autonomous driving", "detect"),
        ("HUMAN_KEYPOINTS", "human keypoints", "pose"),
        ("semantic-segmentation", "semantic segmentation", "segment"),
        ("face points", "face points", "pose"),
    ],
)
def test_category_aliases(alias, canonical, task):
    ai = GeneralAI(alias)
    assert (ai.category, ai.task) == (canonical, task)


def test_unknown_category_lists_the_valid_ones():
    with pytest.raises(ValueError) as e:
        GeneralAI("plants")
    assert "'plants'" in str(e.value) and "autonomous driving" in str(e.value)


def test_unknown_class_lists_the_valid_ones():
    with pytest.raises(ValueError) as e:
        GeneralAI("animal", classes=["bird", "raccoon"])
    msg = str(e.value)
    assert "'raccoon'" in msg and "giraffe" in msg and "'bird'" not in msg.split("valid")[0]


def test_classes_are_canonicalised_in_category_order():
    ai = GeneralAI("autonomous driving", classes=["Stop_Sign", "car", "car"])
    assert ai.classes == ["car", "stop sign"]
    assert GeneralAI("animal", classes="dog").classes == ["dog"]
    assert GeneralAI("animal").classes == list(ANIMALS)
    with pytest.raises(ValueError, match="empty"):
        GeneralAI("animal", classes=[])


def test_bad_settings_are_rejected_with_the_value():
    with pytest.raises(ValueError, match="conf"):
        GeneralAI("human", conf=1.5)
    with pytest.raises(ValueError, match="imgsz"):
        GeneralAI("human", imgsz=0)
    with pytest.raises(ValueError, match="batch"):
        GeneralAI("human", batch=0)


def test_model_loads_lazily_and_a_missing_path_is_named(tmp_path, raccoon_image):
    ai = GeneralAI("human", weights=tmp_path / "models" / "best.pt")  # nothing checked yet
    assert getattr(ai, "model_", None) is None
    with pytest.raises(FileNotFoundError, match="models/best.pt"):
        ai.predict([raccoon_image])


# --- detection through a real checkpoint ---


def test_class_filtering_predicts_only_selected_classes(det_checkpoint, assets):
    def predict(category, classes=None):
        ai = GeneralAI(category, classes, weights=det_checkpoint, conf=LOW, imgsz=SMALL)
        return ai.predict(assets / "zidane.jpg")[0]

    road = predict("autonomous driving")
    counts = Counter(r["label"] for r in road)
    assert set(counts) <= set(ROAD) and len(counts) >= 2
    rare = min(counts, key=lambda c: (counts[c], c))
    only = predict("autonomous driving", [rare])
    assert only and {r["label"] for r in only} == {rare}
    # every object of that class found among all classes is still found on its own
    assert {_key(r) for r in road if r["label"] == rare} <= {_key(r) for r in only}

    assert {r["label"] for r in predict("animal")} <= set(ANIMALS)
    people = predict("human")
    assert people and {r["label"] for r in people} == {"person"}


def test_class_filter_runs_inside_the_model_so_no_slots_are_wasted(det_checkpoint, assets):
    from ultralytics import YOLO

    # conf=0 lets every candidate through: the model's 300 output slots fill up
    raw = YOLO(str(det_checkpoint)).predict(
        str(assets / "zidane.jpg"), conf=0.0, imgsz=320, verbose=False
    )[0]
    assert len(raw.boxes) == 300
    raw_animals = sum(raw.names[int(c)] in ANIMALS for c in raw.boxes.cls.tolist())
    ai = GeneralAI("animal", weights=det_checkpoint, conf=0.0, imgsz=320)
    ours = ai.predict(assets / "zidane.jpg")[0]
    # filtering after the fact could only keep the animals among those 300
    assert len(ours) > raw_animals
    assert {r["label"] for r in ours} <= set(ANIMALS)


def test_records_carry_score_and_model_version(det_checkpoint, raccoon_image):
    ai = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL)
    (recs,) = ai.predict([raccoon_image])
    digest = hashlib.sha256(det_checkpoint.read_bytes()).hexdigest()[:8]
    assert ai.version == f"det-coco@{digest}"
    w, h = Image.open(raccoon_image).size
    assert recs
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True) and all(LOW <= s <= 1 for s in scores)
    for r in recs:
        assert r["source"] == ai.version
        x1, y1, x2, y2 = r["bbox"]
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert r["points"] is None and r["keypoints"] is None


def test_arrays_and_paths_give_the_same_boxes(det_checkpoint, raccoon_image):
    ai = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL)
    rgb = load_rgb(raccoon_image)
    by_path, by_array, by_bgr = ai.predict([raccoon_image, rgb, rgb[:, :, ::-1].copy()])
    assert by_path and _boxes(by_path) == _boxes(by_array)
    # the comparison is sensitive enough to catch an RGB/BGR mix-up
    assert _boxes(by_path) != _boxes(by_bgr)


def test_batching_does_not_change_results(det_checkpoint, raccoon_dir):
    images = sorted((raccoon_dir / "images").glob("raccoon-1*.jpg"))[:6]
    assert len({Image.open(p).size for p in images}) > 1  # mixed sizes in one batch
    batched = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL, batch=16)
    in_twos = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL, batch=2)
    a, b = batched.predict(images), in_twos.predict(images)
    alone = [batched.predict(p)[0] for p in images]
    assert len(a) == len(b) == len(alone) == 6
    assert all(ra and _same(ra, rb) and _same(ra, rc) for ra, rb, rc in zip(a, b, alone))


def test_grayscale_rgba_and_16bit_inputs(det_checkpoint, raccoon_image, tmp_path):
    rgb = load_rgb(raccoon_image)
    h, w = rgb.shape[:2]
    gray = rgb.mean(axis=2).astype(np.uint8)
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])
    wide = rgb.astype(np.uint16) * 257  # 16-bit, full range
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    ai = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL)
    out = ai.predict([gray, rgba, wide, tmp_path / "gray16.png", tmp_path / "rgba.png"])
    assert len(out) == 5 and all(out)
    for recs in out:
        for r in recs:
            assert 0 <= r["bbox"][0] < r["bbox"][2] <= w and 0 <= r["bbox"][1] < r["bbox"][3] <= h
    # opaque RGBA and 16-bit data carry the same picture as the 8-bit RGB original
    assert _same(out[1], ai.predict(rgb)[0]) and _same(out[1], out[2])
    assert _same(out[0], out[3])


def test_exif_rotated_photo_is_labelled_as_displayed(det_checkpoint, raccoon_image, tmp_path):
    rgb = load_rgb(raccoon_image)
    h, w = rgb.shape[:2]
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    rotated = tmp_path / "rotated.jpg"
    Image.fromarray(rgb).save(rotated, exif=exif, quality=95)
    ai = GeneralAI("animal", weights=det_checkpoint, conf=LOW, imgsz=SMALL)
    (recs,) = ai.predict([rotated])
    assert recs
    for r in recs:  # displayed size is h x w (portrait), not the stored w x h
        assert r["bbox"][2] <= h and r["bbox"][3] <= w
    assert _boxes(recs) == _boxes(ai.predict(load_rgb(rotated))[0])


def test_checkpoint_of_the_wrong_kind_is_explained(det_checkpoint, pose_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="'pose' model"):
        GeneralAI("human keypoints", weights=det_checkpoint).load()
    with pytest.raises(ValueError, match="'detect' model"):
        GeneralAI("human", weights=pose_checkpoint).load()
    raccoons = make_checkpoint("detect", tmp_path / "raccoons.pt", ["raccoon"])
    with pytest.raises(ValueError, match=r"does not predict \['bird'\].*\['raccoon'\]"):
        GeneralAI("animal", classes=["bird"], weights=raccoons).load()


# --- segmentation and keypoints ---


def test_segmentation_gives_polygons_in_original_pixels(seg_checkpoint, assets):
    ai = GeneralAI("semantic segmentation", weights=seg_checkpoint, conf=LOW, imgsz=SMALL)
    (recs,) = ai.predict([assets / "bus.jpg"])
    w, h = Image.open(assets / "bus.jpg").size
    polys = [r for r in recs if r["points"]]
    assert polys, "the seg model produced no outlines"
    for r in polys:
        pts = np.asarray(r["points"])
        assert pts.shape[0] >= 3 and pts.shape[1] == 2
        assert (pts[:, 0] >= 0).all() and (pts[:, 0] <= w).all()
        assert (pts[:, 1] >= 0).all() and (pts[:, 1] <= h).all()
        x1, y1, x2, y2 = r["bbox"]  # the mask is cropped to its box
        assert (pts[:, 0] >= x1 - 2).all() and (pts[:, 0] <= x2 + 2).all()
        assert (pts[:, 1] >= y1 - 2).all() and (pts[:, 1] <= y2 + 2).all()
    # scaled back from the 160 px network input to the 810x1080 photo
    assert max(np.asarray(r["points"]).max() for r in polys) > SMALL * 1.5


def test_segmentation_respects_class_selection(seg_checkpoint, assets):
    def predict(classes=None):
        ai = GeneralAI(
            "semantic segmentation", classes, weights=seg_checkpoint, conf=LOW, imgsz=SMALL
        )
        return ai.predict(assets / "bus.jpg")[0]

    counts = Counter(r["label"] for r in predict())
    assert len(counts) >= 2
    picked = sorted(counts, key=lambda c: (counts[c], c))[:2]
    recs = predict(picked)
    assert {r["label"] for r in recs} == set(picked)
    assert all(r["points"] for r in recs)


def test_pose_gives_17_keypoints_per_person(pose_checkpoint, assets):
    ai = GeneralAI("human keypoints", weights=pose_checkpoint, conf=LOW, imgsz=SMALL)
    (recs,) = ai.predict([assets / "zidane.jpg"])
    w, h = Image.open(assets / "zidane.jpg").size
    assert recs
    for r in recs[:20]:
        assert r["label"] == "person"
        assert len(r["keypoints"]) == 17 and len(r["keypoint_scores"]) == 17
        for (x, y, v), s in zip(r["keypoints"], r["keypoint_scores"]):
            assert v in (0, 1, 2)
            if v:  # visible or hidden points lie on the image
                assert 0 <= x <= w and 0 <= y <= h
            if v == 2:
                assert s >= 0.5


# --- face points (YuNet) ---


def test_face_points_find_faces_with_five_landmarks(yunet_path, assets):
    ai = GeneralAI("face points", weights=yunet_path)
    zidane, bus = ai.predict([assets / "zidane.jpg", assets / "bus.jpg"])
    assert ai.conf == 0.6 and ai.task == "pose"
    # the two front-facing faces in zidane.jpg (Zidane and Ancelotti)
    for face in ([917, 99, 1053, 273], [555, 261, 656, 422]):
        assert max(iou(face, r["bbox"]) for r in zidane) > 0.5
    assert len(bus) >= 2  # the two passengers in front of the bus
    digest = hashlib.sha256(yunet_path.read_bytes()).hexdigest()[:8]
    for r in zidane + bus:
        assert r["label"] == "face" and r["score"] >= 0.6
        assert r["source"] == f"face_detection_yunet@{digest}"
        assert len(r["keypoints"]) == 5
        x1, y1, x2, y2 = r["bbox"]
        for x, y, v in r["keypoints"]:  # eyes, nose and mouth lie inside the face box
            assert v == 2 and x1 <= x <= x2 and y1 <= y <= y2


def test_face_points_threshold_is_adjustable(yunet_path, assets):
    strict = GeneralAI("face points", weights=yunet_path, conf=0.9).predict(assets / "zidane.jpg")
    loose = GeneralAI("face points", weights=yunet_path, conf=0.3).predict(assets / "zidane.jpg")
    assert 1 <= len(strict[0]) < len(loose[0])
    assert all(r["score"] >= 0.9 for r in strict[0])


def test_face_points_default_model_follows_nblabel_yunet(yunet_path, assets, monkeypatch):
    monkeypatch.setenv("NBLABEL_YUNET", str(yunet_path))
    ai = GeneralAI("face points")
    assert ai.weights_path_ == yunet_path.resolve()
    assert len(ai.predict(assets / "bus.jpg")[0]) >= 2


# --- the trained fixture other tests build on ---


@pytest.mark.slow
def test_raccoon_checkpoint_predicts_raccoons(raccoon_checkpoint, raccoon_dir):
    from ultralytics import YOLO

    model = YOLO(str(raccoon_checkpoint))
    assert model.task == "detect" and model.names == {0: "raccoon"}
    held_out = [raccoon_dir / "images" / f"raccoon-{i}.jpg" for i in (150, 160, 170)]
    results = model.predict([str(p) for p in held_out], conf=0.001, imgsz=160, verbose=False)
    assert all(len(r.boxes) > 0 for r in results)
