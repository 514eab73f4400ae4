"""Model writes per second with an Annotator open, on a small and on a million-row Dataset.

A loop auto-labeling a big Dataset writes row after row while a person looks at one image in
the Annotator (and pages through the review grid). Every write notifies the open widgets; what
they do per write must not grow with the table. This benchmark builds two Datasets in the same
process, ``--small`` and ``--rows`` rows over the same real raccoon photos (the fastest public
constructor, ``Dataset.from_dataframe``; the paths repeat, which is all a write needs), opens
``nbl.Annotator(ds)`` with its defaults and times model writes the way the loop writes them
(``ds.annotate_many([(key, records, {"source": ..., "skip_human": True})])``, one row per
transaction, random rows), three ways:

- ``dataset``: no widget open (what the Dataset and its journal cost by themselves);
- ``annotator``: an Annotator open on the first image;
- ``+ grid``: an Annotator and a ReviewGrid open (every written row enters the review queue).

Rounds go over both sizes in turn (each round opens and closes the widgets), and medians over
the rounds are printed, so load from elsewhere on the machine hits every size and configuration
alike. It prints writes per second for each configuration; the widgets' own work per write,
timed by listeners registered just before and just after each widget (the Dataset calls its
listeners in order), median and p99; the time of a gesture (next image, next image in review,
next page of the grid); and the ratio small/big of writes per second with an Annotator open
(target: within 2x). Wall clock, no tracemalloc.

Usage:
    python benchmarks/widget_scale.py [--small 1000] [--rows 1000000] [--writes 300]
                                      [--seconds 2] [--rounds 5] [--keep DIR]

``--keep DIR`` keeps the built journals in DIR and reopens them with ``Dataset.open`` on the
next run (building a million rows took 11 minutes and 4.4 GB here, on 2 shared cores;
reopening it about 45 s). Needs the raccoon data
set (``NBLABEL_SHARED``, default ../shared).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import nblabel as nbl
from nblabel.widgets.annotator import Annotator
from nblabel.widgets.review import ReviewGrid

SHARED = Path(os.environ.get("NBLABEL_SHARED", Path(__file__).resolve().parents[2] / "shared"))
MODEL = "bench-detect-v1@0000"
TARGET_RATIO = 2.0


def build(n: int, folder: Path) -> tuple[nbl.Dataset, float]:
    """A Dataset of ``n`` rows over the raccoon photos (reopened when ``folder`` has it)."""
    db = folder / f"scale_{n}.db"
    t = time.perf_counter()
    if db.exists():
        ds = nbl.Dataset.open(db)
    else:
        photos = sorted((SHARED / "datasets" / "raccoon" / "images").glob("*.jpg"))
        if not photos:
            raise SystemExit(f"no raccoon images under {SHARED}; set NBLABEL_SHARED")
        df = pd.DataFrame(
            {"path": [str(photos[i % len(photos)]) for i in range(n)]},
            index=[f"row{i:07d}" for i in range(n)],
        )
        ds = nbl.Dataset.from_dataframe(df, image_col="path", db=db, classes=["raccoon"])
    return ds, time.perf_counter() - t


class Stopwatch:
    """Times what the listeners registered between :meth:`start` and :meth:`stop` do per
    write: the Dataset calls its ``on_change`` listeners in the order they were registered."""

    def __init__(self):
        self.times: list[float] = []
        self._t = 0.0

    def start(self, _key) -> None:
        self._t = time.perf_counter()

    def stop(self, _key) -> None:
        self.times.append(time.perf_counter() - self._t)

    def median_us(self) -> float:
        return statistics.median(self.times) * 1e6 if self.times else 0.0

    def p99_us(self) -> float:
        t = sorted(self.times)
        return t[min(len(t) - 1, int(0.99 * len(t)))] * 1e6 if t else 0.0


def writes_per_s(ds, keys: list, writes: int, seconds: float, seed: int) -> float:
    """Model writes per second, one row per transaction, random rows (``writes`` of them, or
    as many as fit in ``seconds``, at least 10)."""
    rng = random.Random(seed)
    t = time.perf_counter()
    done = 0
    while done < writes and (done < 10 or time.perf_counter() - t < seconds):
        key = keys[rng.randrange(len(keys))]
        score = 0.3 + (done % 60) / 100
        rec = {"label": "raccoon", "bbox": [10, 12, 120, 140], "score": score, "source": MODEL}
        ds.annotate_many([(key, [rec], {"source": MODEL, "status": "review", "skip_human": True})])
        done += 1
    return done / (time.perf_counter() - t)


def one_round(ds, writes: int, seconds: float, seed: int, watch: dict, out: dict) -> None:
    """Writes with no widget, then with an Annotator, then with an Annotator and a
    ReviewGrid; then a few gestures. Appends to ``out``."""
    keys = ds.keys()
    out["dataset"].append(writes_per_s(ds, keys, writes, seconds, seed=seed))
    t = time.perf_counter()
    ds.on_change(watch["annotator"].start)
    ann = Annotator(ds)
    ds.on_change(watch["annotator"].stop)
    out["open_annotator_s"].append(time.perf_counter() - t)
    out["annotator"].append(writes_per_s(ds, keys, writes, seconds, seed=seed + 1))
    ds.on_change(watch["grid"].start)
    t = time.perf_counter()
    grid = ReviewGrid(ds, annotator=ann)
    out["open_grid_s"].append(time.perf_counter() - t)
    ds.on_change(watch["grid"].stop)
    out["grid"].append(writes_per_s(ds, keys, writes, seconds, seed=seed + 2))
    for w in watch.values():
        ds.on_change(w.start, remove=True)
        ds.on_change(w.stop, remove=True)
    # what a person does meanwhile: next image, next image in review, a page of the grid
    t = time.perf_counter()
    for _ in range(10):
        ann.next()
        ann.next_with_status("review")
        grid.next_page()
    out["gesture_ms"].append((time.perf_counter() - t) / 30 * 1e3)
    grid.close()
    ann.close()


def measure(datasets: list, writes: int, seconds: float, rounds: int) -> list[dict]:
    """Rounds over all sizes in turn, so load from elsewhere on the machine hits every size
    and every configuration alike; medians over the rounds."""
    names = ("dataset", "annotator", "grid", "open_annotator_s", "open_grid_s", "gesture_ms")
    runs = [{k: [] for k in names} for _ in datasets]
    watches = [{"annotator": Stopwatch(), "grid": Stopwatch()} for _ in datasets]
    for ds in datasets:
        writes_per_s(ds, ds.keys(), 20, seconds, seed=0)  # warm SQLite pages, pandas index
    for r in range(rounds):
        for ds, out, watch in zip(datasets, runs, watches):
            one_round(ds, writes, seconds, 10 * r + 1, watch, out)
    results = []
    for ds, out, watch in zip(datasets, runs, watches):
        res = {k: statistics.median(v) for k, v in out.items()}
        res.update(
            rows=len(ds),
            annotator_us=watch["annotator"].median_us(),
            annotator_p99_us=watch["annotator"].p99_us(),
            grid_us=watch["grid"].median_us(),
            grid_p99_us=watch["grid"].p99_us(),
        )
        results.append(res)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--writes", type=int, default=300, help="writes per measurement, at most")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement, at most")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="keep/reuse the journals here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        datasets = []
        for n in (args.small, args.rows):
            ds, build_s = build(n, folder)
            print(f"{n} rows: built or opened in {build_s:.1f} s", flush=True)
            datasets.append(ds)
        results = measure(datasets, args.writes, args.seconds, args.rounds)
        print("\nmodel writes per second (median of rounds):")
        print(
            f"{'rows':>9} {'dataset':>9} {'annotator':>10} {'+ grid':>8} "
            f"{'open annotator s':>17} {'open grid s':>12}"
        )
        for r in results:
            print(
                f"{r['rows']:>9} {r['dataset']:>9.1f} {r['annotator']:>10.1f} {r['grid']:>8.1f} "
                f"{r['open_annotator_s']:>17.2f} {r['open_grid_s']:>12.2f}"
            )
        print("\nwidget work per write (its Dataset listener), microseconds, median / p99:")
        print(f"{'rows':>9} {'annotator':>15} {'grid':>15} {'gesture ms':>11}")
        for r in results:
            a = f"{r['annotator_us']:.0f} / {r['annotator_p99_us']:.0f}"
            g = f"{r['grid_us']:.0f} / {r['grid_p99_us']:.0f}"
            print(f"{r['rows']:>9} {a:>15} {g:>15} {r['gesture_ms']:>11.1f}")
        small, big = results
        ratio = small["annotator"] / big["annotator"]
        base = small["dataset"] / big["dataset"]
        own = big["annotator_us"] / small["annotator_us"]
        print(
            f"\nwrites/s with an Annotator open, {small['rows']} vs {big['rows']} rows: ratio "
            f"{ratio:.2f} (target <= {TARGET_RATIO}); with no widget open: ratio {base:.2f}; "
            f"the Annotator's own work per write: ratio {own:.2f}"
        )


if __name__ == "__main__":
    main()
