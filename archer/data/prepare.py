"""Orchestration of ``python -m archer.data prepare``: one output file at a time, streamed, reported.

Each output ``X.parquet`` gets ``X.report.json`` next to it: status, rows read / written, bad rows per
reason (with examples), duplicates, contaminated rows per eval set, and the manifest used to skip
identical re-runs.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from archer.data import EVAL_SETS
from archer.data.decontam import DEFAULT_MIN_OVERLAP, DEFAULT_NGRAM, EvalIndex, text_key
from archer.data.eval_sets import EVAL_SPECS, default_spec, eval_rows, eval_schema
from archer.data.manifest import code_version, load_report, report_path, up_to_date, write_json_atomic
from archer.data.rows import BadRows, ParquetRowWriter, RowError
from archer.data.sources import SourceSpec, describe, open_rows, parse_spec
from archer.data.validate import validate_prepared

log = logging.getLogger("archer.data")

__all__ = ["Options", "Outcome", "prepare", "prepare_eval", "prepare_train", "ALL_SOURCE_NAMES"]


def _train_sources() -> dict[str, dict[str, tuple[str, str]]]:
    from archer.data.train_code import CODE_SOURCES
    from archer.data.train_math import MATH_SOURCES

    return {"math": MATH_SOURCES, "code": CODE_SOURCES}


ALL_SOURCE_NAMES = set(EVAL_SETS) | {n for s in _train_sources().values() for n in s}


@dataclass
class Options:
    out_dir: Path = Path("data")
    local_dir: Path | None = None
    sources: dict[str, SourceSpec] = field(default_factory=dict)
    eval_sets: tuple[str, ...] = EVAL_SETS
    max_bad_fraction: float = 0.05
    ngram: int = DEFAULT_NGRAM
    min_overlap: float = DEFAULT_MIN_OVERLAP
    decontam: bool = True
    strict: bool = False
    force: bool = False
    batch_rows: int = 64
    progress: bool = True
    offline: bool = False  # never try hub sources (also HF_HUB_OFFLINE=1, or a failed probe of the hub)
    hub_needed: dict[str, str] = field(default_factory=dict)  # filled in: source name -> hub spec not tried
    hub_why: str = ""  # filled in: why the hub was not used


def _needs_hub(spec: SourceSpec | None) -> bool:
    """A hub dataset id (OWNER/NAME); a ``datasets`` builder on local files (``"parquet"`` + data_files) is not."""
    return spec is not None and spec.kind == "hub" and "/" in spec.target


def _hub_refusal(opts: Options, needs: dict[str, SourceSpec]) -> str | None:
    """None when these hub sources may be tried; else the message (and they are recorded in opts.hub_needed)."""
    if not needs:
        return None
    from archer.data.hub import hub_unavailable

    why = hub_unavailable(opts.offline)
    if why is None:
        return None
    opts.hub_needed.update({n: str(s) for n, s in needs.items()})
    opts.hub_why = why
    return f"{HUB_REFUSED}: needs the hub for {', '.join(needs)}"


HUB_REFUSED = "not tried offline"


@dataclass
class Outcome:
    name: str
    path: Path
    status: str  # "ok" | "up-to-date" | "skipped" | "failed"
    message: str = ""
    report: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _progress(items: Iterable, total: int | None, desc: str, enabled: bool) -> Iterator:
    if not enabled:
        return iter(items)
    from tqdm.auto import tqdm

    return iter(tqdm(items, total=total, desc=desc, unit="row", file=sys.stderr, dynamic_ncols=True))


Stream = tuple[str, Iterable[tuple[int, Any]], "int | None"]


def _produce(name: str, output: Path, schema, streams: Iterable[Stream], opts: Options, manifest: dict,
             keep: Callable[[str, dict], tuple[str, Any] | None] | None = None, extra_report: dict | None = None) -> Outcome:
    """Write the rows of ``streams`` to ``output``; ``keep(source, row)`` returns (reason, detail) to drop a
    good row (duplicate / contaminated), None to keep it. Bad rows are counted, never written."""
    bad = BadRows()
    dropped: collections.Counter[str] = collections.Counter()
    per_source: dict[str, collections.Counter] = {}
    drop_examples: dict[str, list[str]] = collections.defaultdict(list)
    writer = ParquetRowWriter(output, schema)
    try:
        for src, items, total in streams:
            counts = per_source.setdefault(src, collections.Counter())
            for i, item in _progress(items, total, name if src == name else f"{name}:{src}", opts.progress):
                bad.seen += 1
                counts["read"] += 1
                if isinstance(item, RowError):
                    bad.add(item, f"{src} row {i}")
                    counts["bad"] += 1
                    continue
                if keep is not None:
                    verdict = keep(src, item)
                    if verdict is not None:
                        reason, detail = verdict
                        dropped[reason] += 1
                        counts[reason] += 1
                        if len(drop_examples[reason]) < 5:
                            drop_examples[reason].append(f"{src} id {item['extra_info'].get('original_id')}: {detail}")
                        continue
                item["extra_info"]["index"] = writer.rows
                writer.write(item)
                counts["written"] += 1
    except BaseException:
        writer.abort()
        raise
    frac = bad.fraction()
    status, message = "ok", ""
    if frac > opts.max_bad_fraction:
        writer.abort()
        status = "failed"
        message = (f"{bad.total} of {bad.seen} rows are bad ({frac:.2%} > --max-bad-fraction "
                   f"{opts.max_bad_fraction:.2%}); {output} not written. Reasons: {dict(bad.counts)}")
    elif writer.rows == 0:
        writer.abort()
        status, message = "failed", f"no rows to write to {output} (read {bad.seen})"
    else:
        writer.close()
        validate_prepared(output)
    report = {
        "name": name,
        "output": str(output),
        "status": status,
        "message": message,
        "rows_written": writer.rows if status == "ok" else 0,
        **bad.as_dict(),
        "dropped": dict(sorted(dropped.items())),
        "dropped_examples": dict(drop_examples),
        "per_source": {k: dict(v) for k, v in per_source.items()},
        "max_bad_fraction": opts.max_bad_fraction,
        "manifest": manifest,
        **(extra_report or {}),
    }
    write_json_atomic(report_path(output), report)
    if status == "failed":
        log.error("%s: %s", name, message)
    return Outcome(name, output, status, message, report)


def _describe(name: str, spec: SourceSpec) -> dict:
    try:
        return describe(spec)
    except ValueError as e:  # e.g. a --source file that does not exist
        raise ValueError(f"source {name} ({spec}): {e}") from e


def _spec_for(name: str, opts: Options, default: str) -> SourceSpec:
    return opts.sources.get(name) or parse_spec(default)


# ---------------------------------------------------------------- eval
def _eval_spec(name: str, opts: Options) -> tuple[SourceSpec | None, str | None]:
    if name in opts.sources:
        spec = opts.sources[name]
        return (None, f"--source {name}=none") if spec.kind == "none" else (spec, None)
    return default_spec(name, opts.local_dir)


def prepare_eval(opts: Options, names: Iterable[str] | None = None) -> list[Outcome]:
    outcomes = []
    for name in names or opts.eval_sets:
        output = opts.out_dir / "eval" / f"{name}.parquet"
        spec, why = _eval_spec(name, opts)
        if spec is None:
            msg = f"skipped: {why}"
            (log.error if opts.strict else log.warning)("%s %s", name, msg)
            write_json_atomic(report_path(output), {"name": name, "status": "skipped", "message": msg})
            outcomes.append(Outcome(name, output, "failed" if opts.strict else "skipped", msg))
            continue
        manifest = {"version": code_version(), "kind": "eval", "name": name, "inputs": {name: _describe(name, spec)},
                    "options": {"max_bad_fraction": opts.max_bad_fraction}}
        if not opts.force and up_to_date(output, manifest):
            log.info("%s: up to date (%s); --force to redo", name, output)
            outcomes.append(Outcome(name, output, "up-to-date", "", load_report(output) or {}))
            continue
        es = EVAL_SPECS[name]
        refusal = _hub_refusal(opts, {name: spec} if _needs_hub(spec) else {})
        if refusal:
            write_json_atomic(report_path(output), {"name": name, "status": "failed", "message": refusal})
            outcomes.append(Outcome(name, output, "failed", refusal))
            continue
        total = None
        try:
            if spec.kind == "file" and es.ability == "math":
                from archer.data.io import count_rows_hint

                total = count_rows_hint(spec.target)
            out = _produce(name, output, eval_schema(es.ability),
                           [(name, eval_rows(name, spec, opts.batch_rows), total)], opts, manifest)
        except ValueError as e:  # unreadable source: this set fails, the others still run
            e = ValueError(f"source {name} ({spec}): {e}")
            log.error("%s: %s", name, e)
            write_json_atomic(report_path(output), {"name": name, "status": "failed", "message": str(e)})
            outcomes.append(Outcome(name, output, "failed", str(e)))
            continue
        if out.status == "ok" and es.ability == "code":
            public_only = _count_public_only(output)
            out.report["public_tests_only_rows"] = public_only
            write_json_atomic(report_path(output), out.report)
            if public_only:
                log.warning("%s: %d of %d problems have public (sample) tests only: pass rates will be optimistic "
                            "compared with official LiveCodeBench numbers", name, public_only, out.report["rows_written"])
        outcomes.append(out)
    return outcomes


def _count_public_only(path: Path) -> int:
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["extra_info"])
    return sum(1 for e in t.column("extra_info").to_pylist() if e.get("public_tests_only"))


# ---------------------------------------------------------------- decontamination index
def build_eval_index(opts: Options) -> tuple[EvalIndex, dict]:
    """n-gram index of every eval set's problems (raw text from ``extra_info.problem`` of the prepared eval
    files); eval files that are missing are prepared first. Sets that cannot be prepared are listed."""
    import pyarrow.parquet as pq

    index = EvalIndex(opts.ngram, opts.min_overlap)
    unchecked: dict[str, str] = {}
    digest = hashlib.sha256()
    for name in EVAL_SETS:
        path = opts.out_dir / "eval" / f"{name}.parquet"
        if not path.exists():
            try:
                outs = prepare_eval(opts, [name])
                if outs[0].status not in ("ok", "up-to-date"):
                    unchecked[name] = outs[0].message
            except ValueError as e:
                unchecked[name] = str(e)
        if not path.exists():
            unchecked.setdefault(name, f"{path} missing")
            continue
        try:
            problems = pq.read_table(path, columns=["extra_info"]).column("extra_info").to_pylist()
        except Exception as e:  # a damaged prepared file: name it and the way out
            raise ValueError(f"{path}: cannot read this prepared eval set for decontamination, the file looks "
                             f"truncated or corrupt ({type(e).__name__}: {e}); redo it with `python -m archer.data "
                             f"prepare --suite eval --sets {name} --force`") from None
        for e in problems:
            index.add(name, e["problem"])
            digest.update(name.encode() + b"\0" + e["problem"].encode() + b"\0")
    if unchecked:
        for name, why in unchecked.items():
            log.warning("decontamination does not cover %s: %s", name, why)
    info = {"ngram": opts.ngram, "min_overlap": opts.min_overlap, "eval_problems": dict(index.problems), "eval_digest": digest.hexdigest()[:16],
            "unchecked": unchecked}
    return index, info


# ---------------------------------------------------------------- training
def prepare_train(suite: str, opts: Options) -> Outcome:
    from archer.data import train_code, train_math

    sources = _train_sources()[suite]
    output = opts.out_dir / "train" / f"{suite}.parquet"
    specs = {n: _spec_for(n, opts, default) for n, (default, _) in sources.items()}
    active = {n: s for n, s in specs.items() if s.kind != "none"}
    if not active:
        msg = f"every {suite} source is 'none'"
        return Outcome(suite, output, "failed", msg)
    hub_specs = {n: s for n, s in active.items() if _needs_hub(s)}
    if opts.force or not output.exists():  # cannot be up to date: refuse before building the eval index
        needs = dict(hub_specs)
        if hub_specs and opts.decontam:  # the eval sets decontamination would fetch
            for name in EVAL_SETS:
                spec, _ = _eval_spec(name, opts)
                if _needs_hub(spec) and not (opts.out_dir / "eval" / f"{name}.parquet").exists():
                    needs[name] = spec
        refusal = _hub_refusal(opts, needs)
        if refusal:
            return Outcome(suite, output, "failed", refusal)
    index, dinfo = (build_eval_index(opts) if opts.decontam else (None, {"disabled": True}))
    if opts.strict and dinfo.get("unchecked"):
        msg = f"--strict: decontamination cannot check {sorted(dinfo['unchecked'])}"
        log.error("%s: %s", suite, msg)
        return Outcome(suite, output, "failed", msg)
    manifest = {"version": code_version(), "kind": "train", "name": suite,
                "inputs": {n: _describe(n, s) for n, s in active.items()},
                "options": {"max_bad_fraction": opts.max_bad_fraction, "decontam": dinfo}}
    if not opts.force and up_to_date(output, manifest):
        log.info("%s: up to date (%s); --force to redo", suite, output)
        return Outcome(suite, output, "up-to-date", "", load_report(output) or {})
    refusal = _hub_refusal(opts, hub_specs)
    if refusal:
        return Outcome(suite, output, "failed", refusal)
    convert = train_math.math_train_row if suite == "math" else train_code.code_train_row
    schema = train_math.math_schema() if suite == "math" else train_code.code_schema()

    def rows(name: str, spec: SourceSpec) -> Iterator[tuple[int, Any]]:
        i = -1
        try:
            records, _ = open_rows(spec, opts.batch_rows)
            for i, raw in enumerate(records):
                try:
                    yield i, convert(name, raw, i, str(spec))
                except RowError as e:
                    yield i, e
        except ValueError as e:  # an unreadable file / hub stream: name the source (the message names the file)
            raise ValueError(f"source {name} ({spec}), after {i + 1} rows: {e}") from e

    def totals(name: str, spec: SourceSpec) -> int | None:
        if spec.kind != "file":
            return None
        from archer.data.io import count_rows_hint

        try:
            return count_rows_hint(spec.target)
        except ValueError as e:
            raise ValueError(f"source {name} ({spec}): {e}") from e

    seen: set[bytes] = set()
    contaminated: collections.Counter[str] = collections.Counter()

    def keep(src: str, row: dict):
        problem = row["extra_info"]["problem"]
        key = text_key(problem)
        if key in seen:
            return "duplicate", "same normalised problem text as an earlier row"
        if index is not None:
            hits = index.matches(problem)
            if hits:
                for h in hits:
                    contaminated[h] += 1
                return "contaminated", f"overlaps {sorted(hits)}"
        seen.add(key)
        return None

    streams = [(n, rows(n, s), totals(n, s)) for n, s in active.items()]
    extra = {"decontamination": dinfo, "contaminated_by_eval_set": contaminated}
    out = _produce(suite, output, schema, streams, opts, manifest, keep, extra)
    out.report["contaminated_by_eval_set"] = dict(sorted(contaminated.items()))
    write_json_atomic(report_path(output), out.report)
    return out


def prepare(suite: str, opts: Options) -> list[Outcome]:
    if suite not in ("math", "code", "eval", "all"):
        raise ValueError(f"unknown suite {suite!r} (math, code, eval, all)")
    outcomes: list[Outcome] = []
    if suite in ("eval", "all"):
        outcomes += prepare_eval(opts)
    if suite in ("math", "all"):
        outcomes.append(prepare_train("math", opts))
    if suite in ("code", "all"):
        outcomes.append(prepare_train("code", opts))
    return outcomes


def summary_table(outcomes: list[Outcome]) -> str:
    """Plain-text table of outcomes: rows, bad rows per reason, dropped rows."""
    head = f"{'output':<18} {'status':<10} {'written':>8} {'read':>8} {'bad':>6}  details"
    lines = [head, "-" * len(head)]
    for o in outcomes:
        r = o.report
        details = []
        for reason, n in (r.get("bad_by_reason") or {}).items():
            details.append(f"bad[{reason}]={n}")
        for reason, n in (r.get("dropped") or {}).items():
            details.append(f"{reason}={n}")
        for es, n in (r.get("contaminated_by_eval_set") or {}).items():
            details.append(f"contaminated[{es}]={n}")
        if r.get("public_tests_only_rows"):
            details.append(f"public_tests_only={r['public_tests_only_rows']}")
        if o.message and o.status != "ok":
            details.append(o.message)
        lines.append(f"{o.name:<18} {o.status:<10} {r.get('rows_written', 0):>8} {r.get('rows_read', 0):>8} "
                     f"{r.get('bad_rows', 0):>6}  {'; '.join(details)}")
    return "\n".join(lines)
