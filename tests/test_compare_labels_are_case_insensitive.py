"""archer.compare labels are case-insensitive: `--run ASPO=... --eval aspo=...` is one method (named as first
spelled), `--step aspo=10` selects its step, and the same label twice in another case is an error."""

from __future__ import annotations

import json

from compare_support import make_inputs, run_compare


def test_run_and_eval_labels_in_different_cases_are_one_method(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--run", f"ASPO={p['aspo']}", "--eval", f"aspo={p['eval_aspo']}",
                               "--run", f"grpo={p['grpo']}", "--eval", f"GRPO={p['eval_grpo']}",
                               "--step", "Aspo=10", "--out", str(p["out"]), "--panels", "entropy")
    assert code == 0, err
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    methods = {m["label"]: m for m in manifest["methods"]}
    assert sorted(methods) == ["ASPO", "grpo"]
    assert methods["ASPO"]["run_dir"] and methods["ASPO"]["eval_dir"] and methods["ASPO"]["step"] == 10
    assert methods["grpo"]["run_dir"] and methods["grpo"]["eval_dir"] and methods["grpo"]["step"] == 20


def test_one_label_given_twice_in_two_cases_is_refused(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare("--eval", f"ASPO={p['eval_aspo']}", "--eval", f"aspo={p['eval_grpo']}",
                               "--out", str(p["out"]))
    assert code == 2 and "label 'aspo' given twice" in err and "case-insensitive" in err, err
