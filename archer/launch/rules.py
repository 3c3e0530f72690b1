"""What one setting alone cannot show: rules across settings, the data files, the run state, and settings
that have no effect under the chosen loss. Each check returns problems (strings naming the variable or key,
the value and the fix); :func:`check_everything` runs them all with :func:`archer.launch.settings.check_settings`
and the dry run reports every problem at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from archer.launch.settings import BY_KEY, A, R, check_settings, get


def _name(key: str) -> str:
    setting = BY_KEY.get(key)
    return setting.name() if setting is not None else key


def _int(config: Any, key: str) -> Optional[int]:
    value = get(config, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def cross_field(config: Any) -> list[str]:
    problems = []
    prompt, response = _int(config, "data.max_prompt_length"), _int(config, "data.max_response_length")
    total = (prompt or 0) + (response or 0)
    if prompt and response:
        if get(config, f"{A}.use_dynamic_bsz"):
            for key in (f"{A}.ppo_max_token_len_per_gpu", "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu",
                        f"{R}.log_prob_max_token_len_per_gpu"):
                cap = _int(config, key)
                if cap is not None and cap < total:
                    problems.append(f"{_name(key)}={cap} is below prompt + response = {prompt} + {response} = {total}: "
                                    f"one full-length sequence would not fit; raise it to at least {total}")
        max_model_len = _int(config, f"{R}.max_model_len")
        if max_model_len is not None and max_model_len < total:
            problems.append(f"{_name(f'{R}.max_model_len')}={max_model_len} is below prompt + response = {total}: "
                            f"vLLM would cut responses; raise it to at least {total}")
        overlong = get(config, "reward.reward_kwargs.overlong_buffer_cfg")
        if overlong is not None and overlong.get("enable") and _int(config, "reward.reward_kwargs.overlong_buffer_cfg.len") is not None:
            length = int(overlong.get("len"))
            if length >= response:
                problems.append(f"{_name('reward.reward_kwargs.overlong_buffer_cfg.len')}={length} is not below "
                                f"MAX_RESPONSE_LENGTH={response}: every response would be penalised")
    nnodes, gpus = _int(config, "trainer.nnodes"), _int(config, "trainer.n_gpus_per_node")
    if nnodes and gpus and nnodes >= 1 and gpus >= 1:
        world = nnodes * gpus
        tp = _int(config, f"{R}.tensor_model_parallel_size")
        if tp and tp >= 1 and (gpus % tp if tp <= gpus else world % tp):
            problems.append(f"{_name(f'{R}.tensor_model_parallel_size')}={tp} does not tile "
                            f"{nnodes} node(s) x {gpus} GPUs: use a divisor of GPUS_PER_NODE={gpus}")
        for key in (f"{A}.ulysses_sequence_parallel_size",):
            sp = _int(config, key)
            if sp and sp > 1 and world % sp:
                problems.append(f"{_name(key)}={sp} does not divide the {world} GPUs")
    n = _int(config, f"{R}.n")
    if n == 1 and get(config, "algorithm.filter_groups.enable"):
        problems.append(f"{_name(f'{R}.n')}=1 with FILTER_GROUPS=True (algorithm.filter_groups.enable): a group of "
                        "one response always has a uniform metric, so every group would be dropped; use n >= 2 or "
                        "FILTER_GROUPS=False")
    batch, mini = _int(config, "data.train_batch_size"), _int(config, f"{A}.ppo_mini_batch_size")
    if batch and mini and mini > batch:
        problems.append(f"{_name(f'{A}.ppo_mini_batch_size')}={mini} exceeds {_name('data.train_batch_size')}={batch}")
    elif batch and mini and batch % mini:
        problems.append(f"{_name('data.train_batch_size')}={batch} is not a multiple of "
                        f"{_name(f'{A}.ppo_mini_batch_size')}={mini}")
    return problems


def no_effect(config: Any) -> list[str]:
    """Settings the chosen loss ignores, when set away from their default (verl's ActorConfig field)."""
    from verl.workers.config import ActorConfig

    problems = []
    if get(config, f"{A}.policy_loss.loss_mode") == "aspo":
        c = get(config, f"{A}.clip_ratio_c")
        default = ActorConfig.__dataclass_fields__["clip_ratio_c"].default
        if c is not None and c != default:
            problems.append(f"actor_rollout_ref.actor.clip_ratio_c={c} has no effect with loss_mode=aspo; ASPO's dual "
                            f"clip is actor_rollout_ref.actor.policy_loss.dual_clip_c (now "
                            f"{get(config, f'{A}.policy_loss.dual_clip_c')})")
    return problems


def context_length(config: Any, hf_config: Any) -> list[str]:
    """Prompt + response against the model's context (its config's max_position_embeddings)."""
    limit = getattr(hf_config, "max_position_embeddings", None) if hf_config is not None else None
    prompt, response = _int(config, "data.max_prompt_length"), _int(config, "data.max_response_length")
    if not limit or not prompt or not response or prompt + response <= limit:
        return []
    return [f"MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH = {prompt} + {response} = {prompt + response} exceeds the "
            f"model's context, max_position_embeddings={limit} ({get(config, 'actor_rollout_ref.model.path')}); "
            f"shorten MAX_RESPONSE_LENGTH to at most {limit - prompt}"]


def data(config: Any, files: list[tuple[str, Path]], summaries: dict, task: Optional[str]) -> list[str]:
    """The training data fits: prompt key, the launcher's task, not an evaluation set, at least one batch;
    the validation files are evaluation sets archer knows. ``files``: (config key, path) of every data file
    (:func:`archer.launch.dry_run.data_files`); ``summaries``: their validation summaries by path."""
    from archer.data import EVAL_SETS
    from archer.reward.dispatch import classify

    problems = []
    prompt_key = get(config, "data.prompt_key", "prompt")
    batch = _int(config, "data.train_batch_size")
    for path in (str(p) for key, p in files if key == "data.train_files"):
        summary = summaries.get(path)
        if summary is None:
            continue
        columns = _columns(path)
        if columns is not None and prompt_key not in columns:
            problems.append(f"data.prompt_key={prompt_key!r} is not a column of {path} (columns: {', '.join(sorted(columns))})")
        sources = dict(summary.get("data_sources") or {})
        evals = sorted(s for s in sources if s in EVAL_SETS)
        if evals:
            problems.append(f"TRAIN_FILE (data.train_files) {path} holds evaluation set(s) {', '.join(evals)}: training "
                            f"on them would leak the benchmark; use the training suite (DIR/train/<task>.parquet)")
        if task:
            kinds = {}
            for source in sources:
                try:
                    kinds.setdefault(classify(source), []).append(source)
                except ValueError:
                    pass  # the reward check names ungradable sources
            other = {k: v for k, v in kinds.items() if k != task}
            if other:
                listed = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sorted(other.items()))
                problems.append(f"TRAIN_FILE (data.train_files) {path} holds data for another task ({listed}), but this is "
                                f"the {task} launcher; use scripts/run_aspo_{'code' if task == 'math' else 'math'}.sh for it")
        rows = summary.get("rows")
        if batch and isinstance(rows, int) and rows < batch:
            problems.append(f"TRAIN_FILE (data.train_files) {path} has {rows} rows, fewer than one batch "
                            f"({_name('data.train_batch_size')}={batch})")
    for path in (p for key, p in files if key == "data.val_files"):
        stem = Path(path).stem
        if Path(path).parent.name == "eval" and stem not in EVAL_SETS:
            problems.append(f"VAL_SETS / data.val_files: {stem!r} ({path}) is not an evaluation set; known: {', '.join(EVAL_SETS)}")
    return problems


def run_state(config: Any) -> list[str]:
    """The resume path exists (and was saved by this experiment); the checkpoint directory can be written."""
    from archer.launch import run_identity

    problems = []
    trainer = config["trainer"]
    if trainer.get("resume_mode") == "resume_path":
        path = trainer.get("resume_from_path")
        if not path or not Path(path).is_dir():
            problems.append(f"RESUME_FROM_PATH (trainer.resume_from_path)={path!r} is not a directory (a "
                            f"global_step_N dir of a run)")
    found = run_identity.mismatch(config)
    if found and os.environ.get(run_identity.OVERRIDE_ENV) != "1":
        run_dir, diff = found
        problems.append(f"the checkpoint to resume in {run_dir} was saved by another experiment ("
                        + "; ".join(diff) + f"); use another CKPT_DIR, RESUME_MODE=disable, or "
                        f"{run_identity.OVERRIDE_ENV}=1")
    ckpt = Path(str(trainer.get("default_local_dir")))
    existing = ckpt
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    why = None if existing.is_dir() else "is not a directory"
    if why is None:
        import tempfile

        try:  # a real write: permission bits say nothing for root or on read-only mounts
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as error:
            why = f"cannot be written ({error.strerror or error})"
    if why:
        problems.append(f"CKPT_DIR (trainer.default_local_dir)={ckpt}: cannot be created or written there "
                        f"({existing} {why})")
    return problems


def _columns(path: str) -> Optional[set]:
    try:
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    except Exception:  # unreadable files are reported by the data validation
        return None


def check_config(config: Any) -> list[str]:
    """Everything that needs only the composed config."""
    return check_settings(config) + cross_field(config) + no_effect(config) + run_state(config)
