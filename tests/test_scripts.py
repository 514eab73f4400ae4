"""The set-up scripts: `scripts/lab.sh` after `scripts/test.sh` installs nothing again.

Both run ``scripts/setup.sh`` (``test`` for the suite, ``run`` for JupyterLab). The test
install is a superset of the run install, so a ``run`` after a ``test`` must find the stamp
and skip pip. The scripts run for real against a stand-in virtual environment whose
``python`` records how it was called, so no package is installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def fake_venv(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "python-calls.log"
    py = venv / "bin" / "python"
    py.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 0\n')
    py.chmod(0o755)
    return venv, log


def setup(want: str, venv: Path) -> str:
    env = dict(os.environ, NBLABEL_VENV=str(venv))
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), want],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def pip_runs(log: Path) -> int:
    if not log.exists():
        return 0
    return sum("pip install" in line for line in log.read_text().splitlines())


def test_run_after_test_does_not_install_again(fake_venv):
    venv, log = fake_venv
    out = setup("test", venv)
    assert "installing nblabel[test]" in out
    installs = pip_runs(log)
    assert installs >= 1

    out = setup("run", venv)  # what scripts/lab.sh does first
    assert pip_runs(log) == installs, out
    assert "installing" not in out and "downloads torch" not in out

    setup("test", venv)  # and a second test.sh installs nothing either
    assert pip_runs(log) == installs


def test_test_after_run_installs_the_test_extras(fake_venv):
    venv, log = fake_venv
    setup("run", venv)
    installs = pip_runs(log)
    out = setup("test", venv)
    assert "installing nblabel[test]" in out and pip_runs(log) > installs
