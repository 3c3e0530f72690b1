"""Math reward: response + ground truth -> score dict (extraction, grading, diagnostics)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields
from typing import Any

from archer.reward.diagnostics import repetition_ratio
from archer.reward.math.extract import extract_answer, ground_truth_answer
from archer.reward.math.grader import MathGraderConfig, grade_answer

logger = logging.getLogger(__name__)

# Keyword arguments verl may pass to a custom reward function that this grader does not use.
_VERL_KWARGS = {"reward_router_address", "reward_model_tokenizer"}
_WARNED: set[str] = set()


@dataclass(frozen=True)
class MathRewardConfig:
    """Options of the math reward; every field can be set through verl's
    ``reward.custom_reward_function.reward_kwargs``."""

    correct_reward: float = 1.0
    wrong_reward: float = 0.0
    answer_fallback: bool = False  # no box -> use "final answer is ..." (off for training)
    require_think_close: bool = False  # "<think>" without "</think>" -> no answer
    timeout_s: float = 5.0
    num_workers: int = 0
    max_answer_chars: int | None = 1000
    symbolic: bool = True
    worker_memory_mb: int = 4096

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> MathRewardConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(kwargs) - names - _VERL_KWARGS - _WARNED
        if unknown:
            # Not an error: verl passes the same reward_kwargs to every grader (math and code options
            # side by side in a mixed run). Say it once per name so a typo does not go unnoticed.
            _WARNED.update(unknown)
            logger.warning("math reward ignores option(s) %s; its options are %s", sorted(unknown), sorted(names))
        cfg = cls(**{k: v for k, v in kwargs.items() if k in names})
        if not (isinstance(cfg.timeout_s, (int, float)) and cfg.timeout_s > 0):
            raise ValueError(f"timeout_s must be > 0, got {cfg.timeout_s!r}")
        return cfg

    def grader(self) -> MathGraderConfig:
        return MathGraderConfig(
            timeout_s=float(self.timeout_s),
            num_workers=int(self.num_workers),
            max_answer_chars=self.max_answer_chars,
            symbolic=bool(self.symbolic),
            worker_memory_mb=int(self.worker_memory_mb),
        )


def _gold_to_str(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise TypeError(f"unsupported ground truth element {value!r}")
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"ground truth {value!r} is not a finite number")
        return repr(value)
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # numpy scalar
        return _gold_to_str(value.item())
    raise TypeError(f"unsupported ground truth type {type(value).__name__}: {value!r}")


def gold_answers(ground_truth: Any) -> list[str]:
    """Ground truth as a list of acceptable answer strings (``\\boxed`` unwrapped).

    Accepts a string, an int/float, or a list/tuple/numpy array of those (any element may match).
    Raises ValueError/TypeError for None, empty or unsupported values: a broken ground truth is a data
    bug that must surface, not a silent zero reward.
    """
    if hasattr(ground_truth, "tolist") and not isinstance(ground_truth, (str, bytes)):
        ground_truth = ground_truth.tolist()  # numpy array (verl loads parquet list columns as arrays)
    if isinstance(ground_truth, (list, tuple)):
        items = list(ground_truth)
    else:
        items = [ground_truth]
    if ground_truth is None:
        raise ValueError("ground truth is None")
    golds = []
    for item in items:
        text = ground_truth_answer(_gold_to_str(item))
        if text:
            golds.append(text)
    if not golds:
        raise ValueError(f"ground truth {ground_truth!r} holds no answer")
    return golds


def _response_text(solution_str: Any) -> str:
    if solution_str is None:
        return ""
    if isinstance(solution_str, bytes):
        return solution_str.decode("utf-8", errors="replace")
    if not isinstance(solution_str, str):
        raise TypeError(f"solution_str must be a string, got {type(solution_str).__name__}")
    return solution_str


def compute_math_score(
    solution_str: Any,
    ground_truth: Any,
    extra_info: dict | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Grade one math response. See docs/reward_math.md for what is accepted."""
    cfg = MathRewardConfig.from_kwargs(kwargs)
    golds = gold_answers(ground_truth)
    response = _response_text(solution_str)
    pred = extract_answer(response, fallback=cfg.answer_fallback, require_think_close=cfg.require_think_close)
    timed_out = False
    correct = False
    if pred is not None:
        verdict = grade_answer(pred, golds, cfg.grader())
        correct = verdict.correct
        timed_out = verdict.timed_out
    return {
        "score": float(cfg.correct_reward if correct else cfg.wrong_reward),
        "acc": bool(correct),
        "pred": pred,
        "repetition_ratio": repetition_ratio(response),
        "response_has_answer": pred is not None,
        "grader_timeout": timed_out,
    }
