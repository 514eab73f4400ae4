"""Image files that lie about their size, and folder entries that are not image files."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import pytest
from PIL import Image

import nblabel as nbl
from nblabel.images import MAX_PIXELS_ENV, ImageError, image_size, load_rgb


def _png_claiming(path, width: int, height: int) -> None:
    """A 60-byte PNG whose header claims ``width`` x ``height`` pixels (no real pixel data)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.fixture()
def hostile_folder(tmp_path, raccoon_dir):
    d = tmp_path / "imgs"
    d.mkdir()
    shutil.copy(raccoon_dir / "images" / "raccoon-1.jpg", d / "good.jpg")
    _png_claiming(d / "bomb.png", 100_000, 100_000)
    # a real, valid PNG: 144 megapixels in 1 bit per pixel compress to a few hundred KB
    Image.new("1", (12_000, 12_000)).save(d / "huge.png")
    os.symlink(d / "nowhere.jpg", d / "gone.jpg")
    os.symlink(d / "loop.jpg", d / "loop.jpg")
    (d / "x.jpg").mkdir()
    return d


def test_lying_headers_and_odd_entries_become_rows_with_issues_not_an_aborted_import(
    hostile_folder, tmp_path
):
    assert (hostile_folder / "huge.png").stat().st_size < 1_000_000
    ds = nbl.Dataset.from_folder(hostile_folder, db=tmp_path / "l.db")
    issues = ds.df["issues"].to_dict()
    assert issues["good"] is None and ds.df.at["good", "width"] == 650
    assert "too large" in issues["bomb"]
    assert "too large" in issues["huge"] and "12000x12000" in issues["huge"]
    assert MAX_PIXELS_ENV in issues["huge"]  # what to do about it
    assert "broken link" in issues["gone"] and "nowhere.jpg" in issues["gone"]
    assert issues["loop"]  # a link to itself is not silently dropped either
    assert any("x.jpg (a folder)" in line for line in ds.import_report)
    assert (ds.df.loc[["bomb", "huge", "gone", "loop"], "width"] == 0).all()


def test_a_huge_image_is_refused_from_its_header_before_decoding(hostile_folder):
    t = time.perf_counter()
    with pytest.raises(ImageError, match="huge.png: image too large"):
        load_rgb(hostile_folder / "huge.png")
    with pytest.raises(ImageError, match="bomb.png: image too large"):
        load_rgb(hostile_folder / "bomb.png")
    with pytest.raises(ImageError, match="too large"):
        image_size(hostile_folder / "bomb.png")
    assert time.perf_counter() - t < 2.0


def test_decoding_the_huge_png_stays_small_in_memory(hostile_folder):
    # measured in a fresh process: its peak memory is what the refusal saved
    code = textwrap.dedent(
        f"""
        from nblabel.images import ImageError, load_rgb
        try:
            load_rgb({str(hostile_folder / "huge.png")!r})
        except ImageError:
            pass
        status = open("/proc/self/status").read()
        print(int(status.split("VmHWM:")[1].split()[0]) // 1024)  # peak resident MB
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) < 200  # decoding it takes 1.7 GB


def test_the_pixel_limit_can_be_raised(hostile_folder, monkeypatch):
    monkeypatch.setenv(MAX_PIXELS_ENV, str(200_000_000))
    assert image_size(hostile_folder / "huge.png") == (12_000, 12_000)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ValueError, match=MAX_PIXELS_ENV):
        image_size(hostile_folder / "good.jpg")
