"""Can the configured reward grade every ``data_source`` of the training and validation files?

verl calls the reward function per sample inside its reward workers, so a source the function does not
know (verl's ``default_compute_score`` raises NotImplementedError for ``math500``, ``deepscaler``,
``minerva``, ...; archer's dispatcher raises ValueError for a name it cannot classify) fails only once
rollouts exist, on a node. The dry run calls the reward function that verl's loader returns on one row
of each distinct source, with an empty response: every grader answers that quickly (no answer, no code,
nothing run in a sandbox), and one that cannot grade the source raises.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["one_row_per_source", "check_reward_sources"]

_COLUMNS = ("data_source", "reward_model", "extra_info")


def one_row_per_source(path: Path) -> dict[str, dict[str, Any]]:
    """{data_source: its first row's data_source / reward_model / extra_info} of a verl parquet file.
    Reads the ``data_source`` column first, then only the batches that hold a first row."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    if "data_source" not in names:
        raise ValueError(f"{path}: no data_source column (verl needs it to choose the reward)")
    first: dict[str, int] = {}
    offset = 0
    for batch in pf.iter_batches(columns=["data_source"], batch_size=65536):
        for i, source in enumerate(batch.column(0).to_pylist()):
            first.setdefault(str(source), offset + i)
        offset += batch.num_rows
    wanted = {index: source for source, index in first.items()}
    columns = [c for c in _COLUMNS if c in names]
    rows: dict[str, dict[str, Any]] = {}
    offset = 0
    for batch in pf.iter_batches(columns=columns, batch_size=4096):
        hits = [i for i in range(batch.num_rows) if offset + i in wanted]
        if hits:
            table = batch.to_pylist()
            for i in hits:
                rows[wanted[offset + i]] = table[i]
        offset += batch.num_rows
        if len(rows) == len(wanted):
            break
    return rows


def _call(fn: Callable, row: dict[str, Any]) -> Any:
    ground_truth = (row.get("reward_model") or {}).get("ground_truth")
    result = fn(
        data_source=row["data_source"], solution_str="", ground_truth=ground_truth, extra_info=row.get("extra_info") or {}
    )
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return result


def check_reward_sources(fn: Callable, files: Iterable[tuple[str, Path]], describe: str) -> dict[str, list[str]]:
    """Call ``fn`` (verl's loaded ``compute_score``) on one row per data source of each existing file.

    Returns {file: [sources]}. Raises ValueError naming the config key, the file, the source and
    ``describe`` (the configured reward) for the first source the function cannot grade.
    """
    checked: dict[str, list[str]] = {}
    graded: set[str] = set()
    for key, path in files:
        if not Path(path).exists():
            continue
        rows = one_row_per_source(Path(path))
        for source, row in rows.items():
            if source in graded:
                continue
            try:
                _call(fn, row)
            except Exception as exc:
                raise ValueError(
                    f"{key}: {path} has data_source {source!r}, which the reward {describe} cannot grade "
                    f"({type(exc).__name__}: {exc}). Use archer's reward (reward.custom_reward_function.path="
                    f"pkg://archer.reward, name=compute_score; the default of archer.launch.main), or one that "
                    f"knows this source."
                ) from exc
            graded.add(source)
        checked[str(path)] = sorted(rows)
    return checked
