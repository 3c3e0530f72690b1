"""One ASPO actor step of a tiny Qwen3-MoE through verl's FSDP2 or Megatron engine on CPU (a script).

Started by ``test_aspo_megatron_moe_ep2_matches_fsdp.py`` in subprocesses of its own; pytest imports it
only for the model constants (importing this module loads no megatron and applies no patch):

    python tests/megatron_moe_step.py --engine fsdp2 --build-model --init-file F --model-dir M --out fsdp.pt
    python tests/megatron_moe_step.py --engine megatron --ep 2 --world-size 2 --rank R \\
        --init-file G --model-dir M --out megatron.pt          # once per rank R = 0, 1

All three may start together: the ``--build-model`` run builds the tiny model (:func:`build_tiny_moe_model`)
while the others import, and they wait for its directory to appear.

Each process composes archer's trainer config (``aspo_trainer``, ``aspo_preset=archer2``), builds verl's
engine with ``EngineRegistry.new`` (``FSDPEngineWithLMHead`` or ``MegatronEngineWithLMHead``), runs a
forward-only log-prob / entropy pass and one actor update with
``partial(verl.workers.utils.losses.ppo_loss, config=actor_config)``: archer's wrapped ``ppo_loss``, as
verl's engine workers bind it for either engine. The Megatron run needs megatron-core and mbridge
importable (``requirements-megatron-cpu.txt``) and applies ``megatron_cpu_support``'s process-wide
patches first.

Both Megatron ranks are given the whole batch: with EP=2 on 2 ranks the dense layers form a data-parallel
group of 2 replicas, while each MoE layer's 4 experts are split 2 + 2 over the ranks and tokens reach them
through megatron's all-to-all dispatcher. verl all-reduces the token count over the data-parallel group
and scales the loss by its size, so two replicas of one batch update exactly as one rank with that batch,
and each rank's metrics cover the whole batch (comparable with the one-process FSDP2 run).

Rank 0 writes a ``torch.save`` file: forward-only log-probs and entropies, the update forward's outputs,
the reduced metrics (and each rank's), HF-named parameters before and after the update, and for Megatron
which experts each rank held.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/: verl_cpu_support, megatron_cpu_support

# the batch design, verl's engine as the actor worker drives it, the tiny models' tokenizer: shared with
# test_actor_step_through_verl_engine.py
from verl_cpu_support import (  # noqa: E402
    N_RESPONSES,
    EngineActor,
    advantages_for,
    make_rollout,
    off_policy_old_log_probs,
    save_word_level_tokenizer,
)

# the tiny Qwen3-MoE: every layer a MoE layer of 4 experts, 2 routed per token
NUM_LAYERS = 2
NUM_EXPERTS = 4
TOP_K = 2
HIDDEN = 64


def build_tiny_moe_model(model_dir: Path) -> Path:
    """A 2-layer Qwen3-MoE (hidden 64, 4 experts, top-2) and a word-level tokenizer, saved locally."""
    from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

    from verl_cpu_support import VOCAB

    save_word_level_tokenizer(model_dir)

    config = Qwen3MoeConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        moe_intermediate_size=HIDDEN,
        num_experts=NUM_EXPERTS,
        num_experts_per_tok=TOP_K,
        norm_topk_prob=True,
        decoder_sparse_step=1,
        mlp_only_layers=[],
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=HIDDEN // 4,
        max_position_embeddings=64,
        tie_word_embeddings=False,
        # a larger init than the default 0.02 gives tokens clearly different entropies
        initializer_range=0.2,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
    )
    torch.manual_seed(0)
    Qwen3MoeForCausalLM(config).save_pretrained(model_dir)
    return model_dir


def build_or_wait_for_model(model_dir: Path, build: bool, timeout_s: float) -> None:
    """Build the tiny model into ``model_dir`` (in a side directory renamed into place, so the directory
    appears complete), or wait up to ``timeout_s`` for another process to do so."""
    if build:
        partial_dir = model_dir.with_name(model_dir.name + ".partial")
        build_tiny_moe_model(partial_dir)
        os.rename(partial_dir, model_dir)
        return
    deadline = time.monotonic() + timeout_s
    while not model_dir.is_dir():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{model_dir} did not appear within {timeout_s:.0f} s (built by the --build-model run)")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------------
# config and engine

# both engines: one mini-batch of the 4 responses, fp32, plain SGD with a small lr
COMMON_OVERRIDES = (
    f"actor_rollout_ref.actor.ppo_mini_batch_size={N_RESPONSES}",
    f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={N_RESPONSES}",
    "actor_rollout_ref.actor.optim.weight_decay=0.0",
    "actor_rollout_ref.actor.optim.lr=0.01",
    "actor_rollout_ref.actor.optim.total_training_steps=1",
)

FSDP2_OVERRIDES = (
    "actor_rollout_ref.actor.optim.optimizer=SGD",  # a torch.optim class name
    "+actor_rollout_ref.actor.fsdp_config.mixed_precision={param_dtype: fp32, reduce_dtype: fp32, buffer_dtype: fp32}",
)

_M = "actor_rollout_ref.actor.megatron"
_T = f"{_M}.override_transformer_config"
MEGATRON_OVERRIDES = (
    "model_engine=megatron",
    "+actor_rollout_ref.model.override_config.attn_implementation=sdpa",
    "actor_rollout_ref.actor.optim.optimizer=sgd",  # megatron's optimizer name
    # verl's legacy bridge: its default, Megatron-Bridge, needs transformer-engine
    f"{_M}.vanilla_mbridge=true",
    f"{_M}.tensor_model_parallel_size=1",
    f"{_M}.use_distributed_optimizer=false",
    f"{_M}.sequence_parallel=false",
    # bshd batches: megatron's local attention takes no packed sequences
    f"{_M}.use_remove_padding=false",
    # plain torch modules and no fused (CUDA / transformer-engine) kernels
    f"{_T}.attention_backend=local",
    f"+{_T}.sequence_parallel=false",
    f"+{_T}.persist_layer_norm=false",
    f"+{_T}.masked_softmax_fusion=false",
    f"+{_T}.bias_activation_fusion=false",
    f"+{_T}.bias_dropout_fusion=false",
    f"+{_T}.apply_rope_fusion=false",
    f"+{_T}.gradient_accumulation_fusion=false",
    # experts as SequentialMLP (grouped GEMM needs CUDA)
    f"+{_T}.moe_grouped_gemm=false",
)


def compose_configs(model_dir: Path, engine: str, ep: int):
    """(actor config, model config, rollout temperature) composed from archer's ``aspo_trainer``."""
    from verl.utils.config import omega_conf_to_dataclass

    if engine == "fsdp2":
        from verl_cpu_support import compose_engine_config

        cfg = compose_engine_config(model_dir, *COMMON_OVERRIDES, *FSDP2_OVERRIDES)
    else:
        from archer.launch.dry_run import compose_config

        cfg = compose_config(
            [
                f"actor_rollout_ref.model.path={model_dir}",
                *COMMON_OVERRIDES,
                *MEGATRON_OVERRIDES,
                f"{_M}.expert_model_parallel_size={ep}",
            ]
        )
    actor_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    model_config = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)
    actor_config.model_config = model_config
    if engine == "megatron":
        # McoreEngineConfig.__post_init__ admits only bfloat16 / float16; fp32 compute keeps the comparison
        # with FSDP2 at round-off. The dataclass is frozen: set it past its __setattr__.
        object.__setattr__(actor_config.megatron, "dtype", "float32")
    return actor_config, model_config, float(cfg.actor_rollout_ref.rollout.temperature)


class Actor(EngineActor):
    """verl's FSDP2 or Megatron engine for the tiny MoE model, composed from archer's config (EngineActor)."""

    def __init__(self, model_dir: Path, engine: str, ep: int):
        super().__init__(*compose_configs(model_dir, engine, ep))


# ---------------------------------------------------------------------------------------------------
# parameters by HF name


def megatron_local_parameters(actor: Actor) -> dict[str, torch.Tensor]:
    """This rank's Megatron parameters under HF names (per expert: ``mlp.experts.{g}.gate_proj`` etc.),
    converted by mbridge's own name mapping and weight format (experts under their global ids)."""
    from megatron.core.utils import unwrap_model

    bridge = actor.engine.bridge
    out = {}
    for chunk in actor.engine.module:
        model = unwrap_model(chunk)
        local_to_global = bridge._weight_name_mapping_mcore_local_to_global(model)
        for local, tensor in model.state_dict().items():
            if "_extra_state" in local:
                continue
            names, tensors = bridge._weight_to_hf_format(local_to_global[local], tensor.detach())
            out.update({n: t.float().cpu().clone() for n, t in zip(names, tensors)})
    return out


def megatron_expert_placement(actor: Actor) -> dict:
    """Which experts this rank holds: megatron's EP rank / size and, per layer, the global expert ids of
    its local experts (from mbridge's local -> global mapping) and the expert module's class."""
    import re

    from megatron.core import parallel_state as mpu
    from megatron.core.utils import unwrap_model

    bridge = actor.engine.bridge
    experts: dict[int, set[int]] = {}
    local_counts: dict[int, int] = {}
    module_class = None
    pattern = re.compile(r"^decoder\.layers\.(\d+)\.mlp\.experts\.local_experts\.(\d+)\.")
    for chunk in actor.engine.module:
        model = unwrap_model(chunk)
        for layer in model.decoder.layers:
            local_counts[layer.layer_number - 1] = len(layer.mlp.experts.local_experts)
            module_class = type(layer.mlp.experts).__name__
        for global_name in bridge._weight_name_mapping_mcore_local_to_global(model).values():
            match = pattern.match(global_name)
            if match:
                experts.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    return {
        "rank": int(torch.distributed.get_rank()),
        "ep_size": mpu.get_expert_model_parallel_world_size(),
        "ep_rank": mpu.get_expert_model_parallel_rank(),
        "dp_size": mpu.get_data_parallel_world_size(),
        "experts": {layer: sorted(ids) for layer, ids in sorted(experts.items())},
        "local_expert_counts": local_counts,
        "expert_module": module_class,
    }


def loss_setup(actor: Actor) -> dict:
    """What the batch design relies on: the engine class, archer's ppo_loss wrapper, and the ASPO
    values of the composed actor config."""
    import verl.workers.utils.losses as verl_losses

    policy_loss = actor.config.policy_loss
    return {
        "engine_class": f"{type(actor.engine).__module__}.{type(actor.engine).__qualname__}",
        "ppo_loss_wrapped_by_archer": bool(getattr(verl_losses.ppo_loss, "__archer_wrapped__", False)),
        "loss_mode": policy_loss.loss_mode,
        "calculate_entropy": bool(actor.config.calculate_entropy),
        "clip_ratio": (actor.config.clip_ratio_low, actor.config.clip_ratio_high),
        "high_entropy_clip_ratio": (policy_loss.high_entropy_clip_ratio_low, policy_loss.high_entropy_clip_ratio_high),
        "entropy_quantile": policy_loss.entropy_quantile,
        "entropy_quantile_scope": policy_loss.entropy_quantile_scope,
        "dual_clip_c": policy_loss.dual_clip_c,
        "negative_dual_clip": policy_loss.negative_dual_clip,
    }


def gathered(obj):
    """``obj`` of every rank, in rank order."""
    import torch.distributed as dist

    parts = [None] * dist.get_world_size()
    dist.all_gather_object(parts, obj)
    return parts


def parameters(actor: Actor, engine: str) -> tuple[dict[str, torch.Tensor], float]:
    """All parameters by HF name, and the largest difference between ranks on the names several hold
    (the dense layers' data-parallel replicas; 0.0 for FSDP2's one process)."""
    if engine == "fsdp2":  # transformers' names: fused ``experts.gate_up_proj`` etc.
        return actor.parameters(), 0.0
    parts = gathered(megatron_local_parameters(actor))
    merged: dict[str, torch.Tensor] = {}
    replica_diff = 0.0
    for part in parts:
        for name, tensor in part.items():
            if name in merged:
                replica_diff = max(replica_diff, (merged[name] - tensor).abs().max().item())
            else:
                merged[name] = tensor
    return merged, replica_diff


# ---------------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("fsdp2", "megatron"), required=True)
    parser.add_argument("--ep", type=int, default=1, help="expert-parallel size (megatron)")
    parser.add_argument("--rank", type=int, default=0)
    parser.add_argument("--world-size", type=int, default=1)
    parser.add_argument("--init-file", type=Path, required=True, help="gloo file-store path (shared by the ranks)")
    parser.add_argument("--model-dir", type=Path, required=True, help="the tiny model (see --build-model)")
    parser.add_argument("--build-model", action="store_true", help="build the tiny model into --model-dir first")
    parser.add_argument(
        "--model-timeout", type=float, default=120.0, help="without --build-model: seconds to wait for --model-dir"
    )
    parser.add_argument("--out", type=Path, required=True, help="result file (written by rank 0)")
    args = parser.parse_args(argv)

    import torch.distributed as dist

    import verl  # noqa: F401  (loads archer's verl plugin: loss_mode=aspo and the wrapped ppo_loss)
    from verl_cpu_support import init_gloo, use_cpu_platform

    use_cpu_platform()
    patches: list[str] = []
    if args.engine == "megatron":
        from megatron_cpu_support import apply_cpu_patches

        patches = list(apply_cpu_patches())
    init_gloo(args.init_file, args.rank, args.world_size)
    build_or_wait_for_model(args.model_dir, args.build_model, args.model_timeout)

    t0 = time.perf_counter()
    actor = Actor(args.model_dir, args.engine, args.ep)
    t_init = time.perf_counter() - t0

    rollout = make_rollout()
    response_mask = rollout["response_mask"]
    advantages = advantages_for(rollout)
    before, _ = parameters(actor, args.engine)

    t0 = time.perf_counter()
    log_probs, entropy = actor.log_probs_and_entropy(rollout)
    t_forward = time.perf_counter() - t0
    # one set of old log-probs for every rank (the replicas compute the same; rank 0's is the one written)
    dist.broadcast(log_probs, src=0)
    dist.broadcast(entropy, src=0)
    old_log_probs = off_policy_old_log_probs(log_probs)

    t0 = time.perf_counter()
    metrics, update_output = actor.update(rollout, old_log_probs, advantages, global_batch_size=N_RESPONSES)
    t_update = time.perf_counter() - t0
    after, replica_diff = parameters(actor, args.engine)

    placement = gathered(megatron_expert_placement(actor)) if args.engine == "megatron" else None
    rank_metrics = gathered(metrics)
    if args.rank == 0:
        result = {
            "engine": args.engine,
            "ep": args.ep,
            "world_size": args.world_size,
            "mask": response_mask.bool(),
            "log_probs": log_probs,
            "entropy": entropy,
            "update_output": update_output,
            "metrics": metrics,
            "rank_metrics": rank_metrics,
            "before": before,
            "after": after,
            "replica_max_diff": replica_diff,
            "expert_placement": placement,
            "setup": loss_setup(actor),
            "patches": patches,
            "times": {"init": t_init, "forward": t_forward, "update": t_update},
        }
        torch.save(result, args.out)
        print(f"[{args.engine}] init {t_init:.2f}s forward {t_forward:.3f}s update {t_update:.3f}s", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
    # The result file is written and closed. Skip the interpreter's teardown: unloading torch, verl and
    # megatron takes 2-5 s per process on a small CPU host, a good part of this test's wall time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
