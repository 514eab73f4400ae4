#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with nblabel installed (editable).
#   scripts/setup.sh          runtime only (JupyterLab, models, widgets)
#   scripts/setup.sh test     + test tools, Chromium (Debian package) and the JS build tools
# Each step leaves a stamp so a second run skips work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
want=${1:-run}

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
stamp="$VENV/.nblabel-$want-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing nblabel$extras into $VENV (first run downloads torch: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install -q -e ".$extras" 2>&1 | grep -vE "^WARNING: Location|is ignored" || true
  "$VENV/bin/python" -c "import nblabel, ultralytics, anywidget" || {
    echo "setup: installation failed (see pip output above)" >&2; exit 1; }
  touch "$stamp"
fi

if [ "$want" = "test" ]; then
  bash scripts/install_browser.sh
  if [ ! -x js/node_modules/.bin/esbuild ]; then
    command -v npm >/dev/null 2>&1 || {
      echo "setup: npm is needed to rebuild the widget bundle (apt-get install -y nodejs npm)" >&2; exit 1; }
    echo "setup: installing JS build tools (esbuild) into js/node_modules"
    (cd js && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
