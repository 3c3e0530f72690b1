"""Check a training job without a GPU: compose, validate through verl, check reward and data, print the config.

    python -m archer.launch.dry_run [options] [hydra overrides ...]

Composes exactly the config ``python -m archer.launch.main`` composes (same config dir, same overrides),
then runs, in order:

1. archer's driver checks (:func:`archer.launch.main.check_config`: registered loss mode, value types,
   ASPO's entropy switch);
2. verl's own validation as ``verl.trainer.main_ppo.main`` runs it (``auto_set_device``,
   ``validate_config``), and instantiates every config dataclass verl's v1 trainer and its workers build
   from this config: actor (with archer's ``AspoPolicyLossConfig`` through its ``_target_``), reference,
   rollout, checkpoint engine, critic (if used), algorithm, sandbox-fusion, reward model
   (if enabled), distillation (if enabled), and the model's ``HFModelConfig`` when the model is on disk
   (then, with ``model_engine=megatron``, also that the expert parallel size divides the model's experts);
3. loads the reward manager and the custom reward function through verl's loader
   (``verl.trainer.ppo.reward.load_reward_manager``), which also checks the DAPO overlong-buffer keys, and
   checks that ``algorithm.filter_groups.metric`` is a key the reward returns;
4. checks the data files: existing ones with ``archer.data.validate_prepared``; a missing one is a
   warning naming the exact ``python -m archer.data prepare`` command the real run executes
   (``--preflight`` runs it instead);
5. calls the loaded reward function on one row of every ``data_source`` in the data files
   (:mod:`archer.launch.reward_sources`), so a source it cannot grade fails here, not on a node;

and prints ``OmegaConf.to_yaml(config, resolve=True)`` on stdout. Everything else (logs, verl's own
prints) goes to stderr, so stdout is pure YAML. Exit status (archer/cli.py): 0 ok, 2 the config or data is rejected or the overrides do not
compose.

Nothing is downloaded in a dry run. A model given as a hub id is checked only if it is already in the
local Hugging Face cache; otherwise its HF config / tokenizer check is skipped with a note (verl loads
them when training starts). ``--preflight`` (used by scripts/run_aspo_*.sh before a real run) prepares
missing data and lets verl fetch the model's config and tokenizer.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

# file names of the prepared data (the shared data contract of archer.data)
from archer.cli import CliError
from archer.data import EVAL_SETS, TRAIN_SUITES

logger = logging.getLogger("archer.dry_run")

# verl's canonical group-filter metric (the summed token reward); other names are reward extra keys
VERL_REWARD_METRIC = "reward"


class DryRunError(CliError):
    """A check failed; the message names the key / file / value."""


# ---------------------------------------------------------------------------------------------------
# composition


def compose_config(overrides: Sequence[str]):
    """The config ``python -m archer.launch.main <overrides>`` runs with (hydra's compose API)."""
    from hydra import compose, initialize_config_dir

    from archer.launch import CONFIG_DIR, CONFIG_NAME

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None, job_name="archer_dry_run"):
        return compose(config_name=CONFIG_NAME, overrides=list(overrides))


# ---------------------------------------------------------------------------------------------------
# verl's validation and config dataclasses


def _instantiate(cfg, key: str):
    """verl's ``omega_conf_to_dataclass`` on one node; errors name the key."""
    from verl.utils.config import omega_conf_to_dataclass

    try:
        return omega_conf_to_dataclass(cfg)
    except Exception as exc:  # hydra wraps dataclass errors; keep the original text
        raise DryRunError(f"verl could not instantiate `{key}`: {type(exc).__name__}: {exc}") from exc


def _ref_view(ref_cfg, actor_cfg):
    """The reference config as verl's engine worker rewrites it before instantiating it
    (verl.workers.engine_workers: log_prob_* keys become ppo_* keys)."""
    from omegaconf import open_dict

    ref = copy.deepcopy(ref_cfg)
    with open_dict(ref):
        ref.ppo_mini_batch_size = actor_cfg.ppo_mini_batch_size
        ref.ppo_micro_batch_size = ref.pop("log_prob_micro_batch_size", None)
        ref.ppo_micro_batch_size_per_gpu = ref.pop("log_prob_micro_batch_size_per_gpu", None)
        ref.use_dynamic_bsz = ref.pop("log_prob_use_dynamic_bsz", False)
        ref.ppo_max_token_len_per_gpu = ref.pop("log_prob_max_token_len_per_gpu", None)
    return ref


def validate_with_verl(cfg) -> dict[str, Any]:
    """Run verl's driver-side validation and instantiate its config dataclasses; returns them by key."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config
    from verl.utils.device import auto_set_device

    from archer.launch.config_checks import ConfigError
    from archer.launch.main import check_config

    try:
        check_config(cfg)
    except (ConfigError, ValueError) as exc:  # ValueError: an ASPO key the config class rejects
        raise DryRunError(str(exc)) from exc
    try:
        auto_set_device(cfg)
        use_ref, use_critic = need_reference_policy(cfg), need_critic(cfg)
        validate_config(config=cfg, use_reference_policy=use_ref, use_critic=use_critic)
    except DryRunError:
        raise
    except Exception as exc:
        raise DryRunError(f"verl rejected the config: {type(exc).__name__}: {exc}") from exc

    arr = cfg.actor_rollout_ref
    built: dict[str, Any] = {}
    built["actor_rollout_ref.actor"] = actor = _instantiate(arr.actor, "actor_rollout_ref.actor")
    expected = arr.actor.policy_loss.get("_target_")
    got = f"{type(actor.policy_loss).__module__}.{type(actor.policy_loss).__qualname__}"
    if expected and got != expected:
        raise DryRunError(f"actor_rollout_ref.actor.policy_loss._target_ is {expected} but verl built {got}")
    if use_ref:
        built["actor_rollout_ref.ref"] = _instantiate(_ref_view(arr.ref, arr.actor), "actor_rollout_ref.ref")
    built["actor_rollout_ref.rollout"] = _instantiate(arr.rollout, "actor_rollout_ref.rollout")
    built["actor_rollout_ref.rollout.checkpoint_engine"] = _instantiate(
        arr.rollout.checkpoint_engine, "actor_rollout_ref.rollout.checkpoint_engine"
    )
    if use_critic:
        built["critic"] = _instantiate(cfg.critic, "critic")
    built["algorithm"] = _instantiate(cfg.algorithm, "algorithm")
    # reward.reward_manager is not instantiated: verl 0.9.1 never does (its RewardManagerConfig.__post_init__
    # calls a missing super().__post_init__); load_reward() resolves the manager class as verl does
    built["reward.sandbox_fusion"] = _instantiate(cfg.reward.sandbox_fusion, "reward.sandbox_fusion")
    if cfg.reward.reward_model.enable:
        built["reward.reward_model"] = _instantiate(cfg.reward.reward_model, "reward.reward_model")
    if cfg.get("distillation") is not None and cfg.distillation.get("enabled", False):
        built["distillation"] = _instantiate(cfg.distillation, "distillation")
    _check_worker_asserts(arr)
    logger.info("verl validation passed; instantiated %s", ", ".join(built))
    return built


def _check_worker_asserts(arr) -> None:
    """Conditions verl's actor worker asserts in init_model (verl.workers.engine_workers), on the driver."""
    actor, rollout = arr.actor, arr.rollout
    if actor.use_dynamic_bsz != rollout.log_prob_use_dynamic_bsz:
        raise DryRunError(
            f"actor_rollout_ref.actor.use_dynamic_bsz={actor.use_dynamic_bsz} and "
            f"actor_rollout_ref.rollout.log_prob_use_dynamic_bsz={rollout.log_prob_use_dynamic_bsz} must be equal"
        )
    if actor.use_dynamic_bsz:
        needed = {
            "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": actor.ppo_max_token_len_per_gpu,
            "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu": rollout.log_prob_max_token_len_per_gpu,
        }
    else:
        needed = {
            "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": actor.ppo_micro_batch_size_per_gpu,
            "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": rollout.log_prob_micro_batch_size_per_gpu,
        }
    unset = [key for key, value in needed.items() if value is None]
    if unset:
        raise DryRunError(f"{', '.join(unset)} must be set (use_dynamic_bsz={actor.use_dynamic_bsz})")


def check_filter_groups(cfg) -> Optional[str]:
    """verl's own resolution of the group-filter metric (PPOTrainer._resolve_filter_groups_metric, which
    only reads ``self.config``), plus: the metric must be a numeric key archer's reward returns."""
    from types import SimpleNamespace

    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    try:
        metric = PPOTrainer._resolve_filter_groups_metric(SimpleNamespace(config=cfg))
    except Exception as exc:
        raise DryRunError(f"algorithm.filter_groups: {type(exc).__name__}: {exc}") from exc
    if metric is None or metric == VERL_REWARD_METRIC or not _uses_archer_reward(cfg):
        return metric
    from archer.reward.metrics import NUMERIC_KEYS

    if metric not in NUMERIC_KEYS:
        raise DryRunError(
            f"algorithm.filter_groups.metric={metric!r} is not a numeric key of archer.reward.compute_score's "
            f"result; use one of {[VERL_REWARD_METRIC, *NUMERIC_KEYS]}"
        )
    return metric


def _uses_archer_reward(cfg) -> bool:
    fn = cfg.reward.get("custom_reward_function") or {}
    return str(fn.get("path") or "").rstrip("/") in ("pkg://archer.reward", "archer.reward") or str(
        fn.get("path") or ""
    ).endswith("archer/reward/__init__.py")


def load_reward(cfg):
    """The reward manager and custom reward function, loaded by verl's own loader as its reward workers do."""
    from verl.trainer.ppo.reward import load_reward_manager

    fn_cfg = cfg.reward.get("custom_reward_function") or {}
    try:
        manager = load_reward_manager(cfg, None, reward_router_address=None, reward_model_tokenizer=None)
    except Exception as exc:
        raise DryRunError(
            f"verl could not load the reward (reward.reward_manager.name={cfg.reward.reward_manager.name!r}, "
            f"reward.custom_reward_function.path={fn_cfg.get('path')!r}, name={fn_cfg.get('name')!r}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(manager, "compute_score", None)):
        raise DryRunError(f"reward manager {type(manager).__name__} has no callable compute_score")
    logger.info(
        "reward: %s with %s:%s", type(manager).__name__, fn_cfg.get("path"), fn_cfg.get("name")
    )
    return manager


# ---------------------------------------------------------------------------------------------------
# model


def _cached_hub_snapshot(repo_id: str) -> Optional[Path]:
    """The local snapshot dir of a hub model whose config.json is already cached, without network."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # not a valid repo id
        return None
    return Path(found).parent if isinstance(found, str) else None


def check_model(cfg, *, allow_download: bool) -> Optional[Any]:
    """Instantiate verl's HFModelConfig (loads the model's HF config and tokenizer) when that needs no
    network, or always with ``allow_download``. Returns it, or None when skipped (with a note)."""
    model = cfg.actor_rollout_ref.model
    path = str(model.path)
    local = Path(os.path.expanduser(path))
    node = model
    looks_local = path.startswith(("/", ".", "~"))
    if local.is_dir():
        source = str(local)
    elif looks_local and allow_download:
        raise DryRunError(f"actor_rollout_ref.model.path={path} is not a directory on this machine")
    elif allow_download:
        source = path
    else:
        snapshot = _cached_hub_snapshot(path)
        if snapshot is None:
            logger.warning(
                "model %s is not %s; its HF config and tokenizer are not checked in a dry run (nothing is "
                "downloaded). %s",
                path,
                "on this machine" if looks_local else "in the local Hugging Face cache",
                "The real run needs it at that path." if looks_local else "verl downloads it when training starts.",
            )
            return None
        node = copy.deepcopy(model)
        node.path = str(snapshot)
        source = f"{path} (cached at {snapshot})"
    hf = _instantiate(node, "actor_rollout_ref.model")
    logger.info("model %s: %s, vocab %s", source, getattr(hf.hf_config, "model_type", "?"), len(hf.tokenizer))
    return hf


# ---------------------------------------------------------------------------------------------------
# data


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def data_files(cfg) -> list[tuple[str, Path]]:
    """(config key, path) for every training and validation file."""
    out = []
    for key in ("train_files", "val_files"):
        out += [(f"data.{key}", Path(os.path.expanduser(p))) for p in _as_list(cfg.data.get(key))]
    return out


def prepare_command(path: Path) -> Optional[list[str]]:
    """The ``python -m archer.data prepare`` command that writes ``path`` (data contract file names:
    DIR/train/{math,code}.parquet, DIR/eval/<set>.parquet), or None for any other path."""
    path = Path(path)
    if path.suffix != ".parquet":
        return None
    if path.parent.name == "train" and path.stem in TRAIN_SUITES:
        suite = path.stem
    elif path.parent.name == "eval" and path.stem in EVAL_SETS:
        suite = "eval"
    else:
        return None
    return ["python", "-m", "archer.data", "prepare", "--suite", suite, "--out-dir", str(path.parent.parent)]


def _validator():
    try:
        from archer.data import validate_prepared
    except ImportError as exc:
        return None, exc
    return validate_prepared, None


def prepare_commands(paths: Iterable[Path]) -> list[tuple[list[str], list[Path]]]:
    """One prepare command per (suite, output dir) for the given (missing) files, with the files it writes.
    Eval sets are restricted to the missing ones with ``--sets``. Paths with no command are left out."""
    groups: dict[tuple[str, ...], list[Path]] = {}
    for p in paths:
        cmd = prepare_command(p)
        if cmd is not None and Path(p) not in groups.get(tuple(cmd), []):
            groups.setdefault(tuple(cmd), []).append(Path(p))
    out = []
    for cmd, files in groups.items():
        cmd = list(cmd)
        if cmd[5] == "eval":
            cmd += ["--sets", ",".join(dict.fromkeys(f.stem for f in files))]
        out.append((cmd, files))
    return out


def check_data(cfg, *, prepare_missing: bool) -> dict[str, dict]:
    """Validate existing data files; for missing ones warn with (or, ``prepare_missing``, run) the prepare
    command. Returns {path: validate_prepared summary} for the files that were validated."""
    files = data_files(cfg)
    missing = [(key, p) for key, p in files if not p.exists()]
    unmakeable = [
        f"{key}: {p} does not exist and is not a file archer.data prepares "
        f"(DIR/train/{{{','.join(TRAIN_SUITES)}}}.parquet or DIR/eval/<set>.parquet); check the path or create it"
        for key, p in missing if prepare_command(p) is None]
    _stop_if(unmakeable)  # the real run would stop on it after the workers started
    for cmd, paths in prepare_commands(p for _, p in missing):
        shown = shlex.join(cmd)
        names = ", ".join(str(p) for p in paths)
        if not prepare_missing:
            logger.warning("missing %s; the real run will execute: %s", names, shown)
            continue
        if all(p.exists() for p in paths):  # written by an earlier command (a training suite also writes eval sets)
            continue
        logger.info("preparing %s: %s", names, shown)
        # its stdout goes to our stderr (fd 1 is redirected in main), so our stdout stays YAML
        done = subprocess.run([sys.executable, *cmd[1:]], check=False)
        if done.returncode != 0:
            raise DryRunError(f"`{shown}` failed with exit status {done.returncode}")
        still = [p for p in paths if not p.exists()]
        if still:
            raise DryRunError(f"`{shown}` finished but did not write {', '.join(map(str, still))}")

    validate, import_error = _validator()
    summaries: dict[str, dict] = {}
    present = [(key, p) for key, p in files if p.exists()]
    if present and validate is None:
        message = f"archer.data is not importable ({import_error}); data files are not validated"
        if prepare_missing:
            raise DryRunError(message)
        logger.warning(message)
        return summaries
    for key, p in present:
        try:
            summary = validate(p)
        except ValueError as exc:
            raise DryRunError(f"{key}: {exc}") from exc
        summaries[str(p)] = summary
        logger.info("%s: %s rows, sources %s", p, summary.get("rows"), summary.get("data_sources"))
    return summaries


def check_reward_sources(cfg, manager) -> None:
    """The loaded reward function grades one row of every data source in the existing data files."""
    from archer.launch.reward_sources import check_reward_sources as check

    fn_cfg = cfg.reward.get("custom_reward_function") or {}
    describe = (
        f"{fn_cfg.get('path')}:{fn_cfg.get('name')}" if fn_cfg.get("path") else "verl's default_compute_score "
        "(reward.custom_reward_function.path is null)"
    )
    try:
        checked = check(manager.compute_score, data_files(cfg), describe)
    except ValueError as exc:
        raise DryRunError(str(exc)) from exc
    for path, sources in checked.items():
        logger.info("reward grades every data source of %s: %s", path, ", ".join(sources))


# ---------------------------------------------------------------------------------------------------
# CLI


def run(overrides: Iterable[str], *, preflight: bool = False, task: Optional[str] = None):
    """All checks; returns the composed config. Raises DryRunError listing every problem found (or hydra's
    errors on composition). ``task``: the launcher's task (math | code), for the data-fits-task check."""
    from archer.launch import rules

    cfg = compose_config(list(overrides))
    problems = rules.check_config(cfg)
    try:
        validate_with_verl(cfg)
    except DryRunError as exc:
        problems.append(str(exc))
    _stop_if(problems)
    hf = check_model(cfg, allow_download=preflight)
    if hf is not None:
        from archer.launch.config_checks import ConfigError, check_experts_divide

        try:
            check_experts_divide(cfg, hf.hf_config)
        except ConfigError as exc:
            problems.append(str(exc))
        problems += rules.context_length(cfg, hf.hf_config)
    else:  # the model is not on disk: a preset's model has its context declared (archer/launch/presets.py)
        from types import SimpleNamespace

        from archer.launch.presets import context_of

        context = context_of(str(cfg.actor_rollout_ref.model.path))
        problems += rules.context_length(cfg, SimpleNamespace(max_position_embeddings=context))
    manager = load_reward(cfg)
    check_filter_groups(cfg)
    summaries = check_data(cfg, prepare_missing=preflight)
    problems += rules.data(cfg, data_files(cfg), summaries, task)
    try:
        check_reward_sources(cfg, manager)
    except DryRunError as exc:
        problems.append(str(exc))
    _stop_if(problems)
    check_patches()
    return cfg


def _stop_if(problems: list[str]) -> None:
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise DryRunError(f"{len(problems)} problem(s) in the configuration; nothing was started:\n{listing}")


def check_patches() -> None:
    """List archer's patches of verl and whether each is active (the driver stops on an inactive one)."""
    from archer.plugin import patches

    for row in patches.describe():  # one line each: the console shows single lines
        logger.info("patch of verl %s: %s", patches.VERL_VERSION, row)
    try:
        patches.verify()
    except patches.PatchNotApplied as exc:
        raise DryRunError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archer.launch.dry_run",
        description=(
            "Compose the training config exactly as `python -m archer.launch.main` does, validate it with "
            "verl's own checks and config dataclasses, load the reward function, check the data files, and "
            "print the resolved config as YAML on stdout (logs on stderr). Works on a CPU-only machine; "
            "downloads nothing unless --preflight."
        ),
        epilog="Exit status: 0 ok, 2 config/data rejected (every problem listed, each naming the key or file) or overrides that do not compose.",
    )
    parser.add_argument(
        "--preflight",
        action="store_true",
        help="real-run mode (used by scripts/run_aspo_*.sh): run `python -m archer.data prepare` for missing "
        "data files and load the model's HF config/tokenizer even if that downloads them",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="only warnings and errors on stderr"
    )
    parser.add_argument("--task", choices=("math", "code"), default=None,
                        help="the launcher's task: the training data must be of this task")
    parser.add_argument("overrides", nargs="*", help="hydra overrides, as for python -m archer.launch.main")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.dry_run", argv)


def _main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_intermixed_args(argv)  # flags may come after overrides
    from archer.log import setup_logging

    setup_logging("archer.dry_run", quiet=args.quiet)  # one log style with archer's other CLIs
    # Everything written to fd 1 by us, verl, hydra or child processes goes to stderr; only the YAML is
    # written to the original stdout.
    sys.stdout.flush()
    yaml_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            try:
                cfg = run(args.overrides, preflight=args.preflight, task=args.task)
            except DryRunError as exc:
                logger.error("%s", exc)
                return exc.exit_code  # bad input: 2 (archer.cli)
            except Exception as exc:
                from hydra.errors import HydraException
                from omegaconf.errors import OmegaConfBaseException

                if isinstance(exc, (HydraException, OmegaConfBaseException)):
                    logger.error("the overrides do not compose: %s: %s", type(exc).__name__, exc)
                    return 2
                raise
            from omegaconf import OmegaConf

            text = OmegaConf.to_yaml(cfg, resolve=True)
        yaml_out.write(text)
        yaml_out.flush()
        logger.info("config OK (printed on stdout)")
        return 0
    finally:
        sys.stderr.flush()
        os.dup2(yaml_out.fileno(), 1)  # give fd 1 back (matters when main() is called in-process)
        yaml_out.close()


if __name__ == "__main__":
    sys.exit(main())
