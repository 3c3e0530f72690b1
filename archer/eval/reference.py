"""The paper's published numbers, for reference rows beside ours (``--reference``).

Source: J. Wang, R. Liu et al., "ASPO: Asymmetric Importance Sampling Policy Optimization",
arXiv:2510.06062 — version 2 (15 May 2026, retitled "When Importance Sampling Misallocates Credit:
Asymmetric Ratios for Outcome-Supervised RL"), Table 1 (math) and Table 2 (code). Values are percent;
each benchmark is (avg@k, pass@k) with the k of ``archer.eval.benchmarks``; ``avg`` is the paper's "Avg."
column (the mean of the avg@k columns). Rows are grouped by base model.

Naming across versions: v1 of the paper and the Archer2.0 README call the 1.5B baseline "DAPO"; v2 calls
it "GRPO" with the same numbers. The README's "Archer2.0-Code-1.5B-Preview" row equals v2's
ASPO-Code-1.5B. "Archer-Code-1.5B" (the authors' previous model) appears only in the Archer2.0 README
(github.com/wizard-III/Archer2.0, README.md), not in the paper. v1 also had a FastCuRL-1.5B-V3 math row,
which is left out: its pass@k values could not be confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from archer.eval.benchmarks import TABLES

__all__ = ["ReferenceRow", "REFERENCE", "REFERENCE_GROUPS", "CITATION", "reference_rows"]

CITATION = "ASPO, arXiv:2510.06062v2, Tables 1-2"
_README = "Archer2.0 README (github.com/wizard-III/Archer2.0)"

R1_15B = "DeepSeek-R1-Distill-Qwen-1.5B"
QWEN3_4B = "Qwen3-4B"
QWEN3_8B = "Qwen3-8B"
QWEN3_30B = "Qwen3-30B-A3B"
REFERENCE_GROUPS = {"1.5b": R1_15B, "qwen3-4b": QWEN3_4B, "qwen3-8b": QWEN3_8B, "qwen3-30b-a3b": QWEN3_30B}


@dataclass(frozen=True)
class ReferenceRow:
    table: str  # "math" | "code"
    group: str  # base model of the block
    method: str
    scores: dict[str, tuple[float, float]]  # benchmark name -> (avg@k, pass@k), percent
    avg: float  # the paper's Avg. column
    source: str = CITATION


def _row(table: str, group: str, method: str, values: tuple[float, ...], source: str = CITATION) -> ReferenceRow:
    names = TABLES[table][1]
    if len(values) != 2 * len(names) + 1:
        raise ValueError(f"reference row {method!r}: expected {2 * len(names) + 1} values, got {len(values)}")
    scores = {name: (values[2 * i], values[2 * i + 1]) for i, name in enumerate(names)}
    return ReferenceRow(table, group, method, scores, values[-1], source)


# columns: AIME24 avg@64 pass@64, AIME25 avg@64 pass@64, AMC23 avg@64 pass@64, MATH-500 avg@4 pass@4,
#          Minerva avg@8 pass@8, Olympiad avg@4 pass@4, Avg.
_MATH = [
    (R1_15B, "DeepSeek-R1-1.5B", (30.6, 80.0, 23.5, 63.3, 70.7, 100.0, 83.6, 92.4, 27.6, 48.2, 44.6, 59.4, 46.8)),
    (R1_15B, "GRPO", (42.1, 80.0, 28.6, 56.7, 80.3, 97.5, 87.6, 94.6, 29.2, 46.3, 53.2, 65.8, 53.5)),
    (R1_15B, "DeepScaleR-1.5B", (42.0, 83.3, 29.0, 63.3, 81.3, 100.0, 87.7, 93.6, 30.3, 51.1, 50.7, 61.0, 53.5)),
    (R1_15B, "Nemotron-1.5B", (48.0, 76.7, 33.1, 60.0, 86.1, 97.5, 90.6, 93.6, 35.3, 47.8, 59.2, 66.8, 58.7)),
    (R1_15B, "ASPO-Math-1.5B", (49.0, 80.0, 35.1, 70.0, 87.2, 95.0, 90.5, 94.4, 35.1, 50.4, 58.8, 66.9, 59.3)),
    (QWEN3_4B, "Qwen3-4B", (23.6, 56.7, 18.3, 63.3, 67.7, 95.0, 84.5, 92.4, 41.5, 56.3, 54.1, 66.6, 48.3)),
    (QWEN3_4B, "GRPO", (43.4, 83.3, 35.5, 70.0, 84.3, 97.5, 91.7, 95.8, 47.2, 58.5, 67.4, 75.8, 61.6)),
    (QWEN3_4B, "ASPO-Math-4B", (50.5, 83.3, 40.9, 70.0, 87.4, 97.5, 93.4, 97.0, 49.0, 60.7, 68.8, 78.5, 65.0)),
    (QWEN3_8B, "Qwen3-8B", (27.0, 63.3, 19.1, 56.7, 68.9, 97.5, 83.6, 92.4, 43.9, 58.1, 55.7, 69.6, 49.7)),
    (QWEN3_8B, "GRPO", (50.3, 83.3, 34.1, 66.7, 84.1, 95.0, 92.7, 96.0, 50.2, 61.4, 68.2, 76.1, 63.3)),
    (QWEN3_8B, "ASPO-Math-8B", (52.4, 83.3, 38.9, 80.0, 89.1, 97.5, 93.6, 96.4, 50.6, 60.7, 69.8, 77.9, 65.7)),
    (QWEN3_30B, "Qwen3-30B-A3B", (30.1, 70.0, 19.9, 56.7, 74.3, 100.0, 88.4, 96.0, 47.7, 59.6, 59.6, 71.2, 53.3)),
    (QWEN3_30B, "GRPO", (59.5, 80.0, 43.1, 73.3, 91.9, 97.5, 95.3, 97.8, 51.9, 61.8, 71.0, 79.2, 68.8)),
    (QWEN3_30B, "ASPO-Math-30B", (61.7, 90.0, 50.3, 80.0, 94.9, 97.5, 95.7, 98.4, 54.3, 64.3, 74.3, 81.5, 71.8)),
]

# columns: LCB v5 avg@8 pass@8, LCB v6 avg@16 pass@16, Avg.
_CODE = [
    (R1_15B, "DeepSeek-R1-1.5B", (16.7, 29.0, 17.2, 34.4, 17.0), CITATION),
    (R1_15B, "GRPO", (26.0, 40.5, 27.6, 43.5, 26.8), CITATION),
    (R1_15B, "DeepCoder-1.5B", (23.3, 39.1, 22.6, 42.0, 23.0), CITATION),
    (R1_15B, "Nemotron-1.5B", (26.1, 35.5, 29.5, 42.8, 27.8), CITATION),
    (R1_15B, "Archer-Code-1.5B", (29.4, 43.7, 30.2, 45.8, 29.8), _README),
    (R1_15B, "ASPO-Code-1.5B", (31.5, 47.0, 30.5, 46.0, 31.0), CITATION),
    (QWEN3_4B, "Qwen3-4B", (23.8, 35.8, 24.0, 35.1, 23.9), CITATION),
    (QWEN3_4B, "GRPO", (40.8, 55.2, 36.6, 45.0, 38.7), CITATION),
    (QWEN3_4B, "ASPO-Code-4B", (44.8, 58.1, 38.3, 47.3, 41.6), CITATION),
]

REFERENCE: list[ReferenceRow] = [_row("math", g, m, v) for g, m, v in _MATH] + [
    _row("code", g, m, v, s) for g, m, v, s in _CODE
]


def reference_rows(table: str, group: str = "1.5b") -> list[ReferenceRow]:
    """Reference rows of one table ("math" | "code") for a base-model group ("1.5b", "qwen3-4b",
    "qwen3-8b", "qwen3-30b-a3b" or "all")."""
    if group != "all" and group not in REFERENCE_GROUPS:
        raise ValueError(f"unknown reference group {group!r}; known: {', '.join([*REFERENCE_GROUPS, 'all'])}")
    return [r for r in REFERENCE if r.table == table and (group == "all" or r.group == REFERENCE_GROUPS[group])]
