"""Tiny hostile files cannot exhaust the machine: every reader checks sizes before it allocates.

Each case runs the reader in a fresh process and measures its peak memory and time, since a
reader that allocates what a file asks for would take gigabytes and minutes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from nblabel.formats import FormatError, limits, read_coco, read_labelme, read_yolo
from nblabel.formats._masks import encode_counts

MAX_MB = 200
MAX_S = 5.0


def _image(path: Path, size=(60, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)
    return path


def _measured(call: str) -> dict:
    """Run ``call`` (an expression giving ``(classes, items)``) in a new process."""
    code = textwrap.dedent(
        f"""
        import json, resource, time
        import numpy, cv2  # loaded before the baseline: their size is not the file's doing
        from nblabel.formats import *
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        classes, items = {call}
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"seconds": seconds, "mb": (peak - base) / 1024,
                           "items": items, "classes": classes}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def _bounded(result: dict) -> None:
    assert result["seconds"] < MAX_S, result["seconds"]
    assert result["mb"] < MAX_MB, result["mb"]


def test_label_studio_keypoint_kp30000000_costs_nothing(tmp_path):
    _image(tmp_path / "a.png")
    task = [{"data": {"image": "a.png"}, "annotations": [{"result": [
        {"id": "b", "type": "rectanglelabels", "original_width": 60, "original_height": 40,
         "value": {"x": 10, "y": 10, "width": 50, "height": 50, "rectanglelabels": ["cat"]}},
        {"id": "k", "type": "keypointlabels", "parentID": "b",
         "value": {"x": 20, "y": 20, "keypointlabels": ["kp30000000"]}},
    ]}]}]  # fmt: skip
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task, separators=(",", ":")))
    assert path.stat().st_size < 400
    got = _measured(f"read_labelstudio({str(path)!r})")
    _bounded(got)
    (item,) = got["items"]
    (rec,) = item["annotations"]  # the box stays, the impossible keypoint does not
    assert rec["label"] == "cat" and rec["keypoints"] is None
    assert any("kp30000000" in s and "MAX_KEYPOINTS" in s for s in item["issues"])


@pytest.mark.parametrize("with_image", [True, False], ids=["image", "no-image"])
def test_coco_rle_of_200000_squared_costs_nothing(tmp_path, with_image):
    if with_image:
        _image(tmp_path / "a.png")
    counts = encode_counts([200000 * 200000 - 5, 5])
    entry = {"id": 1, "file_name": "a.png"}
    if with_image:
        entry.update(width=60, height=40)  # without it the size is unknown: only the limit
    data = {
        "images": [entry],
        "categories": [{"id": 1, "name": "blob"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
                         "iscrowd": 1,
                         "segmentation": {"size": [200000, 200000], "counts": counts}}],
    }  # fmt: skip
    path = tmp_path / "rle.json"
    path.write_text(json.dumps(data, separators=(",", ":")))
    assert path.stat().st_size <= 256
    got = _measured(f"read_coco({str(path)!r})")
    _bounded(got)
    (item,) = got["items"]
    (rec,) = item["annotations"]  # the box is kept, the mask is not decoded
    assert rec["bbox"] == [1.0, 1.0, 6.0, 6.0] and "mask" not in rec
    expected = "not the image's 60x40" if with_image else "MAX_MASK_PIXELS"
    assert any(expected in s and "mask ignored" in s for s in item["issues"]), item["issues"]


def test_label_lengths_are_bounded(tmp_path):
    _image(tmp_path / "a.png")
    long = "x" * (limits.MAX_LABEL_CHARS + 1)
    coco = {"images": [{"id": 1, "file_name": "a.png"}], "annotations": [],
            "categories": [{"id": 1, "name": long}]}  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(coco))
    with pytest.raises(FormatError, match="category id 1: category name of 257 characters"):
        read_coco(tmp_path / "c.json")

    shapes = [{"label": long, "points": [[1, 1], [9, 9]], "shape_type": "rectangle"},
              {"label": "ok", "points": [[1, 1], [9, 9]], "shape_type": "rectangle"}]  # fmt: skip
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.png"}))
    _image(tmp_path / "lm" / "a.png")
    _, (item,) = read_labelme(tmp_path / "lm")
    assert [r["label"] for r in item["annotations"]] == ["ok"]
    assert any("257 characters" in s and "left out" in s for s in item["issues"])


def test_keypoint_counts_are_bounded(tmp_path):
    root = tmp_path / "pose"
    _image(root / "images" / "a.png")
    (root / "data.yaml").write_text(
        "train: images\nval: images\nnames: [p]\nkpt_shape: [30000000, 3]\n"
    )
    with pytest.raises(FormatError, match="kpt_shape: 30000000 keypoints is above"):
        read_yolo(root)

    lm = tmp_path / "lm"
    _image(lm / "a.png")
    shapes = [{"label": "p", "points": [[1, 1], [9, 9]], "shape_type": "rectangle",
               "group_id": 1, "kp_count": 30000000},
              {"label": "p", "points": [[2, 2]], "shape_type": "point", "group_id": 1,
               "kp_index": 29999999}]  # fmt: skip
    (lm / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.png"}))
    got = _measured(f"read_labelme({str(lm)!r})")
    _bounded(got)
    (item,) = got["items"]
    assert any("30000000 keypoints is above" in s for s in item["issues"])


def test_files_above_the_size_limit_are_refused_with_the_setting_to_change(tmp_path, monkeypatch):
    _image(tmp_path / "a.png")
    data = {"images": [{"id": 1, "file_name": "a.png"}], "annotations": [],
            "categories": [{"id": 1, "name": "a"}]}  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(data) + " " * 2000)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    with pytest.raises(FormatError, match="raise nblabel.formats.limits.MAX_FILE_BYTES"):
        read_coco(tmp_path / "c.json")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1 << 30)
    assert len(read_coco(tmp_path / "c.json")[1]) == 1

    # a per-image label file: an issue on its row, the rest of the dataset is read
    root = tmp_path / "y"
    _image(root / "images" / "a.png")
    _image(root / "images" / "b.png")
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n" * 100)
    (root / "labels" / "b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: images\nval: images\nnames: [a]\n")
    monkeypatch.setattr(limits, "MAX_ITEM_FILE_BYTES", 1000)
    _, items = read_yolo(root)
    by_key = {it["key"]: it for it in items}
    assert by_key["a"]["annotations"] == [] and "MAX_ITEM_FILE_BYTES" in by_key["a"]["issues"][0]
    assert len(by_key["b"]["annotations"]) == 1


def test_a_yaml_alias_bomb_in_names_is_refused(tmp_path):
    root = tmp_path / "y"
    _image(root / "images" / "a.png")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]\n"
    bomb += "train: images\nval: images\nnames: [*i]\n"
    (root / "data.yaml").write_text(bomb)
    with pytest.raises(FormatError, match="names must be class names"):
        read_yolo(root)


def test_the_largest_mask_allowed_costs_under_the_bounds_too(tmp_path):
    # 8000 x 8000 = 64 Mpx, at the limit: decoded once, traced for display at a coarser step
    h = w = 8000
    counts = encode_counts([1000, h * w // 2, h * w - 1000 - h * w // 2])
    data = {
        "images": [{"id": 1, "file_name": "gone.png", "width": w, "height": h}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                         "segmentation": {"size": [h, w], "counts": counts}}],
    }  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data))
    assert path.stat().st_size < 300
    got = _measured(f"read_coco({str(path)!r})")
    _bounded(got)
    (rec,) = got["items"][0]["annotations"]
    assert rec["bbox"] == [0.0, 0.0, 4001.0, 8000.0]  # from the runs, exactly
    assert rec["mask"]["counts"] == counts


def test_a_label_studio_brush_of_64_mpx_costs_under_the_bounds(tmp_path):
    # a brush filling an 8000 x 8000 image: Label Studio's RLE of 256 M values in runs of 65536
    h = w = 8000
    bits = format(h * w * 4, "032b") + format(7, "05b") + format(15, "04b") * 4
    runs, rest = divmod(h * w * 4, 1 << 16)
    bits += ("1" + "00" + format((1 << 16) - 1, "016b") + format(255, "08b")) * runs
    if rest:
        bits += "1" + "00" + format(rest - 1, "016b") + format(255, "08b")
    bits += "0" * (-len(bits) % 8)
    rle = [int(bits[k : k + 8], 2) for k in range(0, len(bits), 8)]
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    brush = {"id": "b", "type": "brushlabels", "original_width": w, "original_height": h,
             "value": {"format": "rle", "rle": rle, "brushlabels": ["sky"]}}  # fmt: skip
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps([{"data": {"image": "gone.png"}, "annotations": [{"result": [brush]}]}])
    )
    got = _measured(f"read_labelstudio({str(path)!r})")
    _bounded(got)
    (rec,) = got["items"][0]["annotations"]
    assert rec["bbox"] == [0.0, 0.0, 8000.0, 8000.0] and rec["mask"]["size"] == [h, w]
