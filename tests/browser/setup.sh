#!/usr/bin/env bash
# Make sure the real-browser tests can run: Debian's chromium and the Playwright client.
# Usage: bash tests/browser/setup.sh [PYTHON]     (default: .venv/bin/python)
# Idempotent and quick when done (two version checks). Fails loudly when chromium cannot be installed
# or started: CI must not pass without the browser tests. A human may set SKIP_BROWSER_TESTS=1 to skip them.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${1:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ "${SKIP_BROWSER_TESTS:-0}" = "1" ]; then
    echo "browser setup: SKIP_BROWSER_TESTS=1, not installing chromium (the browser tests will be skipped)"
    exit 0
fi

if ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo "browser setup: the Playwright client is missing; installing the dev extra"
    "$PY" -m pip install --quiet -e ".[dev]"
fi

if [ ! -x "$CHROMIUM" ]; then
    echo "browser setup: $CHROMIUM not found; installing Debian's chromium package"
    SUDO=""
    if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            SUDO="sudo -n"
        else
            echo "browser setup FAILED: chromium is missing and installing it needs root (or sudo without a password)." >&2
            echo "  Run: sudo apt-get update && sudo apt-get install -y chromium" >&2
            echo "  or set SKIP_BROWSER_TESTS=1 to skip the browser tests on purpose." >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "browser setup FAILED: no apt-get here; install chromium and set CHROMIUM=/path/to/it" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium fonts-dejavu-core; } >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "browser setup FAILED: apt-get could not install chromium (log above)" >&2
        exit 1
    fi
    rm -f "$log"
fi

# It must start, not just exist (a missing shared library shows up here, not in the middle of a test).
if ! version=$("$CHROMIUM" --headless --no-sandbox --disable-gpu --version 2>/dev/null); then
    echo "browser setup FAILED: $CHROMIUM does not start:" >&2
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --version >&2 || true
    exit 1
fi
echo "browser setup: ok ($version)"
