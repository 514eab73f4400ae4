"""A domain checkpoint for the loop benchmark: YOLO11n trained from scratch on raccoon images.

No pre-trained weights can be downloaded on this machine, so ``benchmarks/loop.py
--pretrain-on N`` uses this module to make the closest stand-in it can: a detector trained
from the model yaml on N raccoon images with their Pascal VOC boxes, images the loop then
never labels. It knows raccoons already, so it is an upper-end proxy for a good general
checkpoint on a class it was trained on, not a measurement of the COCO-trained yolo11n.pt;
and trained on 100 images only it stays a weak detector (box F1 about 0.45 at imgsz 160).

Run alone it trains, prints its training time and its box F1 at IoU 0.5 on the other
images, and keeps the weights:

    python benchmarks/pretrain.py [--pretrain-on 100] [--epochs 150] [--imgsz 256]
        [--out raccoon-pretrained.pt]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))


def write_small_yolo(items, classes: list[str], out: Path, imgsz: int) -> Path:
    """Write ``(image, records)`` pairs as a YOLO dataset of copies shrunk to ``imgsz``.

    Shrunk copies because some raccoon photos are 2000 px wide and decoding them every epoch
    would cost more than the training step on two CPU cores. Labels are normalised by the
    original size, so they stay valid for the smaller copy.
    """
    from PIL import Image

    from nblabel.formats.yolo import write_yolo
    from nblabel.images import fit_long_side, load_rgb

    small = out / "small"
    small.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, recs in items:
        rgb = load_rgb(path)
        h, w = rgb.shape[:2]
        tw, th, _ = fit_long_side(w, h, imgsz)
        dst = small / f"{Path(path).stem}.jpg"
        Image.fromarray(rgb).resize((tw, th), Image.BILINEAR).save(dst, quality=95)
        rows.append(
            {
                "key": Path(path).stem,
                "image": str(dst),
                "width": w,
                "height": h,
                "status": "verified",
                "annotations": [{**r, "source": "human"} for r in recs],
            }
        )
    return Path(write_yolo(rows, classes, out / "yolo", task="detect", val_fraction=0.0))


def pretrain(
    items,
    out: str | os.PathLike,
    *,
    epochs: int = 150,
    imgsz: int = 256,
    batch: int = 8,
    seed: int = 0,
) -> tuple[Path, float]:
    """Train YOLO11n from its yaml on ``items``; return the weights path and the seconds.

    Plain ultralytics training with its defaults for a fresh network (learning-rate warm-up,
    mosaic until the last 10 epochs); validation is left to :func:`box_f1`, which scores the
    model on images it never saw.

    Example:
        >>> weights, seconds = pretrain(voc_items(raccoon)[100:], "raccoon.pt")  # doctest: +SKIP
    """
    import logging

    import torch
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    classes = sorted({r["label"] for _, recs in items for r in recs})
    out = Path(out)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_small_yolo(items, classes, Path(tmp) / "data", imgsz)
        model = YOLO("yolo11n.yaml", task="detect")
        threads = os.cpu_count() or 2

        def keep_threads(_trainer) -> None:
            # ultralytics' device selection resets torch's thread count
            torch.set_num_threads(threads)

        for event in ("on_pretrain_routine_start", "on_train_start", "on_train_epoch_start"):
            model.add_callback(event, keep_threads)
        level = LOGGER.level
        LOGGER.setLevel(logging.WARNING)  # one line per epoch x 150 would bury the numbers
        try:
            model.train(
                data=str(data),
                epochs=epochs,
                imgsz=imgsz,
                batch=batch,
                seed=seed,
                workers=0,
                cache="ram",
                val=False,
                plots=False,
                project=str(Path(tmp) / "runs"),
                name="pretrain",
                exist_ok=True,
                verbose=False,
            )
        finally:
            LOGGER.setLevel(level)
        trainer = model.trainer
        weights = Path(trainer.last if Path(trainer.last).is_file() else trainer.best)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, out)
    return out, time.perf_counter() - t0


def box_f1(weights, items, imgsz: int, conf: float = 0.25) -> dict[str, float]:
    """Object precision, recall and F1 at IoU 0.5 of ``weights`` on ``items``.

    ``conf`` is CustomAI's default, so this is what a person would be shown.
    """
    from ultralytics import YOLO

    from nblabel.loop.simulate import label_f1

    model = YOLO(str(weights), task="detect")
    names = model.names
    found, truth = {}, {}
    for path, recs in items:
        res = model.predict(str(path), imgsz=imgsz, conf=conf, verbose=False)[0]
        boxes = res.boxes
        found[path] = [
            {"label": names[int(c)], "bbox": b}
            for b, c in zip(boxes.xyxy.tolist(), boxes.cls.tolist())
        ]
        truth[path] = recs
    return label_f1(found, truth)


def main() -> None:
    from support.model_fixtures import voc_items

    ap = argparse.ArgumentParser()
    ap.add_argument("--pretrain-on", type=int, default=100, help="last N images train it")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--out", default="raccoon-pretrained.pt")
    args = ap.parse_args()

    items = voc_items(SHARED / "datasets" / "raccoon", args.images)
    if not 0 < args.pretrain_on < len(items):
        raise SystemExit(f"--pretrain-on must be between 1 and {len(items) - 1}")
    train, rest = items[-args.pretrain_on :], items[: -args.pretrain_on]
    weights, seconds = pretrain(train, args.out, epochs=args.epochs, imgsz=args.imgsz)
    print(
        f"pretrained on {len(train)} images, {args.epochs} epochs at {args.imgsz}: {seconds:.0f} s"
    )
    for size in sorted({args.imgsz, 160}):
        f = box_f1(weights, rest, size)
        print(
            f"box F1 at IoU 0.5 on the other {len(rest)} images (imgsz {size}): {f['f1']:.3f} "
            f"(precision {f['precision']:.3f}, recall {f['recall']:.3f})"
        )
    print(f"weights: {weights}")


if __name__ == "__main__":
    main()
