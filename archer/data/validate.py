"""``validate_prepared(path)``: check that a parquet file is a prepared verl data file (shared contract)."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

__all__ = ["validate_prepared", "ABILITIES", "ROLES"]

ABILITIES = ("math", "code")
ROLES = ("system", "user", "assistant")
_REQUIRED = ("data_source", "prompt", "ability", "reward_model", "extra_info")


def _fail(path: Path, msg: str) -> None:
    raise ValueError(f"{path}: {msg}")


def _check_schema(path: Path, schema) -> None:
    import pyarrow as pa

    names = set(schema.names)
    missing = [c for c in _REQUIRED if c not in names]
    if missing:
        _fail(path, f"missing column(s) {missing}; found {sorted(names)}")
    for col in ("data_source", "ability"):
        t = schema.field(col).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            _fail(path, f"column {col!r} must be a string column, got {t}")
    t = schema.field("prompt").type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)) or not pa.types.is_struct(t.value_type):
        _fail(path, f"column 'prompt' must be a list of {{role, content}} structs, got {t}")
    fields = {f.name for f in t.value_type}
    if not {"role", "content"} <= fields:
        _fail(path, f"column 'prompt' messages need 'role' and 'content', got {sorted(fields)}")
    t = schema.field("reward_model").type
    if not pa.types.is_struct(t) or not {"ground_truth", "style"} <= {f.name for f in t}:
        _fail(path, f"column 'reward_model' must be a struct with ground_truth and style, got {t}")
    gt = t.field("ground_truth").type
    if not (pa.types.is_string(gt) or pa.types.is_large_string(gt)):
        _fail(path, f"reward_model.ground_truth must be a string, got {gt}")
    t = schema.field("extra_info").type
    if not pa.types.is_struct(t) or not {"index", "split"} <= {f.name for f in t}:
        _fail(path, f"column 'extra_info' must be a struct with at least index and split, got {t}")
    if not pa.types.is_integer(t.field("index").type):
        _fail(path, f"extra_info.index must be an integer, got {t.field('index').type}")


def _check_row(path: Path, i: int, row: dict) -> None:
    where = f"row {i}"
    ds = row["data_source"]
    if not isinstance(ds, str) or not ds.strip():
        _fail(path, f"{where}: data_source is empty ({ds!r})")
    prompt = row["prompt"]
    if not prompt:
        _fail(path, f"{where}: prompt has no messages")
    for j, m in enumerate(prompt):
        if m.get("role") not in ROLES:
            _fail(path, f"{where}: prompt message {j} has role {m.get('role')!r} (expected one of {ROLES})")
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            _fail(path, f"{where}: prompt message {j} has empty content")
    if prompt[-1].get("role") != "user":
        _fail(path, f"{where}: the last prompt message must be the user turn, got {prompt[-1].get('role')!r}")
    if row["ability"] not in ABILITIES:
        _fail(path, f"{where}: ability {row['ability']!r} is not one of {ABILITIES}")
    rm = row["reward_model"] or {}
    gt = rm.get("ground_truth")
    if not isinstance(gt, str) or not gt.strip():
        _fail(path, f"{where}: reward_model.ground_truth is empty or not a string ({gt!r})")
    if rm.get("style") != "rule":
        _fail(path, f"{where}: reward_model.style is {rm.get('style')!r}, expected 'rule'")
    ex = row["extra_info"] or {}
    if not isinstance(ex.get("index"), int):
        _fail(path, f"{where}: extra_info.index is {ex.get('index')!r}, expected an integer")
    if not isinstance(ex.get("split"), str) or not ex["split"]:
        _fail(path, f"{where}: extra_info.split is {ex.get('split')!r}, expected a non-empty string")


def validate_prepared(path: str | Path, *, batch_rows: int = 32) -> dict[str, Any]:
    """Check ``path`` is a prepared verl parquet file, reading it in batches.

    Returns ``{"path", "rows", "data_sources": {name: count}, "abilities": {name: count}}``; raises
    ValueError naming the file and the first problem (missing file, not parquet, wrong column type,
    empty prompt or ground truth, non-rule style, no rows, ...)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        _fail(path, "no such file")
    try:
        pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    except Exception as e:
        _fail(path, f"not a readable parquet file ({type(e).__name__}: {e})")
    _check_schema(path, pf.schema_arrow)
    sources: collections.Counter[str] = collections.Counter()
    abilities: collections.Counter[str] = collections.Counter()
    rows = 0
    batches = pf.iter_batches(batch_size=batch_rows, columns=list(_REQUIRED), use_threads=False)
    while True:
        try:
            batch = next(batches, None)
        except Exception as e:  # a damaged column chunk after the footer was read
            _fail(path, f"cannot read rows after row {rows}: the file looks truncated or corrupt ({type(e).__name__}: {e})")
        if batch is None:
            break
        for row in batch.to_pylist():
            _check_row(path, rows, row)
            sources[row["data_source"]] += 1
            abilities[row["ability"]] += 1
            rows += 1
    if rows == 0:
        _fail(path, "has no rows")
    return {"path": str(path), "rows": rows, "data_sources": dict(sources), "abilities": dict(abilities)}
