"""JSON-lines files of the evaluation: reading with line-precise errors, appending resumably.

A generations file has one problem per line::

    {"data_source": "aime2024", "ground_truth": "204", "responses": ["...", ...],
     "index": 0, "prompt": [{"role": "user", "content": "..."}], "extra_info": {...}, ...}

``data_source``, ``ground_truth`` and ``responses`` are required; everything else is kept as is. A
problem is identified by ``(data_source, index)``, where ``index`` is the row's ``index`` field, else
``extra_info["index"]``, else its line number (1-based) in the file.

Files written here are appended one complete line at a time and flushed, so an interrupted run leaves at
most one truncated last line; readers of our own output files drop that line with a warning, and the
next append overwrites it.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from archer.eval.errors import EvalInputError

logger = logging.getLogger(__name__)

__all__ = ["Problem", "read_jsonl", "has_truncated_tail", "cut_truncated_tail", "load_generations", "JsonlAppender", "to_jsonable", "problem_index"]


@dataclass
class Problem:
    data_source: str
    index: Any
    ground_truth: Any
    responses: list[str]
    extra_info: dict | None
    line: int  # 1-based line in the file it came from
    row: dict = field(repr=False, default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.data_source, str(self.index))


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from parquet/pandas/numpy values (arrays -> lists, numpy scalars -> Python)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy array or scalar
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    return str(value)


TRUNCATED_TAIL = "dropping a truncated last line (an interrupted write)"


def has_truncated_tail(path: str | Path) -> bool:
    """Whether the file's last line has no newline and is not valid JSON (an interrupted append)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with open(path, "rb") as fh:
        data = fh.read()
    if data.endswith(b"\n"):
        return False
    try:
        json.loads(data[data.rfind(b"\n") + 1 :].decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError (a multi-byte character cut in two)
        return True
    return False


def read_jsonl(path: str | Path, *, tolerate_truncated_tail: bool = False,
               truncated_note: str = "") -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-empty line. Invalid JSON or a non-object raises EvalInputError
    naming the file and line; with ``tolerate_truncated_tail`` an unparsable *last* line that has no
    trailing newline (an interrupted append) is skipped with a warning (plus ``truncated_note``: what
    happens to the record it held)."""
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: file not found")
    with open(path, "rb") as fh:
        lines = fh.readlines()
    for i, raw in enumerate(lines, start=1):
        last_cut = i == len(lines) and not raw.endswith(b"\n")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if tolerate_truncated_tail and last_cut:
                logger.warning("%s:%d: %s%s", path, i, TRUNCATED_TAIL, truncated_note)
                return
            raise EvalInputError(f"{path}:{i}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if tolerate_truncated_tail and last_cut:
                logger.warning("%s:%d: %s%s", path, i, TRUNCATED_TAIL, truncated_note)
                return
            hint = " (a truncated last line: an interrupted write?)" if last_cut else ""
            raise EvalInputError(f"{path}:{i}: not valid JSON ({exc.msg} at column {exc.colno}){hint}") from None
        if not isinstance(obj, dict):
            raise EvalInputError(f"{path}:{i}: expected a JSON object, got {type(obj).__name__}")
        yield i, obj


def problem_index(row: dict, line: int) -> Any:
    if row.get("index") is not None:
        return row["index"]
    extra = row.get("extra_info")
    if isinstance(extra, dict) and extra.get("index") is not None:
        return extra["index"]
    return line


def load_generations(path: str | Path, *, tolerate_truncated_tail: bool = False,
                     truncated_note: str = "") -> list[Problem]:
    """Every problem of a generations file, validated (required keys, response types, unique keys)."""
    path = Path(path)
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in read_jsonl(path, tolerate_truncated_tail=tolerate_truncated_tail, truncated_note=truncated_note):
        where = f"{path}:{line}"
        for key in ("data_source", "ground_truth", "responses"):
            if key not in row:
                raise EvalInputError(f"{where}: missing key {key!r} (required: data_source, ground_truth, responses)")
        ds = row["data_source"]
        if not isinstance(ds, str) or not ds:
            raise EvalInputError(f"{where}: data_source must be a non-empty string, got {ds!r}")
        responses = row["responses"]
        if not isinstance(responses, list) or not responses:
            raise EvalInputError(f"{where}: responses must be a non-empty list of strings, got {type(responses).__name__}")
        for j, r in enumerate(responses):
            if not isinstance(r, str):
                raise EvalInputError(f"{where}: responses[{j}] must be a string, got {type(r).__name__}")
        extra = row.get("extra_info")
        if extra is not None and not isinstance(extra, dict):
            raise EvalInputError(f"{where}: extra_info must be an object or absent, got {type(extra).__name__}")
        problem = Problem(ds, problem_index(row, line), row["ground_truth"], responses, extra, line, row)
        if problem.key in seen:
            raise EvalInputError(
                f"{where}: duplicate problem (data_source={ds!r}, index={problem.index!r}), first at line {seen[problem.key]}"
            )
        seen[problem.key] = line
        problems.append(problem)
    return problems


def cut_truncated_tail(path: str | Path) -> None:
    """Remove an unterminated last line (left by an interrupted append) so the file is line-valid."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data.endswith(b"\n"):
            return
        fh.truncate(data.rfind(b"\n") + 1)


class JsonlAppender:
    """Append JSON objects to a file, one flushed line each. On open, a truncated last line (no trailing
    newline) left by an interrupted run is cut off first so the file stays line-valid."""

    def __init__(self, path: str | Path, *, fsync: bool = False):
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._cut_truncated_tail()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _cut_truncated_tail(self) -> None:
        cut_truncated_tail(self.path)

    def write(self, obj: dict) -> None:
        self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
