# shellcheck shell=bash
# MODEL=qwen3-8b: Qwen3-8B, one of the base models of the paper's v2 (docs/models.md).
# Sourced by scripts/aspo_common.sh before its defaults; every value is `: "${VAR:=...}"`, so an environment
# variable still wins.
#
# Citations:
#   [v2]   the paper's v2 names the model. Its per-model training settings were not available to this
#          project when the preset was written, so every other value is ours and says why (docs/models.md).
#   [card] the Qwen3 model card / config.json on the Hugging Face hub (Qwen/Qwen3-8B)
#
# Every setting not listed here is the 1.5B run's ([A2] in aspo_common.sh). Not stated for this model in the
# sources we had: our choice, so that an ASPO-vs-GRPO comparison changes only the model.
: "${MODEL_PATH:=Qwen/Qwen3-8B}"   # [v2] the post-trained (thinking) model; Qwen/Qwen3-8B-Base is a MODEL_PATH away
: "${ENGINE:=fsdp}"
# Our estimate (docs/models.md): 8.2 B params x 16 bytes / 8 GPUs = 16 GB per GPU of sharded state, and a
# 34,816-token micro-batch's logits alone (vocabulary 151,936, fp32) take ~21 GB with its activation
# checkpoints another ~10 GB (hidden 4096, 36 layers). Ulysses sequence parallelism over 2 GPUs halves the
# tokens each GPU holds, for headroom on 80 GB (our choice; SP_SIZE=1 is faster if it fits).
: "${SP_SIZE:=2}"
# 16 GB of bf16 weights: one GPU per vLLM engine still leaves ~40 GB of KV cache at 0.75 utilisation
: "${ROLLOUT_TP:=1}"
# lengths: as for qwen3-4b, 34,816 tokens < max_position_embeddings 40,960 [card config.json]
