"""--data-parallel: N engine processes (transformers backend on CPU, the same code path as vLLM's on a
GPU node) give the same merged generations.jsonl and summary as one engine; a crashed engine fails the run
naming its shard and a rerun resumes only what is missing, to the same result; shard files left by an
interrupted run (with a truncated last line) are merged on the next call."""

from __future__ import annotations

import json
import shutil

import pytest

from eval_support import build_tiny_model, read_jsonl, run_cli, write_eval_set

MATH = [("w5 w6", "5"), ("w7", "7"), ("w8 w9 w10", "9"), ("w11", "1"), ("w12 w13", "2")]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp")
    model = build_tiny_model(root / "model")
    write_eval_set(root / "data", "aime2024", MATH)
    write_eval_set(root / "data", "math500", MATH[:3])
    return model, root / "data", root


def _run(model, data, out, *extra):
    # math500 is asked first: the merged file still follows the canonical order (benchmark, row)
    return run_cli("run", "--model", str(model), "--out", str(out), "--data-dir", str(data),
                   "--benchmarks", "math500,aime2024", "--n", "2", "--max-tokens", "5", "--backend", "transformers",
                   "--device", "cpu", "--workers", "2", "--no-progress", *extra)


@pytest.fixture(scope="module")
def reference(setup):
    model, data, root = setup
    out = root / "dp1"
    code, _, err = _run(model, data, out, "--data-parallel", "1")
    assert code == 0, err
    return out


def _same_result(out, ref):
    assert (out / "generations.jsonl").read_text() == (ref / "generations.jsonl").read_text()
    assert json.loads((out / "summary.json").read_text()) == json.loads((ref / "summary.json").read_text())
    assert sorted(map(json.dumps, read_jsonl(out / "results.jsonl"))) == \
        sorted(map(json.dumps, read_jsonl(ref / "results.jsonl")))
    assert not list((out / "shards").glob("shard_*.jsonl"))  # merged and removed


def test_reference_order_and_counts(reference):
    rows = read_jsonl(reference / "generations.jsonl")
    assert [(r["data_source"], r["index"]) for r in rows] == \
        [("aime2024", i) for i in range(5)] + [("math500", i) for i in range(3)]
    assert len(read_jsonl(reference / "results.jsonl")) == 16  # graded while generating, not twice


@pytest.mark.slow
def test_two_engines_give_the_same_generations_and_summary(setup, reference, tmp_path):
    model, data, _ = setup
    code, _, err = _run(model, data, tmp_path / "dp2", "--data-parallel", "2")
    assert code == 0, err
    assert "with 2 engine(s)" in err
    _same_result(tmp_path / "dp2", reference)


@pytest.mark.slow
def test_crashed_engine_fails_naming_its_shard_and_rerun_resumes(setup, reference, tmp_path, monkeypatch):
    model, data, _ = setup
    out = tmp_path / "crash"
    monkeypatch.setenv("_ARCHER_EVAL_CRASH_SHARD", "1:1")  # shard 1 dies after its first problem
    code, _, err = _run(model, data, out, "--data-parallel", "2")
    assert code == 1
    assert "engine shard 1 of 2 (CPU) exited with code 3 after 1 of 4 problems" in err, err
    assert "shards/shard_1.log" in err and "re-run the same command" in err
    kept = read_jsonl(out / "generations.jsonl")
    assert 1 <= len(kept) < 8  # what finished is kept
    monkeypatch.delenv("_ARCHER_EVAL_CRASH_SHARD")
    code, _, err = _run(model, data, out, "--data-parallel", "2")
    assert code == 0, err
    assert f"generating {8 - len(kept)} problems" in err  # only what was missing
    _same_result(out, reference)


def test_leftover_shards_with_a_truncated_line_are_merged_and_resumed(setup, reference, tmp_path):
    model, data, _ = setup
    out = tmp_path / "left"
    (out / "shards").mkdir(parents=True)
    lines = (reference / "generations.jsonl").read_text().splitlines(keepends=True)
    # as an interrupted 2-engine run leaves them: engine 0 had rows 0, 2, 4; engine 1 row 1 and half of row 3
    (out / "shards" / "shard_0.jsonl").write_text(lines[0] + lines[2] + lines[4])
    (out / "shards" / "shard_1.jsonl").write_text(lines[1] + lines[3][:40])
    code, _, err = _run(model, data, out, "--data-parallel", "1")
    assert code == 0, err
    assert "dropping a truncated last line" in err and "generating 4 problems" in err
    shutil.rmtree(out / "hf_model", ignore_errors=True)
    _same_result(out, reference)
