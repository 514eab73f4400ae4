"""Fixtures shared by the whole suite: real data from ../shared, fresh databases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBLABEL_SHARED", ROOT.parent / "shared")).resolve()

# Model fixtures (tiny checkpoints built from yaml) and the JupyterLab + Chromium harness.
pytest_plugins = ["support.model_fixtures", "support.browser"]
# Not a module of examples: `--doctest-modules` (scripts/test.sh) would import this file as
# `conftest`, the name src/conftest.py (the examples' scratch folder) has too.
collect_ignore = ["conftest.py"]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(
            f"shared data not found at {SHARED}; set NBLABEL_SHARED to the folder that holds "
            "datasets/ and models/"
        )
    return SHARED


@pytest.fixture(scope="session")
def raccoon_dir(shared_dir) -> Path:
    return shared_dir / "datasets" / "raccoon"


@pytest.fixture(scope="session")
def yunet_path(shared_dir) -> Path:
    return shared_dir / "models" / "face_detection_yunet.onnx"


@pytest.fixture()
def folder(raccoon_dir, tmp_path):
    """A folder of the first ``n`` raccoon images (symlinks), built on demand."""

    def make(n, name="imgs"):
        d = tmp_path / name
        d.mkdir()
        names = sorted(os.listdir(raccoon_dir / "images"), key=lambda s: int(s[8:-4]))[:n]
        for f in names:
            os.symlink(raccoon_dir / "images" / f, d / f)
        return d

    return make


@pytest.fixture()
def db(tmp_path) -> Path:
    return tmp_path / "labels.db"
