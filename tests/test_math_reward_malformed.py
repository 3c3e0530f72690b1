"""Malformed input: odd responses score 0 without crashing; broken ground truths raise (a data bug must
surface instead of silently training on zeros)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from archer.reward import compute_score


@pytest.mark.parametrize(
    "response", [None, "", "   ", "\\boxed{}", "\\boxed{", "}}}{{{", "\\boxed", "</think>", "<think>"]
)
def test_odd_responses_score_zero(response):
    out = compute_score("math", response, "5")
    assert out["score"] == 0.0 and out["acc"] is False and out["pred"] is None
    assert out["response_has_answer"] is False


def test_bytes_response_is_decoded():
    assert compute_score("math", "\\boxed{5}".encode(), "5")["acc"] is True


def test_non_string_response_raises():
    with pytest.raises(TypeError):
        compute_score("math", 5, "5")


@pytest.mark.parametrize(
    "gold,response",
    [
        (27.0, "\\boxed{27}"),
        (27, "\\boxed{27}"),
        (-1.0, "\\boxed{-1}"),
        (0.125, "\\boxed{\\frac18}"),
        (np.float64(3159.0), "\\boxed{3159}"),
        (np.int64(25), "\\boxed{025}"),
        (["x=1", "2"], "\\boxed{2}"),
        (("3", "4"), "\\boxed{4}"),
        (np.array(["\\frac{1}{2}", "0.5"], dtype=object), "\\boxed{1/2}"),
        ([1, 2.5], "\\boxed{2.5}"),
        ("\\boxed{7}", "\\boxed{7}"),
    ],
)
def test_non_string_and_list_ground_truths(gold, response):
    assert compute_score("math", response, gold)["acc"] is True


@pytest.mark.parametrize("gold", [None, "", "   ", [], [""], "\\boxed{}"])
def test_empty_ground_truth_raises(gold):
    with pytest.raises(ValueError):
        compute_score("math", "\\boxed{5}", gold)


@pytest.mark.parametrize("gold", [True, {"answer": "5"}, [None], float("nan"), float("inf")])
def test_unsupported_ground_truth_raises(gold):
    with pytest.raises((TypeError, ValueError)):
        compute_score("math", "\\boxed{5}", gold)


def test_unknown_option_is_ignored_with_one_warning(caplog):
    """verl passes one reward_kwargs dict to every grader, so code options reach the math grader too."""
    with caplog.at_level("WARNING", logger="archer.reward.math.reward"):
        assert compute_score("math", "\\boxed{5}", "5", timeuot_s=3)["acc"] is True
        assert compute_score("math", "\\boxed{5}", "5", timeuot_s=3)["acc"] is True
    warnings = [r for r in caplog.records if "timeuot_s" in r.getMessage()]
    assert len(warnings) == 1


def test_verl_router_kwargs_are_accepted():
    out = compute_score("math", "\\boxed{5}", "5", reward_router_address=None, reward_model_tokenizer=None)
    assert out["acc"] is True


@pytest.mark.parametrize("bad", [0, -1, "5"])
def test_bad_timeout_raises(bad):
    with pytest.raises(ValueError):
        compute_score("math", "\\boxed{5}", "5", timeout_s=bad)


def _one_megabyte(tail: str) -> str:
    filler = "Let us keep thinking about the problem step by step. " * 20000  # ~1 MB
    return filler + tail


@pytest.mark.parametrize(
    "tail,gold,correct",
    [
        ("Final: \\boxed{42}", "42", True),
        ("Final: \\boxed{41}", "42", False),
        ("no answer at all", "42", False),
        ("\\boxed{" + "1" * 1000, "42", False),
    ],
)
def test_one_megabyte_responses(tail, gold, correct):
    response = _one_megabyte(tail)
    assert len(response) > 1_000_000
    start = time.monotonic()
    out = compute_score("math", response, gold)
    assert time.monotonic() - start < 3.0
    assert out["acc"] is correct
    assert out["repetition_ratio"] > 0.9  # the filler is one sentence repeated


def test_one_megabyte_of_boxes():
    response = "\\boxed{1} " * 100_000 + "\\boxed{2}"
    assert compute_score("math", response, "2")["acc"] is True


def test_one_megabyte_box_content_is_not_sent_to_the_symbolic_checker():
    response = "\\boxed{" + "x+" * 500_000 + "1}"
    start = time.monotonic()
    out = compute_score("math", response, "x")
    assert time.monotonic() - start < 3.0
    assert out["acc"] is False and out["grader_timeout"] is False


def test_non_string_data_source():
    with pytest.raises(ValueError):
        compute_score(None, "\\boxed{5}", "5")
    assert compute_score(np.array(["math"])[0], "\\boxed{5}", "5")["acc"] is True
