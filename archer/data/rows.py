"""One prepared row (verl format), bad-row accounting, and the batched atomic parquet writer."""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["RowError", "BadRows", "make_row", "schema_for", "ParquetRowWriter", "BAD_REASONS"]

# Reasons a source row is counted as bad (never silently dropped).
BAD_REASONS = (
    "empty prompt",
    "missing answer",
    "unparsable tests",
    "unsafe private tests",
    "malformed row",
)


class RowError(ValueError):
    """A source row that cannot be prepared; ``reason`` is one of BAD_REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class BadRows:
    """Per-reason counters of bad rows, with a few examples each (source, row id, detail)."""

    def __init__(self, max_examples: int = 3):
        self.counts: collections.Counter[str] = collections.Counter()
        self.examples: dict[str, list[str]] = collections.defaultdict(list)
        self.seen = 0
        self.max_examples = max_examples

    def add(self, err: RowError, where: str) -> None:
        self.counts[err.reason] += 1
        ex = self.examples[err.reason]
        if len(ex) < self.max_examples:
            ex.append(f"{where}: {err.detail}"[:300])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def fraction(self) -> float:
        return self.total / self.seen if self.seen else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.seen,
            "bad_rows": self.total,
            "bad_fraction": round(self.fraction(), 6),
            "bad_by_reason": dict(sorted(self.counts.items())),
            "bad_examples": {k: v for k, v in sorted(self.examples.items())},
        }


_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
_REWARD = pa.struct([("ground_truth", pa.string()), ("style", pa.string())])


def schema_for(extra_fields: dict[str, pa.DataType]) -> pa.Schema:
    """The verl row schema with ``extra_info`` holding index, split and ``extra_fields``."""
    extra = [("index", pa.int64()), ("split", pa.string())] + list(extra_fields.items())
    return pa.schema(
        [
            ("data_source", pa.string()),
            ("prompt", pa.list_(_MESSAGE)),
            ("ability", pa.string()),
            ("reward_model", _REWARD),
            ("extra_info", pa.struct(extra)),
        ]
    )


def make_row(data_source: str, user_content: str, ability: str, ground_truth: str, extra_info: dict) -> dict:
    """A verl row; the prompt is the user turn only (the chat template is applied later by the tokenizer)."""
    if not isinstance(user_content, str) or not user_content.strip():
        raise RowError("empty prompt", "prompt text is empty")
    if not isinstance(ground_truth, str) or not ground_truth.strip():
        raise RowError("missing answer", f"ground truth {ground_truth!r}")
    return {
        "data_source": data_source,
        "prompt": [{"role": "user", "content": user_content}],
        "ability": ability,
        "reward_model": {"ground_truth": ground_truth, "style": "rule"},
        "extra_info": extra_info,
    }


class ParquetRowWriter:
    """Write rows to ``path`` in batches (a row group per flush) through a temp file renamed atomically on
    ``close()``; ``abort()`` (or an exception inside ``with``) removes the temp file and leaves ``path`` as it was."""

    def __init__(self, path: str | Path, schema: pa.Schema, batch_rows: int = 1000, batch_bytes: int = 16 << 20):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self.schema = schema
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._buf: list[dict] = []
        self._buf_bytes = 0
        self.rows = 0
        self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    @staticmethod
    def _size(row: dict) -> int:
        gt = row["reward_model"]["ground_truth"]
        return len(gt) + sum(len(m["content"]) for m in row["prompt"]) + 256

    def write(self, row: dict) -> None:
        self._buf.append(row)
        self._buf_bytes += self._size(row)
        self.rows += 1
        if len(self._buf) >= self.batch_rows or self._buf_bytes >= self.batch_bytes:
            self.flush()

    def write_all(self, rows: Iterable[dict]) -> None:
        for r in rows:
            self.write(r)

    def flush(self) -> None:
        if self._buf:
            self._writer.write_table(pa.Table.from_pylist(self._buf, schema=self.schema))
            self._buf, self._buf_bytes = [], 0

    def close(self) -> Path:
        self.flush()
        self._writer.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
