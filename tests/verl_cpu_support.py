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
    from archer.launch.dry_run import compose_config

    return compose_config([f"actor_rollout_ref.model.path={model_dir}", *CPU_ENGINE_OVERRIDES, *overrides])


def save_word_level_tokenizer(model_dir: Path) -> None:
    """The tiny models' tokenizer: ids 0-2 <pad> <eos> <bos>, then the words w3 .. w63 (VOCAB ids)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2}
    vocab.update({f"w{i}": i for i in range(3, VOCAB)})
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    ).save_pretrained(model_dir)


def build_tiny_model(model_dir: Path) -> Path:
    """A 2-layer Qwen2 (hidden 32) and a word-level tokenizer over the same 64 ids, saved locally."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    save_word_level_tokenizer(model_dir)

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


# ---------------------------------------------------------------------------------------------------
# the designed ASPO batch, and verl's engine driven as its actor worker drives it (shared by the FSDP2 actor
# step test and the Megatron EP=2 driver, tests/megatron_moe_step.py)

# 4 responses, one advantage each, on all its tokens
N_RESPONSES = 4
PROMPT_LEN = 4
RESPONSE_LEN = 10
PROMPT_LENS = (4, 3, 4, 2)
RESPONSE_LENS = (10, 8, 6, 5)
ADVANTAGES = (1.0, -1.0, 1.0, -1.0)
# importance ratios r = pi / pi_old designed into each response (archer2 preset: eps 0.2, high-entropy
# eps 0.4, dual clip c = 3):
#   0 (A > 0): 1 + 0.2 < r < 1 + 0.4 -> clipped (upper) exactly where the token is not high-entropy
#   1 (A < 0): 1 - 0.4 < r < 1 - 0.2 -> clipped (lower) exactly where the token is not high-entropy
#   2 (A > 0): 1 / r = 4 > c         -> positive soft dual clip on every token
#   3 (A < 0): r = 4 > c             -> negative soft dual clip on every token
OFF_POLICY_RATIOS = (1.3, 1 / 1.3, 0.25, 4.0)


def make_rollout(seed: int = 1) -> dict:
    """Left-padded prompts, right-padded responses of different lengths, in verl's rollout layout."""
    gen = torch.Generator().manual_seed(seed)
    prompts = torch.zeros(N_RESPONSES, PROMPT_LEN, dtype=torch.long)
    responses = torch.zeros(N_RESPONSES, RESPONSE_LEN, dtype=torch.long)
    prompt_mask = torch.zeros_like(prompts)
    response_mask = torch.zeros_like(responses)
    for i, (p, r) in enumerate(zip(PROMPT_LENS, RESPONSE_LENS)):
        prompts[i, PROMPT_LEN - p :] = torch.randint(3, VOCAB, (p,), generator=gen)
        prompt_mask[i, PROMPT_LEN - p :] = 1
        responses[i, :r] = torch.randint(3, VOCAB, (r,), generator=gen)
        response_mask[i, :r] = 1
    attention_mask = torch.cat([prompt_mask, response_mask], dim=1)
    return {
        "prompts": prompts,
        "responses": responses,
        "input_ids": torch.cat([prompts, responses], dim=1),
        "attention_mask": attention_mask,
        "position_ids": (attention_mask.cumsum(-1) - 1).clamp(min=0),
        "response_mask": response_mask,
    }


def advantages_for(rollout: dict) -> torch.Tensor:
    return torch.tensor(ADVANTAGES)[:, None] * rollout["response_mask"].float()


def off_policy_old_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    """Old log-probs that put response i at ratio OFF_POLICY_RATIOS[i] w.r.t. ``log_probs``."""
    return log_probs - torch.tensor(OFF_POLICY_RATIOS).log()[:, None]


def strictly_above_row_quantile(entropy: torch.Tensor, mask: torch.Tensor, q: float) -> torch.Tensor:
    """Valid tokens strictly above the q-quantile of their own response's valid entropies (torch.quantile)."""
    high = torch.zeros_like(mask)
    for i in range(entropy.shape[0]):
        valid = mask[i]
        high[i] = valid & (entropy[i] > torch.quantile(entropy[i][valid], q))
    return high


def expected_aspo_metrics(high: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """The ASPO metrics the batch design implies, given the high-entropy tokens of the update forward."""
    n_valid = mask.sum().item()
    tokens = mask.sum(-1).tolist()
    return {
        # response 0 (A > 0, r = 1.3 > 1 + 0.2): clipped except its high-entropy tokens (eps 0.4)
        "actor/aspo/clipfrac_upper": (mask[0] & ~high[0]).sum().item() / n_valid,
        # response 1 (A < 0, r = 1/1.3 < 1 - 0.2): clipped except its high-entropy tokens
        "actor/aspo/clipfrac_lower": (mask[1] & ~high[1]).sum().item() / n_valid,
        "actor/pg_clipfrac": ((mask[0] & ~high[0]).sum() + (mask[1] & ~high[1]).sum()).item() / n_valid,
        # responses 2 (A > 0, 1/r = 4 > c) and 3 (A < 0, r = 4 > c): every token dual-clipped
        "actor/aspo/dual_clipfrac_pos": tokens[2] / (tokens[0] + tokens[2]),
        "actor/aspo/dual_clipfrac_neg": tokens[3] / (tokens[1] + tokens[3]),
        # verl's pg_clipfrac_lower: A < 0 tokens in the dual-clip region, over all valid tokens
        "actor/pg_clipfrac_lower": tokens[3] / n_valid,
        "actor/aspo/high_entropy_frac": high.sum().item() / n_valid,
        "actor/aspo/is_ratio_mean_pos": (OFF_POLICY_RATIOS[0] + OFF_POLICY_RATIOS[2]) / 2,
        "actor/aspo/is_ratio_mean_neg": (OFF_POLICY_RATIOS[1] + OFF_POLICY_RATIOS[3]) / 2,
    }


class EngineActor:
    """verl's engine (``EngineRegistry.new`` for the config's strategy) plus the loss and batch metadata
    that verl's actor worker gives it: ``loss_function=partial(verl.workers.utils.losses.ppo_loss,
    config=actor_config)``, archer's wrapped ``ppo_loss``, for the FSDP2 and the Megatron engine alike."""

    def __init__(self, config, model_config, temperature: float):
        from functools import partial

        import verl.workers.utils.losses as verl_losses
        from verl.workers.engine import EngineRegistry

        self.config, self.model_config, self.temperature = config, model_config, temperature
        self.engine = EngineRegistry.new(
            model_type="language_model",
            backend=self.config.engine.strategy,
            model_config=self.model_config,
            engine_config=self.config.engine,
            optimizer_config=self.config.optim,
            checkpoint_config=self.config.checkpoint,
        )
        self.engine.initialize()
        # looked up at call time: the ppo_loss that `import verl` replaced with archer's wrapper
        self.loss_fn = partial(verl_losses.ppo_loss, config=self.config)

    def _no_padding_batch(self, rollout: dict, **tensors):
        from tensordict import TensorDict

        from verl.utils import tensordict_utils as tu
        from verl.workers.utils.padding import left_right_2_no_padding

        td = TensorDict({**rollout, **tensors}, batch_size=[rollout["input_ids"].shape[0]])
        td = left_right_2_no_padding(td)
        tu.assign_non_tensor(
            td,
            temperature=self.temperature,
            use_remove_padding=self.model_config.use_remove_padding,
            use_fused_kernels=self.model_config.use_fused_kernels,
            use_dynamic_bsz=self.config.use_dynamic_bsz,
            micro_batch_size_per_gpu=self.config.ppo_micro_batch_size_per_gpu,
            max_token_len_per_gpu=self.config.ppo_max_token_len_per_gpu,
        )
        return td

    def log_probs_and_entropy(self, rollout: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded (batch, response_len) log-probs and entropies of the current policy (forward only)."""
        from verl.utils import tensordict_utils as tu
        from verl.workers.utils.padding import no_padding_2_padding

        td = self._no_padding_batch(rollout)
        tu.assign_non_tensor(td, calculate_entropy=True, compute_loss=False)
        with self.engine.eval_mode():
            output = self.engine.infer_batch(td, loss_function=None)
        if not output or not output.get("model_output"):
            raise RuntimeError("the engine's forward-only pass returned no model output on this rank")
        model_output = output["model_output"]
        return (
            no_padding_2_padding(model_output["log_probs"], td).float(),
            no_padding_2_padding(model_output["entropy"], td).float(),
        )

    def update(self, rollout: dict, old_log_probs: torch.Tensor, advantages: torch.Tensor, global_batch_size: int,
               **tensors: torch.Tensor):
        """One actor update step (one mini-batch); returns (metrics, padded model outputs of its forward).
        ``tensors``: more padded per-token inputs, e.g. ``ref_log_prob`` for the KL loss."""
        from verl.utils import tensordict_utils as tu
        from verl.utils.metric import reduce_metrics
        from verl.workers.utils.padding import no_padding_2_padding

        td = self._no_padding_batch(rollout, old_log_probs=old_log_probs, advantages=advantages, **tensors)
        # as RayPPOTrainer._update_actor sets it
        calculate_entropy = self.config.calculate_entropy or self.config.entropy_coeff != 0.0
        tu.assign_non_tensor(
            td,
            calculate_entropy=calculate_entropy,
            global_batch_size=global_batch_size,
            compute_loss=True,
            return_model_output=True,  # keep the update forward's log-probs / entropy for the checks
        )
        from archer.aspo import finalize_metric_parts

        with self.engine.train_mode():
            output = self.engine.train_batch(td, loss_function=self.loss_fn)
        # one mini-batch: its metric parts divided as TrainingWorker.train_mini_batch (patched) does
        metrics = {k: float(v) for k, v in finalize_metric_parts(reduce_metrics(dict(output["metrics"]))).items()}
        model_output = {k: no_padding_2_padding(v, td).float() for k, v in output["model_output"].items()}
        return metrics, model_output

    def parameters(self) -> dict[str, torch.Tensor]:
        """The FSDP module's full parameters (a collective with several ranks), in fp32."""
        return {
            name: (p.full_tensor() if hasattr(p, "full_tensor") else p).detach().float().clone()
            for name, p in self.engine.module.state_dict().items()
        }
