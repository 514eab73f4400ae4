"""Every YOLO export variant is a dataset ultralytics checks and trains on as it is."""

from __future__ import annotations

import pytest

from nblabel.formats import read_voc, write_yolo


def _rows(raccoon_dir, n=6):
    """Raccoon photos whose objects have two-part outlines, a crowd region and 5 keypoints."""
    _, items = read_voc(raccoon_dir / "annotations", raccoon_dir / "images")
    rows = []
    for it in items[:n]:
        anns = []
        for r in it["annotations"]:
            x1, y1, x2, y2 = r["bbox"]
            mx = (x1 + x2) / 2
            left = [[x1, y1], [mx - 2, y1], [mx - 2, y2], [x1, y2]]
            right = [[mx + 2, y1], [x2, y1], [x2, y2], [mx + 2, y2]]
            kps = [[x1 + (x2 - x1) * f, y1 + (y2 - y1) * f, 2] for f in (0.2, 0.35, 0.5, 0.65, 0.8)]
            anns.append({**r, "points": left, "parts": [left, right], "keypoints": kps})
        anns.append({"label": "raccoon", "bbox": [0, 0, 20, 20], "iscrowd": 1})
        rows.append({**it, "annotations": anns, "status": "verified"})
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_each_variant_passes_check_det_dataset_and_trains_an_epoch(task, raccoon_dir, tmp_path):
    from ultralytics import YOLO
    from ultralytics.data.utils import check_det_dataset

    rows = _rows(raccoon_dir)
    data = write_yolo(rows, ["raccoon"], tmp_path / task, task=task, val_fraction=0.34)
    info = check_det_dataset(str(data), autodownload=False)
    assert info["nc"] == 1 and (task != "pose" or info["kpt_shape"] == [5, 3])

    model = YOLO(
        {"detect": "yolo11n.yaml", "segment": "yolo11n-seg.yaml", "pose": "yolo11n-pose.yaml"}[task]
    )
    model.train(data=str(data), epochs=1, imgsz=64, batch=4, workers=0, plots=False, val=False,
                device="cpu", project=str(tmp_path / "runs"), name="t", amp=False,
                verbose=False)  # fmt: skip
    labels = model.trainer.train_loader.dataset.labels
    train_keys = {p.stem for p in (data.parent / "labels" / "train").glob("*.txt")}
    objects = sum(len(r["annotations"]) - 1 for r in rows if r["key"] in train_keys)
    assert sum(len(lb["cls"]) for lb in labels) == objects  # every object, no crowd region
    if task == "segment":
        for lb in labels:  # each outline runs through both parts: its box is the object's
            for seg, box in zip(lb["segments"], lb["bboxes"]):
                w = seg[:, 0].max() - seg[:, 0].min()
                assert w == pytest.approx(box[2], abs=1e-3)
