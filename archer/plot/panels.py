"""Which metrics go on which panel of the training-dynamics figures, and the lines each run contributes.

Every panel lists its series: a metric name (or a regular expression over metric names), the text added
to the run's name in the legend, and a line style. Every metric name archer logs means one thing under
every loss (``archer.aspo.METRICS``, ``archer.plugin.dual_token_kl.METRICS``): verl's names keep verl's
meaning, archer's own are under ``actor/aspo/``. So a panel draws the same quantity for every run, whatever
its loss; the loss mode only names the run in legends (:func:`run_name`).

A panel with ``fraction=True`` holds a share (of tokens, of responses): :mod:`archer.plot.figures` draws it
on an absolute scale from 0.

A run without a panel's metric is absent from that panel with a note on stderr; :func:`collect` never
raises for a missing metric.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pandas as pd

from archer.plot.logs import series
from archer.plot.runs import Run

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Series:
    metric: str  # exact metric name, or a regular expression when ``pattern`` is true
    legend: str = ""  # appended to the run's name ("" for one-metric panels)
    linestyle: str = "-"
    pattern: bool = False  # metric is a regex; each matching metric is one line, legend = its first group


@dataclass(frozen=True)
class Panel:
    key: str  # also the PNG file name
    title: str
    ylabel: str
    series: tuple[Series, ...]
    note: str = ""  # drawn under the axes (what differs between runs)
    smooth: bool = True  # False for sparse series (validation) and schedules (lr): --smooth leaves them as logged
    fraction: bool = False  # a share: drawn on an absolute scale from 0 (never auto-zoomed, never negative)


@dataclass
class Line:
    run: Run
    run_index: int
    legend: str
    metric: str
    values: pd.Series  # indexed by step
    linestyle: str = "-"


@dataclass
class PanelData:
    panel: Panel
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


PANELS: tuple[Panel, ...] = (
    Panel("reward", "Training reward (mean sequence score)", "score", (Series("critic/score/mean"),)),
    Panel("accuracy", "Training accuracy", "accuracy", (Series("reward/acc/mean"),), fraction=True),
    Panel(
        "val_accuracy",
        "Validation accuracy (verl val-core)",
        "mean accuracy over samples",
        (Series(r"^val-core/(.+/(?:acc|reward)/mean@\d+)$", pattern=True),),
        smooth=False,
    ),
    Panel("response_length", "Response length", "tokens (batch mean)", (Series("response_length/mean"),)),
    Panel("repetition", "Repetition ratio of training responses", "repetition ratio (mean)",
          (Series("reward/repetition_ratio/mean"),), fraction=True),
    Panel("entropy", "Policy entropy", "mean token entropy", (Series("actor/entropy"),)),
    Panel(
        "entropy_by_sign",
        "Entropy of positive / negative responses",
        "mean token entropy (response-weighted)",
        (Series("actor/aspo/entropy_mean_pos", "A>0"), Series("actor/aspo/entropy_mean_neg", "A<0", linestyle="--")),
    ),
    Panel("high_entropy_frac", "High-entropy token fraction (high-ε bucket)", "fraction of tokens",
          (Series("actor/aspo/high_entropy_frac"),), fraction=True),
    Panel("clip_upper", "Upper clip fraction (A≥0, r>1+ε_high)", "fraction of tokens",
          (Series("actor/aspo/clipfrac_upper"),), fraction=True),
    Panel("clip_lower", "Lower clip fraction (A<0, r<1−ε_low)", "fraction of tokens",
          (Series("actor/aspo/clipfrac_lower"),), fraction=True),
    Panel("clip_total", "Clipped token fraction (either ε bound)", "fraction of tokens", (Series("actor/pg_clipfrac"),),
          fraction=True),
    Panel(
        "dual_clip_pos",
        "Positive dual-clip fraction (A>0 tokens with 1/r>c)",
        "fraction of A>0 tokens",
        (Series("actor/aspo/dual_clipfrac_pos"),),
        fraction=True,
    ),
    Panel(
        "dual_clip_neg",
        "Negative dual-clip fraction (A<0, r>c)",
        "fraction of all tokens",
        (Series("actor/pg_clipfrac_lower"),),
        note="verl's pg_clipfrac_lower, the same quantity under ASPO (soft clip) and GRPO (hard clip)",
        fraction=True,
    ),
    Panel(
        "dual_clip_neg_share",
        "Negative dual-clip share of A<0 tokens (r>c)",
        "fraction of A<0 tokens",
        (Series("actor/aspo/dual_clipfrac_neg"),),
        fraction=True,
    ),
    Panel(
        "is_ratio",
        "Mean IS ratio of positive / negative responses",
        "mean token ratio r (response-weighted)",
        (Series("actor/aspo/is_ratio_mean_pos", "A>0"), Series("actor/aspo/is_ratio_mean_neg", "A<0", linestyle="--")),
    ),
    Panel("ppo_kl", "Approximate KL to the rollout policy", "mean of −log r", (Series("actor/ppo_kl"),)),
    Panel(
        "kl_loss",
        "KL to the reference model",
        "mean KL estimate per token",
        (
            Series("actor/kl_loss", "all tokens"),
            Series("actor/kl_low_entropy", "low-entropy tokens", linestyle="--"),
            Series("actor/kl_high_entropy", "high-entropy tokens", linestyle=":"),
        ),
        note="dashed / dotted: the dual-token KL's buckets (archer2 preset: only the low-entropy KL is in the loss)",
    ),
    Panel("grad_norm", "Gradient norm (before clipping)", "L2 norm", (Series("actor/grad_norm"),)),
    Panel("lr", "Learning rate", "lr", (Series("actor/lr"),), smooth=False),
)

PANEL_KEYS = tuple(p.key for p in PANELS)


def panels_by_key(keys: list[str] | None) -> list[Panel]:
    """The panels named (in the order given), or all of them."""
    if not keys:
        return list(PANELS)
    known = {p.key: p for p in PANELS}
    unknown = [k for k in keys if k not in known]
    if unknown:
        from archer.plot.errors import PlotInputError

        raise PlotInputError(f"unknown panel(s): {', '.join(unknown)}; known: {', '.join(PANEL_KEYS)}")
    return [known[k] for k in keys]


def run_name(run: Run) -> str:
    """A run as legends name it: its label and its loss mode, e.g. ``ASPO (aspo loss)``, ``GRPO (vanilla loss)``."""
    return f"{run.label} ({run.loss_mode} loss)"


def _join(name: str, legend: str) -> str:
    return f"{name}: {legend}" if legend else name


def run_lines(panel: Panel, run: Run, index: int) -> tuple[list[Line], list[str]]:
    """The lines one run contributes to a panel, and why any of its series has none (the compare figures
    and the plot panels both draw from this)."""
    lines: list[Line] = []
    reasons: list[str] = []
    name = run_name(run)
    logged = run.table["metric"].unique()
    for spec in panel.series:
        if spec.pattern:
            regex = re.compile(spec.metric)
            matched = sorted(m for m in logged if regex.search(m))
            if not matched:
                reasons.append(f"no metric matching {spec.metric}")
            for metric in matched:
                legend = regex.search(metric).group(1) if regex.groups else metric
                lines.append(Line(run, index, _join(name, legend), metric, series(run.table, metric), spec.linestyle))
            continue
        if not run.has(spec.metric):
            reasons.append(f"no metric {spec.metric}")
            continue
        legend = spec.legend if len(panel.series) > 1 else ""
        lines.append(Line(run, index, _join(name, legend), spec.metric, series(run.table, spec.metric), spec.linestyle))
    return lines, reasons


def collect(panel: Panel, runs: list[Run]) -> PanelData:
    """The lines each run contributes to ``panel``; a run with none is noted (stderr) and left out."""
    data = PanelData(panel)
    for index, run in enumerate(runs):
        lines, reasons = run_lines(panel, run, index)
        if lines:
            data.lines.extend(lines)
        else:
            note = f"panel {panel.key!r}: run {run.label!r} left out ({'; '.join(reasons)})"
            data.notes.append(note)
            logger.warning("%s", note)
    return data
