#!/usr/bin/env bash
# GRPO baseline on code: scripts/run_aspo_code.sh with verl's vanilla PPO/GRPO loss (LOSS_MODE=vanilla)
# and every other setting of the ASPO run, so the two runs differ only in the policy loss
# (docs/reproduce.md). Checkpoints go to checkpoints/$PROJECT_NAME/grpo-<model>-code (MODEL, docs/models.md).
#   bash scripts/run_grpo_code.sh --dry-run        # CPU: validated config as YAML on stdout
#   bash scripts/run_grpo_code.sh                  # GPU node: as run_aspo_code.sh
set -euo pipefail
export LOSS_MODE=vanilla
exec bash "$(dirname "${BASH_SOURCE[0]}")/run_aspo_code.sh" "$@"
