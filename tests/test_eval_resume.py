"""Resume: scoring grades only samples without a result (or whose response changed); generation
generates only problems missing from generations.jsonl and does not even start a backend when none is."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

import archer.reward
from archer.eval.backends import SamplingConfig
from archer.eval.benchmarks import resolve_benchmarks
from archer.eval.pipeline import GenerationOptions, generate_benchmarks
from archer.eval.scoring import score_generations
from eval_support import MATH_EXPECTED, MATH_GENERATIONS, build_tiny_model, read_jsonl, write_eval_set

TOTAL_SAMPLES = 4 * 3 + 2 * 2 + 8 + 3


@pytest.fixture
def counted_grader(monkeypatch):
    """Count calls of archer.reward.compute_score (the real grader still does the grading)."""
    calls = []
    lock = threading.Lock()
    real = archer.reward.compute_score

    def counting(data_source, response, *args, **kwargs):
        with lock:
            calls.append((data_source, response))
        return real(data_source, response, *args, **kwargs)

    monkeypatch.setattr(archer.reward, "compute_score", counting)
    return calls


def test_second_score_run_grades_nothing_and_gives_same_summary(tmp_path, counted_grader):
    first = score_generations(MATH_GENERATIONS, tmp_path, workers=2, progress=False)
    assert len(counted_grader) == TOTAL_SAMPLES
    second = score_generations(MATH_GENERATIONS, tmp_path, workers=2, progress=False)
    assert len(counted_grader) == TOTAL_SAMPLES  # no new grader call
    assert first == second
    assert len(read_jsonl(tmp_path / "results.jsonl")) == TOTAL_SAMPLES


def test_interrupted_scoring_resumes_with_only_missing_samples(tmp_path, counted_grader):
    score_generations(MATH_GENERATIONS, tmp_path, workers=2, progress=False)
    results = tmp_path / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:10]) + lines[10][:25])  # 10 results, then a line cut mid-write
    counted_grader.clear()
    summary = score_generations(MATH_GENERATIONS, tmp_path, workers=2, progress=False)
    assert len(counted_grader) == TOTAL_SAMPLES - 10
    assert len(read_jsonl(results)) == TOTAL_SAMPLES  # the truncated line was replaced, file is line-valid
    assert {k: (v["n"], v["problems"]) for k, v in summary.items()} == {k: v[:2] for k, v in MATH_EXPECTED.items()}
    assert summary["aime2024"]["avg"] == pytest.approx(MATH_EXPECTED["aime2024"][2])


def test_changed_response_is_regraded(tmp_path, counted_grader):
    gens = tmp_path / "gens.jsonl"
    rows = read_jsonl(MATH_GENERATIONS)
    gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    score_generations(gens, out, workers=2, progress=False)
    rows[1]["responses"][0] = "<think>ok</think> \\boxed{5}"  # aime2024 problem 1 (answer 5): now 1 of 4
    gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
    counted_grader.clear()
    summary = score_generations(gens, out, workers=2, progress=False)
    assert counted_grader == [("aime2024", "<think>ok</think> \\boxed{5}")]
    assert summary["aime2024"]["avg"] == pytest.approx(100 * 7 / 12)
    assert summary["aime2024"]["pass"] == pytest.approx(100.0)


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    model = build_tiny_model(root / "model")
    write_eval_set(root / "data", "aime2024", [("w5 w6", "5"), ("w7", "7"), ("w8 w9 w10", "9")])
    return model, root / "data"


def options(data_dir: Path, limit: int | None, backend: str = "transformers") -> GenerationOptions:
    return GenerationOptions(benchmarks=resolve_benchmarks("aime2024"), data_dir=data_dir, n={"aime2024": 2},
                             sampling=SamplingConfig(max_tokens=4), limit=limit, backend=backend, progress=False)


def test_generation_resumes_with_missing_problems_only(tiny_setup, tmp_path):
    model, data_dir = tiny_setup
    path = generate_benchmarks(model, tmp_path, options(data_dir, limit=2))
    first = read_jsonl(path)
    assert [r["index"] for r in first] == [0, 1]
    generate_benchmarks(model, tmp_path, options(data_dir, limit=None))
    rows = read_jsonl(path)
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[:2] == first  # earlier problems untouched
    assert all(len(r["responses"]) == 2 for r in rows)


def test_generation_with_nothing_left_starts_no_backend(tiny_setup, tmp_path, monkeypatch):
    model, data_dir = tiny_setup
    generate_benchmarks(model, tmp_path, options(data_dir, limit=None))
    before = (tmp_path / "generations.jsonl").read_text()
    # vllm made unimportable (also where it is installed): starting it would raise, so this passes only
    # if no backend starts
    monkeypatch.setitem(sys.modules, "vllm", None)
    generate_benchmarks(model, tmp_path, options(data_dir, limit=None, backend="vllm"))
    assert (tmp_path / "generations.jsonl").read_text() == before
