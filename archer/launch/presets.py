"""Model presets (``MODEL=<name>``, docs/models.md): each preset's launcher defaults, as data.

A preset's values sit between the environment and the task defaults (archer.launch.resolve): an environment
variable still wins. Every setting a preset does not list is the 1.5B run's (the Archer2.0 settings of
archer/launch/settings.py). ``context`` is the model's ``max_position_embeddings``: the dry run checks prompt +
response against it when the model's own config is not on disk.

Citations: **A2** = Archer2.0's scripts (archer/launch/settings.py); **v2** = the paper's v2 names the model
(its per-model training settings were not available to this project, so every other value is ours and says
why, docs/models.md); **card** = the model's Hugging Face card / config.json; **verl** = verl's example for
Qwen3-30B-A3B on one 8-GPU node, examples/grpo_trainer/run_qwen3moe-30b_megatron_96gb.sh.

Standard library only, as archer.launch.settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Preset:
    name: str
    doc: str
    values: Mapping[str, str]  # launcher variable -> default (the environment wins)
    context: int  # the model's max_position_embeddings [card]
    why: Mapping[str, str] = field(default_factory=dict)  # variable -> where the value comes from


DEFAULT = "r1-distill-qwen-1.5b"

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        "r1-distill-qwen-1.5b",
        "DeepSeek-R1-Distill-Qwen-1.5B, the model of the paper's main tables and of Archer2.0's scripts: the "
        "defaults are its settings (FSDP, 8 x 80 GB GPUs, rollout TP 1, no sequence parallelism, no offload)",
        {"MODEL_PATH": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "ENGINE": "fsdp"},
        context=131072,
        why={"MODEL_PATH": "A2 loads ./models/DeepSeek-R1-Distill-Qwen-1.5B"},
    ),
    Preset(
        "qwen3-4b",
        "Qwen3-4B [v2]: FSDP as the 1.5B model; 4.0 B params x 16 bytes / 8 GPUs = 8 GB per GPU, and a 34,816-"
        "token micro-batch costs about what it costs the 1.5B model, so no sequence parallelism or offload",
        {"MODEL_PATH": "Qwen/Qwen3-4B", "ENGINE": "fsdp", "SP_SIZE": "1", "ROLLOUT_TP": "1"},
        context=40960,
        why={"MODEL_PATH": "v2: the post-trained (thinking) model; Qwen/Qwen3-4B-Base is a MODEL_PATH away",
             "ROLLOUT_TP": "ours: 8 GB of bf16 weights leave most of one GPU to the KV cache"},
    ),
    Preset(
        "qwen3-8b",
        "Qwen3-8B [v2]: FSDP with Ulysses sequence parallelism over 2 GPUs (a 34,816-token micro-batch's fp32 "
        "logits alone take ~21 GB; SP 2 halves each GPU's tokens, for headroom on 80 GB)",
        {"MODEL_PATH": "Qwen/Qwen3-8B", "ENGINE": "fsdp", "SP_SIZE": "2", "ROLLOUT_TP": "1"},
        context=40960,
        why={"MODEL_PATH": "v2: the post-trained (thinking) model; Qwen/Qwen3-8B-Base is a MODEL_PATH away",
             "SP_SIZE": "ours: SP_SIZE=1 is faster if it fits",
             "ROLLOUT_TP": "ours: 16 GB of bf16 weights still leave ~40 GB of KV cache at 0.75 utilisation"},
    ),
    Preset(
        "qwen3-30b-a3b",
        "Qwen3-30B-A3B [v2], 128 experts, 8 active (3.3 B active of 30.5 B) [card]: verl's Megatron engine "
        "with expert parallelism over the 8 GPUs (16 experts per GPU) as in [verl]; fp32 master weights and "
        "Adam states in host memory (~0.5 TB of host RAM); full activation recompute; rollout TP 4",
        {"MODEL_PATH": "Qwen/Qwen3-30B-A3B", "ENGINE": "megatron", "TRAIN_TP": "1", "TRAIN_PP": "1",
         "TRAIN_CP": "1", "TRAIN_EP": "8", "TRAIN_ETP": "1", "OFFLOAD": "True", "OPTIMIZER_CPU_OFFLOAD": "True",
         "RECOMPUTE": "full", "MOE_ROUTER_DTYPE": "fp32", "ROLLOUT_TP": "4", "MAX_CKPT_TO_KEEP": "2"},
        context=40960,
        why={"MODEL_PATH": "v2: the post-trained model; Qwen/Qwen3-30B-A3B-Base is a MODEL_PATH away",
             "TRAIN_EP": "verl COMMON_EP=8: 128 experts / 8 = 16 per GPU",
             "OPTIMIZER_CPU_OFFLOAD": "verl optimizer_cpu_offload=True, optimizer_offload_fraction=1",
             "OFFLOAD": "verl offload=True",
             "RECOMPUTE": "ours: 34,816-token micro-batches (the 8k-token verl example recomputes attention only)",
             "MOE_ROUTER_DTYPE": "verl moe_router_dtype=fp32",
             "ROLLOUT_TP": "verl INFER_TP=4: 61 GB of bf16 weights, 2 engines per node",
             "MAX_CKPT_TO_KEEP": "ours: one checkpoint is ~430 GB (bf16 + fp32 master + Adam)"},
    ),
)}


def context_of(model_path: str) -> int | None:
    """The context of the preset whose model is ``model_path`` (a hub id), or None."""
    for preset in PRESETS.values():
        if preset.values.get("MODEL_PATH") == model_path:
            return preset.context
    return None
