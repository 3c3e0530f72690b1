#!/usr/bin/env bash
# One command from a fresh clone: create .venv (CPU build of torch), install archer, run the test suite.
#   bash scripts/test.sh                 # everything (slow tests included)
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
#   ARCHER_TEST_WORKERS=1 bash scripts/test.sh   # one process (default: one pytest-xdist worker per core, at most 4)
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap (the code reward's sandbox; its tests skip with a reason when it is missing), .venv,
# requirements-cpu.txt and archer itself: scripts/cpu_env.sh, shared with the launchers' --smoke; `megatron`:
# also requirements-megatron-cpu.txt, which only tests/test_aspo_megatron_moe_ep2_matches_fsdp.py uses
# shellcheck source=scripts/cpu_env.sh
source scripts/cpu_env.sh
archer_cpu_env "$PWD" "${PYTHON:-python3}" "${VENV:-.venv}" test.sh megatron

# pytest-xdist workers: tests/conftest.py hands them whole files, or the groups of files that must share one
# worker, heaviest first. -n, --numprocesses or -p no:xdist in the
# arguments win; ARCHER_TEST_WORKERS=1 runs everything in this one process.
# (the cores this process may use: GNU nproc would answer OMP_NUM_THREADS instead, when it is set)
workers=${ARCHER_TEST_WORKERS:-$(n=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc); echo $((n < 4 ? n : 4)))}
parallel=()
case " $* " in
  *" -n"* | *" --numprocesses"* | *" no:xdist "* | *" -pno:xdist "*) ;;
  *) [ "$workers" -gt 1 ] && parallel=(-n "$workers") ;;
esac
exec "$ARCHER_VENV_PYTHON" -m pytest "${parallel[@]}" "$@"
