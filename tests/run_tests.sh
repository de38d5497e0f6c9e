#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: unit tests, every notebook under nbval, and the
# real-browser tests. Usage: bash tests/run_tests.sh [PYTHON]   (default: .venv/bin/python)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg

# Services the browser tests need (Debian chromium); the script is idempotent and fast when done.
if [ -f tests/browser/setup.sh ]; then
    bash tests/browser/setup.sh "$PY" || { echo "browser test setup failed"; exit 1; }
fi

"$PY" -m pytest tests notebooks lecture_utils widgets --doctest-modules --nbval-lax --nbval-current-env \
    -p no:cacheprovider --durations=15 -o console_output_style=classic "${@:2}"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest ran no tests: that is a failure of the suite, not a pass"
    exit 1
fi
exit "$rc"
