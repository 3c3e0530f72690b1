"""Response diagnostics returned next to the score: repetition_ratio and response_has_answer."""

from __future__ import annotations

import pytest

from archer.reward import compute_score
from archer.reward.diagnostics import repetition_ratio


def _reference(text: str, n: int = 20) -> float:
    """Straightforward definition: share of n-gram positions whose n-gram occurred before."""
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    seen, repeated = set(), 0
    for gram in grams:
        if gram in seen:
            repeated += 1
        seen.add(gram)
    return repeated / len(grams)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one two three",
        " ".join(str(i) for i in range(100)),
        "a b c d e " * 40,
        " ".join(str(i) for i in range(30)) + " " + " ".join(str(i) for i in range(30)),
        "The Cat sat " * 10 + "the cat SAT " * 10,
    ],
)
def test_matches_reference_definition(text):
    assert repetition_ratio(text) == pytest.approx(_reference(text))


def test_extremes():
    assert repetition_ratio(" ".join(f"w{i}" for i in range(500))) == 0.0
    assert repetition_ratio("loop " * 1000) == pytest.approx(1.0 - 1 / 981)
    assert repetition_ratio("short text " * 5) == 0.0  # 10 tokens < one 20-gram


def test_case_insensitive_and_whitespace_tokens():
    a = "Step ONE\tthen\nstep one then " * 20
    assert repetition_ratio(a) == repetition_ratio(a.lower().replace("\t", " ").replace("\n", " "))


def test_reported_in_the_score_dict():
    looping = "I think the answer is five. " * 50 + "\\boxed{5}"
    out = compute_score("math", looping, "5")
    assert out["repetition_ratio"] > 0.8 and out["acc"] is True and out["response_has_answer"] is True
    out = compute_score("math", "A clean derivation without a box.", "5")
    assert out["repetition_ratio"] == 0.0 and out["response_has_answer"] is False


def test_batch_metrics_helper():
    import numpy as np

    from archer.reward.metrics import reward_extra_metrics

    outs = [compute_score("math", r, "5") for r in ["\\boxed{5}", "\\boxed{4}", "nothing", "x " * 40 + "\\boxed{5}"]]
    extra = {k: np.array([o[k] for o in outs]) for k in outs[0]}
    metrics = reward_extra_metrics(extra)
    assert metrics["reward/acc/mean"] == 0.5
    assert metrics["reward/response_has_answer/mean"] == 0.75
    assert metrics["reward/grader_timeout/mean"] == 0.0
    assert metrics["reward/grader_score/max"] == 1.0
    assert 0.0 < metrics["reward/repetition_ratio/max"] <= 1.0
    assert not any("pred" in k for k in metrics)
    # code-only keys: a batch without code samples logs none of them
    assert not any(k.startswith(("reward/passed", "reward/total", "reward/code_timeout", "reward/sandbox_wait_s")) for k in metrics)
