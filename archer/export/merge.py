"""The merge itself is verl's: ``verl.model_merger`` (``ModelMergerConfig`` + the backend's merger class).

verl's FSDP merger loads every ``model_world_size_W_rank_r.pt``, concatenates the DTensor shards along
their ``Shard`` dim (plain tensors: one copy, identical on every rank), casts every tensor to bfloat16
and writes ``model.safetensors`` (or a sharded index), the config, the tokenizer / processor and the
generation config of the checkpoint's ``huggingface/`` dir. Its prints go to stderr here.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
from pathlib import Path
from typing import Optional

from .errors import ExportError

log = logging.getLogger("archer.export")


def run_verl_merge(
    checkpoint_dir: Path,
    target_dir: Path,
    *,
    backend: str = "fsdp",
    hf_config_dir: Optional[Path] = None,
    trust_remote_code: bool = False,
    tie_word_embedding: bool = False,
    use_cpu_initialization: bool = False,
) -> None:
    """Merge the checkpoint with verl's own merger into ``target_dir`` (no upload: archer does that)."""
    from verl.model_merger.base_model_merger import ModelMergerConfig, _default_hf_model_config_path

    config = ModelMergerConfig(
        operation="merge",
        backend=backend,
        target_dir=str(target_dir),
        local_dir=str(checkpoint_dir),
        hf_model_config_path=str(hf_config_dir or _default_hf_model_config_path(backend, str(checkpoint_dir))),
        trust_remote_code=trust_remote_code,
        tie_word_embedding=tie_word_embedding,
        use_cpu_initialization=use_cpu_initialization,
    )
    if backend == "fsdp":
        from verl.model_merger.fsdp_model_merger import FSDPModelMerger as Merger
    elif backend == "megatron":
        from verl.model_merger.megatron_model_merger import MegatronModelMerger as Merger
    else:
        raise ExportError(f"unknown backend {backend!r}: use 'fsdp' or 'megatron'")
    Path(target_dir).mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):
        merger = Merger(config)
        try:
            merger.merge_and_save()
        finally:
            merger.cleanup()


def ensure_generation_config(out_dir: Path, hf_config_dir: Path, base_model: Optional[str]) -> str:
    """Make sure ``out_dir/generation_config.json`` is the trained model's; returns where it came from.

    Order: the checkpoint's ``huggingface/generation_config.json`` (verl's merger copies it), else the
    ``--base-model`` (a local dir, or a hub id fetched with transformers), else the one transformers
    derives from the model config (what verl's merger writes when the checkpoint has none).
    """
    if (Path(hf_config_dir) / "generation_config.json").is_file():
        return f"checkpoint ({Path(hf_config_dir) / 'generation_config.json'})"
    if base_model:
        local = Path(base_model).expanduser()
        if (local / "generation_config.json").is_file():
            shutil.copyfile(local / "generation_config.json", out_dir / "generation_config.json")
            return f"base model ({local / 'generation_config.json'})"
        if not local.exists():
            try:
                from transformers import GenerationConfig

                GenerationConfig.from_pretrained(base_model).save_pretrained(out_dir)
                return f"base model ({base_model} on the hub)"
            except Exception as exc:  # network or missing file: fall through, said in the log
                log.warning("could not read the generation config of --base-model %s: %s", base_model, exc)
    if (out_dir / "generation_config.json").is_file():
        return "derived from the model config by transformers (the checkpoint had none)"
    return "none (the model cannot generate, or transformers wrote none)"
