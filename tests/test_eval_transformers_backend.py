"""The transformers backend generates from a tiny randomly initialised local model on CPU, and `run`
goes model -> generations -> scores -> tables with it (scores are 0 for random text: that is expected)."""

from __future__ import annotations

import json

import pytest

from archer.eval.backends import SamplingConfig, make_backend
from eval_support import build_tiny_model, read_jsonl, run_cli, write_eval_set


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_backend_returns_n_strings_per_prompt_and_is_seeded(tiny_model):
    backend = make_backend("transformers", tiny_model, device="cpu", batch_size=2)
    try:
        prompts = [[5, 6, 3], [7, 3], [8, 9, 10, 3]]  # different lengths: left padding in one batch
        params = SamplingConfig(temperature=0.8, top_p=0.95, max_tokens=6)
        out = backend.generate(prompts, 3, params, seeds=[0, 1, 2])
        assert len(out) == 3 and all(len(group) == 3 for group in out)
        assert all(isinstance(t, str) for group in out for t in group)
        assert all(len(t.split()) <= 6 for group in out for t in group)
        assert out == backend.generate(prompts, 3, params, seeds=[0, 1, 2])  # same seeds, same samples
        greedy = backend.generate(prompts[:1], 2, SamplingConfig(temperature=0.0, max_tokens=4), seeds=[0])
        assert greedy[0][0] == greedy[0][1]
    finally:
        backend.close()


def test_run_end_to_end_on_cpu_writes_generations_summary_and_tables(tiny_model, tmp_path):
    data = tmp_path / "data"
    write_eval_set(data, "aime2024", [("w5 w6 w7", "5"), ("w8", "7")])
    write_eval_set(data, "math500", [("w11 w12", "1")])
    out = tmp_path / "out"
    code, stdout, stderr = run_cli("run", "--model", str(tiny_model), "--out", str(out), "--data-dir", str(data),
                                   "--benchmarks", "aime2024,math500", "--n", "2", "--max-tokens", "8",
                                   "--backend", "transformers", "--device", "cpu", "--no-progress")
    assert code == 0, stderr
    rows = read_jsonl(out / "generations.jsonl")
    assert [(r["data_source"], r["index"]) for r in rows] == [("aime2024", 0), ("aime2024", 1), ("math500", 0)]
    for r in rows:
        assert len(r["responses"]) == 2 and r["prompt"][0]["role"] == "user"
        assert r["sampling"] == {"temperature": 0.8, "top_p": 0.95, "max_tokens": 8, "seed": 0,
                                 "backend": "transformers", "n": 2}
    summary = json.loads((out / "summary.json").read_text())
    assert summary == {"aime2024": {"n": 2, "problems": 2, "avg": 0.0, "pass": 0.0},
                       "math500": {"n": 2, "problems": 1, "avg": 0.0, "pass": 0.0}}
    assert len(read_jsonl(out / "results.jsonl")) == 6
    assert "| model | 0.0 (n=2) | 0.0 (n=2) |" in (out / "table.md").read_text()
    assert (out / "table_math.csv").is_file() and "Table 1" in stdout
