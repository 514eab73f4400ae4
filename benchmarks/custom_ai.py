"""CustomAI: what freezing the backbone buys, and what the wrapper costs.

On 10 verified raccoon images at the defaults (imgsz 320, 10 epochs), on CPU, in one process:

* fit seconds with the backbone frozen (``freeze=10``, the default) against the same fit with
  every layer training (``freeze=0``), both from the same base checkpoint;
* fit seconds of ``CustomAI.fit`` against a plain ``YOLO(base).train(...)`` on the same YOLO
  dataset with the same settings (the wrapper's cost: decoding and shrinking the images,
  writing labels, versioning, reloading the weights);
* predict images/s of ``CustomAI.predict`` against plain ``YOLO.predict`` on the same paths;
* on 50 held-out images, for the base checkpoint alone and after each fit: the share of
  images whose top-scoring box finds a raccoon (IoU >= 0.5) and that box's mean IoU.

The sides run in interleaved rounds after one uncounted warm-up fit, and medians are printed,
because the machine is shared and the first training in a process pays for imports.

No pre-trained COCO weights can be downloaded here, so the base is a YOLO11n trained briefly
from its yaml on 20 other raccoon images (tests/support/model_fixtures.make_checkpoint); read
the quality numbers as "does retraining the head on 10 images help a weak base", not as what a
COCO-pre-trained base reaches. Raccoons fill most of these photos, so a single whole-image box
is printed as the floor any model must beat.

Usage: python benchmarks/custom_ai.py [--epochs 10] [--imgsz 320] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))

import nblabel as nbl  # noqa: E402
from nblabel.records import iou  # noqa: E402


def top_ious(predictions: list[list[dict]], truth: dict) -> list[float]:
    """Per image, the IoU between the top-scoring box and its best true box (0 if none)."""
    out = []
    for i, recs in enumerate(predictions):
        top = max(recs, key=lambda r: r["score"]) if recs else None
        out.append(max(iou(top["bbox"], t["bbox"]) for t in truth[i]) if top else 0.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    import pandas as pd
    from support.model_fixtures import make_checkpoint, voc_items
    from ultralytics import YOLO

    items = voc_items(SHARED / "datasets" / "raccoon", 120)
    train, base_items, held = items[:10], items[20:40], items[70:120]
    tmp = Path(tempfile.mkdtemp(prefix="nblabel-bench-custom-"))
    base = make_checkpoint("detect", tmp / "base.pt", ["raccoon"], base_items, epochs=5)

    paths = [str(p) for p, _ in train]
    frame = pd.DataFrame({"path": paths}, index=[Path(p).stem for p in paths])
    ds = nbl.Dataset.from_dataframe(
        frame, image_col="path", db=tmp / "bench.db", classes=["raccoon"]
    )
    for (_, recs), key in zip(train, ds.keys()):
        ds.annotate(key, recs)
    held_paths = [str(p) for p, _ in held]
    truth = {i: recs for i, (_, recs) in enumerate(held)}

    settings = dict(
        classes=["raccoon"], base=base, epochs=args.epochs, imgsz=args.imgsz,
        workdir=tmp / "work",
    )  # fmt: skip
    nbl.CustomAI(**{**settings, "epochs": 1}).fit(ds)  # warm-up, not counted
    data = tmp / "work" / "detect" / "v1" / "data" / "yolo" / "data.yaml"

    def plain_train():
        t = time.perf_counter()
        model = YOLO(str(base))
        model.train(
            data=str(data), epochs=args.epochs, imgsz=args.imgsz, batch=8, freeze=10,
            workers=0, plots=False, val=False, verbose=False, warmup_epochs=0,
            project=str(tmp / "plain"), name="run", exist_ok=True,
        )  # fmt: skip
        return model, time.perf_counter() - t

    times: dict[str, list[float]] = {"frozen": [], "full": [], "plain": []}
    for _ in range(args.rounds):
        frozen = nbl.CustomAI(freeze=10, **settings).fit(ds)
        times["frozen"].append(frozen.fit_metrics_["seconds"])
        full = nbl.CustomAI(freeze=0, **settings).fit(ds)
        times["full"].append(full.fit_metrics_["seconds"])
        plain, seconds = plain_train()
        times["plain"].append(seconds)
    fit = {k: statistics.median(v) for k, v in times.items()}

    pred: dict[str, list[float]] = {"custom": [], "plain": []}
    for _ in range(args.rounds):
        t = time.perf_counter()
        frozen.predict(held_paths)
        pred["custom"].append(time.perf_counter() - t)
        t = time.perf_counter()
        plain.predict(held_paths, imgsz=args.imgsz, conf=frozen.conf, verbose=False)
        pred["plain"].append(time.perf_counter() - t)
    custom_s, plain_s = (statistics.median(pred[k]) for k in ("custom", "plain"))

    # the weak base scores low, so quality is read from the top box at any score
    base_boxes = [
        [
            {"label": "raccoon", "bbox": b, "score": float(s)}
            for b, s in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist())
        ]
        for r in YOLO(str(base)).predict(held_paths, imgsz=args.imgsz, conf=0.001, verbose=False)
    ]
    frozen.conf = full.conf = 0.001
    from nblabel.images import image_size

    whole = [
        [{"label": "raccoon", "bbox": [0, 0, *image_size(p)], "score": 1.0}] for p in held_paths
    ]
    quality = {
        "one whole-image box": whole,  # what a model that learned nothing can reach
        "base alone": base_boxes,
        "frozen fit": frozen.predict(held_paths),
        "all-layer fit": full.predict(held_paths),
    }

    rows = [
        ("fit seconds, frozen backbone (freeze=10)", fit["frozen"]),
        ("fit seconds, all layers (freeze=0)", fit["full"]),
        ("  ratio all / frozen", fit["full"] / fit["frozen"]),
        ("fit seconds, plain YOLO.train (freeze=10)", fit["plain"]),
        ("  ratio CustomAI.fit / plain", fit["frozen"] / fit["plain"]),
        ("predict images/s, CustomAI.predict", len(held_paths) / custom_s),
        ("predict images/s, plain YOLO.predict", len(held_paths) / plain_s),
        ("  ratio CustomAI / plain time", custom_s / plain_s),
    ]
    for name, preds in quality.items():
        ious = top_ious(preds, truth)
        rows.append(
            (f"top box finds a raccoon, share, {name}", sum(v >= 0.5 for v in ious) / len(ious))
        )
        rows.append((f"top box mean IoU, {name}", statistics.mean(ious)))

    print(
        f"CustomAI on {len(train)} images, imgsz {args.imgsz}, {args.epochs} epochs, "
        f"{os.cpu_count()} CPU cores, median of {args.rounds} interleaved rounds"
    )
    for name, value in rows:
        print(f"{name:48s} {value:8.3f}")


if __name__ == "__main__":
    main()
