"""Route a sample to its grader by ``data_source``.

``GRADERS`` maps a task family to the import path of its grader (imported on first use, so importing
this module stays cheap). ``classify`` maps a data source name to a family.

Every grader returns a dict with exactly the keys of ``RESULT_DEFAULTS`` (missing ones are filled with
the defaults). verl stacks the extra keys of a batch into arrays using the *first* sample's key set, so
all data sources must return the same keys; a grader that returns a key not listed here is a bug and
raises.
"""

from __future__ import annotations

from typing import Any, Callable

RESULT_DEFAULTS: dict[str, Any] = {
    "score": 0.0,
    "acc": False,
    "pred": None,
    "repetition_ratio": 0.0,
    "response_has_answer": False,
    "grader_timeout": False,
    # code grader diagnostics (see archer/reward/code/grader.py)
    "passed": 0,
    "total": 0,
    "failure_kind": None,
    "isolation": "",
    "code_timeout": False,  # a test or the whole program hit its wall-clock limit (math: always False)
    "sandbox_wait_s": 0.0,  # seconds the program waited for a node-wide sandbox slot (math: 0.0)
}


def _code_grader(data_source: str, solution_str: Any, ground_truth: Any, extra_info=None, **kwargs):
    from archer.reward.code.grader import compute_code_score
    from archer.reward.diagnostics import repetition_ratio

    result = compute_code_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    result["response_has_answer"] = result["failure_kind"] != "no code"
    result["repetition_ratio"] = repetition_ratio(solution_str) if isinstance(solution_str, str) else 0.0
    return result


def _math_grader(data_source: str, solution_str: Any, ground_truth: Any, extra_info=None, **kwargs):
    from archer.reward.math.reward import compute_math_score

    return compute_math_score(solution_str, ground_truth, extra_info, **kwargs)


GRADERS: dict[str, Callable[..., dict]] = {
    "math": _math_grader,
    "code": _code_grader,
}

# Known names, compared after lower-casing and dropping an "owner/" prefix (HF-style names).
_MATH_NAMES = {
    "math",
    "math500",
    "math-500",
    "math_500",
    "aime",
    "aime24",
    "aime25",
    "aime2024",
    "aime2025",
    "amc",
    "amc23",
    "amc2023",
    "minerva",
    "minerva_math",
    "olympiadbench",
    "olympiad_bench",
    "gsm8k",
    "deepscaler",
    "omni-math",
}
_MATH_PREFIXES = ("aime", "amc", "minerva", "olympiad")
_CODE_NAMES = {"archer2_code", "codecontests", "code_contests", "taco", "apps", "humaneval", "humanevalplus", "mbpp"}
_CODE_PREFIXES = ("livecodebench", "code", "humaneval", "lcb")


def _names(data_source: str) -> list[str]:
    name = data_source.strip().lower()
    tail = name.rsplit("/", 1)[-1]
    return [name, tail] if tail != name else [name]


def classify(data_source: Any) -> str:
    """Task family (a key of ``GRADERS``) of ``data_source``; ValueError naming it when unknown."""
    if not isinstance(data_source, str):
        if hasattr(data_source, "item"):  # numpy string scalar
            data_source = data_source.item()
        if not isinstance(data_source, str):
            raise ValueError(f"data_source must be a string, got {data_source!r}")
    for name in _names(data_source):
        if name in _CODE_NAMES or name.startswith(_CODE_PREFIXES) or name.endswith("_code"):
            return "code"
        if name in _MATH_NAMES or name.startswith(_MATH_PREFIXES) or "math" in name:
            return "math"
    raise ValueError(
        f"unknown data_source {data_source!r}: no grader for it. Math sources: names containing 'math', "
        f"{sorted(_MATH_NAMES)} and prefixes {_MATH_PREFIXES}; code sources: {sorted(_CODE_NAMES)} and "
        f"prefixes {_CODE_PREFIXES} or the suffix '_code'. Add it in archer/reward/dispatch.py."
    )


def compute_score(data_source: Any, solution_str: Any, ground_truth: Any, extra_info: dict | None = None, **kwargs):
    family = classify(data_source)
    result = GRADERS[family](str(data_source), solution_str, ground_truth, extra_info, **kwargs)
    unknown = set(result) - set(RESULT_DEFAULTS)
    if unknown:
        raise ValueError(
            f"grader {family!r} returned keys {sorted(unknown)} not in RESULT_DEFAULTS; add them there so every "
            "data source reports the same keys (verl requires one key set per batch)"
        )
    return {**RESULT_DEFAULTS, **result}
