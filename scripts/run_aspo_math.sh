#!/usr/bin/env bash
# ASPO on math: DeepSeek-R1-Distill-Qwen-1.5B (or MODEL=<preset>, docs/models.md) with the Archer2.0 / paper
# settings. Every setting is an environment variable declared once in archer/launch/settings.py (docs/launch.md);
# hydra overrides after the flags win. The launcher itself is python -m archer.launch.run (standard library
# until it hands over to the interpreter with verl).
#   bash scripts/run_aspo_math.sh --dry-run        # CPU: every check, the validated config as YAML on stdout
#   bash scripts/run_aspo_math.sh --smoke          # any machine: the whole job on CPU in minutes (docs/smoke.md)
#   bash scripts/run_aspo_math.sh                  # GPU node: install check, preflight, data prep, training
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python3}" -m archer.launch.run --task math "$@"
