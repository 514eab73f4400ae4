#!/usr/bin/env bash
# The whole test suite: lint, unit and data tests, real-browser widget tests, notebooks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export NBLABEL_SHARED="${NBLABEL_SHARED:-$(cd .. && pwd)/shared}"
export NBLABEL_DATA="${NBLABEL_DATA:-$NBLABEL_SHARED/datasets}"
# checkpoints on this machine (the COCO yolov5n.pt) serve as General AI and Custom AI base offline
export NBLABEL_WEIGHTS_DIR="${NBLABEL_WEIGHTS_DIR:-$NBLABEL_SHARED/models}"
export NBLABEL_HOME="${NBLABEL_HOME:-$(mktemp -d)}"   # default databases of tests stay out of ~
export MPLBACKEND=Agg YOLO_OFFLINE=1
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/python -m pytest tests src/nblabel --doctest-modules "$@"
