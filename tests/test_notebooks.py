"""Every notebook in notebooks/ runs top to bottom on a real kernel without an error.

The notebooks are the first thing a user runs; one that breaks is a broken product. They run
with NBLABEL_QUICK=1, which the long ones read to train for fewer epochs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, shared_dir, monkeypatch):
    # run a copy in a scratch folder so nothing a notebook writes lands in the repository
    work = tmp_path / "notebooks"
    shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("*.db*", ".ipynb_checkpoints"))
    monkeypatch.setenv("NBLABEL_SHARED", str(shared_dir))
    monkeypatch.setenv("NBLABEL_DATA", str(shared_dir / "datasets"))
    monkeypatch.setenv("NBLABEL_QUICK", "1")
    monkeypatch.setenv("NBLABEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(work / path.name, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on the first error
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    assert os.path.exists(work / path.name)
