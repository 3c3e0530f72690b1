"""A run dir holding a real verl FSDP checkpoint (written by verl's engine on CPU, see export_support) is
converted with archer.export on the fly, generated from and scored; a second call skips it."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("archer.export")
pytest.importorskip("export_support")  # the verl_checkpoint fixture builds with it

from eval_support import read_jsonl, run_cli, write_eval_set  # noqa: E402


@pytest.mark.slow
def test_run_dir_with_verl_checkpoint_is_converted_and_evaluated(verl_checkpoint, tmp_path, caplog):
    ckpt = verl_checkpoint(1)  # the session's (conftest.py); the conversion goes under --out
    run_dir = ckpt.actor_dir.parents[1]
    data = tmp_path / "data"
    write_eval_set(data, "math500", [("1+1=?", "2"), ("2+2=?", "4")])  # characters of the checkpoint's vocab
    out = tmp_path / "out"
    args = ("run", "--model", str(run_dir), "--out", str(out), "--data-dir", str(data), "--benchmarks", "math500",
            "--n", "2", "--max-tokens", "4", "--backend", "transformers", "--no-chat-template", "--no-progress")
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    step = out / "global_step_1"
    assert (step / "hf_model" / "config.json").is_file()  # the conversion, by archer.export
    assert len(read_jsonl(step / "generations.jsonl")) == 2
    assert json.loads((step / "summary.json").read_text())["math500"]["problems"] == 2
    assert "| global_step_1 |" in (out / "table.md").read_text()

    caplog.clear()
    with caplog.at_level("INFO", logger="archer.eval"):
        code, _, stderr = run_cli(*args)
    assert code == 0, stderr
    assert "global_step_1/summary.json exists" in caplog.text
