"""Shared helpers for the data-preparation tests (tests/test_data_*.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archer.data import EVAL_SETS

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"
SHARED = Path(os.environ.get("ARCHER_SHARED_DATA", REPO.parent / "shared" / "data"))

needs_shared = pytest.mark.skipif(not (SHARED / "aime2024" / "test.jsonl").exists(),
                                  reason=f"shared benchmark files not found in {SHARED} (set ARCHER_SHARED_DATA)")

MATH_FIXTURE_SOURCES = {
    "deepscaler": FIXTURES / "deepscaler.jsonl",
    "skywork_or1_math": FIXTURES / "skywork_or1_math.parquet",
    "dapo_math": FIXTURES / "dapo_math.parquet",
}


def source_args(**named) -> list[str]:
    """``--source`` arguments: the given NAME=PATH pairs, every other eval set ``none`` (hermetic runs)."""
    args = []
    for name, spec in named.items():
        args += ["--source", f"{name}={spec}"]
    for es in EVAL_SETS:
        if es not in named:
            args += ["--source", f"{es}=none"]
    return args


def run_prepare(out_dir: Path, suite: str, *extra: str, **named) -> int:
    """Run ``python -m archer.data prepare`` in-process; returns the exit status."""
    from archer.data.__main__ import main

    return main(["prepare", "--suite", suite, "--out-dir", str(out_dir), "--no-progress", *extra,
                 *source_args(**named)])


def read_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()
