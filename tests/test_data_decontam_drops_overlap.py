"""Training problems that overlap an eval set (normalised word n-grams) are dropped and counted per eval set."""

from __future__ import annotations

import json

from data_support import FIXTURES, MATH_FIXTURE_SOURCES, read_rows, run_prepare

from archer.data.decontam import EvalIndex, normalize_text


def test_planted_eval_problem_is_dropped_and_counted(tmp_path):
    rc = run_prepare(tmp_path, "math", aime2024=FIXTURES / "aime2024_mini.jsonl", **MATH_FIXTURE_SOURCES)
    assert rc == 0
    rows = read_rows(tmp_path / "train" / "math.parquet")
    assert not any("Aya goes for" in r["extra_info"]["problem"] for r in rows)
    assert len(rows) == 10
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["contaminated_by_eval_set"] == {"aime2024": 1}
    assert report["dropped"] == {"contaminated": 1, "duplicate": 2}
    assert report["dropped_examples"]["contaminated"] == ["dapo_math id a2: overlaps ['aime2024']"]
    assert report["decontamination"]["eval_problems"] == {"aime2024": 2}
    assert "math500" in report["decontamination"]["unchecked"]  # not prepared in this hermetic run


def test_code_training_row_overlapping_livecodebench_is_dropped(tmp_path):
    rc = run_prepare(tmp_path, "code", "--max-bad-fraction", "0.5", archer2_code=FIXTURES / "archer2_code.parquet",
                     livecodebench_v5=FIXTURES / "lcb_raw")
    assert rc == 0
    report = json.loads((tmp_path / "train" / "code.report.json").read_text())
    assert report["contaminated_by_eval_set"] == {"livecodebench_v5": 1}  # "Return the sum of the list nums."


def test_normalisation_ignores_case_spacing_and_punctuation():
    assert normalize_text("  Find  $X$,\n the SUM!! ") == "find x the sum"


def test_shared_ngram_matches_and_disjoint_text_does_not():
    idx = EvalIndex(n=5)
    idx.add("aime2024", "Let a b c be the sides of a triangle with perimeter ten")
    assert idx.matches("Prove: let A, B, C be the SIDES of a right angle") == {"aime2024"}  # "let a b c be"+"the sides"
    assert idx.matches("Let a and b be positive reals") == set()


def test_short_texts_compare_whole_normalised_text():
    idx = EvalIndex(n=13)
    idx.add("amc2023", "What is 1+1?")
    assert idx.matches("what is 1 + 1") == {"amc2023"}
    assert idx.matches("What is 1+1? Explain.") == set()


def test_ngram_size_is_an_option(tmp_path):
    # with n=3, "the sum of" style phrases shared by many problems make more rows overlap
    rc = run_prepare(tmp_path, "math", "--ngram", "3", "--min-overlap", "0", aime2024=FIXTURES / "aime2024_mini.jsonl", **MATH_FIXTURE_SOURCES)
    assert rc == 0
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["decontamination"]["ngram"] == 3
    assert report["contaminated_by_eval_set"]["aime2024"] >= 2


AIME_STYLE_TAIL = ("The probability that this happens is $\\frac{m}{n}$, where $m$ and $n$ are relatively prime positive "
                   "integers. Find $m+n$.")


def test_shared_answer_format_boilerplate_alone_is_not_contamination():
    eval_problem = ("Alice and Bob take turns rolling a fair six-sided die, Alice first. A player who rolls a number "
                    "that was already rolled by either player loses, and the game also stops after the tenth roll. "
                    "Consider the event that Bob is the one who loses the game. " + AIME_STYLE_TAIL)
    train_problem = ("Ten chairs stand in a row and three people sit down at random without sitting next to each "
                     "other. " + AIME_STYLE_TAIL)
    default = EvalIndex(n=13)  # min_overlap 0.3 of the eval problem's n-grams
    default.add("aime2024", eval_problem)
    assert default.matches(train_problem) == set()
    assert default.matches(eval_problem.replace("fair die", "fair  DIE")) == {"aime2024"}
    any_gram = EvalIndex(n=13, min_overlap=0.0)
    any_gram.add("aime2024", eval_problem)
    assert any_gram.matches(train_problem) == {"aime2024"}


def test_min_overlap_option_reaches_the_report(tmp_path):
    rc = run_prepare(tmp_path, "math", "--min-overlap", "0", aime2024=FIXTURES / "aime2024_mini.jsonl",
                     **MATH_FIXTURE_SOURCES)
    assert rc == 0
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["decontamination"]["min_overlap"] == 0.0
