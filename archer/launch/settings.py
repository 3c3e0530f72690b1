"""Declared settings: each launcher setting once, with its hydra key, type, allowed range or choices and a
one-line doc; :func:`check_settings` checks a composed config against every declaration and returns all
the problems, each naming the variable, the key, the value and what is allowed.

The launchers (scripts/run_aspo_*.sh) set these keys from their environment variables; a hydra override
of the key itself is checked the same way. The dry run (``--dry-run``) and the real run's preflight both
run these checks (archer.launch.dry_run), so no GPU hour is spent on a value the CPU can reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

Choices = Union[Sequence[str], Callable[[], Sequence[str]]]


@dataclass(frozen=True)
class Setting:
    var: Optional[str]  # the launcher's environment variable, if any
    key: str  # the hydra key
    kind: str  # "int" | "float" | "bool" | "choice" | "choices" (a list of choices)
    doc: str
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False  # low excluded
    high_open: bool = False  # high excluded
    choices: Optional[Choices] = None
    also: tuple = ()  # other accepted values outside the range (e.g. -1 = off)

    def name(self) -> str:
        return f"{self.var} ({self.key})" if self.var else self.key

    def allowed(self) -> str:
        if self.kind in ("choice", "choices"):
            return "one of " + ", ".join(_choices(self))
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


A = "actor_rollout_ref.actor"
R = "actor_rollout_ref.rollout"
PL = f"{A}.policy_loss"
LOSS_AGG_MODES = ("token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")

SETTINGS: tuple[Setting, ...] = (
    # data
    Setting("MAX_PROMPT_LENGTH", "data.max_prompt_length", "int", "longest prompt (tokens)", low=1),
    Setting("MAX_RESPONSE_LENGTH", "data.max_response_length", "int", "longest response (tokens)", low=1),
    Setting("TRAIN_BATCH_SIZE", "data.train_batch_size", "int", "prompts per step", low=1),
    # actor / optimisation
    Setting("PPO_MINI_BATCH_SIZE", f"{A}.ppo_mini_batch_size", "int", "prompts per update", low=1),
    Setting("PPO_EPOCHS", f"{A}.ppo_epochs", "int", "passes over each rollout", low=1),
    Setting("LR", f"{A}.optim.lr", "float", "learning rate", low=0, low_open=True),
    Setting("LR_WARMUP_STEPS", f"{A}.optim.lr_warmup_steps", "int", "warm-up steps (-1: by ratio)", low=-1),
    Setting("WEIGHT_DECAY", f"{A}.optim.weight_decay", "float", "AdamW weight decay", low=0),
    Setting("GRAD_CLIP", f"{A}.optim.clip_grad", "float", "gradient-norm clip (0 would zero every update)",
            low=0, low_open=True),
    Setting(None, f"{A}.grad_clip", "float", "verl's legacy gradient clip (kept equal to GRAD_CLIP)", low=0, low_open=True),
    Setting("ENTROPY_COEFF", f"{A}.entropy_coeff", "float", "entropy bonus", low=0),
    Setting("LOSS_AGG_MODE", f"{A}.loss_agg_mode", "choice", "loss aggregation", choices=LOSS_AGG_MODES),
    Setting(None, f"{A}.clip_ratio_low", "float", "eps_low of ordinary tokens", low=0, high=1, high_open=True),
    Setting(None, f"{A}.clip_ratio_high", "float", "eps_high of ordinary tokens", low=0, high=1, high_open=True),
    Setting(None, f"{A}.clip_ratio_c", "float", "verl's dual clip (vanilla loss)", low=1, low_open=True),
    Setting("LOSS_MODE", f"{PL}.loss_mode", "choice", "policy loss", choices=_loss_modes),
    Setting("KL_LOSS_COEF", f"{A}.kl_loss_coef", "float", "KL-loss coefficient", low=0),
    Setting("KL_LOSS_TYPE", f"{A}.kl_loss_type", "choice", "KL estimator", choices=_kl_types),
    Setting("PPO_MAX_TOKEN_LEN_PER_GPU", f"{A}.ppo_max_token_len_per_gpu", "int", "token cap per GPU (update)", low=1),
    Setting("MICRO_BATCH_SIZE_PER_GPU", f"{A}.ppo_micro_batch_size_per_gpu", "int", "micro-batch (no dynamic batching)", low=1),
    Setting("SP_SIZE", f"{A}.ulysses_sequence_parallel_size", "int", "Ulysses sequence parallel size", low=1),
    # rollout
    Setting("N_RESPONSES", f"{R}.n", "int", "responses per prompt", low=1),
    Setting("TEMPERATURE", f"{R}.temperature", "float", "rollout (training) sampling temperature", low=0, low_open=True),
    Setting("TOP_P", f"{R}.top_p", "float", "rollout top-p", low=0, high=1, low_open=True),
    Setting("TOP_K", f"{R}.top_k", "int", "rollout top-k (-1: off)", low=1, also=(-1, 0)),
    Setting("ROLLOUT_TP", f"{R}.tensor_model_parallel_size", "int", "rollout tensor parallel size", low=1),
    Setting("ROLLOUT_GPU_MEMORY_UTILIZATION", f"{R}.gpu_memory_utilization", "float", "vLLM's share of GPU memory",
            low=0, high=1, low_open=True),
    Setting("ROLLOUT_MAX_MODEL_LEN", f"{R}.max_model_len", "int", "vLLM context length", low=1),
    Setting("ROLLOUT_MAX_NUM_BATCHED_TOKENS", f"{R}.max_num_batched_tokens", "int", "vLLM tokens per batch", low=1),
    Setting("VAL_N", f"{R}.val_kwargs.n", "int", "validation samples per prompt", low=1),
    Setting("VAL_TEMPERATURE", f"{R}.val_kwargs.temperature", "float", "validation sampling temperature", low=0),
    Setting("VAL_TOP_P", f"{R}.val_kwargs.top_p", "float", "validation top-p", low=0, high=1, low_open=True),
    # algorithm / reward
    Setting("ADV_ESTIMATOR", "algorithm.adv_estimator", "choice", "advantage estimator", choices=_adv_estimators),
    Setting("KL_IN_REWARD_COEF", "algorithm.kl_ctrl.kl_coef", "float", "KL-in-reward coefficient", low=0),
    Setting("FILTER_GROUPS_MAX_NUM_GEN_BATCHES", "algorithm.filter_groups.max_num_gen_batches", "int",
            "generation batches per step with group filtering (0: no limit)", low=0),
    Setting("REWARD_MANAGER", "reward.reward_manager.name", "choice", "verl reward manager", choices=_reward_managers),
    Setting("OVERLONG_BUFFER_LEN", "reward.reward_kwargs.overlong_buffer_cfg.len", "int", "overlong buffer (tokens)", low=0),
    Setting("OVERLONG_PENALTY_FACTOR", "reward.reward_kwargs.overlong_buffer_cfg.penalty_factor", "float",
            "overlong penalty factor", low=0),
    # trainer
    Setting("NNODES", "trainer.nnodes", "int", "nodes", low=1),
    Setting("GPUS_PER_NODE", "trainer.n_gpus_per_node", "int", "GPUs per node", low=1),
    Setting("SAVE_FREQ", "trainer.save_freq", "int", "checkpoint every N steps (-1: never)", low=1, also=(-1,)),
    Setting("MAX_CKPT_TO_KEEP", "trainer.max_actor_ckpt_to_keep", "int", "checkpoints kept (0: all)", low=0),
    Setting("RESUME_MODE", "trainer.resume_mode", "choice", "resume", choices=("auto", "disable", "resume_path")),
    Setting("TEST_FREQ", "trainer.test_freq", "int", "validate every N steps (-1: never)", low=1, also=(-1,)),
    Setting("TOTAL_EPOCHS", "trainer.total_epochs", "int", "passes over the training data", low=1),
    Setting("LOGGER", "trainer.logger", "choices", "experiment trackers", choices=_loggers),
)
BY_KEY = {s.key: s for s in SETTINGS}
BY_VAR = {s.var: s for s in SETTINGS if s.var}


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


def check_setting(setting: Setting, value: Any) -> Optional[str]:
    """The problem with ``value`` for ``setting``, or None."""
    if value is None:
        return None  # unset: verl's default applies (or the key is optional)
    if setting.kind in ("choice", "choices"):
        allowed = _choices(setting)
        values = list(value) if setting.kind == "choices" and not isinstance(value, str) else [value]
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            return f"{setting.name()}={value!r}: {', '.join(map(repr, bad))} not allowed; use {setting.allowed()}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{setting.name()}={value!r} is not a number; use {setting.allowed()}"
    if setting.kind == "int" and not float(value).is_integer():
        return f"{setting.name()}={value!r} is not a whole number; use {setting.allowed()}"
    if not math.isfinite(float(value)):
        return f"{setting.name()}={value!r}; use {setting.allowed()}"
    if value in setting.also:
        return None
    low_bad = setting.low is not None and (value <= setting.low if setting.low_open else value < setting.low)
    high_bad = setting.high is not None and (value >= setting.high if setting.high_open else value > setting.high)
    if low_bad or high_bad:
        return f"{setting.name()}={value!r} is out of range; use {setting.allowed()} ({setting.doc})"
    return None


def check_settings(config: Any) -> list[str]:
    """Every declared setting of ``config`` checked; the problems (empty when all are fine)."""
    problems = []
    for setting in SETTINGS:
        value = get(config, setting.key)
        try:
            from omegaconf import OmegaConf

            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=True)
        except ImportError:  # pragma: no cover
            pass
        problem = check_setting(setting, value)
        if problem:
            problems.append(problem)
    return problems


def markdown_table() -> str:
    """The docs table (docs/launch.md "Checked settings"), generated from :data:`SETTINGS`."""
    rows = ["| variable | hydra key | allowed | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        allowed = s.allowed()
        if callable(s.choices):
            allowed = "a registered name (listed by the error)"
        rows.append(f"| `{s.var or '-'}` | `{s.key}` | {allowed} | {s.doc} |")
    return "\n".join(rows)


TABLE_START = "<!-- checked-settings:start (generated: python -m archer.launch.settings) -->"
TABLE_END = "<!-- checked-settings:end -->"


def write_docs(path) -> bool:
    """Put :func:`markdown_table` between the markers in ``path``; whether the file changed."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    new = text[:start] + "\n" + markdown_table() + "\n" + text[end:]
    if new != text:
        path.write_text(new)
    return new != text


if __name__ == "__main__":
    import sys
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "launch.md"
    print(f"{docs}: {'updated' if write_docs(docs) else 'already current'}", file=sys.stderr)
