"""A truncated last line of a generations file (an interrupted append) is handled the same way by `run`
and `score`: dropped with a warning naming the file and line, only the missing work is redone, exit 0."""

from __future__ import annotations

import json

from eval_support import MATH_GENERATIONS, build_tiny_model, read_jsonl, run_cli, write_eval_set


def _truncate_last_line(path) -> str:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    cut = lines[-1][: len(lines[-1]) // 2]  # no newline, not valid JSON
    path.write_text("".join(lines[:-1]) + cut, encoding="utf-8")
    return cut


def test_score_drops_a_truncated_last_line_with_a_warning_and_scores_the_rest(tmp_path):
    gens = tmp_path / "generations.jsonl"
    gens.write_text(MATH_GENERATIONS.read_text(encoding="utf-8"), encoding="utf-8")
    n_lines = len(read_jsonl(gens))
    _truncate_last_line(gens)
    code, _, err = run_cli("score", "--generations", str(gens), "--out", str(tmp_path / "out"), "--no-progress")
    assert code == 0, err
    assert f"archer.eval: warning: {gens}:{n_lines}: dropping a truncated last line" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sum(v["problems"] for v in summary.values()) == n_lines - 1


def test_score_still_refuses_a_malformed_line_that_is_not_the_last(tmp_path):
    gens = tmp_path / "generations.jsonl"
    lines = MATH_GENERATIONS.read_text(encoding="utf-8").splitlines(keepends=True)
    gens.write_text(lines[0] + '{"data_source": \n' + "".join(lines[1:]), encoding="utf-8")
    code, _, err = run_cli("score", "--generations", str(gens), "--out", str(tmp_path / "out"), "--no-progress")
    assert code == 2 and f"{gens}:2: not valid JSON" in err


def _run(tmp_path, model, data, benchmarks):
    return run_cli("run", "--model", str(model), "--out", str(tmp_path / "out"), "--data-dir", str(data),
                   "--benchmarks", benchmarks, "--backend", "transformers", "--device", "cpu", "--n", "2",
                   "--max-tokens", "4", "--no-progress", "--workers", "1")


def test_run_regenerates_only_the_truncated_problem_or_drops_it_when_not_requested(tmp_path):
    model = build_tiny_model(tmp_path / "model")
    data = tmp_path / "data"
    write_eval_set(data, "aime2024", [("w3 w4", "1"), ("w5 w6", "2")])
    write_eval_set(data, "amc2023", [("w7 w8", "3")])
    code, _, err = _run(tmp_path, model, data, "aime2024,amc2023")
    assert code == 0, err
    gens = tmp_path / "out" / "generations.jsonl"
    before = read_jsonl(gens)
    assert [r["data_source"] for r in before][-1] == "amc2023"
    _truncate_last_line(gens)

    # the truncated problem's benchmark is not requested: dropped with a warning, the rest is scored
    code, _, err = _run(tmp_path, model, data, "aime2024")
    assert code == 0, err
    assert f"{gens}:3: dropping a truncated last line" in err
    assert len(read_jsonl(gens)) == 2  # cut off: the file is line-valid again

    # requested again: only that problem is generated, and everything is scored
    code, _, err = _run(tmp_path, model, data, "aime2024,amc2023")
    assert code == 0, err
    after = read_jsonl(gens)
    assert [(r["data_source"], r["index"]) for r in after] == [(r["data_source"], r["index"]) for r in before]
    assert after[:2] == before[:2]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["amc2023"]["problems"] == 1 and summary["aime2024"]["problems"] == 2
