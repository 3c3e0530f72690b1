"""Real verl FSDP2 actor checkpoints for the export tests, written by verl's own engine on CPU.

``make_checkpoint(tmp, world_size)`` builds the tiny Qwen2 of ``verl_cpu_support`` and runs this file
as a script in ``world_size`` processes (gloo). Each rank builds verl's ``FSDPEngineWithLMHead`` (strategy
fsdp2) from archer's composed config, scales every parameter by ``SCALE`` (so the checkpoint differs from
the base model on disk), and calls ``engine.save_checkpoint`` (verl's ``FSDPCheckpointManager``) into
``<tmp>/run/global_step_1/actor``. Rank 0 also saves the engine's full parameters (``full_tensor()``)
as the expected state and the composed config as ``<tmp>/run/.hydra/config.yaml`` (hydra's layout when
training with ``hydra.run.dir`` = the checkpoint root).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

SCALE = 1.5
# the checkpointing engine's settings, on top of verl_cpu_support.CPU_ENGINE_OVERRIDES
ENGINE_OVERRIDES = (
    "actor_rollout_ref.actor.ppo_mini_batch_size=2",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
    "actor_rollout_ref.actor.optim.lr=3e-6",
    "actor_rollout_ref.actor.optim.total_training_steps=1",
    "actor_rollout_ref.rollout.n=8",
    "data.train_batch_size=64",
    "data.max_prompt_length=1024",
    "data.max_response_length=4096",
)


@dataclass
class Checkpoint:
    actor_dir: Path  # .../run/global_step_1/actor
    base_model_dir: Path  # the tiny model the engine was built from
    expected: dict  # full fp32 parameters the engine held when it saved
    run_config: Path  # .../run/.hydra/config.yaml


def _worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--init-file", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--override", action="append", default=[])
    args = parser.parse_args(argv)

    import torch.distributed as dist
    from omegaconf import OmegaConf

    import verl  # noqa: F401
    from verl.utils.config import omega_conf_to_dataclass
    from verl_cpu_support import compose_engine_config, init_gloo, use_cpu_platform

    use_cpu_platform()
    init_gloo(args.init_file, args.rank, args.world_size)
    from verl.workers.engine import EngineRegistry

    cfg = compose_engine_config(args.model_dir, *ENGINE_OVERRIDES, *args.override)
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    model = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)
    actor.model_config = model
    engine = EngineRegistry.new(
        model_type="language_model", backend=actor.engine.strategy, model_config=model,
        engine_config=actor.engine, optimizer_config=actor.optim, checkpoint_config=actor.checkpoint,
    )
    engine.initialize()
    with torch.no_grad():
        for p in engine.module.parameters():
            p.mul_(SCALE)
    engine.save_checkpoint(str(args.run_dir / "global_step_1" / "actor"), global_step=1)
    full = {
        name: (t.full_tensor() if hasattr(t, "full_tensor") else t).detach().clone()
        for name, t in engine.module.state_dict().items()
    }
    if args.rank == 0:
        torch.save(full, args.run_dir / "expected.pt")
        (args.run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
        OmegaConf.save(cfg, args.run_dir / ".hydra" / "config.yaml")
    dist.barrier()
    dist.destroy_process_group()


def use_char_tokenizer(model_dir: Path) -> None:
    """Replace the tiny model's word-level tokenizer by a character-level byte-level BPE (no merges).

    transformers 5 loads a qwen2 model's tokenizer as Qwen2Tokenizer (byte-level BPE) whatever
    tokenizer_class says, and that encodes the word-level vocabulary's text to nothing; single
    characters (with byte-level "Ġ" for a space) encode the export's default prompt to real ids < 64.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2}
    for char in "0123456789abcdefghijklmnopqrstuvwxyzSPĠ.?*+=:\\{}":
        vocab[char] = len(vocab)
    assert len(vocab) <= 64
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model_dir / name).unlink()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    ).save_pretrained(model_dir)


def make_checkpoint(tmp: Path, world_size: int, *overrides: str, timeout_s: float = 300) -> Checkpoint:
    """A real FSDP2 checkpoint written by verl's engine on ``world_size`` gloo ranks (subprocesses);
    ``overrides`` are extra hydra overrides of the actor config (e.g. LoRA settings)."""
    from verl_cpu_support import build_tiny_model

    tmp = Path(tmp)
    model_dir = build_tiny_model(tmp / "base_model")
    use_char_tokenizer(model_dir)
    run_dir = tmp / "run"
    run_dir.mkdir(parents=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")])
    logs = [tmp / f"rank{r}.log" for r in range(world_size)]
    procs = []
    for rank, log in enumerate(logs):
        command = [sys.executable, __file__, "--worker", "--rank", str(rank), "--world-size", str(world_size),
                   "--init-file", str(tmp / "gloo_init"), "--model-dir", str(model_dir), "--run-dir", str(run_dir)]
        command += [f"--override={o}" for o in overrides]
        with open(log, "w") as log_file:
            procs.append(subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + timeout_s
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        if proc.returncode != 0:
            raise RuntimeError(f"checkpoint rank {rank} failed:\n{log.read_text()[-4000:]}")
    return Checkpoint(
        actor_dir=run_dir / "global_step_1" / "actor",
        base_model_dir=model_dir,
        expected=torch.load(run_dir / "expected.pt"),
        run_config=run_dir / ".hydra" / "config.yaml",
    )


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m archer.export ARGS`` in a subprocess (stdout, stderr captured as text)."""
    return subprocess.run(
        [sys.executable, "-m", "archer.export", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker_main(sys.argv[1:])
