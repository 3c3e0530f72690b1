"""The run-directory layout, in one place: what verl and archer write where, and how a path given on the
command line is resolved to a checkpoint.

A run directory (the launchers' ``$CKPT_DIR``, verl's ``trainer.default_local_dir``)::

    <run>/global_step_N/actor/            verl's FSDP checkpoint of step N (huggingface/ inside: config, tokenizer)
    <run>/latest_checkpointed_iteration.txt   verl: the last saved step N
    <run>/config.yaml                     the resolved config the launcher ran with
    <run>/archer_run.json                 the run's identity (archer.launch.run_identity)
    <run>/train.log                       the console log (no ANSI codes)
    <run>/metrics/train-*.jsonl           verl's file logger
    <run>/tensorboard/                    verl's tensorboard logger
    <run>/export/global_step_N/           archer.export's Hugging Face model of step N (export_report.json)
    <run>/eval/global_step_N/summary.json archer.eval's scores of step N
    <run>/plots/                          archer.plot's figures (redrawn, never added to)
    <run>/SMOKE_SUMMARY.json              the smoke run's summary

:func:`resolve_checkpoint` accepts every form a user may pass for "this checkpoint": the run directory (its
latest step), ``global_step_N``, ``global_step_N/actor`` and ``global_step_N/actor/huggingface``.
Used by archer.eval, archer.export, archer.compare, archer.plot and archer.smoke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

STEP_PREFIX = "global_step_"
STEP_DIR = re.compile(r"^global_step_(\d+)$")
ACTOR = "actor"
HF_SUBDIR = "huggingface"
LATEST = "latest_checkpointed_iteration.txt"
RUN_CONFIG = "config.yaml"
HYDRA_CONFIG = ".hydra/config.yaml"
IDENTITY = "archer_run.json"
TRAIN_LOG = "train.log"
METRICS_DIR = "metrics"
TENSORBOARD_DIR = "tensorboard"
EXPORT_DIR = "export"
EXPORT_REPORT = "export_report.json"
EVAL_DIR = "eval"
EVAL_SUMMARY = "summary.json"
PLOTS_DIR = "plots"
SMOKE_SUMMARY = "SMOKE_SUMMARY.json"


def step_dir_name(step: int) -> str:
    return f"{STEP_PREFIX}{int(step)}"


def step_of(path: Path) -> Optional[int]:
    """N of the nearest ``global_step_N`` component of ``path`` (None if there is none)."""
    for part in reversed(Path(path).parts):
        match = STEP_DIR.fullmatch(part)
        if match:
            return int(match.group(1))
    return None


def saved_steps(run_dir: Path) -> list[int]:
    """The steps with a ``global_step_N`` directory in ``run_dir``, ascending."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for p in run_dir.iterdir() if p.is_dir() and (m := STEP_DIR.fullmatch(p.name)))


def latest_step(run_dir: Path) -> Optional[int]:
    """verl's last saved step (its marker file), else the highest ``global_step_N`` present."""
    marker = Path(run_dir) / LATEST
    if marker.is_file():
        text = marker.read_text().strip()
        if text.isdigit():
            return int(text)
    steps = saved_steps(run_dir)
    return steps[-1] if steps else None


@dataclass(frozen=True)
class Checkpoint:
    run_dir: Path
    step: Optional[int]
    step_dir: Path  # <run>/global_step_N
    actor_dir: Path  # <run>/global_step_N/actor
    how: str  # how the given path was read, for the log ("the run dir's latest step, 300", ...)


def resolve_checkpoint(path: Path) -> Optional[Checkpoint]:
    """The checkpoint that ``path`` names, or None when it names none of the accepted forms."""
    path = Path(path)
    if path.name == HF_SUBDIR and path.parent.name == ACTOR:
        path = path.parent
    if path.name == ACTOR and STEP_DIR.fullmatch(path.parent.name):
        step_dir = path.parent
        return Checkpoint(step_dir.parent, step_of(step_dir), step_dir, path, "an actor checkpoint dir")
    if STEP_DIR.fullmatch(path.name):
        return Checkpoint(path.parent, step_of(path), path, path / ACTOR, "a global_step_N dir")
    step = latest_step(path) if path.is_dir() else None
    if step is not None:
        step_dir = path / step_dir_name(step)
        return Checkpoint(path, step, step_dir, step_dir / ACTOR, f"a run dir: its latest step, {step}")
    return None
