"""Which metrics go on which panel of the training-dynamics figures, and the lines each run contributes.

Every panel lists its series: a metric name (or a regular expression over metric names), the text added
to the run label in the legend, a line style, and which loss modes the metric means the panel's quantity
under (``applies_to``). The one metric whose meaning depends on the loss is ``actor/pg_clipfrac_lower``:
archer's ASPO loss logs the lower-ε masking fraction under it, verl's vanilla loss the hard dual-clip
fraction over all valid tokens. So it is on ``clip_lower`` only for ASPO runs and on ``dual_clip_neg``
(dashed, labelled) only for vanilla runs; for any other loss mode it is left out, with a note.

A run without a panel's metric is absent from that panel with a note on stderr; :func:`collect` never
raises for a missing metric.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import pandas as pd

from archer.plot.logs import series
from archer.plot.runs import ASPO, VANILLA, Run

logger = logging.getLogger(__name__)

ANY = "any"


@dataclass(frozen=True)
class Series:
    metric: str  # exact metric name, or a regular expression when ``pattern`` is true
    legend: str = ""  # appended to the run label ("" for one-metric panels)
    applies_to: str = ANY  # ANY, ASPO or VANILLA: the loss modes under which the metric means this panel's quantity
    linestyle: str = "-"
    pattern: bool = False  # metric is a regex; each matching metric is one line, legend = its first group

    def applies(self, loss_mode: str) -> bool:
        return self.applies_to == ANY or self.applies_to == loss_mode


@dataclass(frozen=True)
class Panel:
    key: str  # also the PNG file name
    title: str
    ylabel: str
    series: tuple[Series, ...]
    note: str = ""  # drawn under the axes (what differs between runs)
    smooth: bool = True  # False for sparse series (validation): --smooth leaves them as logged


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


LOWER_CLIP_VANILLA_LEGEND = "verl pg_clipfrac_lower (hard dual clip, share of all tokens)"

PANELS: tuple[Panel, ...] = (
    Panel("reward", "Training reward (mean sequence score)", "score", (Series("critic/score/mean"),)),
    Panel("accuracy", "Training accuracy", "accuracy", (Series("reward/acc/mean"),)),
    Panel(
        "val_accuracy",
        "Validation accuracy (verl val-core)",
        "mean accuracy over samples",
        (Series(r"^val-core/(.+/(?:acc|reward)/mean@\d+)$", pattern=True),),
        smooth=False,
    ),
    Panel("response_length", "Response length", "tokens (batch mean)", (Series("response_length/mean"),)),
    Panel("repetition", "Repetition ratio of training responses", "repetition ratio (mean)", (Series("reward/repetition_ratio/mean"),)),
    Panel("entropy", "Policy entropy", "mean token entropy", (Series("actor/entropy"),)),
    Panel(
        "entropy_by_sign",
        "Entropy of positive / negative responses",
        "mean token entropy",
        (Series("actor/entropy_pos", "A>0"), Series("actor/entropy_neg", "A<0", linestyle="--")),
    ),
    Panel("high_entropy_frac", "High-entropy token fraction (high-ε bucket)", "fraction of tokens", (Series("actor/high_entropy_frac"),)),
    Panel("clip_upper", "Upper clip fraction (A≥0, r>1+ε_high)", "fraction of tokens", (Series("actor/pg_clipfrac_upper"),)),
    Panel(
        "clip_lower",
        "Lower clip fraction (A<0, r<1−ε_low)",
        "fraction of tokens",
        (Series("actor/pg_clipfrac_lower", applies_to=ASPO),),
        note="ASPO runs only: a vanilla run's actor/pg_clipfrac_lower is its dual-clip fraction (panel dual_clip_neg)",
    ),
    Panel("clip_total", "Clipped token fraction (either ε bound)", "fraction of tokens", (Series("actor/pg_clipfrac"),)),
    Panel(
        "dual_clip_pos",
        "Positive dual-clip fraction (A>0 tokens with 1/r>c)",
        "fraction of A>0 tokens",
        (Series("actor/positive_pg_clipfrac_dual"),),
    ),
    Panel(
        "dual_clip_neg",
        "Negative dual-clip fraction (A<0, r>c)",
        "fraction of tokens",
        (
            Series("actor/negative_pg_clipfrac_dual", "negative_pg_clipfrac_dual (share of A<0 tokens)"),
            Series("actor/pg_clipfrac_lower", LOWER_CLIP_VANILLA_LEGEND, applies_to=VANILLA, linestyle="--"),
        ),
        note="solid: archer metric over A<0 tokens; dashed: verl vanilla loss, over all valid tokens",
    ),
    Panel(
        "is_ratio",
        "Mean IS ratio of positive / negative responses",
        "mean token ratio r",
        (Series("actor/is_ratio_mean_pos", "A>0"), Series("actor/is_ratio_mean_neg", "A<0", linestyle="--")),
    ),
    Panel("ppo_kl", "Approximate KL to the rollout policy", "mean of −log r", (Series("actor/ppo_kl"),)),
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


def _join(label: str, legend: str) -> str:
    return f"{label}: {legend}" if legend else label


def run_lines(panel: Panel, run: Run, index: int) -> tuple[list[Line], list[str]]:
    """The lines one run contributes to a panel, and why any of its series has none (the compare figures
    and the plot panels both draw from this)."""
    lines: list[Line] = []
    reasons: list[str] = []
    logged = run.table["metric"].unique()
    for spec in panel.series:
        if spec.pattern:
            regex = re.compile(spec.metric)
            matched = sorted(m for m in logged if regex.search(m))
            if not matched:
                reasons.append(f"no metric matching {spec.metric}")
            for metric in matched:
                legend = regex.search(metric).group(1) if regex.groups else metric
                lines.append(Line(run, index, _join(run.label, legend), metric, series(run.table, metric), spec.linestyle))
            continue
        if not run.has(spec.metric):
            reasons.append(f"no metric {spec.metric}")
            continue
        if not spec.applies(run.loss_mode):
            if spec.metric == "actor/pg_clipfrac_lower":
                reasons.append(
                    f"{spec.metric} left out: under loss mode {run.loss_mode!r} ({run.loss_mode_source}) it is not the "
                    + ("lower-ε masking fraction" if spec.applies_to == ASPO else "hard dual-clip fraction")
                )
            else:
                reasons.append(f"{spec.metric} applies to loss mode {spec.applies_to!r}, run is {run.loss_mode!r}")
            continue
        legend = spec.legend if (len(panel.series) > 1 or spec.applies_to != ANY) else ""
        lines.append(Line(run, index, _join(run.label, legend), spec.metric, series(run.table, spec.metric), spec.linestyle))
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
