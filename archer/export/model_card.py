"""The model card (README.md of the exported dir): base model, method, hyperparameters, eval table,
verification results. Hugging Face metadata goes into the YAML front matter."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from .errors import ExportError
from .run_config import MODEL_PATH_KEY, hyperparameters, select

ASPO_PAPER = "https://arxiv.org/abs/2510.06062"
PROJECT_URL = "https://github.com/wizard-III/Archer2.0"
SUMMARY_KEYS = ("n", "problems", "avg", "pass")


def render_summary(summary: Any, source: Path) -> str:
    """Markdown table of an ``archer.eval`` summary.json ({benchmark: {n, problems, avg, pass}})."""
    if not isinstance(summary, dict) or not summary:
        raise ExportError(f"{source}: expected a non-empty JSON object {{benchmark: {{n, problems, avg, pass}}}}")
    lines = ["| benchmark | problems | samples per problem (n) | avg@n (%) | pass@n (%) |", "|---|---|---|---|---|"]
    for name, row in summary.items():
        if not isinstance(row, dict):
            raise ExportError(f"{source}: entry {name!r} must be an object with keys {SUMMARY_KEYS}")
        missing = [k for k in SUMMARY_KEYS if k not in row]
        if missing:
            raise ExportError(f"{source}: entry {name!r} lacks key(s) {missing}")
        lines.append(
            f"| {name} | {row['problems']} | {row['n']} | {float(row['avg']):.1f} | {float(row['pass']):.1f} |"
        )
    return "\n".join(lines)


def load_eval_table(path: Path) -> str:
    """Markdown of ``--eval-table``: a table.md (as written), a summary.json, or a dir holding either."""
    path = Path(path).expanduser()
    if path.is_dir():
        for name in ("summary.json", "table.md"):
            if (path / name).is_file():
                return load_eval_table(path / name)
        raise ExportError(f"--eval-table {path}: the directory has neither summary.json nor table.md")
    if not path.is_file():
        raise ExportError(f"--eval-table {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"--eval-table {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if path.suffix == ".json":
        try:
            summary = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ExportError(f"--eval-table {path} is not valid JSON: {exc}") from exc
        return render_summary(summary, path)
    if not text.strip():
        raise ExportError(f"--eval-table {path} is empty")
    return text.strip()


def _is_hub_id(name: str) -> bool:
    """A Hub model id (``name`` or ``owner/name``) rather than a local path."""
    return not Path(name).expanduser().exists() and re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) is not None


def _base_model(explicit: Optional[str], run_config, hf_config: dict) -> Optional[str]:
    if explicit:
        return explicit
    if run_config is not None:
        value = select(run_config, MODEL_PATH_KEY)
        if value:
            return str(value)
    return hf_config.get("_name_or_path") or None


def _method(run_config) -> tuple[str, bool]:
    """(method sentence, whether the loss is ASPO)."""
    loss = select(run_config, "actor_rollout_ref.actor.policy_loss.loss_mode") if run_config is not None else None
    if loss is None or loss == "aspo":
        return (
            f"Reinforcement learning with verifiable rewards using **ASPO** (Asymmetric Importance Sampling Policy "
            f"Optimization, [arXiv 2510.06062]({ASPO_PAPER})): for tokens of positive-advantage responses the "
            "importance-sampling weight r = pi/pi_old is replaced by 1/r, with PPO-style masking and a soft dual "
            "clip. Trained with archer (ASPO as a plugin of verl 0.9.1; method code released by the authors in "
            f"[Archer2.0]({PROJECT_URL})).",
            True,
        )
    return f"Reinforcement learning with verl 0.9.1 (archer), policy loss `{loss}`.", False


def build_model_card(
    *,
    hf_config: dict,
    base_model: Optional[str],
    run_config=None,
    run_config_path: Optional[Path] = None,
    eval_table: Optional[str] = None,
    global_step: Optional[int] = None,
    verification: Optional[dict] = None,
    generation_config_source: str = "",
    license: Optional[str] = None,
) -> str:
    base = _base_model(base_model, run_config, hf_config)
    method, is_aspo = _method(run_config)
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation"]
    if base and _is_hub_id(base):
        front.append(f"base_model: {base}")
    if license:
        front.append(f"license: {license}")
    front += ["tags:", "  - reinforcement-learning", "  - verl"]
    if is_aspo:
        front.append("  - aspo")
    front.append("---")

    architecture = ", ".join(hf_config.get("architectures") or ["unknown"])
    lines = [*front, "", "# Model card", "", "## Model", ""]
    lines.append(f"- Base model: {f'`{base}`' if base else 'not recorded (pass --base-model)'}")
    lines.append(f"- Architecture: {architecture}")
    if global_step is not None:
        lines.append(f"- Checkpoint: training step {global_step}")
    lines.append(f"- Generation config: {generation_config_source or 'as saved'}")
    lines += ["", "## Method", "", method, "", "## Training hyperparameters", ""]
    if run_config is None:
        lines.append("Not recorded: the run's config was not found (export with --config FILE to include it).")
    else:
        lines += ["| setting | config key | value |", "|---|---|---|"]
        for label, key, value in hyperparameters(run_config):
            lines.append(f"| {label} | `{key}` | {value} |")
        if run_config_path is not None:
            lines += ["", f"Read from the run's resolved config (`{Path(run_config_path).name}`)."]
    lines += ["", "## Evaluation", ""]
    lines.append(eval_table if eval_table else "No evaluation results were attached to this export.")
    if verification:
        lines += ["", "## Export check", ""]
        lines.append(
            "Converted from verl's FSDP checkpoint shards with verl's model merger (bfloat16 weights) and checked: "
        )
        for name, result in verification.items():
            status = "passed" if result["passed"] else "FAILED"
            diff = result.get("max_abs_diff")
            diff_text = f", max abs diff {diff:.3g}" if isinstance(diff, (int, float)) else ""
            lines.append(f"- {name}: {status} ({result.get('tolerance', '')}{diff_text})")
    lines += [
        "",
        "## Usage",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        'model = AutoModelForCausalLM.from_pretrained("<this repo>", dtype="auto")',
        'tokenizer = AutoTokenizer.from_pretrained("<this repo>")',
        "```",
        "",
    ]
    return "\n".join(lines)
