"""Tiny YOLO checkpoints built from model yaml files, cached per test session.

No pre-trained weights can be downloaded here, so tests exercise the real loading code with
checkpoints made on the spot: ``make_checkpoint`` builds a YOLO11n model from ultralytics'
yaml, names its classes and (given training images) trains it briefly. Benchmarks import
``make_checkpoint`` and ``voc_items`` directly.
"""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest

from nblabel.models.categories import COCO80

MODEL_YAML = {"detect": "yolo11n.yaml", "segment": "yolo11n-seg.yaml", "pose": "yolo11n-pose.yaml"}


def voc_items(folder: str | os.PathLike, n: int | None = None) -> list[tuple[Path, list[dict]]]:
    """``(image path, records)`` pairs from a Pascal VOC folder (``images/`` + ``annotations/``).

    Files are taken in name order so every session trains on the same images.
    """
    folder = Path(folder)
    items = []
    for xml in sorted(
        (folder / "annotations").glob("*.xml"),
        key=lambda p: int("".join(filter(str.isdigit, p.stem)) or 0),
    ):
        root = ET.parse(xml).getroot()
        image = folder / "images" / root.findtext("filename")
        recs = []
        for obj in root.iter("object"):
            bb = obj.find("bndbox")
            box = [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
            recs.append({"label": obj.findtext("name"), "bbox": box})
        if image.is_file() and recs:
            items.append((image, recs))
        if n is not None and len(items) >= n:
            break
    return items


def yolo_items(folder: str | os.PathLike, n: int | None = None) -> list[tuple[Path, list[dict]]]:
    """``(image path, records)`` pairs from a YOLO detection folder (``images/``, ``labels/``,
    ``data.yaml`` with ``names``), in pixel coordinates; images without a label file or with
    an empty one are included with no records (COCO's negatives).

    Parsed here independently of nblabel's own YOLO reader, so tests can check it.
    """
    import yaml
    from PIL import Image

    folder = Path(folder)
    names = yaml.safe_load((folder / "data.yaml").read_text())["names"]
    if isinstance(names, list):
        names = dict(enumerate(names))
    items = []
    for image in sorted((folder / "images").glob("*.jpg")):
        w, h = Image.open(image).size
        label = folder / "labels" / f"{image.stem}.txt"
        recs = []
        for line in label.read_text().splitlines() if label.is_file() else []:
            if not line.strip():
                continue
            c, cx, cy, bw, bh = line.split()[:5]
            cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            box = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]
            recs.append({"label": names[int(c)], "bbox": box})
        items.append((image, recs))
        if n is not None and len(items) >= n:
            break
    return items


def _label_line(rec: dict, cls: int, task: str, w: int, h: int) -> str:
    x1, y1, x2, y2 = rec["bbox"]
    if task == "segment":
        # a polygon when the record has one, else the box outline
        pts = rec.get("points") or [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        return " ".join([str(cls), *(f"{x / w:.6f} {y / h:.6f}" for x, y in pts)])
    line = f"{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
    if task == "pose":
        kps = rec.get("keypoints") or [[0, 0, 0]] * 17
        line += "".join(f" {x / w:.6f} {y / h:.6f} {int(v)}" for x, y, v in kps)
    return line


def _write_yolo_dataset(root: Path, task: str, names: Sequence[str], items) -> Path:
    from nblabel.images import image_size

    img_dir, lbl_dir = root / "images" / "train", root / "labels" / "train"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    index = {n: i for i, n in enumerate(names)}
    for k, (image, recs) in enumerate(items):
        image = Path(image)
        dst = img_dir / f"{k:04d}{image.suffix.lower()}"
        if not dst.exists():
            os.symlink(image.resolve(), dst)
        w, h = image_size(image)
        lines = [_label_line(r, index[r["label"]], task, w, h) for r in recs]
        (lbl_dir / f"{k:04d}.txt").write_text("\n".join(lines) + "\n")
    data = root / "data.yaml"
    extra = "kpt_shape: [17, 3]\n" if task == "pose" else ""
    names_yaml = "".join(f"  {i}: {n!r}\n" for i, n in enumerate(names))
    data.write_text(
        f"path: {root}\ntrain: images/train\nval: images/train\n{extra}names:\n{names_yaml}"
    )
    return data


def _calibrate_batchnorm(model, images, imgsz: int) -> None:
    """Set BatchNorm statistics from real images, without training.

    Freshly initialised BatchNorm layers assume zero-mean, unit-variance inputs, which they
    are far from, so an untrained YOLO gives nearly the same output for every picture. With
    measured statistics its (random) features respond to the image: scores differ between
    images, classes and colour channels, which tests of the surrounding code need.
    """
    import numpy as np
    import torch

    from nblabel.images import load_rgb

    def square(p):
        from PIL import Image

        return np.asarray(Image.fromarray(load_rgb(p)).resize((imgsz, imgsz)))

    x = torch.from_numpy(np.stack([square(p) for p in images])).permute(0, 3, 1, 2)
    x = x.float().div(255)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # plain average over the calibration batch
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()


def make_checkpoint(
    task: str,
    path: str | os.PathLike,
    names: Sequence[str],
    train_images: Sequence[tuple[str | os.PathLike, list[dict]]] | None = None,
    *,
    calibrate_images: Sequence[str | os.PathLike] | None = None,
    epochs: int = 3,
    imgsz: int = 160,
    batch: int = 8,
    seed: int = 0,
) -> Path:
    """Save a YOLO11n checkpoint for ``task`` with class ``names`` that ``YOLO(path)`` loads.

    Args:
        task: ``"detect"``, ``"segment"`` or ``"pose"``.
        path: Output ``.pt`` file.
        names: Class names, in id order.
        train_images: ``(image path, records)`` pairs to train on briefly; without them the
            weights are the random initialisation (fine for testing plumbing: the model
            still outputs low-confidence boxes).
        calibrate_images: Image paths to measure BatchNorm statistics on when not training,
            so the untrained model's output depends on the picture (see
            ``_calibrate_batchnorm``).
        epochs, imgsz, batch, seed: Training settings (CPU, no augmentation-heavy extras).

    Returns:
        ``path``.
    """
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel, PoseModel, SegmentationModel

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)  # the same random weights every session: tests stay reproducible
    yolo = YOLO(MODEL_YAML[task])
    if not train_images:
        cls = {"detect": DetectionModel, "segment": SegmentationModel, "pose": PoseModel}[task]
        if len(names) != yolo.model.yaml.get("nc"):
            yolo.model = cls(yolo.model.yaml, nc=len(names), verbose=False)
            yolo.model.task = task
        yolo.model.names = dict(enumerate(names))
        if calibrate_images:
            _calibrate_batchnorm(yolo.model, calibrate_images, imgsz)
        yolo.save(path)
        return path

    from ultralytics.utils.torch_utils import strip_optimizer

    work = path.parent / f"{path.stem}_train"
    data = _write_yolo_dataset(work / "data", task, names, train_images)
    yolo.train(
        data=str(data),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        workers=0,
        device="cpu",
        seed=seed,
        deterministic=True,
        amp=False,
        plots=False,
        val=False,
        project=str(work),
        name="run",
        exist_ok=True,
        verbose=False,
        mosaic=0.0,  # 4-image mosaics of 20 pictures at 160 px teach little in 3 epochs
        warmup_epochs=0,
        nbs=batch,  # step the optimizer every batch: a few dozen images make few batches
    )
    last = work / "run" / "weights" / "last.pt"
    strip_optimizer(last, s=str(path))
    shutil.rmtree(work, ignore_errors=True)
    return path


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def calibration_images(raccoon_dir) -> list[Path]:
    return [p for p, _ in voc_items(raccoon_dir, 8)]


@pytest.fixture(scope="session")
def det_checkpoint(checkpoint_dir, calibration_images) -> Path:
    """Untrained YOLO11n detector with the 80 COCO class names (BatchNorm calibrated)."""
    return make_checkpoint(
        "detect", checkpoint_dir / "det-coco.pt", COCO80, calibrate_images=calibration_images
    )


@pytest.fixture(scope="session")
def seg_checkpoint(checkpoint_dir, calibration_images) -> Path:
    """Untrained YOLO11n-seg with the 80 COCO class names (BatchNorm calibrated)."""
    return make_checkpoint(
        "segment", checkpoint_dir / "seg-coco.pt", COCO80, calibrate_images=calibration_images
    )


@pytest.fixture(scope="session")
def pose_checkpoint(checkpoint_dir, calibration_images) -> Path:
    """Untrained YOLO11n-pose (one class, ``person``, 17 keypoints; BatchNorm calibrated)."""
    return make_checkpoint(
        "pose", checkpoint_dir / "pose-person.pt", ["person"], calibrate_images=calibration_images
    )


@pytest.fixture(scope="session")
def raccoon_checkpoint(checkpoint_dir, raccoon_dir) -> Path:
    """One-class ``raccoon`` detector trained briefly on 20 raccoon images (real boxes)."""
    return make_checkpoint(
        "detect", checkpoint_dir / "raccoon.pt", ["raccoon"], voc_items(raccoon_dir, 20), epochs=5
    )
