#!/usr/bin/env bash
# One command from a fresh clone: create .venv (CPU build of torch), install archer, run the test suite.
#   bash scripts/test.sh                 # everything (slow tests included)
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap (the code reward's sandbox; its tests skip with a reason when it is missing), .venv,
# requirements-cpu.txt and archer itself: scripts/cpu_env.sh, shared with the launchers' --smoke; `megatron`:
# also requirements-megatron-cpu.txt, which only tests/test_aspo_megatron_moe_ep2_matches_fsdp.py uses
# shellcheck source=scripts/cpu_env.sh
source scripts/cpu_env.sh
archer_cpu_env "$PWD" "${PYTHON:-python3}" "${VENV:-.venv}" test.sh megatron

exec "$ARCHER_VENV_PYTHON" -m pytest "$@"
