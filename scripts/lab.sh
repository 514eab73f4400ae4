#!/usr/bin/env bash
# The main job: JupyterLab on the quickstart notebook, with everything it needs installed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export NBLABEL_SHARED="${NBLABEL_SHARED:-$(cd .. && pwd)/shared}"
export NBLABEL_DATA="${NBLABEL_DATA:-$NBLABEL_SHARED/datasets}"
# checkpoints on this machine (the COCO yolov5n.pt) serve as General AI and Custom AI base offline
export NBLABEL_WEIGHTS_DIR="${NBLABEL_WEIGHTS_DIR:-$NBLABEL_SHARED/models}"
args=(--notebook-dir="$(pwd)" --ServerApp.ip=127.0.0.1)
[ "$(id -u)" = "0" ] && args+=(--allow-root)
exec .venv/bin/jupyter lab "${args[@]}" "$@" notebooks/quickstart.ipynb
