#!/usr/bin/env bash
# ASPO on code: DeepSeek-R1-Distill-Qwen-1.5B (or MODEL=<preset>, docs/models.md), the Archer2.0 / paper settings (scripts/aspo_common.sh,
# docs/launch.md). Every value is an environment variable; hydra overrides after the flags win.
# The code reward runs programs in a bubblewrap sandbox: apt-get install bubblewrap on every node.
#   bash scripts/run_aspo_code.sh --dry-run        # CPU: validated config as YAML on stdout
#   bash scripts/run_aspo_code.sh                  # GPU node: install check, data prep, training
set -euo pipefail

ASPO_TASK=code
# validation set (data/eval/<name>.parquet) [A2 TEST_FILE=livecodebench_v5, with test_freq=-1]
ASPO_TASK_VAL_SETS="livecodebench_v5"

# shellcheck source=scripts/aspo_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/aspo_common.sh"
aspo_main "$@"
