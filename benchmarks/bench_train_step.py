"""Whole training-step time of ASPO vs verl's vanilla (GRPO) loss in the same harness, in one run.

Runs ``bash scripts/run_aspo_<task>.sh --smoke`` (verl's real trainer loop on CPU with archer's backend)
twice with the same seeds, assets and settings, ``LOSS_MODE=aspo`` and ``LOSS_MODE=vanilla`` (the GRPO
baseline launchers' only difference), and reads verl's per-step timings from each run's metric log:

    timing_s/step          the whole step
    timing_s/gen           rollout (in verl's v1 agent loop the reward is computed here, per trajectory)
    timing_s/old_log_prob  recomputing the old policy's log-probs
    timing_s/ref           the reference model's log-probs (KL loss)
    timing_s/update_actor  the policy update (where the two losses differ)

and prints the median over the steps after the first (step 1 includes warm-up) for both runs and the
ratio ASPO / vanilla (goal: step <= 1.05). After step 1 the two policies differ, so they generate
responses of different lengths and the seconds of a stage are not the loss's cost alone: the table also
gives verl's per-token times (``timing_per_token_ms/*``) and the mean response length, and step 1's
``update_actor`` ratio, the one update both runs make on the same rollouts (same initial model, same
seeds). benchmarks/bench_aspo_loss.py times the loss alone.

    python benchmarks/bench_train_step.py [--task math] [--steps 6] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("step", "gen", "old_log_prob", "ref", "update_actor", "adv")
PER_TOKEN = ("timing_per_token_ms/gen", "timing_per_token_ms/ref", "timing_per_token_ms/update_actor")
# launcher variables this benchmark sets; anything the caller's shell set for them is dropped
OWN_VARS = ("LOSS_MODE", "SMOKE_STEPS", "SMOKE_FINISH", "CKPT_DIR", "SAVE_FREQ", "PYTHON", "EXPERIMENT_NAME")


def run(task: str, loss_mode: str, steps: int, out: Path) -> dict[str, list[float]]:
    ckpt = out / loss_mode
    env = {k: v for k, v in os.environ.items() if k not in OWN_VARS}
    env.update(LOSS_MODE=loss_mode, SMOKE_STEPS=str(steps), SMOKE_FINISH="0", CKPT_DIR=str(ckpt),
               SAVE_FREQ=str(steps), PYTHON=sys.executable, EXPERIMENT_NAME=f"bench-{loss_mode}")
    started = time.monotonic()
    print(f"[bench_train_step] {loss_mode}: {steps} smoke steps in {ckpt} ...", file=sys.stderr, flush=True)
    done = subprocess.run(["bash", str(REPO / "scripts" / f"run_aspo_{task}.sh"), "--smoke"], cwd=REPO, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        sys.exit(f"bench_train_step: the {loss_mode} smoke run failed (exit {done.returncode}):\n{tail}")
    print(f"[bench_train_step] {loss_mode}: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    from archer.smoke.pipeline import SmokeError, merge_metrics

    try:
        metrics = merge_metrics(ckpt)  # the file logger's output of this run, one line per step
    except SmokeError as exc:
        sys.exit(f"bench_train_step: {exc}")
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    rows = sorted(rows, key=lambda r: int(r["step"]))
    first, rows = rows[0]["data"], rows[1:]  # step 1 (same rollouts in both runs) and the steps after it
    if not rows:
        sys.exit(f"bench_train_step: {metrics} has no step after the first; use --steps >= 2")
    out = {s: [float(r["data"][f"timing_s/{s}"]) for r in rows if f"timing_s/{s}" in r["data"]] for s in STAGES}
    for key in PER_TOKEN + ("response_length/mean",):
        out[key] = [float(r["data"][key]) for r in rows if key in r["data"]]
    out["step1_update_actor"] = [float(first.get("timing_s/update_actor", float("nan")))]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--task", choices=("math", "code"), default="math")
    parser.add_argument("--steps", type=int, default=6, help="training steps per run (the first is not counted)")
    parser.add_argument("--out", type=Path, help="run dirs go here (default: a temp dir, removed afterwards)")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be >= 2 (the first step is warm-up and not counted)")
    with tempfile.TemporaryDirectory(prefix="bench_train_step_") as tmp:
        out = args.out or Path(tmp)
        timings = {mode: run(args.task, mode, args.steps, out) for mode in ("aspo", "vanilla")}
    print(f"\nmedian seconds over steps 2..{args.steps} ({args.task} smoke, CPU, verl's real trainer loop)")
    print(f"{'stage':<34}{'ASPO':>10}{'vanilla':>10}{'ratio':>8}")
    for stage in (*STAGES, *PER_TOKEN, "response_length/mean", "step1_update_actor"):
        a, v = timings["aspo"][stage], timings["vanilla"][stage]
        if not a or not v:
            continue
        ma, mv = statistics.median(a), statistics.median(v)
        print(f"{stage:<34}{ma:>10.3f}{mv:>10.3f}{(ma / mv if mv else float('nan')):>8.3f}")
    ratio = statistics.median(timings["aspo"]["step"]) / statistics.median(timings["vanilla"]["step"])
    per_token = (statistics.median(timings["aspo"]["timing_per_token_ms/update_actor"])
                 / statistics.median(timings["vanilla"]["timing_per_token_ms/update_actor"]))
    same_batch = timings["aspo"]["step1_update_actor"][0] / timings["vanilla"]["step1_update_actor"][0]
    print(f"\nASPO / vanilla whole step: {ratio:.3f} (goal <= 1.05; includes generation of different lengths)")
    print(f"ASPO / vanilla update per token: {per_token:.3f}; step-1 update on the same rollouts: {same_batch:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
