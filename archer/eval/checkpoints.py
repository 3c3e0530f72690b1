"""What ``--model`` points at, and how to get a loadable Hugging Face model dir from it.

Accepted inputs:

- a Hugging Face model dir: ``config.json`` plus weights (``*.safetensors``, ``pytorch_model*.bin`` or their
  ``*.index.json``);
- a verl actor checkpoint dir (``.../global_step_N/actor``: ``model_world_size_W_rank_R.pt`` shards, an
  ``huggingface/`` subdir with config and tokenizer), or its parent ``global_step_N``. If
  ``actor/huggingface`` already holds full weights (verl's ``checkpoint.save_contents`` with ``hf_model``)
  it is used directly; otherwise the checkpoint is converted with ``archer.export.export_checkpoint``;
- a training run dir holding ``global_step_N`` subdirs: every step, in step order. A step dir may be a
  verl checkpoint (``global_step_N/actor``) or an already converted HF model dir. A step dir that verl's
  checkpoint retention (``trainer.max_actor_ckpt_to_keep``) pruned keeps only the trainer state
  (``data.pt``, no ``actor/``): it is skipped with a log line.

A dir with ``config.json`` but no weights, or an ``actor/`` without shards or weights, raises
EvalInputError ("checkpoint without weights").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from archer.eval.errors import EvalInputError
from archer import rundir

logger = logging.getLogger(__name__)

__all__ = ["Target", "discover_targets", "materialize", "has_hf_weights", "is_verl_actor_dir", "model_loss_mode"]

_STEP_RE = re.compile(r"^global_step_(\d+)$")
_WEIGHT_GLOBS = ("*.safetensors", "model.safetensors.index.json", "pytorch_model*.bin", "pytorch_model.bin.index.json")
_FAILED_MARKER = "EXPORT_FAILED.txt"  # written by archer.export into a failed conversion


@dataclass(frozen=True)
class Target:
    """One model to evaluate: ``label`` names its table row (and its output subdir in a run)."""

    label: str
    kind: str  # "hf" | "verl"
    path: Path  # the HF dir, or the verl actor dir
    step: int | None = None


def has_hf_weights(path: Path) -> bool:
    return (path / "config.json").is_file() and any(any(path.glob(g)) for g in _WEIGHT_GLOBS)


def is_verl_actor_dir(path: Path) -> bool:
    return any(path.glob("model_world_size_*_rank_*.pt"))


def _no_weights(path: Path, what: str) -> EvalInputError:
    return EvalInputError(
        f"checkpoint without weights: {path} {what}; expected HF weights (model*.safetensors / pytorch_model*.bin "
        "next to config.json) or verl FSDP shards (model_world_size_*_rank_*.pt)"
    )


def _single(path: Path, label: str, step: int | None) -> Target:
    """A HF dir, a verl actor dir or a global_step_N dir -> one Target (EvalInputError otherwise)."""
    if has_hf_weights(path):
        return Target(label, "hf", path, step)
    if is_verl_actor_dir(path):
        hf = path / "huggingface"
        if has_hf_weights(hf):
            return Target(label, "hf", hf, step)
        return Target(label, "verl", path, step)
    actor = path / "actor"
    if actor.is_dir():
        return _single(actor, label, step)
    if (path / "config.json").is_file():
        raise _no_weights(path, "has config.json but no model weights")
    if (path / "huggingface").is_dir() or (path / "fsdp_config.json").is_file():
        raise _no_weights(path, "looks like a verl checkpoint but holds no shards")
    raise EvalInputError(
        f"{path} is neither a Hugging Face model dir (config.json + weights), a verl actor checkpoint "
        "(model_world_size_*_rank_*.pt), a global_step_N dir with actor/, nor a run dir with global_step_* subdirs"
    )


def _step_dirs(path: Path) -> list[tuple[int, Path]]:
    steps = []
    for child in path.iterdir():
        m = _STEP_RE.match(child.name)
        if m and child.is_dir():
            steps.append((int(m.group(1)), child))
    return sorted(steps)


def _pruned_by_retention(step_dir: Path) -> bool:
    """verl's retention deletes ``global_step_N/actor`` and leaves the dataloader state (``data.pt``)."""
    return (
        not (step_dir / "actor").exists()
        and not (step_dir / "config.json").exists()
        and not (step_dir / "huggingface").exists()
        and not is_verl_actor_dir(step_dir)
        and (step_dir / "data.pt").is_file()
    )


def discover_targets(model: str | Path, label: str | None = None) -> tuple[str, list[Target]]:
    """("single" | "run", targets). A run dir yields one Target per ``global_step_N`` in step order,
    labelled ``global_step_N``; a single model is labelled ``label`` or its dir name."""
    path = Path(model).expanduser()
    if not path.exists():
        raise EvalInputError(f"model path {path} does not exist")
    if not path.is_dir():
        raise EvalInputError(f"model path {path} is not a directory")
    steps = _step_dirs(path)
    if steps and not has_hf_weights(path) and not is_verl_actor_dir(path):
        pruned = [d.name for _, d in steps if _pruned_by_retention(d)]
        if pruned:
            logger.info(
                "skipping %d step dir(s) whose weights verl's checkpoint retention deleted (only data.pt left): %s",
                len(pruned), ", ".join(pruned),
            )
        kept = [(n, d) for n, d in steps if not _pruned_by_retention(d)]
        if not kept:
            raise EvalInputError(
                f"{path}: every global_step_N dir was pruned by verl's checkpoint retention (only data.pt left); "
                "keep weights of every save with actor_rollout_ref.actor.checkpoint.save_contents (docs/launch.md)"
            )
        return "run", [_single(d, d.name, n) for n, d in kept]
    m = _STEP_RE.match(path.name)
    if label is None:
        if path.name == "actor" and _STEP_RE.match(path.parent.name):
            label = path.parent.name
        elif path.name == "huggingface" and path.parent.name == "actor":
            label = path.parent.parent.name
        else:
            label = path.name
    step = int(m.group(1)) if m else None
    return "single", [_single(path, label, step)]


def _check_weight_files(path: Path) -> None:
    """Truncated / corrupt weight files named before the model load (transformers would not name them)."""
    from archer.export.checks import check_safetensors_file, check_torch_file
    from archer.export.errors import ExportError

    try:
        for f in sorted(path.glob("*.safetensors")):
            check_safetensors_file(f)
        for f in sorted(path.glob("pytorch_model*.bin")):
            check_torch_file(f, "weights")
    except ExportError as exc:
        raise EvalInputError(str(exc)) from None


def materialize(target: Target, convert_dir: Path, *, verify_export: bool = True) -> Path:
    """A loadable HF model dir for ``target``: the dir itself, or ``convert_dir`` holding its conversion
    (reused when a previous run already converted it)."""
    if target.kind == "hf":
        _check_weight_files(target.path)
        return target.path
    if has_hf_weights(convert_dir) and not (convert_dir / _FAILED_MARKER).exists():
        _check_weight_files(convert_dir)
        logger.info("reusing the converted model in %s", convert_dir)
        return convert_dir
    try:
        from archer.export import ExportError, export_checkpoint
    except ImportError as exc:
        raise EvalInputError(
            f"{target.path} is a verl checkpoint; converting it needs archer.export ({exc})"
        ) from exc
    logger.info("converting verl checkpoint %s -> %s", target.path, convert_dir)
    try:
        return Path(export_checkpoint(target.path, convert_dir, verify=verify_export, overwrite=True))
    except ExportError as exc:
        raise EvalInputError(f"converting {target.path}: {exc}") from exc


def model_loss_mode(model: str | Path) -> tuple[str | None, str | None]:
    """(policy loss the model was trained with, where that was read) for ``--model``: an export's
    ``export_report.json`` (archer.export records it), else the run's saved config next to the checkpoint
    (``config.yaml`` / ``.hydra/config.yaml`` in the step dir or its two parents); (None, None) if unknown."""
    import json

    import yaml

    from archer.export.run_config import LOSS_MODE_KEY, find_run_config

    path = Path(model).expanduser()
    report = path / rundir.EXPORT_REPORT
    if report.is_file():
        try:
            mode = json.loads(report.read_text(encoding="utf-8")).get("loss_mode")
        except (OSError, ValueError):
            mode = None
        if mode:
            return str(mode), str(report)
    config = find_run_config(path)
    if config is None:
        return None, None
    try:
        node = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None, None
    for key in LOSS_MODE_KEY.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return (str(node), str(config)) if node is not None else (None, None)
