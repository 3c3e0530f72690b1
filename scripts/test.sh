#!/usr/bin/env bash
# One command from a fresh clone: create .venv (CPU build of torch), install archer, run the test suite.
#   bash scripts/test.sh                 # everything (slow tests included)
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# The code reward's sandbox uses bubblewrap (Debian/Ubuntu package `bubblewrap`). Installed here when
# missing and we are root with apt; otherwise its tests skip with a reason.
if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[test.sh] installing bubblewrap" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
    || echo "[test.sh] could not install bubblewrap; sandbox tests will skip" >&2
fi

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
