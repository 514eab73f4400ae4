#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests and benchmarks, if it is not there yet.
#
# The tests drive /usr/bin/chromium through Playwright's executable_path. We never run
# `playwright install`: it downloads its own browser build, which offline CI machines cannot
# fetch, whereas the distribution package comes from the ordinary package mirror.
#
# Safe to run any number of times: it does nothing when the binary already exists.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "chromium present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: $CHROMIUM is missing and we are not root (and there is no sudo)." >&2
        echo "Install it with: apt-get install -y chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core

if [ ! -x "$CHROMIUM" ]; then
    echo "error: apt-get finished but $CHROMIUM does not exist" >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
