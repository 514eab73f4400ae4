"""deidentify under a killed process and a full disk: complete copies or none, nothing lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.models.deidentify import deidentify


def _final_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def test_a_killed_run_never_leaves_a_truncated_copy_under_its_final_name(
    tmp_path, raccoon_dir, yunet_path
):
    # one large image file (a JPEG followed by 150 MB the decoder ignores) makes the copy
    # slow enough to kill the process while it is being written
    folder = tmp_path / "photos"
    folder.mkdir()
    big = folder / "big.jpg"
    with open(big, "wb") as f:
        f.write((raccoon_dir / "images" / "raccoon-1.jpg").read_bytes())
        f.write(b"\0" * 150_000_000)
    db = tmp_path / "l.db"
    nbl.Dataset.from_folder(folder, db=db)
    out = tmp_path / "deid"
    out.mkdir()
    child = textwrap.dedent(
        f"""
        import nblabel as nbl
        ds = nbl.Dataset.open({str(db)!r})
        nbl.deidentify(ds, targets="face", face_model={str(yunet_path)!r}, out_dir={str(out)!r},
                       progress=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.time() + 120
        while not _final_files(out) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.0005)
        os.kill(proc.pid, signal.SIGKILL)  # the moment a file has its final name
    finally:
        proc.wait()
    for p in _final_files(out):
        assert p.stat().st_size == big.stat().st_size, f"{p.name} is truncated"
    ds = nbl.Dataset.open(db)
    image = Path(ds.df.at["big", "image"])
    assert image.stat().st_size == big.stat().st_size  # the original, or a complete copy


@pytest.fixture()
def tiny_disk(tmp_path):
    """A 400 KB file system (a real full disk); the test command runs as root, so it can
    mount one."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small file system (needs root): {done.stderr.decode()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_full_disk_stops_the_run_with_every_copy_complete_and_nothing_lost(
    tmp_path, raccoon_dir, yunet_path, tiny_disk
):
    folder = tmp_path / "photos"
    folder.mkdir()
    sources = sorted((raccoon_dir / "images").glob("*.jpg"))[:40]
    for p in sources:
        shutil.copy(p, folder / p.name)
    ds = nbl.Dataset.from_folder(folder, db=tmp_path / "l.db")
    with pytest.warns(UserWarning, match="disk is full"):
        summary = deidentify(
            ds, targets="face", face_model=yunet_path, out_dir=tiny_disk, progress=False
        )
    assert len(summary) == len(ds)
    done = summary[summary["issue"].isna()]
    left = summary[summary["issue"].notna()]
    assert len(done) > 0 and len(left) > 0
    assert left["issue"].str.contains("no space left").all()
    assert not list(tiny_disk.glob(".*"))  # no temporary file stays behind
    for key, out, faces in zip(done["key"], done["output"], done["faces"]):
        if not faces:  # an identical copy
            assert Path(out).stat().st_size == (folder / f"{key}.jpg").stat().st_size
    for p in _final_files(tiny_disk):  # nothing truncated under a final name
        with Image.open(p) as im:
            im.load()  # raises on a truncated file
    again = nbl.Dataset.open(tmp_path / "l.db")
    for key in left["key"]:
        assert Path(again.df.at[key, "image"]).parent == folder  # untouched rows
    for key in done["key"]:
        assert Path(again.df.at[key, "image"]).parent == tiny_disk
