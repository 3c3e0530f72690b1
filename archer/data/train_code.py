"""Code training set: Archer2.0's released code data (``Fate-Zero/Archer2.0-Code-1.5B``: flat string
columns ``prompt``, ``ground_truth``, ``ability``; 8,871 rows, ~3.5 GB, mostly test data).

The ground truth (any form ``archer.reward.code.testcases.parse_ground_truth`` accepts, e.g.
``{"inputs", "outputs", "fn_name"}``) is converted to the canonical ``{"tests": [...], "fn_name"}``
JSON; assert-style ground truth (``{"functional": code}``) has no test list and is kept in that form.
A prompt already in LiveCodeBench's layout is split into question and starter code and rebuilt with our
template; any other prompt text is used as the question.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from archer.data.rows import RowError, make_row, schema_for
from archer.data.templates import code_prompt, split_lcb_prompt
from archer.data.train_math import user_text

__all__ = ["CODE_SOURCES", "CODE_EXTRA", "code_fields", "code_train_row", "canonical_from_any"]

CODE_SOURCES: dict[str, tuple[str, str]] = {
    "archer2_code": ("hub:Fate-Zero/Archer2.0-Code-1.5B,split=train",
                     "https://huggingface.co/datasets/Fate-Zero/Archer2.0-Code-1.5B"),
}
CODE_EXTRA = {
    "original_id": pa.string(),
    "problem": pa.string(),
    "source": pa.string(),
    "starter_code": pa.string(),
    "fn_name": pa.string(),
    "num_tests": pa.int64(),
}


def canonical_from_any(gt: Any, extra_info: dict | None = None) -> tuple[str, Any]:
    """(canonical JSON ground truth, parsed CodeTests) from any accepted form."""
    from archer.reward.code.testcases import parse_ground_truth

    try:
        parsed = parse_ground_truth(gt, extra_info)
    except ValueError as e:
        raise RowError("unparsable tests", str(e)) from None
    if parsed.mode == "assert":
        out = {"functional": parsed.assert_code, "fn_name": parsed.fn_name}
    else:
        tests = [{"input": t.input, "output": t.output, "testtype": t.testtype} for t in parsed.tests]
        out = {"tests": tests, "fn_name": parsed.fn_name}
    return json.dumps(out, ensure_ascii=False), parsed


def code_fields(row: dict, i: int) -> tuple[str, str, str, Any, str]:
    """(question, starter code, canonical ground truth, parsed tests, original id)."""
    text = user_text(row.get("prompt"))
    if not isinstance(text, str) or not text.strip():
        raise RowError("empty prompt", "no prompt text")
    split = split_lcb_prompt(text)
    question, starter = split if split else (text.strip(), "")
    if not question:
        raise RowError("empty prompt", "LiveCodeBench-layout prompt with an empty question")
    gt = row.get("ground_truth")
    if gt is None and isinstance(row.get("reward_model"), dict):
        gt = row["reward_model"].get("ground_truth")
    if gt is None or (isinstance(gt, str) and not gt.strip()):
        raise RowError("missing answer", "no ground_truth")
    canonical, parsed = canonical_from_any(gt, {"starter_code": starter})
    ex = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
    oid = str(ex.get("index", row.get("id", i)))
    return question, starter, canonical, parsed, oid


def code_train_row(source_name: str, row: dict, i: int, source: str) -> dict:
    question, starter, gt, parsed, oid = code_fields(row, i)
    fn = parsed.fn_name if parsed.mode == "call" else None
    extra = {"index": i, "split": "train", "original_id": oid, "problem": question, "source": source,
             "starter_code": starter, "fn_name": fn, "num_tests": parsed.total}
    return make_row(source_name, code_prompt(question, starter, fn), "code", gt, extra)


def code_schema() -> pa.Schema:
    return schema_for(CODE_EXTRA)
