"""Every notebook in notebooks/ runs top to bottom on a real kernel without an error.

The notebooks are the first thing a user runs; one that breaks is a broken product. They run
with NBLABEL_QUICK=1, which the long ones read to train for fewer epochs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _untracked(folder: Path) -> set[str] | None:
    """Untracked and ignored files under ``folder`` (None outside a git checkout)."""
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run(
        [git, "status", "--porcelain", "--ignored", "--untracked-files=all", "."],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        return None
    return {line for line in done.stdout.splitlines() if line[:2] in ("??", "!!")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, shared_dir, monkeypatch):
    # Run in place, from notebooks/, as a user does: what a notebook writes (databases,
    # training runs, exports) must go to the data folder ($NBLABEL_HOME), not the repository.
    work = path.parent
    before = _untracked(work)
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
    after = _untracked(work)
    if before is not None and after is not None:
        assert after <= before, f"{path.name} wrote into the repository: {sorted(after - before)}"


def test_quickstart_code_writes_leave_the_users_labels_alone(tmp_path, shared_dir, monkeypatch):
    """A user draws a box on the image the Annotator opened with, then runs the cells below
    it: the "same write from code" cells must not replace that box."""
    path = next(p for p in NOTEBOOKS if p.stem == "quickstart")
    for name, value in (
        ("NBLABEL_SHARED", str(shared_dir)),
        ("NBLABEL_DATA", str(shared_dir / "datasets")),
        ("NBLABEL_QUICK", "1"),
        ("NBLABEL_HOME", str(tmp_path / "home")),
        ("MPLBACKEND", "Agg"),
    ):
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "nbl.Annotator(" in c.source)
    user = (
        "first_shown = annotator.key\n"
        "W, H = ds.df.at[first_shown, 'width'], ds.df.at[first_shown, 'height']\n"
        "user_box = [{'label': ds.classes[0], 'bbox': [0.1 * W, 0.1 * H, 0.3 * W, 0.4 * H]}]\n"
        "ds.annotate(first_shown, user_box, kind='added', status='unlabeled')\n"  # as the widget does
        "user_box = ds.row(first_shown)['annotations']\n"
    )
    check = "assert ds.row(first_shown)['annotations'] == user_box, ds.row(first_shown)['annotations']\n"
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(user))
    nb.cells.append(nbformat.v4.new_code_cell(check))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
