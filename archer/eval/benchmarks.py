"""The paper's evaluation protocol: benchmarks, samples per problem (k) and sampling settings.

ASPO (arXiv 2510.06062) Table 1 (math) and Table 2 (code): vLLM, temperature 0.8, max 32,768 output
tokens; top_p 0.95 as in the authors' Archer2.0 eval script (scripts/eval/run_eval.sh). Every eval set is
``<data-dir>/eval/<name>.parquet`` in verl format, written by ``python -m archer.data prepare --suite eval``,
and its ``data_source`` equals the set name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archer.eval.errors import EvalInputError

__all__ = ["Benchmark", "BENCHMARKS", "SAMPLING", "TABLES", "resolve_benchmarks", "benchmark_for"]


@dataclass(frozen=True)
class Benchmark:
    name: str  # registry name, also the data_source and the file stem
    label: str  # column label in the paper's table
    task: str  # "math" | "code"
    k: int  # samples per problem (avg@k / pass@k)
    table: str  # "math" (Table 1) or "code" (Table 2)

    @property
    def data_source(self) -> str:
        return self.name

    def file(self, data_dir: str | Path) -> Path:
        return Path(data_dir) / "eval" / f"{self.name}.parquet"


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("aime2024", "AIME24", "math", 64, "math"),
        Benchmark("aime2025", "AIME25", "math", 64, "math"),
        Benchmark("amc2023", "AMC23", "math", 64, "math"),
        Benchmark("math500", "MATH-500", "math", 4, "math"),
        Benchmark("minerva", "Minerva", "math", 8, "math"),
        Benchmark("olympiadbench", "Olympiad", "math", 4, "math"),
        Benchmark("livecodebench_v5", "LCB v5", "code", 8, "code"),
        Benchmark("livecodebench_v6", "LCB v6", "code", 16, "code"),
    )
}

# table id -> (title, benchmark names in column order)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "math": ("Table 1: math benchmarks", ("aime2024", "aime2025", "amc2023", "math500", "minerva", "olympiadbench")),
    "code": ("Table 2: code benchmarks (LCB v5: problems of 2024.08.01-2025.02.01, LCB v6: 2025.02.01-2025.05.01)",
             ("livecodebench_v5", "livecodebench_v6")),
}

# the paper's sampling protocol (every value overridable on the command line)
SAMPLING = {"temperature": 0.8, "top_p": 0.95, "max_tokens": 32768}

GROUPS = {"math": tuple(TABLES["math"][1]), "code": tuple(TABLES["code"][1]), "all": tuple(BENCHMARKS)}


def benchmark_for(data_source: str) -> Benchmark | None:
    """The registry entry whose data_source is ``data_source`` (None for other sources)."""
    return BENCHMARKS.get(data_source)


def resolve_benchmarks(spec: str | list[str]) -> list[Benchmark]:
    """``"aime2024,math500"`` / ``"math"`` / ``"code"`` / ``"all"`` -> benchmarks (registry order kept
    for groups, the given order otherwise). Unknown names raise EvalInputError listing the known ones."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not names:
        raise EvalInputError(f"no benchmark given; known: {', '.join(BENCHMARKS)} (or groups {', '.join(GROUPS)})")
    out: list[Benchmark] = []
    for name in names:
        if name in GROUPS:
            chosen = [BENCHMARKS[n] for n in GROUPS[name]]
        elif name in BENCHMARKS:
            chosen = [BENCHMARKS[name]]
        else:
            raise EvalInputError(
                f"unknown benchmark {name!r}; known benchmarks: {', '.join(BENCHMARKS)}; groups: {', '.join(GROUPS)}"
            )
        out.extend(b for b in chosen if b not in out)
    return out
