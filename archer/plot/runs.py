"""Runs to compare: ``--run PATH[:LABEL]`` parsing, loading, and each run's loss mode.

Every metric name means one thing under every loss (verl's names keep verl's meaning, archer's own are under
``actor/aspo/``), so the loss mode decides nothing about what is drawn where: it names the run in legends
("ASPO (aspo loss)") and in ``archer.compare``'s summary. A run's loss mode comes from, in this order:

1. ``--loss-mode LABEL=MODE`` on the command line (source ``option``);
2. a hydra config saved next to the log (``config.yaml`` or ``.hydra/config.yaml`` in the run directory, or
   in the directory of the log file), key ``actor_rollout_ref.actor.policy_loss.loss_mode`` (source ``config``);
3. the metrics themselves (source ``metrics``): a run that logged any metric under ``actor/aspo/``
   (:data:`ASPO_METRIC_PREFIX`, logged by archer's ASPO loss only) is ``aspo``; any other run is taken to be
   verl's ``vanilla`` loss, with a note on stderr saying so.

A log with the metric names archer used before they were made unambiguous (:data:`OLD_ASPO_METRICS`, e.g.
``actor/pg_clipfrac_upper``) is refused: in it ``actor/pg_clipfrac_lower`` is ASPO's lower-ε fraction, not
verl's dual-clip fraction, and would be drawn as the wrong quantity.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from archer.plot.errors import PlotInputError
from archer.plot.logs import read_metrics
from archer import rundir

logger = logging.getLogger(__name__)

ASPO = "aspo"
VANILLA = "vanilla"
# archer's ASPO loss logs its own metrics under this prefix (archer.aspo.METRICS); verl's losses never do
ASPO_METRIC_PREFIX = "actor/aspo/"
# names archer's ASPO loss logged before issue 23 (their log's actor/pg_clipfrac_lower was the lower-ε fraction)
OLD_ASPO_METRICS = (
    "actor/pg_clipfrac_upper",
    "actor/positive_pg_clipfrac_dual",
    "actor/negative_pg_clipfrac_dual",
    "actor/is_ratio_mean_pos",
    "actor/is_ratio_mean_neg",
)
CONFIG_CANDIDATES = (rundir.RUN_CONFIG, rundir.HYDRA_CONFIG)
LOSS_MODE_KEY = ("actor_rollout_ref", "actor", "policy_loss", "loss_mode")


@dataclass(frozen=True)
class Run:
    label: str
    path: Path  # as given on the command line
    fmt: str  # "file" or "tensorboard"
    source: Path  # the file or directory actually read
    table: pd.DataFrame  # tidy: step, metric, value
    loss_mode: str
    loss_mode_source: str  # "option", "config" or "metrics"

    def has(self, metric: str) -> bool:
        return bool((self.table["metric"] == metric).any())


def default_label(path: Path) -> str:
    if path.is_file():
        return path.parent.name if "tfevents" in path.name else path.stem
    return path.resolve().name


def parse_labelled_path(text: str, option: str = "--run") -> tuple[Path, str]:
    """``PATH`` or ``PATH:LABEL`` -> (path, label). An existing path is taken whole, even if it contains
    ``:``; otherwise the text after the last ``:`` is the label. The path must exist."""
    if not text:
        raise PlotInputError(f"{option}: empty value")
    whole = Path(text)
    if whole.exists():
        return whole, default_label(whole)
    if ":" in text:
        path_text, label = text.rsplit(":", 1)
        if not path_text:
            raise PlotInputError(f"{option} {text!r}: no path before ':'")
        if not label.strip():
            raise PlotInputError(f"{option} {text!r}: empty label after ':' (use PATH or PATH:LABEL)")
        path = Path(path_text)
        if not path.exists():
            raise PlotInputError(f"{option} {text!r}: path not found: {path}")
        return path, label.strip()
    raise PlotInputError(f"{option} {text!r}: path not found: {whole}")


def parse_loss_modes(items: list[str] | None) -> dict[str, str]:
    """``["LABEL=MODE", ...]`` -> {label: mode}."""
    modes: dict[str, str] = {}
    for item in items or []:
        label, sep, mode = item.rpartition("=")
        if not sep or not label or not mode:
            raise PlotInputError(f"--loss-mode {item!r}: expected LABEL=MODE, e.g. GRPO=vanilla")
        modes[label] = mode.strip()
    return modes


def _config_loss_mode(path: Path, source: Path) -> tuple[str, Path] | None:
    import yaml

    folders = [path] if path.is_dir() else []
    folders.append(source if source.is_dir() else source.parent)
    for folder in dict.fromkeys(folders):
        for name in CONFIG_CANDIDATES:
            candidate = folder / name
            if not candidate.is_file():
                continue
            try:
                node = yaml.safe_load(candidate.read_text())
            except yaml.YAMLError as exc:
                raise PlotInputError(f"{candidate}: not valid YAML ({exc})") from None
            except UnicodeDecodeError as exc:
                raise PlotInputError(f"{candidate}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            for key in LOSS_MODE_KEY:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, str) and node:
                return node, candidate
    return None


def resolve_loss_mode(label: str, path: Path, source: Path, table: pd.DataFrame, options: dict[str, str]) -> tuple[str, str]:
    if label in options:
        return options[label], "option"
    found = _config_loss_mode(path, source)
    if found is not None:
        mode, config = found
        logger.info("run %r: loss mode %r from %s", label, mode, config)
        return mode, "config"
    aspo_metrics = sorted(m for m in table["metric"].unique() if m.startswith(ASPO_METRIC_PREFIX))
    if aspo_metrics:
        return ASPO, "metrics"
    logger.warning(
        "run %r: no %s* metric and no config with the loss mode; taking it as verl's 'vanilla' loss (its legend "
        "says so). Override with --loss-mode %s=MODE",
        label,
        ASPO_METRIC_PREFIX,
        label,
    )
    return VANILLA, "metrics"


def check_metric_names(label: str, source: Path, table: pd.DataFrame) -> None:
    """Refuse a log with archer's old ASPO metric names: its ``actor/pg_clipfrac_lower`` means another thing."""
    logged = set(table["metric"].unique())
    old = [m for m in OLD_ASPO_METRICS if m in logged]
    if old:
        raise PlotInputError(
            f"run {label!r} ({source}) logged archer's old ASPO metric names ({', '.join(old)}): in such a log "
            "actor/pg_clipfrac_lower is ASPO's lower-eps clip fraction, not verl's dual-clip fraction, so it "
            "cannot be drawn beside runs of this version. Rename its metrics (docs/metrics.md, 'Renamed in this version') "
            "or plot it with the archer version that wrote it"
        )


def load_run(text: str, loss_modes: dict[str, str] | None = None) -> Run:
    path, label = parse_labelled_path(text)
    return load_run_at(path, label, loss_modes)


def load_run_at(path: str | Path, label: str, loss_modes: dict[str, str] | None = None) -> Run:
    """:func:`load_run` for a path and label given apart (``python -m archer.compare``): the log is found
    and the loss mode resolved the same way."""
    path = Path(path)
    table, fmt, source = read_metrics(path)
    check_metric_names(label, source, table)
    mode, mode_source = resolve_loss_mode(label, path, source, table, loss_modes or {})
    logger.info(
        "run %r: %s log %s, %d metrics, steps %d..%d, loss mode %s (%s)",
        label, fmt, source, table["metric"].nunique(), table["step"].min(), table["step"].max(), mode, mode_source,
    )
    return Run(label, path, fmt, source, table, mode, mode_source)


def check_labels(runs: list[Run], loss_modes: dict[str, str] | None = None) -> None:
    """Labels must be unique (they name the lines); every --loss-mode label must name a run."""
    seen: dict[str, Path] = {}
    for run in runs:
        if run.label in seen:
            raise PlotInputError(
                f"two runs share the label {run.label!r} ({seen[run.label]} and {run.path}); give them labels with PATH:LABEL"
            )
        seen[run.label] = run.path
    unknown = sorted(set(loss_modes or {}) - set(seen))
    if unknown:
        raise PlotInputError(f"--loss-mode names no run: {', '.join(unknown)} (run labels: {', '.join(seen)})")
