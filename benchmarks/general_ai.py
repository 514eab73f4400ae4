"""General AI: what batching costs or saves, and how fast the offline error comes.

In one process, on CPU:

* predict images/s of ``GeneralAI.predict`` (decoding with nblabel, batches of one image
  size) against the obvious loop of plain ``YOLO.predict(path)`` one image at a time, on the
  same raccoon photos and the same checkpoint;
* seconds until ``GeneralAI("human").load()`` fails without weights and without internet,
  against ``YOLO("yolo11n.pt")`` failing the same way (ultralytics' own download attempt);
* face points images/s (YuNet) when the model file is in ``$NBLABEL_SHARED/models``.

No pre-trained checkpoint can be downloaded here, so the detector is YOLO11n built from its
yaml (tests/support/model_fixtures.make_checkpoint); speed does not depend on the weights.

Usage: python benchmarks/general_ai.py [--images 48] [--imgsz 320] [--batch 16]
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

from support.model_fixtures import make_checkpoint  # noqa: E402

from nblabel.models import GeneralAI, WeightsUnavailableError  # noqa: E402
from nblabel.models.categories import COCO80  # noqa: E402


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def throughput(images: list[Path], ckpt: Path, imgsz: int, batch: int) -> None:
    from PIL import Image
    from ultralytics import YOLO

    ai = GeneralAI("animal", weights=ckpt, conf=0.25, imgsz=imgsz, batch=batch).load()
    plain = YOLO(str(ckpt))
    # warm both (first call builds the predictor)
    ai.predict(images[:2])
    plain.predict(str(images[0]), imgsz=imgsz, verbose=False)

    t_ai, _ = _timed(lambda: ai.predict(images))
    t_plain, _ = _timed(lambda: [plain.predict(str(p), imgsz=imgsz, verbose=False) for p in images])
    sizes = len({Image.open(p).size for p in images})
    print(f"predict, {len(images)} raccoon photos ({sizes} distinct sizes), imgsz {imgsz}:")
    print(f"  GeneralAI.predict (batch {batch}):   {len(images) / t_ai:7.2f} images/s")
    print(f"  YOLO.predict(path), one at a time: {len(images) / t_plain:7.2f} images/s")
    print(f"  ratio GeneralAI / plain loop:      {t_plain / t_ai:7.2f}x")


def offline_error() -> None:
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # no stray yolo11n.pt in the current folder
        try:
            t_ours, err = _timed(lambda: _catch(lambda: GeneralAI("human").load()))
            t_theirs, err2 = _timed(lambda: _catch(lambda: YOLO("yolo11n.pt")))
        finally:
            os.chdir(cwd)
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
    ap.add_argument("--images", type=int, default=48)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    folder = SHARED / "datasets" / "raccoon" / "images"
    images = sorted(folder.glob("*.jpg"))[: args.images]
    if not images:
        sys.exit(f"no images in {folder}; set NBLABEL_SHARED")
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = make_checkpoint("detect", Path(tmp) / "det.pt", COCO80)
        throughput(images, ckpt, args.imgsz, args.batch)
    offline_error()
    faces(images)


if __name__ == "__main__":
    main()
