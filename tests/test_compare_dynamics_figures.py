"""archer.compare: both runs' training dynamics on shared panels, GRPO's hard dual clip where it belongs."""

from __future__ import annotations

import json

from compare_support import both, make_inputs, run_compare
from plot_support import assert_real_png

PAPER = ("entropy", "repetition", "clip_upper", "clip_lower", "dual_clip_neg", "dual_clip_pos", "is_ratio")


def test_dynamics_pngs_of_both_runs_and_grpo_dual_clip_from_its_config(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--panels", ",".join(PAPER)))
    assert code == 0, err
    for key in (*PAPER, "overview"):
        assert_real_png(p["out"] / "dynamics" / f"{key}.png", min_bytes=5_000)
    assert_real_png(p["out"] / "eval.png", min_bytes=5_000)
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    modes = {m["label"]: (m["loss_mode"], m["loss_mode_source"]) for m in manifest["methods"]}
    assert modes == {"ASPO": ("aspo", "config"), "GRPO": ("vanilla", "config")}
    md = (p["out"] / "COMPARISON.md").read_text()
    for key in PAPER:
        assert f"![{key}](dynamics/{key}.png)" in md
    # verl's vanilla actor/pg_clipfrac_lower is a dual-clip fraction: not on the lower-clip panel
    assert "GRPO not on this panel: actor/pg_clipfrac_lower left out" in md


def test_loss_mode_option_overrides_the_saved_config(tmp_path):
    p = make_inputs(tmp_path)
    (p["grpo"] / "config.yaml").unlink()
    code, _, err = run_compare(*both(p, "--panels", "entropy", "--loss-mode", "GRPO=vanilla"))
    assert code == 0, err
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    grpo = next(m for m in manifest["methods"] if m["label"] == "GRPO")
    assert (grpo["loss_mode"], grpo["loss_mode_source"], grpo["config"]) == ("vanilla", "option", None)
    assert "Fewer than two runs with a saved `config.yaml`" in (p["out"] / "COMPARISON.md").read_text()
