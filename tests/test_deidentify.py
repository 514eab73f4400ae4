"""De-identification on real photographs: faces annotated by hand in tests/data/faces.json.

What a user relies on: every face is hidden, hidden well enough that its detail is gone,
nothing else in the picture changes, originals and labels are never touched, and images
that cannot be processed are reported rather than skipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from nblabel.images import load_rgb
from nblabel.models.deidentify import apply_regions, deidentify, deidentify_image
from nblabel.models.faces import FaceDetector, FaceModelError
from nblabel.models.plates import PlateDetector, place_plate, render_plate
from nblabel.records import iou, normalize_record

DATA = Path(__file__).parent / "data"
PHOTOS = ("zidane.jpg", "bus.jpg")


# -- helpers -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def assets() -> Path:
    from ultralytics.utils import ASSETS

    return Path(ASSETS)


@pytest.fixture(scope="module")
def faces_gt() -> dict[str, list[dict]]:
    return json.loads((DATA / "faces.json").read_text())["images"]


@pytest.fixture(scope="module")
def face_detector(yunet_path) -> FaceDetector:
    return FaceDetector(yunet_path)


def lap_var(rgb: np.ndarray, box) -> float:
    """Variance of the Laplacian (high-frequency detail) inside ``box``."""
    import cv2

    x1, y1, x2, y2 = (int(v) for v in box)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def region_mask(shape, regions) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for r in regions:
        x1, y1, x2, y2 = (int(v) for v in r["bbox"])
        mask[y1:y2, x1:x2] = True
    return mask


def coverage(box, mask) -> float:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    return float(mask[y1:y2, x1:x2].mean())


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_folder(tmp_path: Path, assets: Path, raccoon_dir: Path) -> Path:
    """Two photos with faces, one without, a grayscale copy and two unreadable files."""
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(assets / name, folder / name)
    shutil.copy(raccoon_dir / "images" / "raccoon-1.jpg", folder / "raccoon.jpg")
    Image.open(assets / "bus.jpg").convert("L").save(folder / "bus_gray.png")
    (folder / "notes.jpg").write_text("this is not a picture")
    data = (assets / "zidane.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 3])  # header fine, pixels missing
    return folder


# -- faces on real photographs -----------------------------------------------------------------
@pytest.mark.parametrize("name", PHOTOS)
def test_every_annotated_face_is_covered(name, assets, faces_gt, face_detector):
    rgb = load_rgb(assets / name)
    _, regions = deidentify_image(rgb, "face", face_model=face_detector)
    mask = region_mask(rgb.shape, regions)
    for face in faces_gt[name]:
        if face.get("difficult"):
            continue
        # the margin reaches past hairline and chin; 95% allows for a shouted-open jaw
        assert coverage(face["bbox"], mask) >= 0.95, (name, face)
    assert all(r["kind"] == "face" and r["label"] == "face" for r in regions)
    assert all(0.0 < r["score"] <= 1.0 for r in regions)
    # regions are valid annotation records, so the Annotator can draw them as a layer
    h, w = rgb.shape[:2]
    assert [normalize_record(r, width=w, height=h) for r in regions] == regions


def test_face_detector_predictor_protocol(assets, face_detector, faces_gt):
    records = face_detector.predict([assets / "bus.jpg"])[0]
    assert len(records) == 2
    for rec in records:
        assert rec["label"] == "face" and rec["source"].startswith("yunet@")
        assert len(rec["keypoints"]) == 5
        x1, y1, x2, y2 = rec["bbox"]
        # eyes, nose and mouth corners lie inside the face box
        assert all(x1 <= x <= x2 and y1 <= y <= y2 and v == 2 for x, y, v in rec["keypoints"])
    boxes = [f["bbox"] for f in faces_gt["bus.jpg"]]
    assert all(max(iou(r["bbox"], b) for r in records) >= 0.5 for b in boxes)


@pytest.mark.parametrize("method", ["blur", "mosaic"])
@pytest.mark.parametrize("name", PHOTOS)
def test_detail_inside_faces_drops(name, method, assets, faces_gt, face_detector):
    rgb = load_rgb(assets / name)
    out, regions = deidentify_image(rgb, "face", method, face_model=face_detector)
    assert all(r["method"] == method for r in regions)
    for face in faces_gt[name]:
        if face.get("difficult"):
            continue
        before, after = lap_var(rgb, face["bbox"]), lap_var(out, face["bbox"])
        assert after <= 0.3 * before, (name, face["bbox"], before, after)


@pytest.mark.parametrize("method", ["blur", "mosaic"])
def test_pixels_outside_regions_are_unchanged(method, assets, face_detector):
    rgb = load_rgb(assets / "zidane.jpg")
    before = rgb.copy()
    out, regions = deidentify_image(rgb, "face", method, face_model=face_detector)
    mask = region_mask(rgb.shape, regions)
    assert regions and mask.any()
    assert np.array_equal(out[~mask], rgb[~mask])
    assert not np.array_equal(out[mask], rgb[mask])
    assert np.array_equal(rgb, before)  # the caller's array is not modified


def test_mosaic_cells_are_at_least_an_eighth_of_the_face():
    # a horizontal ramp turns into a staircase: one step per mosaic cell
    ramp = np.tile(np.linspace(0, 255, 200).astype(np.uint8)[None, :, None], (200, 1, 3))
    region = {"bbox": [20, 20, 180, 180], "detected_bbox": [40, 40, 160, 160]}  # face 120 px
    out = apply_regions(ramp, [region], "mosaic")
    rising = np.diff(out[100, 20:180, 0].astype(float)) > 1.0
    starts = np.flatnonzero(rising[1:] & ~rising[:-1])  # where each step begins
    assert len(starts) >= 5
    assert np.diff(starts).min() >= 120 / 8 - 1  # cells >= 15 px for a 120 px face
    assert np.array_equal(out[:20], ramp[:20]) and np.array_equal(out[:, :20], ramp[:, :20])


def test_grayscale_photo(assets, faces_gt, face_detector):
    from PIL import Image

    gray = np.asarray(Image.open(assets / "bus.jpg").convert("L"))
    out, regions = deidentify_image(gray, "face", "blur", face_model=face_detector)
    assert out.shape == (*gray.shape, 3)
    mask = region_mask(out.shape, regions)
    for face in faces_gt["bus.jpg"]:
        assert coverage(face["bbox"], mask) >= 0.95
        assert lap_var(out, face["bbox"]) <= 0.3 * lap_var(np.dstack([gray] * 3), face["bbox"])


def test_tiny_and_empty_images(face_detector):
    assert face_detector.detect(np.zeros((1, 1, 3), np.uint8)) == []
    out, regions = deidentify_image(
        np.full((7, 5), 200, np.uint8), "face", face_model=face_detector
    )
    assert regions == [] and out.shape == (7, 5, 3)


def test_tiny_faces_are_found_and_hidden(assets, face_detector):
    import cv2

    # the bus photo at half size: faces about 22 px wide
    rgb = load_rgb(assets / "bus.jpg")
    small = cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    out, regions = deidentify_image(small, "face", "mosaic", face_model=face_detector)
    assert len(regions) >= 2
    for box in ([52, 208, 79, 236], [132, 211, 155, 237]):
        assert coverage(box, region_mask(small.shape, regions)) >= 0.9


def test_huge_image_bounded_memory(assets, yunet_path):
    """12000x9000: big faces found on a shrunk copy, small ones in tiles, and memory stays
    about one copy of the image (the output) above the input."""
    import cv2

    photo = load_rgb(assets / "zidane.jpg")  # 1280x720
    gt = [[900, 115, 1058, 278], [540, 262, 664, 450]]
    big = np.full((9000, 12000, 3), 128, np.uint8)
    # faces 50-60 px wide: only 9 px on the 2048-px overview, so they need the tiles
    big[100:388, 200:712] = cv2.resize(photo, (512, 288), interpolation=cv2.INTER_AREA)
    big[5000:8600, 5000:11400] = cv2.resize(photo, (6400, 3600))  # faces ~700 px
    want = [[200 + 0.4 * v if i % 2 == 0 else 100 + 0.4 * v for i, v in enumerate(b)] for b in gt]
    want += [[5000 + 5 * v for v in b] for b in gt]
    # min_face=40 keeps the test quick on a shared machine (tiles at 0.3x, not full size)
    detector = FaceDetector(yunet_path, min_face=40)
    tracemalloc.start()
    try:
        out, regions = deidentify_image(big, "face", "blur", face_model=detector)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * big.nbytes, (
        f"peak {peak / 1e6:.0f} MB for a {big.nbytes / 1e6:.0f} MB image"
    )
    found = [r["detected_bbox"] for r in regions]
    for box in want:
        assert max(iou(box, f) for f in found) >= 0.4, box
    changed = (out != big).any(axis=2)  # no fancy indexing: it would copy 324 MB twice
    changed[region_mask(big.shape, regions)] = False
    assert not changed.any()
    for box in want[:2]:  # the upscaled faces have no fine detail to lose
        assert lap_var(out, box) <= 0.3 * lap_var(big, box)
    # the tiles are what finds the small faces: the overview alone misses them
    overview_only = FaceDetector(yunet_path, min_face=10_000).detect(big)
    assert all(max((iou(b, f["bbox"]) for f in overview_only), default=0) < 0.4 for b in want[:2])


# -- whole datasets ----------------------------------------------------------------------------
def test_dataset_copies_originals_untouched(tmp_path, assets, raccoon_dir, yunet_path, faces_gt):
    import nblabel as nbl

    folder = make_folder(tmp_path, assets, raccoon_dir)
    hashes = {p.name: sha(p) for p in folder.iterdir()}
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "labels.db", classes=["person"])
    labels = [{"label": "person", "bbox": [50, 400, 250, 900]}]
    ds.annotate("bus", labels)
    before = {k: ds.row(k)["annotations"] for k in ds.keys()}

    summary = deidentify(ds, targets="face", face_model=yunet_path, progress=False)

    # originals byte for byte, labels and review state unchanged
    assert {p.name: sha(p) for p in folder.iterdir()} == hashes
    assert {k: ds.row(k)["annotations"] for k in ds.keys()} == before
    assert ds.row("bus")["status"] == "verified"

    s = summary.set_index("key")
    assert list(summary.columns) == ["key", "faces", "plates", "output", "issue"]
    assert s.loc["zidane", "faces"] >= 2 and s.loc["bus", "faces"] >= 2
    assert s.loc["bus_gray", "faces"] >= 2
    out_dir = tmp_path / "labels_deid"  # next to the database
    files = {"zidane": "zidane.jpg", "bus": "bus.jpg", "bus_gray": "bus_gray.png"}
    for key, name in {**files, "raccoon": "raccoon.jpg"}.items():
        row = ds.row(key)
        assert Path(row["image"]).parent == out_dir and Path(row["image"]).is_file()
        assert row["image"] == s.loc[key, "output"]
        assert Path(row["original_image"]).resolve() == (folder / name).resolve()
        assert len(row["deid_regions"]) == s.loc[key, "faces"]
        assert not row["issues"]
    # the copy hides the faces the dataset now points at
    copy = load_rgb(ds.row("bus")["image"])
    orig = load_rgb(folder / "bus.jpg")
    for face in faces_gt["bus.jpg"]:
        assert lap_var(copy, face["bbox"]) <= 0.3 * lap_var(orig, face["bbox"])
    # no faces: an identical copy and zero regions
    assert s.loc["raccoon", "faces"] == 0 and ds.row("raccoon")["deid_regions"] == []
    assert sha(ds.row("raccoon")["image"]) == hashes["raccoon.jpg"]

    # unreadable files are flagged in the row and counted, not skipped silently
    for key in ("notes", "cut"):
        assert s.loc[key, "issue"] and "deidentify" in s.loc[key, "issue"]
        assert "deidentify" in ds.row(key)["issues"]
        assert Path(ds.row(key)["image"]).parent == folder  # still the original
    assert summary.attrs["failed"] == 2 == int(summary["issue"].notna().sum())

    # everything is journaled: a reopened dataset sees the copies and regions
    again = nbl.Dataset.open(tmp_path / "labels.db")
    assert again.row("zidane")["image"] == ds.row("zidane")["image"]
    assert again.row("zidane")["deid_regions"] == ds.row("zidane")["deid_regions"]
    assert again.row("bus")["annotations"] == before["bus"]


def test_png_copies_are_exact_outside_regions(tmp_path, assets, raccoon_dir, yunet_path):
    import nblabel as nbl

    folder = make_folder(tmp_path, assets, raccoon_dir)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db")
    deidentify(
        ds,
        "face",
        "mosaic",
        face_model=yunet_path,
        out_dir=tmp_path / "out",
        out_format="png",
        keys=["zidane"],
        progress=False,
    )
    row = ds.row("zidane")
    assert row["image"].endswith(".png")
    copy, orig = load_rgb(row["image"]), load_rgb(row["original_image"])
    mask = region_mask(orig.shape, row["deid_regions"])
    assert np.array_equal(copy[~mask], orig[~mask])
    assert not np.array_equal(copy[mask], orig[mask])
    assert ds.row("bus")["image"] == str(folder / "bus.jpg")  # keys= limits the run


def test_rerun_starts_from_the_original(tmp_path, assets, raccoon_dir, face_detector):
    import nblabel as nbl

    folder = make_folder(tmp_path, assets, raccoon_dir)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db")
    kw = dict(
        targets="face", face_model=face_detector, keys=["bus"], out_format="png", progress=False
    )
    deidentify(ds, method="blur", **kw)
    deidentify(ds, method="mosaic", **kw)
    row = ds.row("bus")
    assert Path(row["original_image"]) == folder / "bus.jpg"
    assert {r["method"] for r in row["deid_regions"]} == {"mosaic"}
    expected, _ = deidentify_image(folder / "bus.jpg", "face", "mosaic", face_model=face_detector)
    assert np.array_equal(load_rgb(row["image"]), expected)  # not a mosaic of the blur


def test_inplace_overwrites_only_when_asked(tmp_path, assets, raccoon_dir, yunet_path):
    import nblabel as nbl

    folder = make_folder(tmp_path, assets, raccoon_dir)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db")
    h_bus, h_racc = sha(folder / "bus.jpg"), sha(folder / "raccoon.jpg")
    with pytest.raises(ValueError, match="not both"):
        deidentify(ds, "face", face_model=yunet_path, out_dir=tmp_path / "x", inplace=True)
    with pytest.raises(ValueError, match="overwrite the original"):
        deidentify(ds, "face", face_model=yunet_path, out_dir=folder, keys=["bus"], progress=False)
    assert sha(folder / "bus.jpg") == h_bus
    deidentify(
        ds, "face", face_model=yunet_path, inplace=True, keys=["bus", "raccoon"], progress=False
    )
    assert sha(folder / "bus.jpg") != h_bus
    assert sha(folder / "raccoon.jpg") == h_racc  # nothing found: file left alone
    assert (
        ds.row("bus")["image"] == str(folder / "bus.jpg")
        and ds.row("bus")["original_image"] is None
    )
    assert len(ds.row("bus")["deid_regions"]) >= 2


def test_missing_face_model_fails_before_any_work(tmp_path, monkeypatch, assets, raccoon_dir):
    import nblabel as nbl

    for var in ("NBLABEL_YUNET", "NBLABEL_WEIGHTS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NBLABEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NBLABEL_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    folder = make_folder(tmp_path, assets, raccoon_dir)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db")
    with pytest.raises(FaceModelError, match="face_model="):
        deidentify(ds, progress=False)
    with pytest.raises(FaceModelError, match="nowhere.onnx"):
        deidentify(ds, face_model=tmp_path / "nowhere.onnx", progress=False)
    with pytest.raises(FaceModelError, match="could not be loaded as a YuNet model"):
        FaceDetector(DATA / "faces.json").detect(np.zeros((32, 32, 3), np.uint8))
    assert not (tmp_path / "l_deid").exists()
    assert all(Path(ds.row(k)["image"]).parent == folder for k in ds.keys())


def test_bad_arguments_name_the_value(assets, face_detector):
    img = load_rgb(assets / "bus.jpg")
    with pytest.raises(ValueError, match="pixelate"):
        deidentify_image(img, "face", "pixelate", face_model=face_detector)
    with pytest.raises(ValueError, match="faces"):
        deidentify_image(img, ("faces",), face_model=face_detector)
    with pytest.raises(ValueError, match="margin"):
        deidentify_image(img, "face", margin=-1, face_model=face_detector)
    with pytest.raises(TypeError, match="deidentify_image"):
        deidentify(img)


# -- licence plates ----------------------------------------------------------------------------
def test_classical_plate_detector_on_photos(raccoon_dir):
    """Clear synthetic plates pasted into real photos are found; plain photos stay clean."""
    rng = np.random.default_rng(1)
    det = PlateDetector()
    found = 0
    photos = sorted((raccoon_dir / "images").glob("raccoon-1*.jpg"))[:9]
    for i, (photo, style) in enumerate(zip(photos, ["eu", "yellow", "dark"] * 3)):
        rgb = load_rgb(photo)
        plate = render_plate(
            f"K{i}A {rng.integers(100, 999)} Z", height=int(rng.integers(34, 50)), style=style
        )
        h, w = rgb.shape[:2]
        x, y = int(rng.integers(0, w - plate.shape[1])), int(rng.integers(0, h - plate.shape[0]))
        img, box = place_plate(rgb, plate, x, y, angle=float(rng.uniform(-5, 5)))
        dets = det.detect(img)
        found += any(iou(d["bbox"], box) >= 0.5 for d in dets)
    assert found >= 7, f"found {found} of 9 clear plates"
    false = sum(len(det.detect(p)) for p in photos)
    assert false <= 1, f"{false} plates reported on photos without plates"


def test_plates_are_hidden(raccoon_dir):
    rgb = load_rgb(raccoon_dir / "images" / "raccoon-1.jpg")
    img, box = place_plate(rgb, render_plate("AB 123 CD", height=44), 60, 80)
    for method in ("blur", "mosaic"):
        with pytest.warns(UserWarning, match="plate_model="):  # the fallback says it is one
            out, regions = deidentify_image(img, "plate", method)
        assert [r["kind"] for r in regions] == ["plate"]
        assert coverage(box, region_mask(img.shape, regions)) >= 0.95
        x1, y1, x2, y2 = box  # the characters: inside the plate's border
        dx, dy = 0.1 * (x2 - x1), 0.15 * (y2 - y1)
        text = [x1 + dx, y1 + dy, x2 - dx, y2 - dy]
        assert lap_var(out, text) <= 0.3 * lap_var(img, text)


def test_plate_model_from_a_yolo_checkpoint(tmp_path, assets):
    from support.model_fixtures import make_checkpoint
    from ultralytics import YOLO

    ckpt = make_checkpoint("detect", tmp_path / "plates.pt", ["plate", "car"])
    rgb = load_rgb(assets / "bus.jpg")
    # an untrained head scores ~1e-4: a tiny threshold makes it return boxes to compare
    det = PlateDetector(ckpt, score_threshold=1e-5, classes=["plate"])
    got = det.detect(rgb)
    res = YOLO(str(ckpt)).predict(rgb[:, :, ::-1].copy(), conf=1e-5, verbose=False)[0]
    want = sorted(
        (round(c, 6), [round(v, 2) for v in b])
        for b, c, k in zip(res.boxes.xyxy.tolist(), res.boxes.conf.tolist(), res.boxes.cls.tolist())
        if int(k) == 0
    )
    assert want, "the untrained model returned no plate boxes to compare"
    assert sorted((round(d["score"], 6), [round(v, 2) for v in d["bbox"]]) for d in got) == want
    with pytest.raises(FileNotFoundError, match="plate_model="):
        PlateDetector(tmp_path / "missing.pt").load()


def test_plate_model_any_predictor(assets):
    class Fixed:
        """A predictor with the nblabel protocol: one list of records per image."""

        def predict(self, images):
            return [
                [
                    {"label": "plate", "bbox": [100, 100, 180, 130], "score": 0.9},
                    {"label": "car", "bbox": [0, 0, 400, 300], "score": 0.9},
                    {"label": "plate", "bbox": [300, 300, 360, 320], "score": 0.1},
                ]
                for _ in images
            ]

    rgb = load_rgb(assets / "bus.jpg")
    det = PlateDetector(Fixed(), classes=["plate"])
    _, regions = deidentify_image(rgb, "plate", plate_model=det, margin=0.25)
    assert [r["detected_bbox"] for r in regions] == [[100.0, 100.0, 180.0, 130.0]]
    assert regions[0]["bbox"] == [80.0, 92.0, 200.0, 138.0]  # grown by a quarter each side
