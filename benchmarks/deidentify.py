"""De-identification: speed on 1080p photos, face recall/precision, plate fallback quality.

Prints:
- images/s of ``deidentify_image`` (faces, blur and mosaic) on 1080p frames made from real
  photos, against the obvious baseline in the same process: ``cv2.FaceDetectorYN`` on the
  frame and a ``cv2.GaussianBlur`` of each face box (same model, same threshold, same blur
  strength: sigma = 1/6 of the face size), and the ratio;
- face recall and precision (IoU >= 0.5) on the hand-annotated faces of tests/data/faces.json,
  at the photos' own size and at 1080p, and how much of each face the regions cover and how
  much fine detail (variance of the Laplacian) is left;
- false faces on the 200 raccoon photos (no people in them);
- the classical plate fallback: recall on synthetic plates pasted into the raccoon photos,
  by plate height, and false plates per photo on the untouched photos;
- a 12000x9000 image: seconds and peak Python memory.

Usage: python benchmarks/deidentify.py [--repeat 3] [--plates 200] [--no-huge]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import tracemalloc
import warnings
from pathlib import Path

import cv2
import numpy as np

from nblabel.images import load_rgb
from nblabel.models.deidentify import deidentify_image
from nblabel.models.faces import FaceDetector
from nblabel.models.plates import PlateDetector, place_plate, render_plate
from nblabel.records import iou

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared"))
YUNET = Path(os.environ.get("NBLABEL_YUNET", SHARED / "models" / "face_detection_yunet.onnx"))
FACES = json.loads((ROOT / "tests" / "data" / "faces.json").read_text())["images"]
RACCOONS = sorted((SHARED / "datasets" / "raccoon" / "images").glob("*.jpg"))


def assets() -> Path:
    from ultralytics.utils import ASSETS

    return Path(ASSETS)


def to_1080p(rgb: np.ndarray, boxes: list) -> tuple[np.ndarray, list]:
    """Scale to fit 1920x1080 and pad with grey: a 1080p frame, boxes mapped along."""
    h, w = rgb.shape[:2]
    s = min(1920 / w, 1080 / h)
    nw, nh = round(w * s), round(h * s)
    frame = np.full((1080, 1920, 3), 114, np.uint8)
    ox, oy = (1920 - nw) // 2, (1080 - nh) // 2
    frame[oy : oy + nh, ox : ox + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    moved = [[b[0] * s + ox, b[1] * s + oy, b[2] * s + ox, b[3] * s + oy] for b in boxes]
    return frame, moved


def annotated_set(scale_to_1080p: bool) -> list[tuple[np.ndarray, list[dict]]]:
    out = []
    for name, faces in FACES.items():
        rgb = load_rgb(assets() / name)
        if scale_to_1080p:
            rgb, boxes = to_1080p(rgb, [f["bbox"] for f in faces])
            faces = [{**f, "bbox": b} for f, b in zip(faces, boxes)]
        out.append((rgb, faces))
    return out


def baseline(rgb: np.ndarray, net) -> np.ndarray:
    """The plain OpenCV way: YuNet on the frame, then a Gaussian blur per face box."""
    h, w = rgb.shape[:2]
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    net.setInputSize((w, h))
    _, faces = net.detect(bgr)
    for f in [] if faces is None else faces:
        x, y, fw, fh = (int(v) for v in f[:4])
        x1, y1, x2, y2 = max(0, x), max(0, y), min(w, x + fw), min(h, y + fh)
        if x2 > x1 and y2 > y1:
            sigma = max(fw, fh) / 6
            bgr[y1:y2, x1:x2] = cv2.GaussianBlur(bgr[y1:y2, x1:x2], (0, 0), sigma)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def bench_speed(det: FaceDetector, repeat: int) -> None:
    frames = [f for f, _ in annotated_set(True)]
    frames += [to_1080p(load_rgb(p), [])[0] for p in RACCOONS[:8]]
    net = cv2.FaceDetectorYN.create(str(YUNET), "", (1920, 1080), 0.6, 0.3, 5000)
    for f in frames[:2]:  # warm both sides up
        baseline(f, net)
        deidentify_image(f, "face", face_model=det)
    n = len(frames) * repeat
    t = time.perf_counter()
    for _ in range(repeat):
        for f in frames:
            baseline(f, net)
    base = n / (time.perf_counter() - t)
    print(f"1080p frames: {len(frames)} x {repeat} repeats (2 photos with people, 8 raccoons)")
    print(f"  baseline YuNet + cv2.GaussianBlur : {base:6.2f} images/s")
    for method in ("blur", "mosaic"):
        t = time.perf_counter()
        for _ in range(repeat):
            for f in frames:
                deidentify_image(f, "face", method, face_model=det)
        ours = n / (time.perf_counter() - t)
        print(f"  deidentify_image faces, {method:6s} : {ours:6.2f} images/s  (x{ours / base:.2f})")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in frames:
            deidentify_image(f, ("face", "plate"), "blur", face_model=det)
    both = len(frames) / (time.perf_counter() - t)
    print(f"  faces + classical plates, blur    : {both:6.2f} images/s  (x{both / base:.2f})")


def lap_var(rgb, box) -> float:
    x1, y1, x2, y2 = (int(v) for v in box)
    g = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def bench_quality(det: FaceDetector) -> None:
    for label, big in (("own size", False), ("1080p", True)):
        tp = fp = fn = 0
        cover, left = [], {"blur": [], "mosaic": []}
        for rgb, faces in annotated_set(big):
            out, regions = deidentify_image(rgb, "face", "blur", face_model=det)
            mos, _ = deidentify_image(rgb, "face", "mosaic", face_model=det)
            dets = [r["detected_bbox"] for r in regions]
            used = set()
            for f in faces:
                best = max(range(len(dets)), key=lambda i: iou(dets[i], f["bbox"]), default=None)
                hit = best is not None and iou(dets[best], f["bbox"]) >= 0.5
                if hit:
                    used.add(best)
                if f.get("difficult"):
                    continue  # neither a miss nor, when found, a false detection
                tp += hit
                fn += not hit
                mask = np.zeros(rgb.shape[:2], bool)
                for r in regions:
                    x1, y1, x2, y2 = (int(v) for v in r["bbox"])
                    mask[y1:y2, x1:x2] = True
                x1, y1, x2, y2 = (int(round(v)) for v in f["bbox"])
                cover.append(mask[y1:y2, x1:x2].mean())
                before = lap_var(rgb, f["bbox"])
                left["blur"].append(lap_var(out, f["bbox"]) / before)
                left["mosaic"].append(lap_var(mos, f["bbox"]) / before)
            fp += len(dets) - len(used)
        faces_n = tp + fn
        print(
            f"faces ({label}): recall {tp}/{faces_n} = {tp / faces_n:.2f}, precision "
            f"{tp}/{tp + fp} = {tp / max(1, tp + fp):.2f} (IoU >= 0.5; 1 out-of-focus face "
            f"marked difficult is not counted); covered >= {min(cover):.1%} of every face; "
            f"fine detail left: blur max {max(left['blur']):.1%}, mosaic max "
            f"{max(left['mosaic']):.1%}"
        )
    n_img = sum(bool(det.detect(p)) for p in RACCOONS)
    print(f"false faces: {n_img}/{len(RACCOONS)} raccoon photos (no people) get >= 1 face region")


def bench_plates(n: int) -> None:
    rng = random.Random(0)
    det = PlateDetector()
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    buckets: dict[str, list[int]] = {"12-23 px": [], "24-47 px": [], ">= 48 px": []}
    false_on_plate_images = 0
    t = time.perf_counter()
    for i in range(n):
        rgb = load_rgb(RACCOONS[i % len(RACCOONS)])
        h, w = rgb.shape[:2]
        text = (
            "".join(rng.choice(letters) for _ in range(2))
            + f" {rng.randint(100, 9999)} "
            + "".join(rng.choice(letters) for _ in range(2))
        )
        ph = rng.randint(12, max(14, h // 7))
        plate = render_plate(text, ph, rng.choice(["eu", "eu", "yellow", "dark"]))
        if plate.shape[1] >= w - 4:
            k = (w - 10) / plate.shape[1]
            plate = cv2.resize(plate, None, fx=k, fy=k)
            ph = plate.shape[0]
        x = rng.randint(0, w - plate.shape[1] - 1)
        y = rng.randint(0, h - plate.shape[0] - 1)
        img, box = place_plate(rgb, plate, x, y, rng.uniform(-6, 6))
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0))  # camera softness
        dets = det.detect(img)
        hit = any(iou(d["bbox"], box) >= 0.5 for d in dets)
        false_on_plate_images += sum(iou(d["bbox"], box) < 0.5 for d in dets)
        key = "12-23 px" if ph < 24 else "24-47 px" if ph < 48 else ">= 48 px"
        buckets[key].append(hit)
    secs = (time.perf_counter() - t) / n
    found = sum(sum(v) for v in buckets.values())
    print(
        f"plates, classical fallback: recall {found}/{n} = {found / n:.2f} on synthetic plates "
        f"(IoU >= 0.5, tilted up to 6 deg, slightly blurred) in raccoon photos; "
        f"{secs * 1000:.0f} ms/image"
    )
    for k, v in buckets.items():
        if v:
            print(f"  plate height {k:9s}: {sum(v)}/{len(v)} = {sum(v) / len(v):.2f}")
    clean = sum(len(det.detect(p)) for p in RACCOONS)
    print(
        f"  false plates: {clean} on {len(RACCOONS)} untouched photos "
        f"({clean / len(RACCOONS):.3f}/image), {false_on_plate_images} more on the {n} "
        f"photos with a plate"
    )


def bench_huge() -> None:
    photo = load_rgb(assets() / "zidane.jpg")
    big = np.full((9000, 12000, 3), 128, np.uint8)
    big[100:388, 200:712] = cv2.resize(photo, (512, 288), interpolation=cv2.INTER_AREA)
    big[5000:8600, 5000:11400] = cv2.resize(photo, (6400, 3600))
    det = FaceDetector(YUNET)  # default min_face=16
    tracemalloc.start()
    t = time.perf_counter()
    _, regions = deidentify_image(big, "face", "blur", face_model=det)
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"12000x9000 image ({big.nbytes / 1e6:.0f} MB): {secs:.1f} s, {len(regions)} face "
        f"regions (4 faces pasted), peak Python memory {peak / 1e6:.0f} MB "
        f"({peak / big.nbytes:.2f}x the image)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plates", type=int, default=200)
    ap.add_argument("--no-huge", action="store_true")
    args = ap.parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # DNN target notes
    det = FaceDetector(YUNET)
    print(f"CPU threads: {cv2.getNumThreads()}, load average {os.getloadavg()[0]:.1f}")
    bench_speed(det, args.repeat)
    bench_quality(det)
    bench_plates(args.plates)
    if not args.no_huge:
        bench_huge()


if __name__ == "__main__":
    main()
