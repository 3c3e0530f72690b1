"""Tables in the paper's layout (Markdown and CSV), from summary dicts, optionally with reference rows.

- Table 1 (math): AIME24 / AIME25 / AMC23 avg@64 pass@64, MATH-500 @4, Minerva @8, Olympiad @4, Avg.
- Table 2 (code): LCB v5 avg@8 pass@8, LCB v6 avg@16 pass@16, Avg.

"Avg." is the mean of the row's avg@k cells, as in the paper; it is shown only when the row has every
benchmark of the table ("–" otherwise). A paper table is rendered when at least one of our rows has one
of its benchmarks. A cell computed with a different number of samples than the paper's k says so:
``41.2 (n=16)``. Every run also gets a plain per-benchmark table listing all data sources (including
ones outside the paper's tables).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from archer.eval.benchmarks import BENCHMARKS, TABLES
from archer.eval.reference import CITATION, ReferenceRow, reference_rows

__all__ = ["Row", "render_markdown", "table_csv", "summary_csv", "write_tables"]

MISSING = "–"


@dataclass(frozen=True)
class Row:
    label: str
    summary: dict[str, dict]  # the summary.json content of one model


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _has_table(rows: list[Row], table: str) -> bool:
    names = TABLES[table][1]
    return any(name in row.summary for row in rows for name in names)


def _columns(table: str) -> list[str]:
    cols = []
    for name in TABLES[table][1]:
        b = BENCHMARKS[name]
        cols += [f"{b.label} avg@{b.k}", f"{b.label} pass@{b.k}"]
    return cols + ["Avg."]


def _our_values(row: Row, table: str) -> tuple[list[float | None], list[int | None], float | None]:
    """(cell values avg,pass,... ; n per benchmark ; Avg. or None)."""
    values: list[float | None] = []
    ns: list[int | None] = []
    avgs = []
    for name in TABLES[table][1]:
        entry = row.summary.get(name)
        if entry is None:
            values += [None, None]
            ns.append(None)
            continue
        values += [float(entry["avg"]), float(entry["pass"])]
        ns.append(int(entry["n"]))
        avgs.append(float(entry["avg"]))
    mean = sum(avgs) / len(avgs) if len(avgs) == len(TABLES[table][1]) else None
    return values, ns, mean


def _ref_values(ref: ReferenceRow, table: str) -> tuple[list[float | None], float]:
    values: list[float | None] = []
    for name in TABLES[table][1]:
        a, p = ref.scores[name]
        values += [a, p]
    return values, ref.avg


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _paper_table_md(rows: list[Row], table: str, refs: list[ReferenceRow]) -> str:
    title, names = TABLES[table]
    cols = _columns(table)
    out = [f"### {title}", "", _md_line(["Method", *cols]), _md_line(["---"] + ["---:"] * len(cols))]
    several_groups = len({r.group for r in refs}) > 1
    for ref in refs:
        values, mean = _ref_values(ref, table)
        name = f"{ref.method} ({ref.group})" if several_groups else ref.method
        out.append(_md_line([f"{name} [ref]", *[_fmt(v) for v in values], _fmt(mean)]))
    for row in rows:
        values, ns, mean = _our_values(row, table)
        cells = []
        for i, name in enumerate(names):
            n = ns[i]
            for v in values[2 * i : 2 * i + 2]:
                if v is None:
                    cells.append(MISSING)
                else:
                    cells.append(_fmt(v) + ("" if n == BENCHMARKS[name].k else f" (n={n})"))
        out.append(_md_line([row.label, *cells, MISSING if mean is None else _fmt(mean)]))
    return "\n".join(out)


def _summary_md(rows: list[Row]) -> str:
    out = [
        "### Per-benchmark summary",
        "",
        _md_line(["Method", "data_source", "n", "problems", "avg@n", "pass@n"]),
        _md_line(["---", "---", "---:", "---:", "---:", "---:"]),
    ]
    for row in rows:
        for source, e in row.summary.items():
            out.append(_md_line([row.label, source, str(e["n"]), str(e["problems"]), _fmt(e["avg"]), _fmt(e["pass"])]))
    return "\n".join(out)


def render_markdown(rows: list[Row], *, reference: str | None = None, title: str | None = None) -> str:
    """The Markdown document: the paper tables that apply, then the per-benchmark summary.
    ``reference``: None (no reference rows) or a group of ``archer.eval.reference.reference_rows``."""
    parts = [f"## {title}"] if title else []
    for table in TABLES:
        if _has_table(rows, table):
            refs = reference_rows(table, reference) if reference else []
            parts.append(_paper_table_md(rows, table, refs))
    parts.append(_summary_md(rows))
    notes = ["avg@k: mean accuracy over the k samples of each problem; pass@k: unbiased estimator "
             "1 - C(n-c,k)/C(n,k) with k = n; values in percent."]
    if reference:
        notes.append(f"Rows marked [ref] are published numbers ({CITATION}; Archer-Code-1.5B from the Archer2.0 README), not ours.")
    parts.append("\n".join(f"_{n}_" for n in notes))
    return "\n\n".join(parts) + "\n"


def table_csv(rows: list[Row], table: str, *, reference: str | None = None) -> str:
    """One paper table as CSV: method, source, then avg/pass per benchmark, Avg., and our n per benchmark."""
    names = TABLES[table][1]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "source", *_columns(table), *[f"{BENCHMARKS[n].label} n" for n in names]])
    for ref in reference_rows(table, reference) if reference else []:
        values, mean = _ref_values(ref, table)
        w.writerow([f"{ref.method} ({ref.group})", ref.source, *values, mean, *[BENCHMARKS[n].k for n in names]])
    for row in rows:
        values, ns, mean = _our_values(row, table)
        w.writerow([row.label, "ours", *["" if v is None else round(v, 4) for v in values],
                    "" if mean is None else round(mean, 4), *["" if n is None else n for n in ns]])
    return buf.getvalue()


def summary_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["method", "data_source", "n", "problems", "avg", "pass"])
    for row in rows:
        for source, e in row.summary.items():
            w.writerow([row.label, source, e["n"], e["problems"], round(float(e["avg"]), 4), round(float(e["pass"]), 4)])
    return buf.getvalue()


def write_tables(rows: list[Row], out_dir: str | Path, *, reference: str | None = None, title: str | None = None) -> list[Path]:
    """Write ``table.md``, ``summary.csv`` and ``table_math.csv`` / ``table_code.csv`` (the paper tables that
    apply) into ``out_dir``; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    md = out_dir / "table.md"
    md.write_text(render_markdown(rows, reference=reference, title=title), encoding="utf-8")
    written.append(md)
    s = out_dir / "summary.csv"
    s.write_text(summary_csv(rows), encoding="utf-8")
    written.append(s)
    for table in TABLES:
        if _has_table(rows, table):
            p = out_dir / f"table_{table}.csv"
            p.write_text(table_csv(rows, table, reference=reference), encoding="utf-8")
            written.append(p)
    return written
