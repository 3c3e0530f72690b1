"""Answer extraction: only the final answer of a response is graded."""

from __future__ import annotations

import pytest

from archer.reward import compute_score
from archer.reward.math.extract import extract_answer, fallback_answer, ground_truth_answer, last_boxed


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The answer is \\boxed{42}.", "42"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{\\frac{\\sqrt{3}}{\\sqrt{2}}}", "\\frac{\\sqrt{3}}{\\sqrt{2}}"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("\\boxed{\\left\\{ x \\mid x > 0 \\right.}", "\\left\\{ x \\mid x > 0 \\right."),
        ("\\boxed{{{7}}}", "{{7}}"),
        ("$\\fbox{12}$", "12"),
        ("so $\\boxed 5$.", "5"),
        ("so \\boxed 5.", "5"),
        ("\\boxed{ 3 }", "3"),
        ("\\[\\boxed{x^{2}}\\]", "x^{2}"),
    ],
)
def test_last_boxed_content(text, expected):
    assert last_boxed(text) == expected


def test_several_boxes_take_the_last():
    text = "First guess \\boxed{1}, then \\boxed{2}; final: \\boxed{3}"
    assert extract_answer(text) == "3"


def test_unclosed_last_box_means_no_answer_even_if_an_earlier_box_exists():
    assert extract_answer("\\boxed{1} ... so the answer is \\boxed{\\frac{2}{") is None


@pytest.mark.parametrize(
    "text", ["The answer is 42.", "", "no box here $x=2$", "\\boxedfoo{3}", "\\boxed{}", "\\boxed{   }"]
)
def test_no_box_no_answer_by_default(text):
    assert extract_answer(text) is None


def test_think_block_is_ignored_when_closed():
    text = "<think>maybe \\boxed{1}</think>The answer is \\boxed{2}."
    assert extract_answer(text) == "2"
    # boxes only inside the reasoning do not count
    assert extract_answer("<think>try \\boxed{1}</think>I am not sure.") is None


def test_last_think_close_wins():
    assert extract_answer("a</think>\\boxed{1} b</think>\\boxed{2}") == "2"


def test_without_think_close_the_whole_response_is_searched():
    assert extract_answer("reasoning ... \\boxed{7}") == "7"
    assert extract_answer("<think>reasoning ... \\boxed{7}") == "7"


def test_require_think_close():
    assert extract_answer("<think>cut off \\boxed{7}", require_think_close=True) is None
    assert extract_answer("<think>x</think>\\boxed{7}", require_think_close=True) == "7"
    assert extract_answer("no think tags \\boxed{7}", require_think_close=True) == "7"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Therefore, the final answer is $\\frac{1}{2}$.", "\\frac{1}{2}"),
        ("The answer is: 12", "12"),
        ("**Final Answer:** 7", "7"),
        ("Answer: \\(x+1\\)", "x+1"),
        ("The answer is 3. Later: the final answer is 4.", "4"),
    ],
)
def test_fallback_when_enabled(text, expected):
    assert fallback_answer(text) == expected
    assert extract_answer(text, fallback=True) == expected
    assert extract_answer(text) is None


def test_fallback_never_overrides_a_box():
    assert extract_answer("The final answer is 4. \\boxed{5}", fallback=True) == "5"


def test_fallback_option_through_compute_score():
    response = "So the final answer is $12$."
    assert compute_score("math", response, "12")["acc"] is False
    assert compute_score("math", response, "12", answer_fallback=True)["acc"] is True


@pytest.mark.parametrize(
    "text,expected",
    [
        ("答案是 \\boxed{42}。", "42"),
        ("\\boxed{½}", "½"),
        ("ответ: \\boxed{−3}", "−3"),
        ("\\boxed{３０}", "３０"),
    ],
)
def test_unicode_responses(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "response,gold",
    [
        ("\\boxed{½}", "\\frac{1}{2}"),
        ("\\boxed{−3}", "-3"),
        ("\\boxed{３０}", "30"),
        ("\\boxed{2π}", "2\\pi"),
        ("\\boxed{45°}", "45"),
        ("\\boxed{x²+1}", "x^2+1"),
        ("\\boxed{3√2}", "3\\sqrt{2}"),
    ],
)
def test_unicode_answers_are_graded(response, gold):
    assert compute_score("math", response, gold)["acc"] is True


@pytest.mark.parametrize(
    "gold,expected",
    [
        ("\\boxed{5}", "5"),
        ("So $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        (" 7 ", "7"),
        ("\\boxed{unclosed", "\\boxed{unclosed"),
    ],
)
def test_ground_truth_may_contain_a_box(gold, expected):
    assert ground_truth_answer(gold) == expected


def test_boxed_ground_truth_through_compute_score():
    assert compute_score("math", "\\boxed{0.5}", "The answer is $\\boxed{\\frac12}$")["acc"] is True


def test_pred_and_response_has_answer_reported():
    out = compute_score("math", "<think>\\boxed{1}</think>done", "1")
    assert out["pred"] is None and out["response_has_answer"] is False and out["acc"] is False
    out = compute_score("math", "\\boxed{ 2 }", "1")
    assert out["pred"] == "2" and out["response_has_answer"] is True and out["acc"] is False
