"""Helpers for the archer.compare tests: two small but realistic runs (ASPO and a vanilla-loss GRPO
baseline) and their eval outputs, written into a tmp dir, and the CLI run in-process.

Layout, as the launchers and ``archer.eval run --out`` write it::

    aspo/config.yaml  aspo/metrics.jsonl  aspo/global_step_10/  aspo/global_step_20/
    grpo/config.yaml  grpo/metrics.jsonl  grpo/global_step_10/  grpo/global_step_20/
    eval_aspo/global_step_10/summary.json  eval_aspo/global_step_20/summary.json   (same for eval_grpo)

The metric logs are verl's file-logger lines ``{"step": N, "data": {...}}``; ASPO logs archer's own
``actor/aspo/*`` metrics too, GRPO only what verl's vanilla loss logs. ``actor/pg_clipfrac_lower`` means verl's
negative dual-clip share (of all valid tokens) in both.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from plot_support import write_jsonl

STEPS = 20
MATH = ("aime2024", "aime2025", "amc2023", "math500", "minerva", "olympiadbench")
K = {"aime2024": 64, "aime2025": 64, "amc2023": 64, "math500": 4, "minerva": 8, "olympiadbench": 4}
PROBLEMS = {"aime2024": 30, "aime2025": 30, "amc2023": 40, "math500": 500, "minerva": 272, "olympiadbench": 675}

# hand-written (avg, pass) per benchmark in MATH order, per method and step
SCORES = {
    "aspo": {
        10: [(31.0, 70.0), (24.0, 60.0), (72.0, 95.0), (84.0, 92.0), (28.0, 47.0), (46.0, 60.0)],
        20: [(33.0, 73.3), (26.0, 63.3), (74.0, 97.5), (85.0, 93.0), (29.0, 48.0), (47.0, 61.0)],
    },
    "grpo": {
        10: [(32.0, 66.7), (25.0, 56.7), (73.0, 95.0), (84.5, 92.4), (28.5, 46.3), (46.5, 59.4)],
        20: [(30.0, 63.3), (23.0, 53.3), (71.0, 92.5), (84.0, 92.0), (27.0, 45.0), (45.0, 58.0)],
    },
}
# Table 1 "Avg." = mean of the six avg@k, by hand
AVG = {("aspo", 10): 285.0 / 6, ("aspo", 20): 294.0 / 6, ("grpo", 10): 289.5 / 6, ("grpo", 20): 280.0 / 6}

CONFIG = """\
actor_rollout_ref:
  actor:
    clip_ratio_low: {low}
    clip_ratio_high: {high}
    clip_ratio_c: {c}
    ppo_mini_batch_size: 64
    optim:
      lr: 1.0e-06
    policy_loss:
      loss_mode: {mode}
  rollout:
    n: 16
data:
  train_batch_size: 64
trainer:
  experiment_name: {name}
  default_local_dir: checkpoints/archer/{name}
"""


def _aspo_record(step: int) -> dict:
    t = step / STEPS
    return {
        "training/global_step": step,
        "critic/score/mean": -0.1 + 0.3 * t,
        "response_length/mean": 3000.0 + 400 * t,
        "reward/repetition_ratio/mean": 0.02 - 0.005 * t,
        "actor/entropy": 0.60 - 0.05 * t,
        "actor/pg_clipfrac": 0.003 + 0.001 * t,
        "actor/pg_clipfrac_lower": 0.5 * (0.0002 + 0.0001 * t),  # dual_clipfrac_neg x share of A<0 tokens
        "actor/aspo/clipfrac_upper": 0.002 + 0.001 * t,
        "actor/aspo/clipfrac_lower": 0.001 + 0.0002 * t,
        "actor/aspo/dual_clipfrac_pos": 0.0004,
        "actor/aspo/dual_clipfrac_neg": 0.0002 + 0.0001 * t,
        "actor/aspo/is_ratio_mean_pos": 1.0 + 0.01 * t,
        "actor/aspo/is_ratio_mean_neg": 1.0 - 0.01 * t,
        "actor/ppo_kl": 0.0003,
        "timing_s/step": 380.0,
    }


def _grpo_record(step: int) -> dict:
    t = step / STEPS
    return {
        "training/global_step": step,
        "critic/score/mean": -0.1 + 0.2 * t,
        "response_length/mean": 3000.0 + 900 * t,
        "reward/repetition_ratio/mean": 0.02 + 0.03 * t,
        "actor/entropy": 0.60 - 0.40 * t,
        "actor/pg_clipfrac": 0.003 + 0.002 * t,
        "actor/pg_clipfrac_lower": 0.0002 + 0.0003 * t,  # verl vanilla: hard dual-clip share of all tokens
        "actor/ppo_kl": 0.0004,
        "timing_s/step": 375.0,
    }


def write_run(run_dir: Path, method: str) -> Path:
    record = _aspo_record if method == "aspo" else _grpo_record
    write_jsonl(run_dir / "metrics.jsonl", [{"step": s, "data": record(s)} for s in range(1, STEPS + 1)])
    low, high, c, mode = (0.2, 0.28, 10.0, "aspo") if method == "aspo" else (0.2, 0.2, 3.0, "vanilla")
    (run_dir / "config.yaml").write_text(CONFIG.format(low=low, high=high, c=c, mode=mode, name=f"{method}-math"))
    for step in (10, 20):
        (run_dir / f"global_step_{step}" / "actor").mkdir(parents=True)
    return run_dir


def summary(method: str, step: int) -> dict:
    return {name: {"n": K[name], "problems": PROBLEMS[name], "avg": a, "pass": p}
            for name, (a, p) in zip(MATH, SCORES[method][step])}


def write_eval(eval_dir: Path, method: str, steps=(10, 20)) -> Path:
    for step in steps:
        path = eval_dir / f"global_step_{step}" / "summary.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(summary(method, step), indent=2) + "\n")
    return eval_dir


def make_inputs(root: Path) -> dict[str, Path]:
    return {
        "aspo": write_run(root / "aspo", "aspo"),
        "grpo": write_run(root / "grpo", "grpo"),
        "eval_aspo": write_eval(root / "eval_aspo", "aspo"),
        "eval_grpo": write_eval(root / "eval_grpo", "grpo"),
        "out": root / "compare_out",
    }


def both(p: dict[str, Path], *extra: str) -> list[str]:
    """The full command line: both runs, both evals."""
    return ["--run", f"ASPO={p['aspo']}", "--eval", f"ASPO={p['eval_aspo']}",
            "--run", f"GRPO={p['grpo']}", "--eval", f"GRPO={p['eval_grpo']}", "--out", str(p["out"]), *extra]


def run_compare(*argv: str) -> tuple[int, str, str]:
    """``python -m archer.compare ARGV`` in this process: (exit code, stdout, stderr)."""
    from archer.compare.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def table_line(table_md: str, label: str) -> list[str]:
    """The cells of the Table-1 line whose first cell is ``label``."""
    for line in table_md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells[1:]
    raise AssertionError(f"no row {label!r} in:\n{table_md}")


def expected_cells(method: str, step: int) -> list[str]:
    cells = [f"{v:.1f}" for pair in SCORES[method][step] for v in pair]
    return cells + [f"{AVG[(method, step)]:.1f}"]
