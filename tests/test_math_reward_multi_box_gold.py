"""A gold answer given as several boxes (``\\boxed{1}\\boxed{2}``) is a list of answers; a response still
answers with its last box only, and ``1,234`` keeps its thousands reading."""

from __future__ import annotations

import pytest

from archer.reward import compute_score
from archer.reward.math.extract import ground_truth_answer


@pytest.mark.parametrize(
    "gold,unwrapped",
    [
        ("\\boxed{1}\\boxed{2}", "1, 2"),
        ("\\boxed{1}, \\boxed{2}", "1, 2"),
        ("$\\boxed{1}$ and $\\boxed{2}$", "1, 2"),
        ("\\boxed{-3} \\quad \\boxed{\\frac{1}{2}}", "-3, \\frac{1}{2}"),
        ("\\boxed{5}", "5"),
        ("so $x = \\boxed{1}$, hence the answer is \\boxed{2}", "2"),  # a worked solution: its last box
        ("\\boxed{\\boxed{3}}", "3"),
    ],
)
def test_gold_boxes_unwrap_to_a_list(gold, unwrapped):
    assert ground_truth_answer(gold) == unwrapped


@pytest.mark.parametrize(
    "response,acc",
    [
        ("The answers are $\\boxed{1, 2}$.", True),
        ("\\boxed{2, 1}", True),  # a bare list: order ignored, as for any gold list
        ("\\boxed{\\{1, 2\\}}", True),
        ("1, 2", False),  # no box: no answer
        ("\\boxed{1}, \\boxed{2}", False),  # last box wins for responses: "2" alone is not the list
        ("\\boxed{2}", False),
        ("\\boxed{1, 2, 3}", False),
    ],
)
def test_response_against_a_multi_box_gold(response, acc):
    assert compute_score("math", response, "\\boxed{1}\\boxed{2}", timeout_s=10)["acc"] is acc


def test_thousands_reading_is_kept():
    assert compute_score("math", "\\boxed{1,234}", "1234", timeout_s=10)["acc"] is True
    assert compute_score("math", "\\boxed{1,234}", "\\boxed{1}\\boxed{234}", timeout_s=10)["acc"] is False
