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

It prints writes per second for each, the widgets' own cost per write (the difference to
``dataset``), and the ratio small/big of writes per second with the Annotator open (target:
within 2x). Wall clock, no tracemalloc.

Usage:
    python benchmarks/widget_scale.py [--small 1000] [--rows 1000000] [--writes 300]
                                      [--keep DIR]

``--keep DIR`` keeps the built journals in DIR and reopens them with ``Dataset.open`` on the
next run (building a million rows takes minutes on a 2-core machine). Needs the raccoon data
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


def measure(ds, writes: int, seconds: float, rounds: int) -> dict:
    """Each round: writes with no widget, with an Annotator, with an Annotator and a
    ReviewGrid (medians over the rounds, so load from elsewhere hits all three alike)."""
    keys = ds.keys()
    writes_per_s(ds, keys, 20, seconds, seed=0)  # warm caches (SQLite pages, pandas index)
    runs: dict[str, list[float]] = {"dataset": [], "annotator": [], "grid": [], "open_s": []}
    watch = {"annotator": Stopwatch(), "grid": Stopwatch()}
    gestures = []
    for r in range(rounds):
        runs["dataset"].append(writes_per_s(ds, keys, writes, seconds, seed=10 * r + 1))
        t = time.perf_counter()
        ds.on_change(watch["annotator"].start)
        ann = Annotator(ds)
        ds.on_change(watch["annotator"].stop)
        runs["open_s"].append(time.perf_counter() - t)
        runs["annotator"].append(writes_per_s(ds, keys, writes, seconds, seed=10 * r + 2))
        ds.on_change(watch["annotator"].start, remove=True)
        ds.on_change(watch["annotator"].stop, remove=True)
        ds.on_change(watch["grid"].start)
        grid = ReviewGrid(ds, annotator=ann)
        ds.on_change(watch["grid"].stop)
        runs["grid"].append(writes_per_s(ds, keys, writes, seconds, seed=10 * r + 3))
        ds.on_change(watch["grid"].start, remove=True)
        ds.on_change(watch["grid"].stop, remove=True)
        # what a person does meanwhile: next image, next image in review, a page of the grid
        t = time.perf_counter()
        for _ in range(10):
            ann.next()
            ann.next_with_status("review")
            grid.next_page()
        gestures.append((time.perf_counter() - t) / 30 * 1e3)
        grid.close()
        ann.close()
    out = {k: statistics.median(v) for k, v in runs.items()}
    out.update(
        rows=len(ds),
        gesture_ms=statistics.median(gestures),
        annotator_us=watch["annotator"].median_us(),
        annotator_p99_us=watch["annotator"].p99_us(),
        grid_us=watch["grid"].median_us(),
        grid_p99_us=watch["grid"].p99_us(),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--writes", type=int, default=300, help="writes per measurement, at most")
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measurement, at most")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep/reuse the journals here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for n in (args.small, args.rows):
            ds, build_s = build(n, folder)
            print(f"{n} rows: built or opened in {build_s:.1f} s", flush=True)
            r = measure(ds, args.writes, args.seconds, args.rounds)
            r["build_s"] = build_s
            results.append(r)
            del ds
        print("\nmodel writes per second (median of rounds):")
        print(f"{'rows':>9} {'dataset':>9} {'annotator':>10} {'+ grid':>8} {'open s':>7}")
        for r in results:
            print(
                f"{r['rows']:>9} {r['dataset']:>9.1f} {r['annotator']:>10.1f} {r['grid']:>8.1f} "
                f"{r['open_s']:>7.2f}"
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
