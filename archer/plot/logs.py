"""Read a run's logged metrics into one tidy table: columns ``step`` (int), ``metric`` (str), ``value`` (float).

Two sources, both written by verl 0.9.1's ``verl.utils.tracking.Tracking`` (``trainer.logger``):

* ``file`` logger (``FileLogger``): one JSON object per line, ``{"step": N, "data": {metric: value, ...}}``,
  written to ``$VERL_FILE_LOGGER_PATH`` or else ``${VERL_FILE_LOGGER_ROOT:-.}/<project_name>/<experiment_name>.jsonl``;
* ``tensorboard`` logger (``_TensorboardAdapter``): ``add_scalar(metric, value, step)`` into event files under
  ``$TENSORBOARD_DIR`` or else ``tensorboard_log/<project_name>/<experiment_name>``; read here with tensorboard's
  ``EventAccumulator``.

Values that are not finite numbers (strings, lists, null) are not plottable: they are left out and counted
in a note on stderr. A (step, metric) pair logged twice (a resumed run appending to the same tensorboard dir,
validation logged separately from the training step) keeps the last value, also with a note.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pandas as pd

from archer.plot.errors import PlotInputError

logger = logging.getLogger(__name__)

FILE_LOGGER = "file"
TENSORBOARD = "tensorboard"
COLUMNS = ["step", "metric", "value"]
EVENT_FILE_MARK = "tfevents"


def _is_event_file(path: Path) -> bool:
    return path.is_file() and EVENT_FILE_MARK in path.name


def detect_format(path: str | Path) -> tuple[str, Path]:
    """(format, the path to read) for a run given as a file or a directory.

    A file whose name contains ``tfevents`` is tensorboard, any other file verl's file-logger jsonl. A
    directory holding event files is a tensorboard log dir; else a directory with exactly one ``*.jsonl``
    is that file-logger file; else a directory whose event files all sit in one sub-directory is that
    tensorboard dir. Anything else raises :class:`PlotInputError` naming the path.
    """
    path = Path(path)
    if not path.exists():
        raise PlotInputError(f"run log not found: {path}")
    if path.is_file():
        return (TENSORBOARD, path) if EVENT_FILE_MARK in path.name else (FILE_LOGGER, path)
    if any(_is_event_file(p) for p in path.iterdir()):
        return TENSORBOARD, path
    jsonl = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".jsonl")
    if len(jsonl) == 1:
        return FILE_LOGGER, jsonl[0]
    if len(jsonl) > 1:
        names = ", ".join(p.name for p in jsonl)
        raise PlotInputError(f"{path} holds several .jsonl logs ({names}); pass one file per --run")
    event_dirs = sorted({p.parent for p in path.rglob(f"*{EVENT_FILE_MARK}*") if p.is_file()})
    if len(event_dirs) == 1:
        return TENSORBOARD, event_dirs[0]
    if len(event_dirs) > 1:
        names = ", ".join(str(d) for d in event_dirs[:5])
        raise PlotInputError(f"{path} holds tensorboard event files in several directories ({names}); pass one per --run")
    raise PlotInputError(
        f"no metrics log in {path}: expected verl's file-logger .jsonl or tensorboard event files (events.out.tfevents.*)"
    )


def _as_value(value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return None


def _tidy(rows: list[tuple[int, str, float]], source: Path, skipped: dict[str, int]) -> pd.DataFrame:
    if skipped:
        shown = ", ".join(f"{k} ({n}x)" for k, n in sorted(skipped.items())[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        logger.warning("%s: left out values that are not finite numbers: %s%s", source, shown, more)
    if not rows:
        raise PlotInputError(f"no numeric metrics in {source}")
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["step"] = table["step"].astype("int64")
    n_before = len(table)
    table = table.drop_duplicates(subset=["step", "metric"], keep="last")
    if len(table) < n_before:
        logger.warning(
            "%s: %d (step, metric) pairs were logged more than once; kept the last value of each",
            source,
            n_before - len(table),
        )
    return table.sort_values(["metric", "step"], kind="stable").reset_index(drop=True)


def read_file_logger(path: str | Path) -> pd.DataFrame:
    """Tidy table of a verl ``file``-logger jsonl. A malformed line raises :class:`PlotInputError` naming
    the file and line, except an unterminated last line (a run killed mid-write), which is left out with a
    warning."""
    path = Path(path)
    if not path.is_file():
        raise PlotInputError(f"file-logger log not found: {path}")
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    rows: list[tuple[int, str, float]] = []
    skipped: dict[str, int] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        is_last = lineno == len(lines) and not raw.endswith(b"\n")
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else f"not UTF-8: {exc.reason} at byte {exc.start}"
            if is_last:
                logger.warning("%s:%d: left out an incomplete last line (%s)", path, lineno, why)
                continue
            raise PlotInputError(f"{path}:{lineno}: not a JSON line ({why})") from None
        if not isinstance(record, dict) or "step" not in record or not isinstance(record.get("data"), dict):
            raise PlotInputError(f'{path}:{lineno}: expected {{"step": N, "data": {{...}}}} (verl file logger)')
        step = record["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != int(step):
            raise PlotInputError(f"{path}:{lineno}: step must be an integer, got {step!r}")
        for metric, value in record["data"].items():
            number = _as_value(value)
            if number is None:
                skipped[metric] = skipped.get(metric, 0) + 1
            else:
                rows.append((int(step), metric, number))
    return _tidy(rows, path, skipped)


def read_tensorboard(path: str | Path) -> pd.DataFrame:
    """Tidy table of the scalars in a tensorboard event file or log directory (all event files in it)."""
    path = Path(path)
    if not path.exists():
        raise PlotInputError(f"tensorboard log not found: {path}")
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(path), size_guidance={event_accumulator.SCALARS: 0})
    try:
        accumulator.Reload()
    except Exception as exc:  # a corrupt event file: name it
        raise PlotInputError(f"cannot read tensorboard events in {path}: {exc}") from exc
    rows: list[tuple[int, str, float]] = []
    skipped: dict[str, int] = {}
    for tag in accumulator.Tags().get("scalars", []):
        for event in accumulator.Scalars(tag):
            number = _as_value(event.value)
            if number is None:
                skipped[tag] = skipped.get(tag, 0) + 1
            else:
                rows.append((int(event.step), tag, number))
    return _tidy(rows, path, skipped)


def read_metrics(path: str | Path) -> tuple[pd.DataFrame, str, Path]:
    """(tidy table, format, the file or directory read) for a run given as a file or directory."""
    fmt, source = detect_format(path)
    table = read_file_logger(source) if fmt == FILE_LOGGER else read_tensorboard(source)
    return table, fmt, source


def series(table: pd.DataFrame, metric: str) -> pd.Series:
    """One metric's values indexed by step (empty if the metric is absent)."""
    rows = table[table["metric"] == metric]
    return pd.Series(rows["value"].to_numpy(), index=rows["step"].to_numpy(), name=metric, dtype="float64")


def metrics(table: pd.DataFrame) -> list[str]:
    return sorted(table["metric"].unique())
