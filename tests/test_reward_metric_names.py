"""The training-step reward metrics cannot be confused with verl's: the grader's score (before the DAPO
overlong penalty) is ``reward/grader_score``, never ``reward/score`` next to verl's ``critic/score``;
code-only keys are reduced over code samples only and absent for a batch without any."""

from __future__ import annotations

import pytest

from archer.reward.dispatch import RESULT_DEFAULTS
from archer.reward.metrics import reward_extra_metrics


def rows(*results):
    filled = [{**RESULT_DEFAULTS, **r} for r in results]
    return {k: [r[k] for r in filled] for k in RESULT_DEFAULTS}


def test_grader_score_is_named_apart_from_verl_critic_score():
    metrics = reward_extra_metrics(rows({"score": 1.0, "acc": True}, {"score": 0.0}))
    assert metrics["reward/grader_score/mean"] == 0.5
    assert not any(k.startswith("reward/score/") for k in metrics)


def test_math_only_batch_logs_no_code_keys():
    metrics = reward_extra_metrics(rows({"score": 1.0, "acc": True}, {"score": 0.0}))
    for key in ("passed", "total", "code_timeout", "sandbox_wait_s"):
        assert not any(k.startswith(f"reward/{key}/") for k in metrics), key


def test_mixed_batch_reduces_code_keys_over_code_samples_only():
    metrics = reward_extra_metrics(
        rows(
            {"score": 1.0, "acc": True},  # math
            {"passed": 2, "total": 4, "code_timeout": True, "sandbox_wait_s": 0.5},
            {"passed": 4, "total": 4, "score": 1.0, "acc": True, "sandbox_wait_s": 1.5},
        )
    )
    assert metrics["reward/passed/mean"] == 3.0 and metrics["reward/total/mean"] == 4.0
    assert metrics["reward/code_timeout/mean"] == 0.5
    assert metrics["reward/sandbox_wait_s/mean"] == pytest.approx(1.0) and metrics["reward/sandbox_wait_s/max"] == 1.5
    assert metrics["reward/acc/mean"] == pytest.approx(2 / 3)  # keys of every sample still over all samples
