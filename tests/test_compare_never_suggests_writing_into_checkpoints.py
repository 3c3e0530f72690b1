"""When --eval points at a training run dir (checkpoints) instead of archer.eval output, archer.compare says
so and suggests an eval output dir of its own, never `--out` into the checkpoint dir."""

from __future__ import annotations

from compare_support import make_inputs, run_compare


def test_run_dir_given_as_eval_gets_a_separate_out_dir_suggested(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--eval", f"ASPO={p['aspo']}", "--out", str(p["out"]))
    assert code == 2, err
    assert "that is a training run dir (checkpoints), not archer.eval output" in err
    assert f"python -m archer.eval run --model {p['aspo']} --out eval_out/aspo" in err
    assert f"--out {p['aspo']}" not in err
    assert not (p["aspo"] / "summary.json").exists()
