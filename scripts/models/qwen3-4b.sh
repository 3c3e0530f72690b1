# shellcheck shell=bash
# MODEL=qwen3-4b: Qwen3-4B, one of the base models of the paper's v2 (docs/models.md).
# Sourced by scripts/aspo_common.sh before its defaults; every value is `: "${VAR:=...}"`, so an environment
# variable still wins.
#
# Citations:
#   [v2]   the paper's v2 names the model. Its per-model training settings were not available to this
#          project when the preset was written, so every other value is ours and says why (docs/models.md).
#   [card] the Qwen3 model card / config.json on the Hugging Face hub (Qwen/Qwen3-4B)
#
# Every setting not listed here is the 1.5B run's ([A2] in aspo_common.sh): lengths, batch, rollout n,
# temperature, lr, warm-up, KL, clip settings, reward, filtering, epochs. Not stated for this model in the
# sources we had: our choice, so that an ASPO-vs-GRPO comparison changes only the model.
: "${MODEL_PATH:=Qwen/Qwen3-4B}"   # [v2] the post-trained (thinking) model; Qwen/Qwen3-4B-Base is a MODEL_PATH away
# FSDP as for the 1.5B model. Our estimate (docs/models.md): 4.0 B params x 16 bytes (fp32 weights, grads,
# Adam) / 8 GPUs = 8 GB per GPU; the 34,816-token micro-batches cost about what they cost the 1.5B model
# (same vocabulary, hidden 2560 vs 1536), so no sequence parallelism and no offload are needed on 80 GB.
: "${ENGINE:=fsdp}"
: "${SP_SIZE:=1}"
# 8 GB of bf16 weights: one GPU per vLLM engine leaves most of it to the KV cache (our choice)
: "${ROLLOUT_TP:=1}"
# lengths: the 1.5B run's 2,048 + 32,768 = 34,816 tokens fit Qwen3's max_position_embeddings of 40,960
# [card config.json]; the card recommends 32,768 output tokens for most queries and up to 38,912 for
# competition math and code [card, best practices]
