# shellcheck shell=bash
# MODEL=qwen3-30b-a3b: Qwen3-30B-A3B, the mixture-of-experts base model of the paper's v2 (docs/models.md):
# 30.5 B parameters, 128 experts per layer, 8 active per token (3.3 B active), 48 layers [card].
# Sourced by scripts/aspo_common.sh before its defaults; every value is `: "${VAR:=...}"`, so an environment
# variable still wins.
#
# Citations:
#   [v2]    the paper's v2 names the model. Its per-model training settings were not available to this
#           project when the preset was written, so every other value is ours and says why (docs/models.md).
#   [card]  the Qwen3 model card / config.json on the Hugging Face hub (Qwen/Qwen3-30B-A3B)
#   [verl]  verl's example for this model on one 8-GPU node, examples/grpo_trainer/run_qwen3moe-30b_megatron_96gb.sh
#           (github.com/volcengine/verl; "tested in NNODES=1~4 * 96G H20 GPU")
#
# Every setting not listed here is the 1.5B run's ([A2] in aspo_common.sh). Never run by this project on
# GPUs; its CPU evidence is the tiny-MoE EP=2 test (tests/test_aspo_megatron_moe_ep2_matches_fsdp.py).
: "${MODEL_PATH:=Qwen/Qwen3-30B-A3B}"   # [v2] the post-trained model; Qwen/Qwen3-30B-A3B-Base is a MODEL_PATH away
# How it fits one 8 x 80 GB node (docs/models.md has the arithmetic): verl's Megatron engine with expert
# parallelism over the 8 GPUs (16 of the 128 experts per GPU), no tensor or pipeline parallelism, as in
# [verl]. FSDP would gather every layer's 128 experts on every GPU and run them through transformers' MoE
# block, and needs the same CPU offload on top: Megatron's EP is the layout built for this model.
: "${ENGINE:=megatron}"
: "${TRAIN_TP:=1}"    # [verl COMMON_TP=1]
: "${TRAIN_PP:=1}"    # [verl COMMON_PP=1]
: "${TRAIN_CP:=1}"    # [verl COMMON_CP=1]
: "${TRAIN_EP:=8}"    # [verl COMMON_EP=8]: 128 experts / 8 = 16 per GPU
: "${TRAIN_ETP:=1}"   # [verl COMMON_ETP=1]
# Per GPU: 5.2 B bf16 weights (16 experts x 48 layers + the replicated attention and embeddings) = 10 GB and
# their fp32 gradients 21 GB. The fp32 master weights and Adam states (~46 GB per GPU, ~370 GB for the node)
# live in host memory: Megatron's CPU optimizer [verl optimizer_cpu_offload=True, optimizer_offload_fraction=1]
# plus verl's param / optimizer offload while the rollout runs [verl offload=True]. Needs ~0.5 TB of host RAM.
: "${OFFLOAD:=True}"
: "${OPTIMIZER_CPU_OFFLOAD:=True}"
# full activation recompute, one layer at a time, for 34,816-token micro-batches (our choice; the 8k-token
# [verl] example recomputes only core attention)
: "${RECOMPUTE:=full}"
# routing in fp32 [verl moe_router_dtype=fp32]
: "${MOE_ROUTER_DTYPE:=fp32}"
# vLLM: 61 GB of bf16 weights, 4 GPUs per engine [verl INFER_TP=4] -> 2 engines per node
: "${ROLLOUT_TP:=4}"
# one checkpoint (bf16 weights + fp32 master + Adam, ~14 bytes/param) is ~430 GB: keep 2 (our choice; the
# GPU preflight checks the disk)
: "${MAX_CKPT_TO_KEEP:=2}"
# lengths: as for qwen3-4b, 34,816 tokens < max_position_embeddings 40,960 [card config.json]
