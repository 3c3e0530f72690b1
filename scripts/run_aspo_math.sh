#!/usr/bin/env bash
# ASPO on math: DeepSeek-R1-Distill-Qwen-1.5B (or MODEL=<preset>, docs/models.md), the Archer2.0 / paper settings (scripts/aspo_common.sh,
# docs/launch.md). Every value is an environment variable; hydra overrides after the flags win.
#   bash scripts/run_aspo_math.sh --dry-run        # CPU: validated config as YAML on stdout
#   bash scripts/run_aspo_math.sh                  # GPU node: install check, data prep, training
set -euo pipefail

ASPO_TASK=math
# validation sets (data/eval/<name>.parquet): the math benchmarks the paper reports. [A2] validated on
# aime2025 only, and with test_freq=-1 (validation off by default here too: TEST_FREQ)
ASPO_TASK_VAL_SETS="aime2024 aime2025 amc2023 math500 minerva olympiadbench"

# shellcheck source=scripts/aspo_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/aspo_common.sh"
aspo_main "$@"
