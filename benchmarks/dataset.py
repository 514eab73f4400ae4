"""Dataset import, reopen, memory and journal throughput, at a small and a large size.

Prints, for N symlinks to the raccoon images (default 20,000; ``--rows 1000000`` for a
million), each against the obvious baseline in the same process:

- ``from_folder`` rows/s, against a loop of ``PIL.Image.open(p).size`` into a DataFrame with no
  journal (timed with nothing else running: no tracemalloc);
- memory at N rows, measured in a separate process (so the timing pass is not disturbed and
  the numbers are the process's own): RSS after the import and after ``Dataset.open``, and
  the peak RSS;
- ``Dataset.open`` seconds at N rows, from the frame saved beside a large journal (see
  ``nblabel.frames``) and, as the baseline, reading every row from the journal;
- ``annotate()`` latency (median and p95) at 1,000 rows and at N rows: it must not grow with N.
  The two are measured in alternating rounds of 100 writes, so a slow spell of the machine
  falls on both alike (and the first writes after opening, timed on their own before, are
  not among them);
- durable ``annotate()`` calls per second, against raw ``sqlite3`` UPDATE + COMMIT per call
  in WAL mode on the same machine, and the cost per write of folding them into their rows
  later (see ``nblabel.journal``).

Usage: python benchmarks/dataset.py [--rows 20000] [--writes 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("NBLABEL_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KB on Linux


def make_folder(root: Path, n: int) -> Path:
    src = sorted((SHARED / "datasets" / "raccoon" / "images").glob("*.jpg"))
    folder = root / f"images_{n}"
    folder.mkdir()
    for i in range(n):
        s = src[i % len(src)]
        sub = folder / f"part{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir()
        os.symlink(s, sub / f"{s.stem}_{i:07d}.jpg")
    return folder


def baseline_import(folder: Path) -> float:
    """Seconds for the obvious loop: every header through Pillow, into a DataFrame."""
    import pandas as pd
    from PIL import Image

    t = time.perf_counter()
    sizes = []
    for p in sorted(folder.rglob("*.jpg")):
        with Image.open(p) as im:
            sizes.append((str(p), *im.size))
    pd.DataFrame(sizes, columns=["image", "width", "height"])
    return time.perf_counter() - t


def memory_pass(folder: Path, db: Path) -> dict:
    """In a fresh process: RSS after importing ``folder`` and after reopening it."""
    code = f"""
import json, os, resource, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from dataset import rss_mb, peak_rss_mb
import nblabel as nbl, pandas
base = rss_mb()
ds = nbl.Dataset.from_folder({str(folder)!r}, db={str(db)!r})
after_import = rss_mb() - base
del ds
import gc; gc.collect()
ds = nbl.Dataset.open({str(db)!r})
print(json.dumps(dict(import_mb=after_import, open_mb=rss_mb() - base, rss_mb=rss_mb(),
                      peak_mb=peak_rss_mb(), rows=len(ds))))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def latencies(ds, keys, writes: int, start: int = 0) -> list[float]:
    out = []
    for i in range(start, start + writes):
        t = time.perf_counter()
        ds.annotate(
            keys[(i * 7919) % len(keys)],
            [{"label": "raccoon", "bbox": [1, 2, 30 + i % 50, 40]}],
            seconds=0.5,
            kind="added",
        )
        out.append(time.perf_counter() - t)
    return out


def raw_sqlite_per_s(root: Path, keys, writes: int) -> float:
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
    return writes / (time.perf_counter() - t)


def p(q: float, xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--writes", type=int, default=3000)
    args = ap.parse_args()
    import nblabel as nbl

    n = args.rows
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        big, small = make_folder(root, n), make_folder(root, 1000)
        print(f"{n:,} + 1,000 symlinks made in {time.perf_counter() - t:.0f} s")
        for p_ in big.rglob("*.jpg"):  # both sides read headers from the OS cache
            os.stat(p_)

        base_s = baseline_import(big)
        t = time.perf_counter()
        ds = nbl.Dataset.from_folder(big, db=root / "big.db", classes=["raccoon"])
        import_s = time.perf_counter() - t
        assert len(ds) == n
        print(
            f"from_folder: {n / import_s:,.0f} rows/s ({import_s:.1f} s); baseline PIL header "
            f"loop -> DataFrame: {n / base_s:,.0f} rows/s; ratio {base_s / import_s:.2f}"
        )
        del ds
        from nblabel import frames

        frame = frames.path_for(root / "big.db")
        kept = frame.exists()
        t = time.perf_counter()
        ds = nbl.Dataset.open(root / "big.db")
        open_s = time.perf_counter() - t
        # the same open with the saved frame moved away: every row decoded from the journal
        aside = frame.with_name(frame.name + ".aside")
        if kept:
            frame.rename(aside)
        del ds
        t = time.perf_counter()
        ds = nbl.Dataset.open(root / "big.db")
        rows_s = time.perf_counter() - t
        if kept:
            aside.replace(frame)  # the open by rows saved a new one; the import's goes back
        print(
            f"Dataset.open at {n:,} rows: {open_s:.2f} s "
            + (
                f"(from the frame saved beside the journal, {frame.stat().st_size / 1e6:,.0f} MB); "
                if kept
                else "(no frame: under frames.MIN_ROWS); "
            )
            + f"reading every row from the journal: {rows_s:.2f} s"
        )

        small_ds = nbl.Dataset.from_folder(small, db=root / "small.db", classes=["raccoon"])
        os.sync()  # the imports' pages on disk before the timing, for both sizes alike
        writes = args.writes
        # durable writes one after another on the big journal, the first ones after opening
        first = writes / sum(latencies(ds, ds.keys(), writes))
        lat_small, lat_big = [], []
        small_keys, big_keys = small_ds.keys(), ds.keys()
        for start in range(writes, 2 * writes, 100):  # other rows than the pass above
            n_ = min(100, 2 * writes - start)
            lat_small += latencies(small_ds, small_keys, n_, start)
            lat_big += latencies(ds, big_keys, n_, start)
        print(
            f"annotate() latency: 1,000 rows median {p(50, lat_small):.3f} ms p95 "
            f"{p(95, lat_small):.3f} ms; {n:,} rows median {p(50, lat_big):.3f} ms p95 "
            f"{p(95, lat_big):.3f} ms; p95 ratio {p(95, lat_big) / p(95, lat_small):.2f}"
        )
        alternating = writes / sum(lat_big)
        again = writes / sum(latencies(ds, ds.keys(), writes, 2 * writes))
        raw = raw_sqlite_per_s(root, ds.keys()[:10000], writes)
        print(
            f"durable annotate(), one call after another on {n:,} rows: {first:,.0f} calls/s "
            f"over the first {writes:,} writes after opening, {again:,.0f}/s over {writes:,} "
            f"more after the latency rounds ({alternating:,.0f}/s within them, alternating "
            f"with the 1,000-row journal); raw sqlite3 UPDATE+COMMIT, WAL: {raw:,.0f}/s "
            f"(ratio {again / raw:.2f})"
        )
        # the writes wait in the event log until a fold writes them into their rows (before
        # any read of rows, and in the background past journal.FOLD_AT): its cost per write
        t = time.perf_counter()
        folded = ds._journal.fold()
        fold_s = time.perf_counter() - t
        per_fold = fold_s / max(folded, 1)
        print(
            f"fold: {folded:,} waiting writes into their rows in {fold_s:.2f} s "
            f"({per_fold * 1e6:.0f} us a write); every write and its fold together: "
            f"{1 / (1 / again + per_fold):,.0f}/s"
        )

        # last: its million-row import leaves hundreds of MB for the disk to take in the
        # next half minute, which fell on the timed writes when it ran before them
        del ds, small_ds
        mem = memory_pass(big, root / "mem.db")
        print(
            f"memory at {n:,} rows (separate process): RSS +{mem['import_mb']:,.0f} MB after "
            f"the import, +{mem['open_mb']:,.0f} MB after Dataset.open; process RSS "
            f"{mem['rss_mb']:,.0f} MB, peak {mem['peak_mb']:,.0f} MB "
            f"({mem['open_mb'] * 1e3 / n:.2f} KB/row)"
        )


if __name__ == "__main__":
    main()
