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

Used by archer.eval, archer.export, archer.compare, archer.plot and archer.launch.
"""

from __future__ import annotations

import re
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


def marked_step(run_dir: Optional[Path]) -> Optional[int]:
    """The step verl's ``latest_checkpointed_iteration.txt`` in ``run_dir`` names, if any."""
    if run_dir is None:
        return None
    try:
        return int((Path(run_dir) / LATEST).read_text().strip())
    except (OSError, ValueError):
        return None


def latest_step(run_dir: Path) -> Optional[int]:
    """verl's last saved step (its marker file), else the highest ``global_step_N`` present."""
    step = marked_step(run_dir)
    if step is not None:
        return step
    steps = saved_steps(run_dir)
    return steps[-1] if steps else None
