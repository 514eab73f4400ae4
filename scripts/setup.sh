#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with nblabel installed (editable).
#   scripts/setup.sh          runtime only (JupyterLab, models, widgets)
#   scripts/setup.sh test     + test tools, Chromium (Debian package), the JS build tools and
#                             Datumaro in an environment of its own (.venv-datumaro)
# Each step leaves a stamp so a second run skips work that is already done; the test install
# is a superset of the run install, so after `setup.sh test` a `setup.sh run` (scripts/lab.sh)
# installs nothing. NBLABEL_VENV puts the environment elsewhere (default: .venv; Datumaro's
# goes beside it, as $NBLABEL_VENV-datumaro).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${NBLABEL_VENV:-$ROOT/.venv}"
want=${1:-run}
# Datumaro (CVAT's import engine) pins pandas 2 and OpenCV 4, older than this project's, so it
# cannot be a test extra; tests/test_datumaro_import.py runs it in $DM_VENV through subprocess
DATUMARO="datumaro==1.13.12"
DM_VENV="$VENV-datumaro"
case "$want" in run|test) ;; *) echo "setup: usage: setup.sh [run|test]" >&2; exit 2;; esac

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.10 python3; do
    if command -v "$c" >/dev/null 2>&1; then PY=$c; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.10+ is needed (python3.11 recommended)" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV with $PY"
  "$PY" -m venv "$VENV" || {
    echo "setup: 'python -m venv' failed; on Debian/Ubuntu: apt-get install -y python3-venv" >&2; exit 1; }
fi

extras=""
[ "$want" = "test" ] && extras="[test]"
hash=$(sha1sum pyproject.toml | cut -c1-12)
stamp="$VENV/.nblabel-$want-$hash"
# a run needs nothing a test install lacks
done_already=false
[ -f "$stamp" ] && done_already=true
[ "$want" = "run" ] && [ -f "$VENV/.nblabel-test-$hash" ] && done_already=true
if [ "$done_already" = false ]; then
  note=""
  "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)" \
    && note=" (first run downloads torch: a few minutes)"
  echo "setup: installing nblabel$extras into $VENV$note"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install -q -e ".$extras" 2>&1 | grep -vE "^WARNING: Location|is ignored" || true
  "$VENV/bin/python" -c "import nblabel, ultralytics, anywidget" || {
    echo "setup: installation failed (see pip output above)" >&2; exit 1; }
  touch "$stamp"
  [ "$want" = "test" ] && touch "$VENV/.nblabel-run-$hash"
fi

if [ "$want" = "test" ]; then
  bash scripts/install_browser.sh
  # JS tools at js/package-lock.json's versions: esbuild builds the bundle, TypeScript checks
  # js/src, Node's own runner tests js/test; reinstalled when the lock changes
  js_stamp="js/node_modules/.nblabel-$(sha1sum js/package-lock.json | cut -c1-12)"
  if [ ! -f "$js_stamp" ]; then
    command -v npm >/dev/null 2>&1 || {
      echo "setup: npm is needed to build and check the widget code (apt-get install -y nodejs npm)" >&2; exit 1; }
    echo "setup: installing JS build and check tools (esbuild, TypeScript) into js/node_modules"
    (cd js && npm ci --no-audit --no-fund --loglevel=error)
    touch "$js_stamp"
  fi

  # built by .venv's Python (the same interpreter version) in one call, from scratch when the
  # pin changes; .venv itself is not touched
  dm_stamp="$DM_VENV/.nblabel-$DATUMARO"
  if [ ! -f "$dm_stamp" ]; then
    echo "setup: installing $DATUMARO into $DM_VENV (its own environment, for the import tests)"
    if ! "$VENV/bin/python" - "$DM_VENV" "$DATUMARO" "$dm_stamp" <<'PY' 2>&1 \
        | { grep -vE "^WARNING: Location|is ignored" || true; }; then
import subprocess, sys, venv
from pathlib import Path

target, requirement, stamp = sys.argv[1:]
venv.create(target, with_pip=True, clear=True)
python = str(Path(target) / "bin" / "python")
for step in ([python, "-m", "pip", "install", "-q", requirement], [python, "-c", "import datumaro"]):
    if subprocess.run(step).returncode:
        sys.exit(1)  # pip has said why
Path(stamp).touch()
PY
      echo "setup: installing Datumaro into $DM_VENV failed (see pip output above)" >&2; exit 1
    fi
  fi
fi
