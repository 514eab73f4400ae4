"""General AI with the real COCO checkpoint: quality on coco128, speed, and effort saved.

In one process, on CPU, with ``GeneralAI(category="all", weights=yolov5n.pt)`` (the official
COCO-trained YOLOv5n in ``$NBLABEL_SHARED/models``) on the 128 images of ``coco128``:

* **quality**: mAP50 and mAP50-95 by pycocotools against coco128's ground truth (predictions
  at conf 0.001 as COCO evaluation is done, next to the published COCO val2017 figures), and
  box precision / recall / F1 at IoU 0.5 at the confidence a user gets by default;
* **speed**: ``GeneralAI.predict`` images/s against the plain loop over the same network
  (ultralytics' predictor called on one path at a time);
* **effort**: the seconds a person spends to finish coco128 starting from the General AI's
  boxes (the simulated annotator of ``benchmarks/loop.py``: box 7 s, correction 3 s, look and
  submit 1 s) against drawing every box, and the F1 of the finished labels; beside it the
  most any display rule could save with this network's boxes (an oracle that shows exactly
  the boxes a person keeps), which bounds what a better threshold can still win;
* seconds until a missing default checkpoint fails offline, and YuNet face points images/s.

Usage: python benchmarks/general_ai.py [--images 128] [--imgsz 640] [--batch 16]
       [--weights PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "tests"))

from support.model_fixtures import yolo_items  # noqa: E402

from nblabel.loop.report import EffortCosts  # noqa: E402
from nblabel.loop.simulate import kept_matches, label_f1, plan_fix  # noqa: E402
from nblabel.models import GeneralAI, WeightsUnavailableError  # noqa: E402

# Published by the checkpoint's authors for YOLOv5n at 640 px on COCO val2017.
PUBLISHED = {"mAP50": 0.457, "mAP50-95": 0.280}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def coco_map(items, preds, names) -> dict[str, float]:
    """pycocotools bbox mAP of ``preds`` against the items' ground truth."""
    import contextlib
    import io

    from PIL import Image
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat = {n: i + 1 for i, n in enumerate(names)}
    images, anns, dets = [], [], []
    for img_id, ((path, truth), recs) in enumerate(zip(items, preds), start=1):
        w, h = Image.open(path).size
        images.append({"id": img_id, "width": w, "height": h, "file_name": path.name})
        for t in truth:
            x1, y1, x2, y2 = t["bbox"]
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": img_id,
                    "category_id": cat[t["label"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
        for r in recs:
            x1, y1, x2, y2 = r["bbox"]
            dets.append(
                {
                    "image_id": img_id,
                    "category_id": cat[r["label"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": r["score"],
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": i, "name": n} for n, i in cat.items()],
        }
        gt.createIndex()
        dt = gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"mAP50-95": float(ev.stats[0]), "mAP50": float(ev.stats[1])}


def quality(items, weights: Path, imgsz: int, batch: int) -> tuple:
    paths = [p for p, _ in items]
    truth = {p.stem: t for p, t in items}
    low = GeneralAI("all", weights=weights, conf=0.001, imgsz=imgsz, batch=batch)
    t, low_preds = _timed(lambda: low.predict(paths))
    m = coco_map(items, low_preds, low.classes)
    print(
        f"quality on coco128 ({len(items)} images, {sum(map(len, truth.values()))} boxes), "
        f"{weights.name} at imgsz {imgsz}:"
    )
    print(f"  mAP50    {m['mAP50']:.3f}   (published on COCO val2017: {PUBLISHED['mAP50']:.3f})")
    print(
        f"  mAP50-95 {m['mAP50-95']:.3f}   (published on COCO val2017: {PUBLISHED['mAP50-95']:.3f})"
    )
    ai = GeneralAI("all", weights=weights, imgsz=imgsz, batch=batch)
    preds = dict(zip(truth, ai.predict(paths)))
    f = label_f1(preds, truth)
    print(
        f"  at the default conf {ai.conf:g}: box precision {f['precision']:.3f}, recall "
        f"{f['recall']:.3f}, F1 {f['f1']:.3f} at IoU 0.5 ({f['n_pred']} predicted)"
    )
    return ai, preds, truth, dict(zip(truth, low_preds))


def throughput(ai: GeneralAI, paths: list[Path]) -> None:
    plain = ai.model_  # the same network, called the plain way: one path at a time
    ai.predict(paths[:2])
    plain.predict(str(paths[0]), imgsz=ai.imgsz, conf=ai.conf, verbose=False)
    t_ai, _ = _timed(lambda: ai.predict(paths))
    t_plain, _ = _timed(
        lambda: [plain.predict(str(p), imgsz=ai.imgsz, conf=ai.conf, verbose=False) for p in paths]
    )
    print(f"speed, {len(paths)} images, imgsz {ai.imgsz}:")
    print(f"  GeneralAI.predict (batch {ai.batch}):       {len(paths) / t_ai:7.2f} images/s")
    print(f"  plain predict(path), one at a time:   {len(paths) / t_plain:7.2f} images/s")
    print(f"  ratio GeneralAI / plain loop:         {t_plain / t_ai:7.2f}x")


def _finish(preds: dict, truth: dict, costs: EffortCosts) -> tuple[float, dict, dict]:
    """Seconds, actions by kind and finished labels of the simulated annotator over coco128."""
    seconds, kinds, final = 0.0, {}, {}
    for key, t in truth.items():
        fix = plan_fix(preds.get(key) or [], t)
        for kind in [*fix.kinds, "submit"]:
            kinds[kind] = kinds.get(kind, 0) + 1
            seconds += costs.seconds(kind)
        final[key] = fix.final
    return seconds, kinds, final


def effort(preds: dict, truth: dict, low: dict, default_conf: float) -> None:
    costs = EffortCosts()
    seconds, kinds, final = _finish(preds, truth, costs)
    n_boxes = sum(map(len, truth.values()))
    by_hand = costs.by_hand(n_boxes, len(truth))
    f = label_f1(final, truth)
    print(f"effort to finish coco128 from the General AI's boxes ({costs.describe()}):")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:10s} {n:5d} x {costs.seconds(kind):g} s = {n * costs.seconds(kind):6.0f} s")
    print(f"  with the General AI: {seconds:6.0f} s")
    print(
        f"  every box by hand:   {by_hand:6.0f} s ({n_boxes} boxes x {costs.box:g} s + "
        f"{len(truth)} submits)"
    )
    print(
        f"  saved:               {by_hand - seconds:6.0f} s ({(by_hand - seconds) / by_hand:+.0%})"
        f", finished labels F1 {f['f1']:.3f}"
    )
    # What no choice of shown boxes can beat with this network: an oracle shows exactly the
    # boxes a person would keep (those the annotator matches to a true box) among all scored
    # at least c, so nothing is deleted and only what the network never found is drawn.
    print("  the best any display rule could save with these boxes (an oracle that shows only")
    print("  the boxes a person keeps, among those scored at least c):")
    for c in (default_conf, 0.1, 0.05, 0.01):
        kept = {}
        for key, t in truth.items():
            p = [r for r in low.get(key) or [] if r["score"] >= c]
            kept[key] = [p[i] for i, _, _ in kept_matches(p, t)]
        s, k, _ = _finish(kept, truth, costs)
        drawn = k.get("added", 0)
        print(
            f"    c = {c:<5g} {(by_hand - s) / by_hand:+.0%}  ({drawn} boxes the network never "
            f"found drawn, {drawn * costs.box / by_hand:.0%} of the by-hand seconds; "
            f"{k.get('moved', 0)} moved)"
        )


def offline_error() -> None:
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        # a user's machine without local checkpoints: no stray yolo11n.pt in the current
        # folder, and no NBLABEL_WEIGHTS_DIR (whose COCO detector GeneralAI would fall back to)
        weights_dir = os.environ.pop("NBLABEL_WEIGHTS_DIR", None)
        os.chdir(tmp)
        try:
            t_ours, err = _timed(lambda: _catch(lambda: GeneralAI("human").load()))
            t_theirs, err2 = _timed(lambda: _catch(lambda: YOLO("yolo11n.pt")))
        finally:
            os.chdir(cwd)
            if weights_dir is not None:
                os.environ["NBLABEL_WEIGHTS_DIR"] = weights_dir
    print("missing yolo11n.pt, no internet:")
    print(f"  nblabel:     {t_ours:6.2f} s  {type(err).__name__}")
    print(f"  ultralytics: {t_theirs:6.2f} s  {type(err2).__name__}")
    if not isinstance(err, WeightsUnavailableError):
        print("  (this machine is online or has the file: the comparison does not apply)")


def _catch(fn):
    try:
        fn()
    except Exception as e:
        return e
    return None


def faces(images: list[Path]) -> None:
    yunet = SHARED / "models" / "face_detection_yunet.onnx"
    if not yunet.is_file():
        print(f"face points: {yunet} not found, skipped")
        return
    ai = GeneralAI("face points", weights=yunet).load()
    ai.predict(images[:1])
    t, out = _timed(lambda: ai.predict(images))
    n = sum(len(r) for r in out)
    print(f"face points (YuNet), {len(images)} photos: {len(images) / t:7.2f} images/s, {n} faces")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--weights", type=Path, default=SHARED / "models" / "yolov5n.pt")
    args = ap.parse_args()

    if not args.weights.is_file():
        sys.exit(f"{args.weights} not found; set NBLABEL_SHARED or pass --weights")
    items = yolo_items(SHARED / "datasets" / "coco128", args.images)
    if not items:
        sys.exit("no coco128 images; set NBLABEL_SHARED")
    ai, preds, truth, low = quality(items, args.weights, args.imgsz, args.batch)
    throughput(ai, [p for p, _ in items])
    effort(preds, truth, low, ai.conf)
    offline_error()
    faces([p for p, _ in items][:32])


if __name__ == "__main__":
    main()
