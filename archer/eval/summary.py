"""Per-benchmark summary from per-sample correctness: avg@n and pass@n in percent.

``summary.json`` = ``{data_source: {"n": samples per problem, "problems": int, "avg": avg@n %, "pass": pass@n %}}``

avg@n is the mean over problems of each problem's accuracy over its n samples (= the mean over all
samples, since n is equal for every problem); pass@n is the mean over problems of the unbiased pass@n
(``archer.eval.metrics.pass_at_k``), i.e. the fraction of problems with at least one correct sample.
Every problem of a data source must have the same number of samples: a data source whose problems
differ raises EvalInputError naming it, the sample counts and an example problem of each count (the
paper's protocol uses one k per benchmark; mixing counts would make "pass@n" ambiguous).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Mapping

from archer.eval.benchmarks import BENCHMARKS
from archer.eval.errors import EvalInputError
from archer.eval.metrics import pass_at_k

__all__ = ["summarize", "ordered_sources", "write_summary", "read_summary"]


def ordered_sources(sources: Iterable[str]) -> list[str]:
    """Registry order for the paper's benchmarks, then the others sorted."""
    sources = set(sources)
    known = [name for name in BENCHMARKS if name in sources]
    return known + sorted(sources - set(known))


def summarize(correct: Mapping[tuple[str, str], list[bool]]) -> dict[str, dict]:
    """``{(data_source, problem index): [correct per sample]}`` -> the summary dict (sources in table order)."""
    by_source: dict[str, dict[str, list[bool]]] = defaultdict(dict)
    for (source, index), flags in correct.items():
        by_source[source][index] = list(flags)
    summary: dict[str, dict] = {}
    for source in ordered_sources(by_source):
        problems = by_source[source]
        counts: dict[int, str] = {}
        for index, flags in problems.items():
            counts.setdefault(len(flags), index)
        if len(counts) > 1:
            detail = ", ".join(f"n={n} (e.g. problem index {idx})" for n, idx in sorted(counts.items()))
            raise EvalInputError(
                f"data_source {source!r}: problems have different numbers of samples: {detail}; "
                "generate the same number of responses for every problem of a benchmark"
            )
        (n,) = counts
        if n == 0:
            raise EvalInputError(f"data_source {source!r}: problems without samples")
        avg = sum(sum(f) / n for f in problems.values()) / len(problems)
        pas = sum(pass_at_k(n, sum(f), n) for f in problems.values()) / len(problems)
        summary[source] = {"n": n, "problems": len(problems), "avg": 100.0 * avg, "pass": 100.0 * pas}
    return summary


def write_summary(summary: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_summary(path: str | Path) -> dict[str, dict]:
    """A summary.json, checked for the contract's keys (EvalInputError naming the file and key)."""
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: summary file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        cut = " (truncated: an interrupted write?)" if exc.pos >= len(exc.doc.rstrip()) else ""
        raise EvalInputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}){cut}; re-run `score` "
                             "to rewrite it") from None
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(data, dict):
        raise EvalInputError(f"{path}: expected an object of data sources, got {type(data).__name__}")
    for source, entry in data.items():
        if not isinstance(entry, dict):
            raise EvalInputError(f"{path}: entry {source!r} is not an object")
        for key in ("n", "problems", "avg", "pass"):
            if key not in entry:
                raise EvalInputError(f"{path}: entry {source!r} lacks key {key!r}")
    return data
