"""verl on a CPU-only host: a "cpu" platform, FSDP2 engine registration, a gloo group and a tiny model.

Shared by the tests that drive verl's real FSDP2 engine (``test_actor_step_through_verl_engine.py``,
``test_export_*.py``). verl detects no accelerator on a CPU-only host and falls back to the CUDA
platform (``get_device_name() == "cuda"``); these helpers route around it with verl's own extension
points: archer's own CPU platform (``archer.smoke.platform.CpuPlatform``, the one the smoke run uses)
registered as "cpu" and installed with ``set_platform``, and ``FSDPEngineWithLMHead`` registered in
``EngineRegistry`` for device "cpu".
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist

from verl.plugin.platform import PlatformBase, platform_manager, set_platform

# vocabulary size of the tiny model and its word-level tokenizer
VOCAB = 64


def use_cpu_platform() -> Optional[PlatformBase]:
    """Make verl run on CPU; returns the platform that was installed before (None if none was)."""
    from archer.smoke.platform import CpuPlatform, register

    previous = platform_manager._current_platform
    register()
    set_platform(CpuPlatform())

    # imported only now: verl.workers.engine resolves the platform at import time
    from verl.workers.engine import EngineRegistry, FSDPEngineWithLMHead

    try:
        EngineRegistry.get_engine_cls("language_model", "fsdp2")
    except ValueError:  # nothing registered for device "cpu" yet
        EngineRegistry.register(model_type="language_model", backend="fsdp2", device="cpu")(FSDPEngineWithLMHead)
    return previous


def restore_platform(previous: Optional[PlatformBase]) -> None:
    """Put back the platform that ``use_cpu_platform`` returned."""
    platform_manager._current_platform = previous


def init_gloo(init_file: Path, rank: int, world_size: int) -> bool:
    """Start a gloo process group unless one is already up; returns whether this call started it."""
    if dist.is_initialized():
        assert dist.get_world_size() == world_size, "an unrelated process group is already initialized"
        return False
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    return True


# what archer's trainer config needs to run verl's FSDP2 engine on this host
CPU_ENGINE_OVERRIDES = (
    "+actor_rollout_ref.model.override_config.attn_implementation=sdpa",
    "actor_rollout_ref.actor.strategy=fsdp2",
    "actor_rollout_ref.actor.use_torch_compile=false",
    "actor_rollout_ref.actor.fsdp_config.use_torch_compile=false",
)


def compose_engine_config(model_dir: Path, *overrides: str):
    """archer's full trainer config (``aspo_trainer``) for the model in ``model_dir`` on the CPU engine."""
    from archer.trainer.dry_run import compose_config

    return compose_config([f"actor_rollout_ref.model.path={model_dir}", *CPU_ENGINE_OVERRIDES, *overrides])


def build_tiny_model(model_dir: Path) -> Path:
    """A 2-layer Qwen2 (hidden 32) and a word-level tokenizer over the same 64 ids, saved locally."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2}
    vocab.update({f"w{i}": i for i in range(3, VOCAB)})
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    ).save_pretrained(model_dir)

    config = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=False,
        # a larger init than the default 0.02 gives tokens clearly different entropies
        initializer_range=0.2,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(model_dir)
    return model_dir
