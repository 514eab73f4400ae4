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

With ``--engine ray`` it compares, in one run, in-process auto-labeling with auto-labeling on
a local Ray cluster (Ray Data actors, one per CPU, each loading the model once), using the
General AI a user starts a big folder with: the COCO ``yolov5n.pt`` at its default settings,
over the coco128 and raccoon images. It also measures the kernel's ceiling: how many rows per
second it routes and journals when predictions cost nothing (the same records replayed), which
is what bounds any number of workers. From both it projects the throughput of N workers.

Usage: python benchmarks/autolabel.py [--rounds 3] [--imgsz 320] [--batch 16] [--conf 0.001]
       python benchmarks/autolabel.py --engine ray [--rounds 2] [--workers 2]
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


class Replay:
    """Predictions that cost nothing: the records a real model gave, returned again."""

    def __init__(self, by_path: dict, version: str):
        self.by_path, self.version = by_path, version

    def predict(self, images):
        return [self.by_path[str(p)] for p in images]


def ray_main(args) -> None:
    import ray

    from nblabel.loop import RayEngine

    folders = [
        SHARED / "datasets" / "coco128" / "images",
        SHARED / "datasets" / "raccoon" / "images",
    ]
    paths = [p for f in folders for p in sorted(f.rglob("*.jpg"))]
    model = nbl.GeneralAI("all", weights=SHARED / "models" / "yolov5n.pt")  # defaults otherwise
    n = len(paths)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "images"
        work.mkdir()
        for i, p in enumerate(paths):  # one folder, names kept apart
            (work / f"{i:05d}_{p.name}").symlink_to(p)
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        engine = RayEngine(workers=args.workers)
        model.predict([paths[0]])  # the kernel's model loaded, as a user's would be

        def run(tag: str, predictor, **autolabel) -> tuple[float, float, int, object]:
            """Wall time, time to the first written batch, its size, and the Dataset."""
            ds = nbl.Dataset.from_folder(work, db=Path(tmp) / f"{tag}.db")
            lab = AutoLabeler(ds, predictor, batch=args.batch, retrain_every=10**9)
            first = []
            lab.on_autolabel_progress(
                lambda p: first or first.append((time.perf_counter(), p["done"]))
            )
            t = time.perf_counter()
            summary = lab.autolabel(progress=False, **autolabel)
            wall = time.perf_counter() - t
            lab.close()
            assert summary["written"] == n, summary["written"]
            return wall, first[0][0] - t, first[0][1], ds

        local_t, ray_t, ray_start = [], [], []
        for r in range(args.rounds):
            wall, _, _, local_ds = run(f"local{r}", model)
            local_t.append(wall)
            wall, start, _, ray_ds = run(f"ray{r}", model, engine=engine)
            ray_t.append(wall)
            ray_start.append(start)
            same = local_ds.df["annotations"].equals(ray_ds.df["annotations"])
            print(
                f"round {r + 1}: in-process {local_t[-1]:.1f} s, Ray {ray_t[-1]:.1f} s, of "
                f"which {start:.1f} s to the first batch ({n} images; same records: {same})"
            )
        by_path = {
            str(row.image): list(row.annotations) for row in local_ds.df.itertuples(index=False)
        }
        replay = Replay(by_path, model.version)
        ceiling_t = [run(f"replay{r}", replay)[0] for r in range(args.rounds)]
        plan = engine.plan(ray)
        # one worker's speed: what a Ray worker holding one CPU does, the model on one thread
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(int(engine.cpus_per_worker))
        sample = [str(p) for p in paths[:64]]
        t = time.perf_counter()
        for i in range(0, len(sample), args.batch):
            model.predict(sample[i : i + args.batch])
        one_worker = len(sample) / (time.perf_counter() - t)
        torch.set_num_threads(threads)
        objects = int(local_ds.df["annotations"].map(len).sum())
        ray.shutdown()

    workers = plan[0]
    local_rate, ray_rate, ceiling = n / min(local_t), n / min(ray_t), n / min(ceiling_t)
    per_worker = one_worker
    print()
    print(f"images: {n} ({objects} objects), batch {args.batch}, CPU cores {os.cpu_count()}")
    print(f"in-process autolabel          : {local_rate:7.2f} images/s (best of {args.rounds})")
    print(
        f"Ray, {workers} workers (local)     : {ray_rate:7.2f} images/s "
        f"= {ray_rate / local_rate:.2f}x in-process"
    )
    print(
        f"  start-up (workers start and load the model): {min(ray_start):.1f} s to the first "
        f"batch; one worker on one CPU predicts {per_worker:.2f} images/s"
    )
    print(f"kernel ceiling (route+journal): {ceiling:7.0f} rows/s (predictions replayed)")
    limit = ceiling / per_worker
    print(f"projected: N workers give min(N x {per_worker:.2f}, {ceiling:.0f}) images/s;")
    for k in (1, 8, 32, 128, 512):
        print(f"  {k:4d} workers -> {min(k * per_worker, ceiling):8.1f} images/s")
    print(f"the kernel becomes the bottleneck at about {limit:.0f} workers of this speed")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=("local", "ray"), default="local")
    ap.add_argument("--workers", type=int, default=None, help="Ray workers (default: one per CPU)")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    # A briefly trained model is unsure of everything: at 0.001 it writes ~85 boxes per image,
    # far more than a real model, so the journal's cost per object is measured at its worst.
    # A higher threshold (e.g. 0.02) writes nothing and measures the per-image cost alone.
    ap.add_argument("--conf", type=float, default=0.001)
    args = ap.parse_args()
    if args.engine == "ray":
        args.rounds = args.rounds or 2
        return ray_main(args)
    args.rounds = args.rounds or 3
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
