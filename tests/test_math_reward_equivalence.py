"""Equivalence tables: each normalisation in both directions, and near-misses that must stay wrong.

Each pair is graded twice, gold/prediction and swapped, through the full grader (fast path + worker).
"""

from __future__ import annotations

import pytest

from archer.reward.math.grader import MathGraderConfig, fast_compare, grade_answer
from archer.reward.math.normalize import normalize_answer

CFG = MathGraderConfig(timeout_s=10.0)

# (a, b): must be graded equal in both directions.
EQUIVALENT = {
    "leading zeros (AIME)": [("025", "25"), ("007", "7"), ("-05", "-5"), ("080", "80")],
    "integer-valued floats": [("27.0", "27"), ("27.00", "27"), ("-1.0", "-1"), ("3159.0", "3159")],
    "thousands separators": [
        ("1,000", "1000"),
        ("10{,}000", "10000"),
        ("1,234,567", "1234567"),
        ("1,\\!000", "1000"),
        ("1\\,000", "1000"),
        ("12,345.5", "12345.5"),
        ("32,\\! 349", "32349"),  # negative space then a real space after the comma
        ("32{,}\\! 349", "32,349"),
    ],
    "degrees": [
        ("30^\\circ", "30"),
        ("30^{\\circ}", "30"),
        ("336^\\circ", "336"),
        ("45°", "45"),
        ("30\\text{ degrees}", "30"),
        ("90^\\circ", "90\\text{ degrees}"),
    ],
    "text units": [
        ("5\\text{ cm}", "5"),
        ("5 \\text{cm}", "5\\text{ cm}"),
        ("12\\text{ inches}", "12"),
        ("3\\mbox{ m}", "3"),
        ("4\\text{ cm}^2", "4"),
        ("6\\text{ square units}", "6\\text{ units}^2"),
        ("7\\text{ feet}", "7\\text{ ft}"),
    ],
    "dfrac/tfrac": [
        ("\\dfrac{1}{2}", "\\frac{1}{2}"),
        ("\\tfrac{3}{4}", "\\frac34"),
        ("\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}"),
        ("\\dfrac{1}{2}", "0.5"),
    ],
    "percentages vs plain numbers": [
        ("50\\%", "50"),
        ("50", "50%"),
        ("0.5", "50\\%"),
        ("12.5\\%", "0.125"),
        ("\\frac{100}{3}\\%", "\\frac{100}{3}"),
    ],
    "percent as a word": [
        ("28 percent", "28\\%"),
        ("28 percent", "28%"),
        ("28 percent", "28"),
        ("28 percent", "0.28"),
        ("28 pct", "28\\%"),
        ("28 per cent", "28"),
        ("28\\text{ percent}", "28\\%"),
        ("12.5 Percent", "0.125"),
    ],
    "time of day": [
        ("\\text{4:30 p.m.}", "4:30 \\text{ p.m.}"),
        ("4:30 pm", "4:30 \\text{ p.m.}"),
        ("4:30 PM", "\\text{4:30 p.m.}"),
        ("04:30\\text{ a.m.}", "4:30 am"),
        ("4:30 \\text{ p.m.}", "4:30"),  # a meridiem on one side only is ignored, like a unit
    ],
    "intervals": [
        ("(1,2]", "(1, 2]"),
        ("[0, \\infty)", "[0,\\infty)"),
        ("(-\\infty, 3)", "\\left(-\\infty,3\\right)"),
        ("[-2, 5]", "[-2.0, 5]"),
    ],
    "tuples": [
        ("(1,2)", "\\left(1, 2\\right)"),
        ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("(0.5, -3)", "(\\frac12, -3)"),
    ],
    "sets and lists": [
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("1, 2, 3", "3, 2, 1"),
        ("\\{1,2\\}", "1,2"),
        ("-2, \\frac{1}{2}", "\\frac12,-2"),
    ],
    "scientific notation": [
        ("1.5\\times10^{3}", "1500"),
        ("1.5e3", "1500"),
        ("4.5e33", "4.5\\times 10^{33}"),
        ("7.5 \\times 10^7", "7.5e7"),
        ("3\\cdot 10^{-2}", "0.03"),
        ("10^{6}", "1000000"),
    ],
    "negative signs": [
        ("-3", "- 3"),
        ("-\\frac{1}{2}", "\\frac{-1}{2}"),
        ("-\\frac{1}{2}", "-0.5"),
        ("−3", "-3"),
        ("-\\frac{1}{2}", "\\frac{1}{-2}"),
    ],
    "fractions and decimals": [
        ("\\frac{1}{2}", "0.5"),
        ("\\frac{1}{3}", "0.333333"),
        ("1/4", "\\frac{1}{4}"),
        ("\\frac{6}{8}", "\\frac{3}{4}"),
        ("½", "\\frac12"),
    ],
    "symbolic": [
        ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"),
        ("3\\sqrt{2}", "\\sqrt{18}"),
        ("x^2+2x+1", "(x+1)^2"),
        ("2\\pi", "2 \\pi"),
        ("\\pi r^2", "r^2\\pi"),
    ],
    "assignments": [("x=5", "5"), ("k = -2", "-2")],
    "text answers": [("\\text{(C)}", "C"), ("\\text{Devon}", "Devon"), ("\\text{east}", "East")],
    "base-n subscripts": [("4210_{5}", "4210_5"), ("4210_{5}", "4210"), ("1011_2", "1011_{2}"), ("A5_{16}", "A5")],
    "currency": [("\\$5", "5"), ("\\$18.90", "18.90")],
}

# (gold, prediction): must be graded wrong in both directions.
NEAR_MISSES = [
    ("\\frac{1}{2}", "\\frac{1}{3}"),
    ("0.5", "0.05"),
    ("25", "250"),
    ("025", "0.25"),
    ("1,000", "100"),
    ("10{,}000", "1000"),
    ("\\{1,2\\}", "\\{1,3\\}"),
    ("\\{1,2,3\\}", "\\{1,2\\}"),
    ("1, 2", "1, 2, 3"),
    ("\\{1,2\\}", "(1,2)"),
    ("(1,2)", "(2,1)"),
    ("(1,2]", "(1,2)"),
    ("[1,2)", "(1,2]"),
    ("(-\\infty, 3)", "(-\\infty, 3]"),
    ("5\\text{ cm}", "5\\text{ m}"),
    ("5\\text{ cm}", "6\\text{ cm}"),
    ("12\\text{ inches}", "12\\text{ feet}"),
    ("864 \\mbox{ inches}^2", "864 \\mbox{ inches}^5"),
    ("15\\text{ cm}^2", "15\\text{ cm}^3"),
    ("4210_{5}", "4210_{8}"),
    ("52_8", "52_1"),
    ("1011_2", "1012_2"),
    ("30^\\circ", "31^\\circ"),
    ("50\\%", "5"),
    ("1.5e3", "150"),
    ("4.5\\times10^{33}", "4.5\\times10^{32}"),
    ("-3", "3"),
    ("-\\frac{1}{2}", "\\frac{1}{2}"),
    ("\\frac{1}{3}", "0.33"),
    ("3\\sqrt{2}", "2\\sqrt{3}"),
    ("x^2+2x+1", "(x-1)^2"),
    ("\\text{(C)}", "D"),
    ("x=5", "y=5"),
    ("2\\pi", "\\pi"),
    ("28 percent", "2.8"),
    ("28 percent", "29\\%"),
    ("32,\\! 349", "32"),
    ("4:30 \\text{ p.m.}", "4:30 \\text{ a.m.}"),
    ("\\text{4:30 p.m.}", "5:30 pm"),
    ("\\text{4:30 p.m.}", "4:31 pm"),
]


def _pairs():
    for family, pairs in EQUIVALENT.items():
        for a, b in pairs:
            yield pytest.param(a, b, id=f"{family}: {a} == {b}")


@pytest.mark.parametrize("a,b", list(_pairs()))
def test_equivalent_both_directions(a, b):
    assert grade_answer(b, [a], CFG).correct, f"gold {a!r} vs pred {b!r}"
    assert grade_answer(a, [b], CFG).correct, f"gold {b!r} vs pred {a!r}"


@pytest.mark.parametrize("gold,pred", NEAR_MISSES, ids=[f"{g} != {p}" for g, p in NEAR_MISSES])
def test_near_misses_stay_wrong(gold, pred):
    assert not grade_answer(pred, [gold], CFG).correct, f"gold {gold!r} vs pred {pred!r}"
    assert not grade_answer(gold, [pred], CFG).correct, f"gold {pred!r} vs pred {gold!r}"


@pytest.mark.parametrize(
    "gold,pred",
    [
        ("025", "25"),
        ("27.0", "27"),
        ("1,000", "1000"),
        ("50\\%", "0.5"),
        ("1.5e3", "1500"),
        ("(1,2]", "(1, 2]"),
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("-\\frac{1}{2}", "-0.5"),
        ("28 percent", "0.28"),
        ("32,\\! 349", "32349"),
        ("\\text{4:30 p.m.}", "4:30 pm"),
    ],
)
def test_plain_numbers_and_numeric_structures_never_need_a_worker(gold, pred):
    assert fast_compare(normalize_answer(gold), normalize_answer(pred)) is True


@pytest.mark.parametrize(
    "gold,pred",
    [
        ("0.5", "0.05"),
        ("\\frac12", "\\frac13"),
        ("5\\text{ cm}", "5\\text{ m}"),
        ("(1,2]", "(1,2)"),
        ("28 pct", "2.8"),
        ("4:30 \\text{ p.m.}", "4:30 am"),
    ],
)
def test_near_misses_are_decided_by_the_fast_path(gold, pred):
    assert fast_compare(normalize_answer(gold), normalize_answer(pred)) is False


def test_any_of_several_gold_answers_matches():
    assert grade_answer("2", ["1", "2"], CFG).correct
    assert not grade_answer("3", ["1", "2"], CFG).correct
    assert grade_answer("x^2-2x^3-13x^2+14x+24", ["10", "x^{2}-2 x^{3}-13 x^{2}+14 x+24"], CFG).correct


def test_float_tolerance_is_math_verify_rounding_to_six_decimals():
    assert grade_answer("0.3333333", ["\\frac{1}{3}"], CFG).correct
    assert not grade_answer("0.3334", ["\\frac{1}{3}"], CFG).correct
    assert not grade_answer("\\frac{1}{3}", ["0.3"], CFG).correct
