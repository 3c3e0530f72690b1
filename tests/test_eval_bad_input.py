"""Bad input fails with exit code 2 and one clear message naming the file / key / value (no traceback)."""

from __future__ import annotations

import json
import sys

import pytest

from eval_support import MATH_GENERATIONS, build_tiny_model, read_jsonl, run_cli, write_eval_set


def fails(*argv: str) -> str:
    code, stdout, stderr = run_cli(*argv)
    assert code == 2, (code, stdout, stderr)
    assert "archer.eval: error: " in stderr and "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1].startswith("archer.eval: error: ")
    return stderr


def write_rows(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def score(gens, out):
    return fails("score", "--generations", str(gens), "--out", str(out), "--no-progress")


def test_missing_generations_file(tmp_path):
    err = score(tmp_path / "nope.jsonl", tmp_path / "out")
    assert "nope.jsonl: file not found" in err


def test_generations_row_without_required_key_names_line_and_key(tmp_path):
    gens = write_rows(tmp_path / "g.jsonl", [{"data_source": "aime2024", "ground_truth": "1", "responses": ["a"]},
                                             {"data_source": "aime2024", "ground_truth": "2"}])
    assert "g.jsonl:2: missing key 'responses'" in score(gens, tmp_path / "out")


def test_generations_invalid_json_names_line(tmp_path):
    gens = write_rows(tmp_path / "g.jsonl", ['{"data_source": "aime2024",'])
    assert "g.jsonl:1: not valid JSON" in score(gens, tmp_path / "out")


def test_unknown_data_source_is_named(tmp_path):
    gens = write_rows(tmp_path / "g.jsonl", [{"data_source": "poetry", "ground_truth": "1", "responses": ["x"]}])
    err = score(gens, tmp_path / "out")
    assert "line 1 (data_source='poetry'" in err and "unknown data_source 'poetry'" in err


def test_problems_with_different_sample_counts_are_refused(tmp_path):
    gens = write_rows(tmp_path / "g.jsonl", [
        {"data_source": "aime2024", "index": 0, "ground_truth": "1", "responses": ["\\boxed{1}"] * 4},
        {"data_source": "aime2024", "index": 1, "ground_truth": "1", "responses": ["\\boxed{1}"] * 3},
    ])
    err = score(gens, tmp_path / "out")
    assert "data_source 'aime2024': problems have different numbers of samples" in err
    assert "n=3 (e.g. problem index 1), n=4 (e.g. problem index 0)" in err


def test_duplicate_problem_is_refused(tmp_path):
    row = {"data_source": "aime2024", "index": 7, "ground_truth": "1", "responses": ["x"]}
    err = score(write_rows(tmp_path / "g.jsonl", [row, row]), tmp_path / "out")
    assert "g.jsonl:2: duplicate problem (data_source='aime2024', index=7), first at line 1" in err


def test_foreign_results_file_in_out_dir_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    write_rows(out / "results.jsonl", [{"something": "else"}])
    err = score(MATH_GENERATIONS, out)
    assert "results.jsonl:1: not a result record of archer.eval" in err


def test_bad_reward_kwargs_and_n(tmp_path):
    assert "--reward-kwargs is not valid JSON" in fails("score", "--generations", str(MATH_GENERATIONS), "--out",
                                                        str(tmp_path), "--reward-kwargs", "{timeout: 1}")
    err = fails("run", "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--n", "aime2024=x")
    assert "--n 'aime2024=x'" in err


def test_unknown_benchmark_lists_known_ones(tmp_path):
    err = fails("run", "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--benchmarks", "aime2024,aime2026")
    assert "unknown benchmark 'aime2026'" in err
    for name in ("aime2024", "math500", "olympiadbench", "livecodebench_v6"):
        assert name in err


def test_missing_model_path(tmp_path):
    err = fails("run", "--model", str(tmp_path / "no_model"), "--out", str(tmp_path / "o"), "--benchmarks", "math500")
    assert f"model path {tmp_path / 'no_model'} does not exist" in err


def test_hf_dir_without_weights(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    err = fails("run", "--model", str(model), "--out", str(tmp_path / "o"), "--benchmarks", "math500")
    assert f"checkpoint without weights: {model} has config.json but no model weights" in err


def test_verl_actor_without_shards(tmp_path):
    actor = tmp_path / "global_step_3" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "huggingface" / "config.json").write_text("{}")
    err = fails("run", "--model", str(tmp_path / "global_step_3"), "--out", str(tmp_path / "o"))
    assert f"checkpoint without weights: {actor} looks like a verl checkpoint but holds no shards" in err


def test_directory_that_is_no_model(tmp_path):
    err = fails("run", "--model", str(tmp_path), "--out", str(tmp_path / "o"))
    assert "is neither a Hugging Face model dir" in err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_missing_eval_set_names_file_and_prepare_command(tiny_model, tmp_path):
    err = fails("run", "--model", str(tiny_model), "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "d"),
                "--benchmarks", "amc2023", "--backend", "transformers")
    assert f"{tmp_path / 'd' / 'eval' / 'amc2023.parquet'}: eval set 'amc2023' not found" in err
    assert "python -m archer.data prepare --suite eval" in err


def test_eval_set_with_other_data_source_is_refused(tiny_model, tmp_path):
    path = write_eval_set(tmp_path / "d", "minerva", [("w5", "1")])
    import pandas as pd

    df = pd.read_parquet(path)
    df["data_source"] = "minerva_math"
    df.to_parquet(path)
    err = fails("run", "--model", str(tiny_model), "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "d"),
                "--benchmarks", "minerva", "--backend", "transformers")
    assert "minerva.parquet row 0: data_source 'minerva_math', expected 'minerva'" in err


def test_tokenizer_without_chat_template_points_to_the_option(tiny_model, tmp_path):
    import shutil

    model = shutil.copytree(tiny_model, tmp_path / "model")
    (model / "chat_template.jinja").unlink()
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    args = ("run", "--model", str(model), "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "d"),
            "--benchmarks", "math500", "--n", "1", "--max-tokens", "2", "--backend", "transformers", "--no-progress")
    assert "has no chat template" in fails(*args) and "--no-chat-template" in fails(*args)
    code, _, stderr = run_cli(*args, "--no-chat-template")
    assert code == 0, stderr
    assert len(read_jsonl(tmp_path / "o" / "generations.jsonl")) == 1


def test_table_with_missing_input(tmp_path):
    assert f"{tmp_path / 'none'}: no such file or directory" in fails("table", str(tmp_path / "none"), "--out",
                                                                        str(tmp_path / "o"))


def test_vllm_backend_without_vllm_says_what_to_install(tiny_model, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "vllm", None)  # vllm missing, also where it is installed (.venv-vllm)
    write_eval_set(tmp_path / "d", "math500", [("w5", "1")])
    err = fails("run", "--model", str(tiny_model), "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "d"),
                "--benchmarks", "math500", "--backend", "vllm", "--no-progress")
    assert "backend 'vllm' needs the vllm package" in err and "--backend transformers" in err
