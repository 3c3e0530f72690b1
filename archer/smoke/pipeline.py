"""After a smoke training run: export the last checkpoint, evaluate the export, plot the metrics, summarise.

Each stage runs archer's own command line in a child process, exactly as a user would:

* ``python -m archer.export <ckpt>/global_step_N/actor <ckpt>/export/global_step_N`` (verification on);
* ``python -m archer.eval run --backend transformers`` (``--backend vllm`` in the vLLM rehearsal,
  :data:`archer.smoke.cpu_settings.EVAL_BACKEND`) on the smoke eval slice of the assets;
* ``python -m archer.plot dynamics --run <ckpt>/metrics.jsonl`` (verl's ``file`` logger output, all
  invocations of the run merged by :func:`merge_metrics`);

then writes ``<ckpt>/SMOKE_SUMMARY.json`` (:data:`SUMMARY_KEYS` at least) and prints a short summary.
A failing stage stops the pipeline with a :class:`SmokeError` naming the stage, the command and its log.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from archer.cli import WorkFailed
from typing import Optional

SUMMARY_FILE = "SMOKE_SUMMARY.json"
SUMMARY_KEYS = ("steps", "metrics_file", "checkpoint", "export_dir", "export_verified", "eval_summary", "plots",
                "seconds", "rollout", "eval_backend", "loss", "differs_from_gpu_run", "rollout_vs_actor")
# verl's per-step check of the weight sync (verl/utils/debug/metrics.py::calculate_debug_metrics): the
# rollout's token probabilities against the actor's recomputation of the same tokens
ROLLOUT_CHECK_METRICS = ("training/rollout_probs_diff_max", "training/rollout_actor_probs_pearson_corr")
LATEST = "latest_checkpointed_iteration.txt"  # verl's marker of the last saved step


class SmokeError(WorkFailed, RuntimeError):
    """A smoke stage failed; the message names the stage and the file or command."""


def last_checkpoint(ckpt_dir: Path) -> Path:
    """``<ckpt_dir>/global_step_N`` named by verl's ``latest_checkpointed_iteration.txt``."""
    marker = ckpt_dir / LATEST
    if not marker.is_file():
        raise SmokeError(f"no checkpoint: {marker} is missing (did training save? trainer.save_freq)")
    step_dir = ckpt_dir / f"global_step_{int(marker.read_text().strip())}"
    if not (step_dir / "actor").is_dir():
        raise SmokeError(f"{marker} names {step_dir.name}, but {step_dir / 'actor'} does not exist")
    return step_dir


def merge_metrics(ckpt_dir: Path) -> Path:
    """``<ckpt_dir>/metrics.jsonl``: every invocation's file-logger output (``<ckpt_dir>/metrics/*.jsonl``,
    one file per invocation because verl's ``FileLogger`` truncates its file on open) joined in order, one
    line per step, a resumed run's line replacing an older one of the same step."""
    parts = sorted((ckpt_dir / "metrics").glob("*.jsonl"))
    if not parts:
        raise SmokeError(f"no file-logger output in {ckpt_dir / 'metrics'} (trainer.logger must include 'file')")
    by_step: dict[int, str] = {}
    for part in parts:
        for line in part.read_text().splitlines():
            if line.strip():
                by_step[int(json.loads(line)["step"])] = line
    merged = ckpt_dir / "metrics.jsonl"
    merged.write_text("".join(by_step[k] + "\n" for k in sorted(by_step)))
    return merged


def logged_steps(metrics_file: Path) -> list[int]:
    """The training steps in verl's file-logger jsonl (one ``{"step", "data"}`` line per step)."""
    if not metrics_file.is_file():
        raise SmokeError(f"metrics file {metrics_file} is missing (trainer.logger must include 'file')")
    steps = []
    for line in metrics_file.read_text().splitlines():
        if line.strip():
            steps.append(int(json.loads(line)["step"]))
    return steps


def _run(stage: str, cmd: list[str], log_file: Path) -> float:
    start = time.monotonic()
    print(f"[smoke] {stage}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    with open(log_file, "w") as log:
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
        raise SmokeError(f"{stage} failed (exit {done.returncode}): {shlex.join(cmd)}\nlog {log_file}:\n{tail}")
    return round(time.monotonic() - start, 2)


def export_stage(step_dir: Path, out_dir: Path, logs: Path) -> tuple[Path, bool, float]:
    export_dir = out_dir / "export" / step_dir.name
    seconds = _run("export", [sys.executable, "-m", "archer.export", str(step_dir / "actor"), str(export_dir),
                              "--overwrite", "-q"], logs / "export.log")
    report_file = export_dir / "export_report.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    return export_dir, report.get("status") == "passed", seconds


def eval_backend_args(rollout: str, max_model_len: int) -> list[str]:
    """archer.eval's backend options: the rollout's backend, the CPU-forced options
    (:func:`archer.smoke.cpu_settings.eval_args`) and, for vLLM, a context of prompt + response (its KV cache
    size comes from VLLM_CPU_KVCACHE_SPACE)."""
    from archer.smoke.cpu_settings import EVAL_BACKEND, eval_args

    backend = EVAL_BACKEND[rollout]
    extra = ["--max-model-len", str(max_model_len)] if backend == "vllm" else []
    return ["--backend", backend, *eval_args(rollout), *extra]


def eval_stage(model_dir: Path, out_dir: Path, data_dir: Path, benchmark: str, max_tokens: int, logs: Path,
               samples: int = 2, rollout: str = "cpu_transformers", max_model_len: int = 0) -> tuple[Path, float]:
    eval_dir = out_dir / "eval" / model_dir.name
    seconds = _run("eval", [sys.executable, "-m", "archer.eval", "run", *eval_backend_args(rollout, max_model_len),
                            "--model", str(model_dir), "--out", str(eval_dir),
                            "--data-dir", str(data_dir), "--benchmarks", benchmark, "--n", str(samples),
                            "--max-tokens", str(max_tokens), "--workers", "2", "--no-progress"], logs / "eval.log")
    summary = eval_dir / "summary.json"
    if not summary.is_file():
        raise SmokeError(f"eval finished but wrote no {summary}")
    return summary, seconds


def plot_stage(metrics_file: Path, out_dir: Path, logs: Path) -> tuple[list[Path], float]:
    plot_dir = out_dir / "plots"
    seconds = _run("plot", [sys.executable, "-m", "archer.plot", "dynamics", "--run", f"{metrics_file}:smoke",
                            "--out", str(plot_dir), "-q"], logs / "plot.log")
    plots = sorted(plot_dir.glob("*.png"))
    if not plots:
        raise SmokeError(f"archer.plot dynamics wrote no PNG into {plot_dir}")
    return plots, seconds


def max_weight_change(model_a: Path, model_b: Path) -> float:
    """Largest absolute difference between two HF model dirs' tensors (same names)."""
    from safetensors.torch import load_file

    def tensors(d: Path) -> dict:
        out = {}
        for f in sorted(d.glob("*.safetensors")):
            out.update(load_file(f))
        return out

    a, b = tensors(model_a), tensors(model_b)
    common = sorted(set(a) & set(b))
    if not common:
        raise SmokeError(f"no tensor names in common between {model_a} and {model_b}")
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in common)


def rollout_vs_actor(metrics_file: Path) -> dict[str, dict[str, float]]:
    """``{step: {metric: value}}`` of :data:`ROLLOUT_CHECK_METRICS` (steps that logged them)."""
    out = {}
    for line in metrics_file.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            found = {k.split("/", 1)[1]: row["data"][k] for k in ROLLOUT_CHECK_METRICS if k in row["data"]}
            if found:
                out[str(row["step"])] = found
    return out


def finish(ckpt_dir: Path, assets_manifest: Path, seconds: dict[str, float], *, metrics_file: Optional[Path] = None,
           eval_samples: int = 2, rollout: str = "cpu_transformers", loss=None) -> dict:
    """Run export -> eval -> plot for the run in ``ckpt_dir`` and write its ``SMOKE_SUMMARY.json``."""
    from archer.smoke.cpu_settings import EVAL_BACKEND, differs_from_gpu_run

    ckpt_dir = Path(ckpt_dir)
    backend = EVAL_BACKEND[rollout]
    manifest = json.loads(Path(assets_manifest).read_text())
    metrics_file = Path(metrics_file) if metrics_file else merge_metrics(ckpt_dir)
    logs = ckpt_dir / "smoke_logs"
    logs.mkdir(parents=True, exist_ok=True)
    steps = logged_steps(metrics_file)
    step_dir = last_checkpoint(ckpt_dir)
    export_dir, verified, seconds["export"] = export_stage(step_dir, ckpt_dir, logs)
    eval_summary, seconds["eval"] = eval_stage(export_dir, ckpt_dir, Path(manifest["data_dir"]),
                                               manifest["eval_benchmark"], manifest["response_length"], logs,
                                               samples=eval_samples, rollout=rollout,
                                               max_model_len=manifest["prompt_length"] + manifest["response_length"])
    plots, seconds["plot"] = plot_stage(metrics_file, ckpt_dir, logs)
    summary = {
        "steps": max(steps) if steps else 0,
        "logged_steps": steps,
        "metrics_file": str(metrics_file),
        "checkpoint": str(step_dir),
        "export_dir": str(export_dir),
        "export_verified": verified,
        "eval_summary": str(eval_summary),
        "plots": [str(p) for p in plots],
        "seconds": seconds,
        "rollout": rollout,
        "eval_backend": backend,
        "loss": loss,
        "differs_from_gpu_run": differs_from_gpu_run(rollout),
        "rollout_vs_actor": rollout_vs_actor(metrics_file),
        "model_start": manifest["model"],
        "max_weight_change_vs_start": max_weight_change(Path(manifest["model"]), export_dir),
        "assets": str(Path(assets_manifest).parent),
        "eval_note": manifest.get("eval_note"),
    }
    (ckpt_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    print(human_summary(summary, eval_summary), flush=True)
    return summary


def _eval_headline(eval_summary: Path) -> str:
    """``math500: avg@2 81.2%, pass@2 87.5% (8 problems)`` from archer.eval's summary.json."""
    try:
        data = json.loads(eval_summary.read_text())
    except (OSError, ValueError):
        return "unreadable"
    parts = []
    for bench, row in data.items():
        if isinstance(row, dict) and "avg" in row:
            n = row.get("n", "?")
            parts.append(f"{bench}: avg@{n} {row['avg']:.1f}%, pass@{n} {row.get('pass', float('nan')):.1f}% "
                         f"({row.get('problems', '?')} problems)")
    return "; ".join(parts) or "no benchmark rows"


def human_summary(summary: dict, eval_summary: Path) -> str:
    s = summary["seconds"]
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in s.items())
    diffs = ", ".join(f"step {k} {v.get('rollout_probs_diff_max', float('nan')):.2g}"
                      for k, v in summary["rollout_vs_actor"].items())
    return "\n".join([
        "", "== smoke run summary ==",
        f"steps completed : {summary['steps']} (logged {summary['logged_steps']})",
        f"rollout / eval  : {summary['rollout']} / {summary['eval_backend']} (loss {summary['loss']}; "
        f"{len(summary['differs_from_gpu_run'])} CPU-forced settings under differs_from_gpu_run)",
        f"rollout vs actor: max prob diff {diffs or 'not logged'}",
        f"checkpoint      : {summary['checkpoint']}",
        f"export          : {summary['export_dir']} (verified: {summary['export_verified']}, "
        f"max weight change vs start {summary['max_weight_change_vs_start']:.3g})",
        f"eval            : {summary['eval_summary']} ({_eval_headline(eval_summary)})",
        f"plots           : {len(summary['plots'])} PNG in {Path(summary['plots'][0]).parent}",
        f"seconds         : {timing}",
        f"summary         : {Path(summary['checkpoint']).parent / SUMMARY_FILE}",
    ])
