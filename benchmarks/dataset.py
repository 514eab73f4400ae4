"""Dataset import and journal throughput.

Prints:
- ``from_folder`` rows/s over N image paths (symlinks to the raccoon images), against the
  obvious baseline in the same process: a loop of ``PIL.Image.open(p).size`` into a DataFrame
  with no journal;
- memory (tracemalloc peak of Python allocations and RSS growth) at N/4, N/2 and N rows, to see
  that it grows linearly;
- durable ``annotate()`` calls per second, against raw ``sqlite3`` UPDATE + COMMIT per call in
  WAL mode on the same machine.

Usage: python benchmarks/dataset.py [--rows 20000] [--writes 3000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd
from PIL import Image

import nblabel as nbl

SHARED = Path(os.environ.get("NBLABEL_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def make_folder(root: Path, n: int) -> Path:
    src = sorted((SHARED / "datasets" / "raccoon" / "images").glob("*.jpg"))
    folder = root / f"images_{n}"
    folder.mkdir()
    for i in range(n):
        s = src[i % len(src)]
        sub = folder / f"part{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"{s.stem}_{i:06d}.jpg").symlink_to(s)
    return folder


def bench_import(root: Path, n: int) -> dict:
    folder = make_folder(root, n)
    # warm the OS cache so both sides read the same, already cached headers
    paths = sorted(p for p in folder.rglob("*.jpg"))
    for p in paths:
        os.stat(p)

    t = time.perf_counter()
    sizes = []
    for p in paths:
        with Image.open(p) as im:
            sizes.append((str(p), *im.size))
    base_df = pd.DataFrame(sizes, columns=["image", "width", "height"])
    base_s = time.perf_counter() - t
    del base_df, sizes

    rss0 = rss_mb()
    tracemalloc.start()
    t = time.perf_counter()
    ds = nbl.Dataset.from_folder(folder, db=root / f"bench_{n}.db")
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(ds) == n
    return {
        "rows": n,
        "nblabel_rows_per_s": n / elapsed,
        "baseline_rows_per_s": n / base_s,
        "ratio": base_s / elapsed,
        "peak_python_mb": peak / 1e6,
        "rss_growth_mb": rss_mb() - rss0,
        "ds": ds,
    }


def bench_annotate(ds, writes: int, root: Path) -> dict:
    keys = ds.keys()
    ds.add_classes(["raccoon"])
    t = time.perf_counter()
    for i in range(writes):
        ds.annotate(
            keys[i % len(keys)],
            [{"label": "raccoon", "bbox": [1, 2, 30 + i % 50, 40]}],
            seconds=0.5,
            kind="added",
        )
    nbl_s = time.perf_counter() - t

    conn = sqlite3.connect(root / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, '')", [(str(k),) for k in keys])
    t = time.perf_counter()
    for i in range(writes):
        conn.execute("BEGIN")
        conn.execute(
            "UPDATE t SET v=? WHERE k=?", ('[{"label":"raccoon"}]', str(keys[i % len(keys)]))
        )
        conn.execute("COMMIT")
    raw_s = time.perf_counter() - t
    return {
        "nblabel_per_s": writes / nbl_s,
        "raw_sqlite_per_s": writes / raw_s,
        "ratio": raw_s / nbl_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--writes", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("from_folder over symlinked raccoon images (baseline: PIL header loop -> DataFrame)")
        print(
            f"{'rows':>7} {'nblabel rows/s':>15} {'baseline rows/s':>16} {'ratio':>6} "
            f"{'py peak MB':>11} {'RSS +MB':>8}"
        )
        last = None
        for n in (args.rows // 4, args.rows // 2, args.rows):
            r = bench_import(root, n)
            print(
                f"{r['rows']:>7} {r['nblabel_rows_per_s']:>15.0f} {r['baseline_rows_per_s']:>16.0f} "
                f"{r['ratio']:>6.2f} {r['peak_python_mb']:>11.1f} {r['rss_growth_mb']:>8.1f}"
            )
            last = r
        a = bench_annotate(last["ds"], args.writes, root)
        print(
            f"\ndurable annotate(): {a['nblabel_per_s']:.0f} calls/s "
            f"(raw sqlite3 UPDATE+COMMIT, WAL: {a['raw_sqlite_per_s']:.0f}/s, ratio {a['ratio']:.2f}) "
            f"on a {len(last['ds'])}-row dataset"
        )


if __name__ == "__main__":
    main()
