#!/usr/bin/env bash
# One command from a fresh clone: create .venv (CPU build of torch), install archer, run the test suite.
#   bash scripts/test.sh                 # everything (slow tests included)
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "[test.sh] creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
# requirements-cpu.txt pins torch to a CPU build; archer itself is installed without re-resolving deps
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-cpu.txt
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .

exec "$VENV/bin/python" -m pytest "$@"
