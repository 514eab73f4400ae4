"""Auto-labeling throughput: AutoLabeler.autolabel against a plain model.predict loop.

Both sides run the same CustomAI model at the same image size over the 200 raccoon images on
CPU, in one process, interleaved (plain, nblabel, plain, nblabel ...) so machine load hits
both alike. The plain loop only predicts; nblabel also routes every image, journals each batch
to SQLite, updates the DataFrame, notifies listeners and drives a progress bar.

Prints images/s for each side, the ratio of wall times, and nblabel's own time measured
directly (wall time minus the time spent inside model.predict during autolabel), which is the
steadier number on a shared machine.

The model: a YOLO11n checkpoint built from ultralytics' yaml and trained briefly on 20 raccoon
images (tests/support/model_fixtures.make_checkpoint), fine-tuned by CustomAI on 10 more.

Usage: python benchmarks/autolabel.py [--rounds 3] [--imgsz 320] [--batch 16] [--conf 0.001]
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

import nblabel as nbl  # noqa: E402
from nblabel.loop import AutoLabeler  # noqa: E402


class Timed:
    """Wraps a predictor and adds up the seconds spent inside its predict."""

    def __init__(self, model):
        self.model = model
        self.seconds = 0.0
        self.classes = model.classes
        self.version = model.version

    def predict(self, images):
        t = time.perf_counter()
        try:
            return self.model.predict(images)
        finally:
            self.seconds += time.perf_counter() - t


def build_model(work: Path, imgsz: int, raccoon: Path, conf: float):
    from support.model_fixtures import make_checkpoint, voc_items

    items = voc_items(raccoon)
    t = time.perf_counter()
    base = make_checkpoint("detect", work / "base.pt", ["raccoon"], items[-20:], epochs=3)
    ds = nbl.Dataset.from_folder(raccoon / "images", db=work / "fit.db", classes=["raccoon"])
    for path, recs in items[:10]:
        ds.annotate(path.stem, recs)
    model = nbl.CustomAI(
        task="detect",
        classes=["raccoon"],
        base=base,
        epochs=1,
        imgsz=imgsz,
        batch=8,
        conf=conf,
        workdir=work / "custom",
    )
    model.fit(ds)
    print(f"model ready in {time.perf_counter() - t:.0f} s: {model.version}, imgsz {imgsz}")
    return model


def plain(model, paths: list[str], batch: int) -> float:
    t = time.perf_counter()
    n = 0
    for i in range(0, len(paths), batch):
        n += sum(len(r) for r in model.predict(paths[i : i + batch]))
    return time.perf_counter() - t


def with_nblabel(model, raccoon: Path, db: Path, batch: int) -> tuple[float, float, int, int]:
    ds = nbl.Dataset.from_folder(raccoon / "images", db=db)
    timed = Timed(model)
    lab = AutoLabeler(ds, timed, batch=batch)
    t = time.perf_counter()
    summary = lab.autolabel(progress=True)
    wall = time.perf_counter() - t
    lab.close()
    objects = int(ds.df["annotations"].map(len).sum())
    return wall, timed.seconds, summary["written"], objects


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    # A briefly trained model is unsure of everything: at 0.001 it writes ~85 boxes per image,
    # far more than a real model, so the journal's cost per object is measured at its worst.
    # A higher threshold (e.g. 0.02) writes nothing and measures the per-image cost alone.
    ap.add_argument("--conf", type=float, default=0.001)
    args = ap.parse_args()
    raccoon = SHARED / "datasets" / "raccoon"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = build_model(work, args.imgsz, raccoon, args.conf)
        paths = [str(p) for p in sorted((raccoon / "images").glob("*.jpg"))]
        n = len(paths)
        model.predict(paths[: args.batch])  # warm-up: first call builds the predictor
        plain_t, nbl_t, inside_t = [], [], []
        for r in range(args.rounds):
            plain_t.append(plain(model, paths, args.batch))
            wall, inside, written, objects = with_nblabel(
                model, raccoon, work / f"run{r}.db", args.batch
            )
            assert written == n, written
            nbl_t.append(wall)
            inside_t.append(inside)
            print(
                f"round {r + 1}: plain {plain_t[-1]:.2f} s, nblabel {wall:.2f} s "
                f"(of which model.predict {inside:.2f} s; {objects} objects written)"
            )
        best_plain, best_nbl = min(plain_t), min(nbl_t)
        own = [w - i for w, i in zip(nbl_t, inside_t)]
        print()
        print(f"images: {n}, batch {args.batch}, imgsz {args.imgsz}, CPU threads {os.cpu_count()}")
        print(f"plain model.predict loop : {n / best_plain:7.1f} images/s (best of {args.rounds})")
        print(f"AutoLabeler.autolabel    : {n / best_nbl:7.1f} images/s (best of {args.rounds})")
        print(
            f"wall-time ratio nblabel/plain: {best_nbl / best_plain:.3f} "
            f"({(best_nbl / best_plain - 1) * 100:+.1f}%)"
        )
        print(
            f"nblabel's own time (routing, journal, DataFrame, progress): "
            f"{min(own) * 1000:.0f} ms per 200 images = "
            f"{min(own) / min(inside_t) * 100:.1f}% of the model's time"
        )


if __name__ == "__main__":
    main()
