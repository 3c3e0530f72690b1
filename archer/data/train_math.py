"""Math training mix: DeepScaleR-Preview, Skywork-OR1-RL (math split), DAPO-Math-17k.

Rows of any of these layouts are accepted: verl format (``prompt`` messages + ``reward_model.ground_truth``,
as Skywork-OR1 and DAPO publish them) or flat (``problem``/``question`` + ``answer``, as DeepScaleR). Foreign
answer-format instructions are stripped and our math template applied; the source's id goes to
``extra_info.original_id``. De-duplication across the sources (in the order above) is by normalised problem
text (``archer.data.decontam.text_key``).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from archer.data.answers import answer_text
from archer.data.rows import RowError, make_row, schema_for
from archer.data.templates import math_prompt, strip_foreign_math_instructions

__all__ = ["MATH_SOURCES", "MATH_EXTRA", "math_fields", "math_train_row"]

# name -> (default spec, dataset page)
MATH_SOURCES: dict[str, tuple[str, str]] = {
    "deepscaler": ("hub:agentica-org/DeepScaleR-Preview-Dataset,split=train",
                   "https://huggingface.co/datasets/agentica-org/DeepScaleR-Preview-Dataset"),
    "skywork_or1_math": ("hub:Skywork/Skywork-OR1-RL-Data,split=math",
                         "https://huggingface.co/datasets/Skywork/Skywork-OR1-RL-Data"),
    "dapo_math": ("hub:BytedTsinghua-SIA/DAPO-Math-17k,split=train",
                  "https://huggingface.co/datasets/BytedTsinghua-SIA/DAPO-Math-17k"),
}
MATH_EXTRA = {"original_id": pa.string(), "problem": pa.string(), "source": pa.string()}


def user_text(prompt: Any) -> str | None:
    """The last user message of a chat prompt (list of messages, or a JSON string of one), or the string."""
    if isinstance(prompt, str):
        s = prompt.strip()
        if s.startswith("[") and s.endswith("]"):
            try:
                msgs = json.loads(s)
            except ValueError:
                return prompt
            if isinstance(msgs, list) and msgs and all(isinstance(m, dict) for m in msgs):
                return user_text(msgs)
        return prompt
    if isinstance(prompt, (list, tuple)):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role", "user") == "user"]
        if users and isinstance(users[-1].get("content"), str):
            return users[-1]["content"]
    return None


def _ground_truth(gt: Any) -> str | None:
    """A verl ground truth as one answer string; a JSON list of strings (Skywork) gives its first entry."""
    if isinstance(gt, str):
        s = gt.strip()
        if s.startswith("["):
            try:
                v = json.loads(s)
            except ValueError:
                v = None
            if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
                s = v[0]
        gt = s
    if isinstance(gt, list):
        gt = gt[0] if gt else None
    ans = answer_text(gt)
    if ans and ("\\boxed" in ans or "\\fbox" in ans):
        from archer.reward.math.extract import ground_truth_answer

        ans = ground_truth_answer(ans) or None
    return ans


def math_fields(row: dict, i: int) -> tuple[str, str, str]:
    """(problem without foreign instructions, answer, original id) of a training row."""
    if "prompt" in row and row.get("prompt") is not None:
        text = user_text(row["prompt"])
    else:
        text = row.get("problem") if row.get("problem") is not None else row.get("question")
    if not isinstance(text, str) or not text.strip():
        raise RowError("empty prompt", "no prompt/problem text")
    problem = strip_foreign_math_instructions(text)
    if not problem:
        raise RowError("empty prompt", "prompt holds only an instruction")
    rm = row.get("reward_model")
    if isinstance(rm, dict) and rm.get("ground_truth") is not None:
        answer = _ground_truth(rm["ground_truth"])
    else:
        answer = _ground_truth(row.get("answer", row.get("ground_truth")))
    if not answer:
        raise RowError("missing answer", "no reward_model.ground_truth / answer")
    ex = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
    oid = ex.get("index", ex.get("id", row.get("id", row.get("unique_id", i))))
    return problem, answer, str(oid)


def math_train_row(source_name: str, row: dict, i: int, source: str) -> dict:
    problem, answer, oid = math_fields(row, i)
    extra = {"index": i, "split": "train", "original_id": oid, "problem": problem, "source": source}
    return make_row(source_name, math_prompt(problem), "math", answer, extra)


def math_schema() -> pa.Schema:
    return schema_for(MATH_EXTRA)
