"""Where rows come from: ``--source NAME=SPEC`` parsing and opening a spec as a row stream.

SPEC is one of
  * a local file (``.jsonl``, ``.jsonl.gz``, ``.json`` array, ``.parquet``) or a directory of such files;
  * ``hub:OWNER/NAME[,split=SPLIT][,config=CONFIG]``: a Hugging Face dataset, streamed with ``datasets``;
  * ``none``: skip this source.

From Python, ``SourceSpec("hub", "parquet", "train", options={"data_files": ...})`` runs the same
``datasets`` streaming path on local files (how the tests exercise it offline).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from archer.data import io

__all__ = ["SourceSpec", "parse_spec", "parse_source_args", "open_rows", "describe"]


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "file" | "hub" | "none"
    target: str = ""  # path or dataset id
    split: str = "train"
    config: str | None = None
    options: dict = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        if self.kind == "hub":
            extra = f",split={self.split}" + (f",config={self.config}" if self.config else "")
            return f"hub:{self.target}{extra}"
        return self.target if self.kind == "file" else "none"


def parse_spec(spec: str, default_split: str = "train") -> SourceSpec:
    spec = spec.strip()
    if not spec:
        raise ValueError("empty source spec")
    if spec.lower() == "none":
        return SourceSpec("none")
    if spec.startswith("hub:"):
        parts = spec[4:].split(",")
        ds_id, split, config = parts[0].strip(), default_split, None
        for p in parts[1:]:
            k, sep, v = p.partition("=")
            if not sep or k.strip() not in ("split", "config"):
                raise ValueError(f"source {spec!r}: unknown option {p!r} (expected split=... or config=...)")
            if k.strip() == "split":
                split = v.strip()
            else:
                config = v.strip() or None
        if "/" not in ds_id:
            raise ValueError(f"source {spec!r}: hub id must look like OWNER/NAME")
        return SourceSpec("hub", ds_id, split, config)
    return SourceSpec("file", str(Path(spec).expanduser()))


def parse_source_args(items: list[str] | None, known: set[str]) -> dict[str, SourceSpec]:
    """``["deepscaler=/x.jsonl", ...]`` -> {name: SourceSpec}; unknown names raise naming the valid ones."""
    out: dict[str, SourceSpec] = {}
    for item in items or []:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"--source {item!r}: expected NAME=PATH, NAME=hub:ID or NAME=none")
        if name not in known:
            raise ValueError(f"--source {item!r}: unknown source {name!r}; known: {', '.join(sorted(known))}")
        out[name] = parse_spec(spec)
    return out


def open_rows(spec: SourceSpec, batch_rows: int = 64) -> tuple[Iterator[dict], int | None]:
    """(row iterator, row count if cheaply known)."""
    if spec.kind == "file":
        return io.iter_path(spec.target, batch_rows), io.count_rows_hint(spec.target)
    if spec.kind == "hub":
        return io.iter_hub(spec.target, spec.split, spec.config, **spec.options), None
    raise ValueError("source 'none' has no rows")


def describe(spec: SourceSpec) -> dict[str, Any]:
    """Identity of a source for the manifest: files by path, size and mtime; hub ids by name."""
    if spec.kind == "file":
        files = io.list_files(spec.target)
        return {
            "kind": "file",
            "files": [
                {"path": str(f.resolve()), "size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns} for f in files
            ],
        }
    if spec.kind == "hub":
        return {"kind": "hub", "id": spec.target, "split": spec.split, "config": spec.config,
                "options": {k: str(v) for k, v in sorted(spec.options.items())}}
    return {"kind": "none"}


def default_local_dir() -> Path | None:
    env = os.environ.get("ARCHER_SHARED_DATA")
    return Path(env) if env else None
