"""The math training mix: each source schema converts to our template, foreign instructions are removed,
original ids are kept, and problems repeated across sources are written once."""

from __future__ import annotations

import json

from data_support import FIXTURES, MATH_FIXTURE_SOURCES, read_rows, run_prepare

from archer.data import validate_prepared
from archer.data.templates import MATH_INSTRUCTION, strip_foreign_math_instructions


def test_math_mix_from_three_source_schemas(tmp_path):
    assert run_prepare(tmp_path, "math", "--no-decontam", **MATH_FIXTURE_SOURCES) == 0
    out = tmp_path / "train" / "math.parquet"
    info = validate_prepared(out)
    # deepscaler 4; skywork 4 - 1 duplicate of deepscaler; dapo 5 - 1 repeated row (planted AIME row kept: no decontam)
    assert info["data_sources"] == {"deepscaler": 4, "skywork_or1_math": 3, "dapo_math": 4}
    rows = read_rows(out)
    assert [r["extra_info"]["index"] for r in rows] == list(range(11))
    for r in rows:
        content = r["prompt"][0]["content"]
        assert content == f"{r['extra_info']['problem']} {MATH_INSTRUCTION}"
        assert "Answer:" not in content and r["ability"] == "math" and r["extra_info"]["split"] == "train"
    sky = [r for r in rows if r["data_source"] == "skywork_or1_math"]
    assert [(r["extra_info"]["original_id"], r["reward_model"]["ground_truth"]) for r in sky] == [
        ("101", "8"), ("102", "81"), ("103", "55")]  # '["8"]' -> '8'
    dapo = [r for r in rows if r["data_source"] == "dapo_math"]
    assert dapo[0]["extra_info"]["problem"] == "What is the remainder when $2^{10}$ is divided by $7$?"
    assert dapo[0]["extra_info"]["original_id"] == "a1"
    report = json.loads((tmp_path / "train" / "math.report.json").read_text())
    assert report["dropped"] == {"duplicate": 2}
    assert report["per_source"]["dapo_math"] == {"read": 5, "written": 4, "duplicate": 1}


def test_foreign_instructions_are_stripped_from_both_ends():
    dapo = ("Solve the following math problem step by step. The last line of your response should be of the form "
            "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\nWhat is $2+2$?\n\n"
            'Remember to put your answer on its own line after "Answer:".')
    assert strip_foreign_math_instructions(dapo) == "What is $2+2$?"
    assert strip_foreign_math_instructions("Find $x$. Let's think step by step and output the final answer within "
                                           "\\boxed{}.") == "Find $x$."
    assert strip_foreign_math_instructions("Find $y$.\nPlease reason step by step, and put your final answer within "
                                           "\\boxed{}.") == "Find $y$."
    assert strip_foreign_math_instructions("Answer: keep me") == "Answer: keep me"


def test_a_source_can_be_disabled(tmp_path):
    rc = run_prepare(tmp_path, "math", "--no-decontam", deepscaler=FIXTURES / "deepscaler.jsonl",
                     skywork_or1_math="none", dapo_math="none")
    assert rc == 0
    assert validate_prepared(tmp_path / "train" / "math.parquet")["data_sources"] == {"deepscaler": 4}
