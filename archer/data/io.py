"""Streaming readers for the input formats data preparation accepts.

Every reader yields one ``dict`` per row and never holds the whole file: jsonl (optionally ``.gz``) line
by line, parquet batch by batch (pyarrow), a JSON array element by element (``iter_json_array``: an
incremental reader built on ``json.JSONDecoder.raw_decode``), and a Hugging Face hub dataset through
``datasets.load_dataset(..., streaming=True)``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any, Iterator

__all__ = ["SUPPORTED_SUFFIXES", "iter_file", "iter_path", "iter_json_array", "iter_hub", "count_rows_hint", "list_files", "open_parquet"]

SUPPORTED_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet")
_CHUNK = 1 << 20
# what a damaged file raises from the decoders below (a truncated gzip stream, bytes that are not UTF-8,
# a parquet footer that is missing, an OS read error)
_DAMAGE = (OSError, EOFError, zlib.error, UnicodeDecodeError)


def _damaged(path: Path, what: str, exc: BaseException, where: str = "") -> ValueError:
    return ValueError(f"{path}{where}: cannot read it as {what}, the file looks truncated or corrupt "
                      f"({type(exc).__name__}: {exc})")


def _arrow_errors() -> tuple:
    import pyarrow as pa

    return (pa.ArrowException, *_DAMAGE)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suf in SUPPORTED_SUFFIXES:
        if name.endswith(suf):
            return suf
    raise ValueError(f"{path}: unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)})")


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(path: Path) -> Iterator[dict]:
    what = "gzip-compressed JSON lines" if path.name.lower().endswith(".gz") else "UTF-8 JSON lines"
    current = 1
    try:
        with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")) as f:
            for lineno, raw in enumerate(f, 1):  # bytes, decoded per line: a decode error names its line
                current = lineno
                line = raw.decode("utf-8")
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as e:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({e})") from None
                if not isinstance(row, dict):
                    raise ValueError(f"{path}:{lineno}: expected a JSON object per line, got {type(row).__name__}")
                current = lineno + 1  # a read error from here on is in the next line
                yield row
    except _DAMAGE as e:
        raise _damaged(path, what, e, f":{current}") from None


def iter_json_array(path: Path, chunk_size: int = _CHUNK) -> Iterator[Any]:
    """Elements of a top-level JSON array, decoded one at a time (memory ~ one element + one chunk).

    A file holding a single JSON object (not an array) yields that object once."""
    try:
        yield from _iter_json_array(Path(path), chunk_size)
    except _DAMAGE as e:
        what = "gzip-compressed JSON" if Path(path).name.lower().endswith(".gz") else "UTF-8 JSON"
        raise _damaged(Path(path), what, e) from None


def _iter_json_array(path: Path, chunk_size: int) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    with _open_text(path) as f:
        buf = f.read(chunk_size)
        pos = 0

        def skip_ws():
            nonlocal buf, pos
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    pos += 1
                if pos < len(buf):
                    return True
                more = f.read(chunk_size)
                if not more:
                    return False
                buf, pos = more, 0

        if not skip_ws():
            return
        if buf[pos] != "[":
            rest = buf[pos:] + f.read()
            try:
                yield json.loads(rest)
            except ValueError as e:
                raise ValueError(f"{path}: not valid JSON ({e})") from None
            return
        pos += 1
        index = 0
        while True:
            if not skip_ws():
                raise ValueError(f"{path}: JSON array is not closed")
            if buf[pos] == "]":
                return
            if index > 0:
                if buf[pos] != ",":
                    raise ValueError(f"{path}: expected ',' between array elements after element {index - 1}")
                pos += 1
                if not skip_ws():
                    raise ValueError(f"{path}: JSON array is not closed")
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    # a number at the end of the buffer may continue in the next chunk
                    if end == len(buf) and not isinstance(value, (dict, list, str)):
                        raise ValueError("need more")
                    break
                except ValueError as e:
                    more = f.read(max(chunk_size, len(buf) - pos))  # geometric growth for huge elements
                    if not more:
                        raise ValueError(f"{path}: array element {index} is not valid JSON ({e})") from None
                    buf = buf[pos:] + more
                    pos = 0
            yield value
            index += 1
            pos = end
            if pos > chunk_size:
                buf, pos = buf[pos:], 0


def open_parquet(path: Path, **kwargs):
    """``pyarrow.parquet.ParquetFile`` whose failure (not parquet, truncated footer) names the file."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, **kwargs)
    except _arrow_errors() as e:
        raise _damaged(path, "parquet", e) from None


def iter_parquet(path: Path, batch_rows: int = 64) -> Iterator[dict]:
    # pre_buffer=False + a small read buffer: without them pyarrow caches whole row groups (memory ~ file size)
    pf = open_parquet(path, pre_buffer=False, buffer_size=1 << 20)
    rows = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, use_threads=False):
            rows += batch.num_rows
            yield from batch.to_pylist()
    except _arrow_errors() as e:
        raise _damaged(path, "parquet", e, f" (after row {rows})") from None


def iter_file(path: str | Path, batch_rows: int = 64) -> Iterator[dict]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    suf = _suffix(path)
    if suf == ".parquet":
        yield from iter_parquet(path, batch_rows)
    elif suf.startswith(".jsonl"):
        yield from iter_jsonl(path)
    else:
        for i, row in enumerate(iter_json_array(path)):
            if not isinstance(row, dict):
                raise ValueError(f"{path}: array element {i} is a {type(row).__name__}, expected an object")
            yield row


def list_files(path: str | Path) -> list[Path]:
    """A file, or the supported files of a directory (sorted, not recursive)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(SUPPORTED_SUFFIXES))
        if not files:
            raise ValueError(f"{path}: directory holds no {', '.join(SUPPORTED_SUFFIXES)} file")
        return files
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory")
    _suffix(path)
    return [path]


def iter_path(path: str | Path, batch_rows: int = 64) -> Iterator[dict]:
    for f in list_files(path):
        yield from iter_file(f, batch_rows)


def count_rows_hint(path: str | Path) -> int | None:
    """Row count when it is cheap to know (parquet metadata), else None (progress bars then count up)."""
    total = 0
    for f in list_files(path):
        if not f.name.lower().endswith(".parquet"):
            return None
        total += open_parquet(f).metadata.num_rows
    return total


def iter_hub(dataset_id: str, split: str = "train", config: str | None = None, **load_kwargs: Any) -> Iterator[dict]:
    """Rows of a hub dataset (or a ``datasets`` builder such as ``"parquet"`` with ``data_files=``), streamed."""
    import datasets

    try:
        ds = datasets.load_dataset(dataset_id, config, split=split, streaming=True, **load_kwargs)
    except Exception as e:  # network, auth, unknown id or split: name what failed
        raise ValueError(
            f"could not open dataset {dataset_id!r} (config={config!r}, split={split!r}) with datasets: "
            f"{type(e).__name__}: {e}. Offline? Pass a local file with --source NAME=PATH."
        ) from e
    rows = 0
    try:
        for row in ds:
            rows += 1
            yield dict(row)
    except Exception as e:  # a dropped connection or a damaged remote file after some rows
        raise ValueError(f"dataset {dataset_id!r} (config={config!r}, split={split!r}): reading failed after "
                         f"{rows} rows: {type(e).__name__}: {e}") from e
