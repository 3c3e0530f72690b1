"""Declared settings: every launcher setting once -- its environment variable, hydra key(s), type, allowed
range or choices, default (per task, and for the --smoke profile), where the default comes from, and a
one-line doc. Everything else derives from this table:

* the launcher (:mod:`archer.launch.resolve`, :mod:`archer.launch.run`) resolves each variable (environment,
  then the smoke profile, then the model preset, then the task, then the default) and turns it into hydra
  overrides;
* :func:`check_text` checks each value the environment gives before anything is set up, and
  :func:`check_settings` checks a composed config (so a hydra override of the key is checked the same way);
  the dry run reports every problem at once (:mod:`archer.launch.dry_run`);
* docs/launch.md's tables (:func:`markdown_table`, :func:`variables_table`: ``python -m archer.launch.settings``);
* the tests (tests/test_settings_*.py).

Sources cited in ``src``: **A2** = Archer2.0 (the ASPO authors' release),
scripts/train/run_archer2.0_qwen2.5_1.5b_{math,code}.sh at github.com/wizard-III/Archer2.0 b08d963 (both
scripts hold the same values and load DeepSeek-R1-Distill-Qwen-1.5B); **spec** = this project's settings
table; **verl** = how verl 0.9.1 reads the key; **ours** = our choice, the doc says why.

Standard library only: the launcher imports it before any virtual environment exists.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Union

Choices = Union[Sequence[str], Callable[[], Sequence[str]]]
# a default: the value as an environment variable would spell it, or a function of the other resolved values
Default = Union[None, str, Callable[[Mapping[str, str]], Optional[str]]]

@dataclass(frozen=True)
class Setting:
    var: Optional[str]  # the launcher's environment variable, if any
    key: Optional[str]  # the hydra key (None: the launcher uses the value itself, see archer.launch.resolve)
    kind: str  # int | float | bool (True/False) | switch (1/0) | choice | choices (a list) | text | names
    doc: str
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False  # low excluded
    high_open: bool = False  # high excluded
    choices: Optional[Choices] = None
    also: tuple = ()  # other accepted values outside the range (e.g. -1 = off)
    default: Default = None  # None: unset (verl's default applies, or the setting is off)
    task: Mapping[str, str] = field(default_factory=dict)  # per-task default (math | code)
    smoke: Default = None  # the --smoke profile's default (docs/smoke.md)
    src: str = ""  # where the default comes from (A2 | spec | verl | ours)
    keys: tuple = ()  # further hydra keys given the same value
    engine: Optional[str] = None  # the keys apply only with this ENGINE (fsdp | megatron)
    plus: bool = False  # the key is not in verl's schema: append it (hydra's ++)
    group: bool = False  # the key is a hydra config group (chosen at composition; not a key of the config)

    def name(self) -> str:
        return f"{self.var} ({self.key})" if self.var and self.key else (self.var or self.key)

    def allowed(self) -> str:
        if self.kind in ("choice", "choices"):
            return "one of " + ", ".join(_choices(self))
        if self.kind == "bool":
            return "True or False (any case)"
        if self.kind == "switch":
            return "1 (on) or 0 (off)"
        if self.kind in ("text", "names"):
            return "text" if self.kind == "text" else "names separated by spaces"
        parts = []
        if self.low is not None and self.high is not None:
            parts.append(f"in {'(' if self.low_open else '['}{_num(self.low)}, {_num(self.high)}{')' if self.high_open else ']'}")
        elif self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_num(self.low)}")
        elif self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_num(self.high)}")
        text = f"a {'whole number' if self.kind == 'int' else 'number'}" + (f" {parts[0]}" if parts else "")
        if self.also:
            text += " or " + " / ".join(_num(a) for a in self.also)
        return text

    def doc_page(self) -> str:
        return "docs/smoke.md" if (self.var or "").startswith("SMOKE_") else "docs/launch.md"

def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _choices(setting: Setting) -> list[str]:
    c = setting.choices
    return list(c() if callable(c) else c)


def _adv_estimators() -> list[str]:
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, AdvantageEstimator

    return sorted({e.value for e in AdvantageEstimator} | set(ADV_ESTIMATOR_REGISTRY))


def _kl_types() -> list[str]:
    base = ["kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3", "full"]
    return base + [f"{b}+" for b in ("kl", "k1", "abs", "low_var_kl", "k3", "full")]


def _loggers() -> list[str]:
    from verl.utils.tracking import Tracking

    return list(Tracking.supported_backend)


def _loss_modes() -> list[str]:
    from archer.launch.config_checks import registered_loss_modes

    return registered_loss_modes()


def _reward_managers() -> list[str]:
    names = set()
    try:
        from verl.workers.reward_manager.registry import REWARD_MANAGER_REGISTRY

        names |= set(REWARD_MANAGER_REGISTRY)
    except ImportError:  # pragma: no cover
        pass
    try:
        from verl.experimental.reward_loop.reward_manager import registry

        names |= set(getattr(registry, "REWARD_LOOP_MANAGER_REGISTRY", {}) or {})
    except ImportError:  # pragma: no cover
        pass
    return sorted(names) or ["naive", "dapo", "prime", "batch"]


def _model_presets() -> list[str]:
    from archer.launch.presets import PRESETS

    return sorted(PRESETS)


# derived defaults (functions of the other resolved values; "_task", "_repo" and the smoke assets' "_smoke_*"
# are the launcher's own facts, archer.launch.resolve)
def derived(doc: str, fn: Callable) -> Callable:
    """A default computed from the other resolved values; ``doc`` says how, in the docs table."""
    fn.__doc__ = doc
    return fn


def _prompt_plus_response(v: Mapping[str, str]) -> str:
    """prompt + response"""
    return str(int(v["MAX_PROMPT_LENGTH"]) + int(v["MAX_RESPONSE_LENGTH"]))


def _run_kind(v: Mapping[str, str]) -> str:
    return "grpo" if v["LOSS_MODE"] == "vanilla" else "aspo"


def _logger(v: Mapping[str, str]) -> str:
    """`[console,tensorboard]`, plus wandb when WANDB_API_KEY or WANDB_MODE is set"""
    # wandb only when configured: wandb without a key stops a non-interactive run
    return "[console,wandb,tensorboard]" if v.get("_wandb") else "[console,tensorboard]"


A = "actor_rollout_ref.actor"
R = "actor_rollout_ref.rollout"
PL = f"{A}.policy_loss"
M = f"{A}.megatron"
LOSS_AGG_MODES = ("token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")
TASKS = ("math", "code")
MATH_VAL_SETS = "aime2024 aime2025 amc2023 math500 minerva olympiadbench"
TOTAL = _prompt_plus_response

S = Setting
SETTINGS: tuple[Setting, ...] = (
    # model and engine
    S("MODEL", None, "choice", "model preset (archer/launch/presets.py, docs/models.md)", choices=_model_presets,
      default="r1-distill-qwen-1.5b", src="spec"),
    S("MODEL_PATH", "actor_rollout_ref.model.path", "text", "hub id or local dir of the model (the preset's)",
      smoke=derived("the smoke assets' tiny model", lambda v: v["_smoke_model"]), src="spec, A2"),
    S("ENGINE", None, "choice", "training engine: fsdp (verl's FSDP2) | megatron (model_engine=megatron)",
      choices=("fsdp", "megatron"), default="fsdp", src="docs/models.md"),
    S("ASPO_PRESET", "aspo_preset", "choice", "ASPO preset: archer2 (eps 0.2 / 0.4 above the 0.8 entropy "
      "quantile, c 3) | paper (uniform eps 0.2)", choices=("archer2", "paper"), default="archer2", src="A2",
      group=True),
    S("LOSS_MODE", f"{PL}.loss_mode", "choice", "policy loss: aspo | vanilla (verl's PPO/GRPO loss, the GRPO "
      "baseline of scripts/run_grpo_*.sh)", choices=_loss_modes, default="aspo", src="verl"),
    S("ADV_ESTIMATOR", "algorithm.adv_estimator", "choice", "advantage estimator", choices=_adv_estimators,
      default="grpo", src="A2"),
    # data
    S("DATA_DIR", None, "text", "prepared data (python -m archer.data prepare)",
      default=derived("`<repo>/data`", lambda v: f"{v['_repo']}/data"),
      smoke=derived("the smoke assets'", lambda v: v["_smoke_data_dir"]), src="data contract"),
    S("TRAIN_FILE", "data.train_files", "text", "training parquet",
      default=derived("`$DATA_DIR/train/<task>.parquet`", lambda v: f"{v['DATA_DIR']}/train/{v['_task']}.parquet"),
      smoke=derived("the smoke assets'", lambda v: v["_smoke_train_file"]),
      src="data contract"),
    S("EVAL_DIR", None, "text", "evaluation parquets (<name>.parquet)", default=derived("`$DATA_DIR/eval`", lambda v: f"{v['DATA_DIR']}/eval"),
      src="data contract"),
    S("VAL_SETS", "data.val_files", "names", "validation sets (EVAL_DIR/<name>.parquet)",
      task={"math": MATH_VAL_SETS, "code": "livecodebench_v5"},
      smoke=derived("`math500` / `livecodebench_v5`", lambda v: "math500" if v["_task"] == "math" else "livecodebench_v5"), src="paper benchmarks, A2"),
    S("MAX_PROMPT_LENGTH", "data.max_prompt_length", "int", "longest prompt (tokens)", low=1, default="2048",
      smoke=derived("the smoke assets'", lambda v: v["_smoke_prompt_length"]), src="A2"),
    S("MAX_RESPONSE_LENGTH", "data.max_response_length", "int", "longest response (tokens)", low=1,
      default="32768", smoke=derived("the smoke assets'", lambda v: v["_smoke_response_length"]), src="A2"),
    S("TRAIN_BATCH_SIZE", "data.train_batch_size", "int", "prompts per step", low=1, default="64", smoke="2",
      src="A2"),
    S("FILTER_OVERLONG_PROMPTS", "data.filter_overlong_prompts", "bool", "drop prompts longer than the limit",
      default="True", src="A2"),
    # actor / optimisation
    S("PPO_MINI_BATCH_SIZE", f"{A}.ppo_mini_batch_size", "int", "prompts per update", low=1, default="16",
      smoke="1", src="A2"),
    S("PPO_EPOCHS", f"{A}.ppo_epochs", "int", "passes over each rollout", low=1, default="3", smoke="3", src="A2"),
    S("LR", f"{A}.optim.lr", "float", "learning rate", low=0, low_open=True, default="1e-6", smoke="1e-3", src="A2"),
    S("LR_WARMUP_STEPS", f"{A}.optim.lr_warmup_steps", "int", "warm-up steps (-1: by ratio)", low=-1,
      default="10", smoke="0", src="A2"),
    S("WEIGHT_DECAY", f"{A}.optim.weight_decay", "float", "AdamW weight decay", low=0, default="0.1", src="A2"),
    S("GRAD_CLIP", f"{A}.optim.clip_grad", "float", "gradient-norm clip (0 would zero every update; verl 0.9.1's "
      "FSDP engine reads optim.clip_grad)", low=0, low_open=True, default="1.0", src="A2, verl"),
    S(None, f"{A}.grad_clip", "float", "verl's legacy gradient clip (the launcher keeps it equal to GRAD_CLIP)",
      low=0, low_open=True),
    S("ENTROPY_COEFF", f"{A}.entropy_coeff", "float", "entropy bonus", low=0, default="0", src="A2"),
    S("LOSS_AGG_MODE", f"{A}.loss_agg_mode", "choice", "loss aggregation", choices=LOSS_AGG_MODES,
      default="token-mean", src="A2"),
    S(None, f"{A}.clip_ratio_low", "float", "eps_low of ordinary tokens", low=0, high=1, high_open=True),
    S(None, f"{A}.clip_ratio_high", "float", "eps_high of ordinary tokens", low=0, high=1, high_open=True),
    S(None, f"{A}.clip_ratio_c", "float", "verl's dual clip (vanilla loss)", low=1, low_open=True),
    S("USE_KL_LOSS", f"{A}.use_kl_loss", "bool", "KL loss against the reference model", default="True", src="A2"),
    S("KL_LOSS_COEF", f"{A}.kl_loss_coef", "float", "KL-loss coefficient", low=0, default="0.001", src="A2"),
    S("KL_LOSS_TYPE", f"{A}.kl_loss_type", "choice", "KL estimator", choices=_kl_types, default="low_var_kl",
      src="A2"),
    # memory / throughput: dynamic batching packs sequences up to the token cap (docs/launch.md)
    S("USE_DYNAMIC_BSZ", f"{A}.use_dynamic_bsz", "bool", "verl's dynamic batching (token caps below)",
      default="True", src="ours: same peak memory as A2's micro-batch 1"),
    S("PPO_MAX_TOKEN_LEN_PER_GPU", f"{A}.ppo_max_token_len_per_gpu", "int", "token cap per GPU (update)", low=1,
      default=TOTAL, src="A2: prompt + response"),
    S("LOG_PROB_MAX_TOKEN_LEN_PER_GPU", "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu", "int",
      "token cap per GPU (log-probs of the reference model and the rollout)", low=1, default=TOTAL,
      keys=(f"{R}.log_prob_max_token_len_per_gpu",), src="A2: prompt + response"),
    S("MICRO_BATCH_SIZE_PER_GPU", f"{A}.ppo_micro_batch_size_per_gpu", "int", "micro-batch when "
      "USE_DYNAMIC_BSZ=False", low=1, default="1", keys=("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu",
                                                         f"{R}.log_prob_micro_batch_size_per_gpu"), src="A2"),
    S("SP_SIZE", f"{A}.ulysses_sequence_parallel_size", "int", "Ulysses sequence parallel size (FSDP)", low=1,
      default="1", keys=("actor_rollout_ref.ref.ulysses_sequence_parallel_size",), engine="fsdp", src="A2"),
    S("GRADIENT_CHECKPOINTING", "actor_rollout_ref.model.enable_gradient_checkpointing", "bool",
      "recompute activations in the backward pass", default="True", src="A2"),
    S("FLASH_ATTN", None, "switch", "0: installed without flash-attn (ATTN_IMPLEMENTATION becomes sdpa)",
      default="1", src="verl"),
    S("ATTN_IMPLEMENTATION", "actor_rollout_ref.model.override_config.attn_implementation", "text",
      "attention kernel (verl's HFModelConfig; unset: flash_attention_2)", plus=True,
      default=derived("unset; `sdpa` when FLASH_ATTN=0", lambda v: "sdpa" if v["FLASH_ATTN"] == "0" else None), src="verl"),
    S("OFFLOAD", f"{A}.fsdp_config.param_offload", "bool", "parameter and optimizer offload", default="False",
      smoke="False", keys=(f"{A}.fsdp_config.optimizer_offload", "actor_rollout_ref.ref.fsdp_config.param_offload"),
      engine="fsdp", src="A2"),
    # Megatron engine only (ENGINE=megatron; the model presets set them, docs/models.md)
    S("TRAIN_TP", f"{M}.tensor_model_parallel_size", "int", "Megatron tensor parallel size", low=1, default="1",
      engine="megatron", src="verl example"),
    S("TRAIN_PP", f"{M}.pipeline_model_parallel_size", "int", "Megatron pipeline parallel size", low=1,
      default="1", engine="megatron", src="verl example"),
    S("TRAIN_CP", f"{M}.context_parallel_size", "int", "Megatron context parallel size", low=1, default="1",
      engine="megatron", src="verl example"),
    S("TRAIN_EP", f"{M}.expert_model_parallel_size", "int", "Megatron expert parallel size", low=1, default="1",
      engine="megatron", src="verl example"),
    S("TRAIN_ETP", f"{M}.expert_tensor_parallel_size", "int", "Megatron expert tensor parallel size", low=1,
      default="1", engine="megatron", src="verl example"),
    S("OPTIMIZER_CPU_OFFLOAD", None, "bool", "Megatron's CPU optimizer (fp32 master weights and Adam states in "
      "host memory)", default="False", src="verl example"),
    S("RECOMPUTE", None, "choice", "Megatron activation recompute: full (every layer, one at a time) | none",
      choices=("full", "none"), default="none", src="ours"),
    S("MOE_ROUTER_DTYPE", f"{M}.override_transformer_config.moe_router_dtype", "text",
      "the MoE router's dtype (unset: Megatron's default)", plus=True, engine="megatron", src="verl example"),
    # rollout
    S("ROLLOUT_ENGINE", f"{R}.name", "text", "rollout engine", default="vllm",
      smoke=derived("SMOKE_ROLLOUT", lambda v: v["SMOKE_ROLLOUT"]), src="spec"),
    S("N_RESPONSES", f"{R}.n", "int", "responses per prompt", low=1, default="16", smoke="4", src="A2"),
    S("TEMPERATURE", f"{R}.temperature", "float", "rollout (training) sampling temperature", low=0, low_open=True,
      default="1.0", src="A2"),
    S("TOP_P", f"{R}.top_p", "float", "rollout top-p", low=0, high=1, low_open=True, default="1.0", src="A2"),
    S("TOP_K", f"{R}.top_k", "int", "rollout top-k (-1: off)", low=1, also=(-1, 0), default="-1", src="A2"),
    S("ROLLOUT_TP", f"{R}.tensor_model_parallel_size", "int", "rollout tensor parallel size", low=1, default="1",
      src="A2"),
    S("ROLLOUT_GPU_MEMORY_UTILIZATION", f"{R}.gpu_memory_utilization", "float", "vLLM's share of GPU memory",
      low=0, high=1, low_open=True, default="0.75", src="A2"),
    S("ENABLE_CHUNKED_PREFILL", f"{R}.enable_chunked_prefill", "bool", "vLLM chunked prefill", default="True",
      src="A2"),
    S("ROLLOUT_MAX_MODEL_LEN", f"{R}.max_model_len", "int", "vLLM context length", low=1, default=TOTAL,
      src="A2: prompt + response"),
    S("ROLLOUT_MAX_NUM_BATCHED_TOKENS", f"{R}.max_num_batched_tokens", "int", "vLLM tokens per batch", low=1,
      default=TOTAL, src="A2: prompt + response"),
    S("VAL_N", f"{R}.val_kwargs.n", "int", "validation samples per prompt", low=1, default="4", src="A2"),
    S("VAL_TEMPERATURE", f"{R}.val_kwargs.temperature", "float", "validation sampling temperature", low=0,
      default="0.6", src="A2"),
    S("VAL_TOP_P", f"{R}.val_kwargs.top_p", "float", "validation top-p", low=0, high=1, low_open=True,
      default="0.95", src="A2"),
    # algorithm / reward
    S("USE_KL_IN_REWARD", "algorithm.use_kl_in_reward", "bool", "KL penalty in the reward", default="False",
      src="A2"),
    S("KL_IN_REWARD_COEF", "algorithm.kl_ctrl.kl_coef", "float", "KL-in-reward coefficient", low=0, default="0.0",
      src="A2"),
    S("FILTER_GROUPS", "algorithm.filter_groups.enable", "bool", "drop groups whose responses all score the same "
      "(refilled with fresh prompts)", default="True", src="A2 (rejection sampling)"),
    S("FILTER_GROUPS_METRIC", "algorithm.filter_groups.metric", "text", "the reward key groups are filtered by "
      "(acc: archer.reward's 0/1 correctness)", default="acc", src="A2"),
    S("FILTER_GROUPS_MAX_NUM_GEN_BATCHES", "algorithm.filter_groups.max_num_gen_batches", "int",
      "generation batches per step with group filtering (0: no limit; archer.plugin.filter_groups_guard)", low=0,
      default="10", src="verl's DAPO recipe"),
    S("REWARD_MANAGER", "reward.reward_manager.name", "choice", "verl reward manager (dapo applies the overlong "
      "penalty)", choices=_reward_managers, default="dapo", src="verl"),
    S("OVERLONG_BUFFER", "reward.reward_kwargs.overlong_buffer_cfg.enable", "bool", "DAPO's overlong penalty",
      default="True", plus=True, src="A2"),
    S("OVERLONG_BUFFER_LEN", "reward.reward_kwargs.overlong_buffer_cfg.len", "int", "overlong buffer (tokens)",
      low=0, default="16", plus=True, src="A2"),
    S("OVERLONG_PENALTY_FACTOR", "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor", "float",
      "overlong penalty factor", low=0, default="1.0", plus=True, src="A2"),
    S("OVERLONG_BUFFER_LOG", "reward.reward_kwargs.overlong_buffer_cfg.log", "bool", "log the overlong penalty",
      default="False", plus=True, src="A2"),
    # cluster
    S("NNODES", "trainer.nnodes", "int", "nodes (more than 1: an existing Ray cluster, docs/launch.md)", low=1,
      default="1", smoke="1", src="A2"),
    S("GPUS_PER_NODE", "trainer.n_gpus_per_node", "int", "GPUs per node", low=1, default="8", smoke="1", src="A2"),
    S("RAY_WAIT_TIMEOUT", None, "int", "seconds python -m archer.launch.ray_check waits for the nodes", low=1,
      default="300", src="ours"),
    # trainer
    S("SAVE_FREQ", "trainer.save_freq", "int", "checkpoint every N steps (-1: never)", low=1, also=(-1,),
      default="10", smoke="1", src="A2"),
    S("MAX_CKPT_TO_KEEP", "trainer.max_actor_ckpt_to_keep", "int", "checkpoints kept (0: all; one 1.5B FSDP "
      "checkpoint with Adam states is ~21 GB)", low=0, default="3", keys=("trainer.max_critic_ckpt_to_keep",),
      src="ours: verl keeps all"),
    S("RESUME_MODE", "trainer.resume_mode", "choice", "resume", choices=("auto", "disable", "resume_path"),
      default=derived("`auto`; `resume_path` when RESUME_FROM_PATH is set",
                      lambda v: "resume_path" if v["RESUME_FROM_PATH"] else "auto"), src="A2"),
    S("RESUME_FROM_PATH", "trainer.resume_from_path", "text", "a checkpoint to resume from (sets "
      "RESUME_MODE=resume_path)", src="verl"),
    S("TEST_FREQ", "trainer.test_freq", "int", "validate every N steps (-1: never; A2 evaluates saved checkpoints "
      "offline, python -m archer.eval)", low=1, also=(-1,), default="-1", src="A2"),
    S("VAL_BEFORE_TRAIN", "trainer.val_before_train", "bool", "validate before the first step", default="False",
      src="A2"),
    S("TOTAL_EPOCHS", "trainer.total_epochs", "int", "passes over the training data", low=1, default="10",
      smoke="100", src="A2"),
    S("PROJECT_NAME", "trainer.project_name", "text", "project (tracker and checkpoint folder)", default="archer"),
    S("EXPERIMENT_NAME", "trainer.experiment_name", "text", "run name: <aspo|grpo>-<MODEL>-<task>",
      default=derived("`<aspo|grpo>-$MODEL-<task>`", lambda v: f"{_run_kind(v)}-{v['MODEL']}-{v['_task']}"),
      smoke=derived("`smoke-<aspo|grpo>-<task>`", lambda v: f"smoke-{_run_kind(v)}-{v['_task']}")),
    S("CKPT_DIR", "trainer.default_local_dir", "text", "run directory (checkpoints, config.yaml, train.log)",
      default=derived("`<repo>/checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME`",
                      lambda v: f"{v['_repo']}/checkpoints/{v['PROJECT_NAME']}/{v['EXPERIMENT_NAME']}")),
    S("TENSORBOARD_DIR", None, "text", "tensorboard logs (handed to the Ray job's environment)",
      default=derived("`$CKPT_DIR/tensorboard`", lambda v: f"{v['CKPT_DIR']}/tensorboard"), src="verl"),
    S("LOGGER", "trainer.logger", "choices", "experiment trackers (wandb added when WANDB_API_KEY or WANDB_MODE "
      "is set)", choices=_loggers, default=_logger, smoke="[console,file]", src="A2 uses console + wandb"),
    # the launcher itself
    S("PYTHON", None, "text", "interpreter with verl (unset: python3; --smoke and --dry-run use .venv)"),
    S("ARCHER_AUTO_INSTALL", None, "switch", "1: install missing software (scripts/install_gpu.sh)", default="0"),
    S("PREFLIGHT", None, "switch", "0: skip the GPU preflight (python -m archer.launch.preflight)", default="1"),
    S("PREFLIGHT_MIN_GPU_MEMORY_GB", None, "float", "the GPU memory the preflight requires per GPU (GB)", low=0,
      default="80", src="ours: the recipe's 80 GB GPUs"),
    # the --smoke profile (docs/smoke.md)
    S("SMOKE_STEPS", None, "int", "training steps of the smoke run", low=1, default="2"),
    S("SMOKE_REWARD_WORKERS", "reward.num_workers", "int", "reward worker processes of the smoke run", low=1,
      default="2"),
    S("SMOKE_WARM_START", None, "switch", "0: train the tiny model from random weights", default="1"),
    S("SMOKE_FINISH", None, "switch", "0: stop after training (no export, eval, plot or summary)", default="1"),
    S("SMOKE_ROLLOUT", None, "choice", "the smoke run's rollout: cpu_transformers | vllm (vLLM's CPU build)",
      choices=("cpu_transformers", "vllm"), default="cpu_transformers"),
)
BY_KEY = {k: s for s in SETTINGS for k in ((s.key,) if s.key else ()) + tuple(s.keys)}
BY_VAR = {s.var: s for s in SETTINGS if s.var}
# variables of the launcher (environment) in declaration order
VARIABLES = tuple(s for s in SETTINGS if s.var)


def get(config: Any, key: str, default: Any = None) -> Any:
    node = config
    for part in key.split("."):
        try:
            if part not in node:
                return default
            node = node[part]
        except TypeError:
            return default
    return node


def keys_of(setting: Setting) -> tuple:
    """Every hydra key the setting sets (its key, then ``keys``)."""
    return ((setting.key,) if setting.key else ()) + tuple(setting.keys)


# the kinds a composed config can be checked for (text and names are free-form; switches have no key)
CONFIG_KINDS = ("int", "float", "bool", "choice", "choices")


def check_setting(setting: Setting, value: Any, key: Optional[str] = None) -> Optional[str]:
    """The problem with the composed config's ``value`` for ``setting`` (at ``key``), or None."""
    name = setting.name() if key in (None, setting.key) else f"{setting.var or setting.key} ({key})"
    if value is None or setting.kind not in CONFIG_KINDS:
        return None  # unset: verl's default applies (or the key is optional)
    if setting.kind == "bool":
        return None if isinstance(value, bool) else f"{name}={value!r}: use {setting.allowed()}"
    if setting.kind in ("choice", "choices"):
        try:
            allowed = _choices(setting)
        except ImportError:  # the choices come from verl, which this interpreter lacks
            return None
        values = list(value) if setting.kind == "choices" and not isinstance(value, str) else [value]
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            return f"{name}={value!r}: {', '.join(map(repr, bad))} not allowed; use {setting.allowed()}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name}={value!r} is not a number; use {setting.allowed()}"
    if setting.kind == "int" and not float(value).is_integer():
        return f"{name}={value!r} is not a whole number; use {setting.allowed()}"
    if not math.isfinite(float(value)):
        return f"{name}={value!r}; use {setting.allowed()}"
    if _out_of_range(setting, value):
        return f"{name}={value!r} is out of range; use {setting.allowed()} ({setting.doc})"
    return None


def _out_of_range(setting: Setting, value: float) -> bool:
    """Whether ``value`` is outside the setting's range and not one of its ``also`` values."""
    if value in setting.also:
        return False
    low_bad = setting.low is not None and (value <= setting.low if setting.low_open else value < setting.low)
    high_bad = setting.high is not None and (value >= setting.high if setting.high_open else value > setting.high)
    return low_bad or high_bad


def check_settings(config: Any) -> list[str]:
    """Every declared setting's keys in ``config`` checked; the problems (empty when all are fine)."""
    problems = []
    for setting in SETTINGS:
        if setting.group:
            continue  # hydra rejects an unknown choice of a config group at composition, naming the choices
        for key in keys_of(setting):
            if setting.engine == "megatron" and key.startswith(M) and get(config, "model_engine") != "megatron":
                continue  # verl's FSDP config has no megatron block to check
            value = get(config, key)
            try:
                from omegaconf import OmegaConf

                if OmegaConf.is_config(value):
                    value = OmegaConf.to_container(value, resolve=True)
            except ImportError:  # pragma: no cover
                pass
            problem = check_setting(setting, value, key)
            if problem:
                problems.append(problem)
    return problems


_INT = re.compile(r"^-?[0-9]{1,18}$")
_FLOAT = re.compile(r"^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def check_text(setting: Setting, text: str) -> Optional[str]:
    """The problem with an environment variable's ``text`` for ``setting``, or None: what the launcher checks
    before anything is set up (the value is still a string here; choices that come from verl are checked
    later, by the dry run, when this interpreter has no verl)."""
    see = f"see {setting.doc_page()}"
    name = setting.var or setting.key
    if setting.kind == "int":
        if not _INT.match(text):
            return f"{name}={text} is not a whole number (digits only, e.g. 2048); {see}"
        return _range(setting, name, int(text), see)
    if setting.kind == "float":
        if not _FLOAT.match(text):
            return f"{name}={text} is not a number (e.g. 1e-6, 0.95 or 3); {see}"
        return _range(setting, name, float(text), see)
    if setting.kind == "bool":
        return None if text.lower() in ("true", "false") else f"{name}={text}: use True or False; {see}"
    if setting.kind == "switch":
        return None if text in ("0", "1") else f"{name}={text}: use 1 (on) or 0 (off); {see}"
    if setting.kind in ("choice", "choices"):
        values = _items(setting, text)
        if callable(setting.choices) and set(values) <= declared_values(setting):
            # the setting's own values need no registry lookup (importing verl costs seconds); the
            # declarations test checks them against the registry
            return None
        try:
            allowed = _choices(setting)
        except ImportError:
            return None
        bad = [v for v in values if v not in allowed]
        if bad:
            return f"{name}={text}: {', '.join(bad)} not allowed; use {setting.allowed()}; {see}"
    return None


def _items(setting: Setting, text: str) -> list[str]:
    if setting.kind == "choices":
        return [v.strip() for v in text.strip().strip("[]").split(",") if v.strip()]
    return [text]


def declared_texts(setting: Setting) -> list[str]:
    """The values a setting declares itself, as text: its default, per-task and smoke values (not derived ones)."""
    declared = [setting.default, *setting.task.values(), setting.smoke]
    return [v for v in declared if isinstance(v, str)]


def declared_values(setting: Setting) -> set[str]:
    """A choice setting's own values (:func:`declared_texts`, a list split into its items)."""
    return {item for text in declared_texts(setting) for item in _items(setting, text)}


def _range(setting: Setting, name: str, value: float, see: str) -> Optional[str]:
    if _out_of_range(setting, value):
        return f"{name}={_num(value)} is out of range: use {setting.allowed()} ({setting.doc}); {see}"
    return None


def check_environment(env: Mapping[str, str]) -> list[str]:
    """Every declared variable that ``env`` sets (non-empty), checked as :func:`check_text` does."""
    problems = []
    for setting in VARIABLES:
        text = env.get(setting.var, "")
        if text != "":
            problem = check_text(setting, text)
            if problem:
                problems.append(problem)
    return problems


def _allowed_for_docs(s: Setting) -> str:
    return "a registered name (listed by the error)" if callable(s.choices) else s.allowed()


def markdown_table() -> str:
    """The docs table (docs/launch.md "Checked settings"): every setting the dry run checks in a composed
    config, generated from :data:`SETTINGS`."""
    rows = ["| variable | hydra key | allowed | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        if s.kind not in CONFIG_KINDS or not s.key or s.group:
            continue
        keys = ", ".join(f"`{k}`" for k in keys_of(s))
        rows.append(f"| `{s.var or '-'}` | {keys} | {_allowed_for_docs(s)} | {s.doc} |")
    return "\n".join(rows)


def _default_for_docs(s: Setting) -> str:
    def show(value: Default) -> str:
        if callable(value):
            return value.__doc__ or "derived"
        return "unset" if value is None else f"`{value}`"

    parts = [show(s.default)]
    parts += [f"{task}: `{value}`" for task, value in s.task.items()]
    from archer.launch.presets import PRESETS

    parts += [f"{name}: `{p.values[s.var]}`" for name, p in PRESETS.items()
              if s.var in p.values and p.values[s.var] != s.default]
    if s.smoke is not None:
        parts.append(f"smoke: {show(s.smoke)}")
    return "; ".join(parts)


def variables_table() -> str:
    """docs/launch.md "Overriding values": every launcher variable, its default, keys and source."""
    rows = ["| variable | default | hydra key(s) | meaning | source |", "|---|---|---|---|---|"]
    for s in VARIABLES:
        keys = ", ".join(f"`{'++' if s.plus else ''}{k}`" for k in keys_of(s)) or "—"
        if s.engine:
            keys += f" ({s.engine} only)"
        rows.append(f"| `{s.var}` | {_default_for_docs(s).replace('|', '&#124;')} | {keys} | "
                    f"{s.doc.replace('|', '&#124;')} | {s.src or '—'} |")
    return "\n".join(rows)


TABLE_START = "<!-- checked-settings:start (generated: python -m archer.launch.settings) -->"
TABLE_END = "<!-- checked-settings:end -->"
VARS_START = "<!-- launcher-variables:start (generated: python -m archer.launch.settings) -->"
VARS_END = "<!-- launcher-variables:end -->"


def _between(text: str, start_marker: str, end_marker: str, body: str) -> str:
    start, end = text.index(start_marker) + len(start_marker), text.index(end_marker)
    return text[:start] + "\n" + body + "\n" + text[end:]


def write_docs(path) -> bool:
    """Put :func:`variables_table` and :func:`markdown_table` between their markers in ``path``; whether the
    file changed."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text()
    new = _between(_between(text, VARS_START, VARS_END, variables_table()), TABLE_START, TABLE_END, markdown_table())
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    import sys
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "launch.md"
    print(f"{docs}: {'updated' if write_docs(docs) else 'already current'}", file=sys.stderr)
