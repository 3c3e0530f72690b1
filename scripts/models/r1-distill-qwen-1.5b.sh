# shellcheck shell=bash
# MODEL=r1-distill-qwen-1.5b (the default): the model of the paper's main tables and of Archer2.0's scripts.
# Sourced by scripts/aspo_common.sh before its defaults; every value is `: "${VAR:=...}"`, so an environment
# variable still wins. Citations as in aspo_common.sh ([A2] = Archer2.0's scripts, docs/models.md).
#
# Nothing to change: aspo_common.sh's defaults are the Archer2.0 / paper settings for this model (FSDP engine,
# 8 x 80 GB GPUs, rollout TP 1, no sequence parallelism, no offload).
: "${MODEL_PATH:=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B}"   # [A2] ./models/DeepSeek-R1-Distill-Qwen-1.5B
: "${ENGINE:=fsdp}"
