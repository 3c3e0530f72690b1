"""archer.compare: both runs' training dynamics on shared panels; every panel draws one quantity for both runs."""

from __future__ import annotations

import json

from compare_support import both, make_inputs, run_compare
from plot_support import assert_real_png

PAPER = ("entropy", "repetition", "clip_upper", "clip_lower", "dual_clip_neg", "dual_clip_pos", "is_ratio")


def test_dynamics_pngs_of_both_runs_with_loss_modes_from_their_configs(tmp_path):
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
    # actor/pg_clipfrac_lower means verl's dual-clip share in both runs: both are on dual_clip_neg, and GRPO is
    # absent from clip_lower only because verl's loss logs no actor/aspo/clipfrac_lower, not for its loss mode
    dual_clip_neg = md.split("![dual_clip_neg]")[1].split("![")[0]
    assert "not on this panel" not in dual_clip_neg
    clip_lower = md.split("![clip_lower]")[1].split("![")[0]
    assert "_GRPO not on this panel: no metric actor/aspo/clipfrac_lower_" in clip_lower
    assert "pg_clipfrac_lower left out" not in md


def test_loss_mode_option_overrides_the_saved_config(tmp_path):
    p = make_inputs(tmp_path)
    (p["grpo"] / "config.yaml").unlink()
    code, _, err = run_compare(*both(p, "--panels", "entropy", "--loss-mode", "GRPO=vanilla"))
    assert code == 0, err
    manifest = json.loads((p["out"] / "comparison.json").read_text())
    grpo = next(m for m in manifest["methods"] if m["label"] == "GRPO")
    assert (grpo["loss_mode"], grpo["loss_mode_source"], grpo["config"]) == ("vanilla", "option", None)
    assert "Fewer than two runs with a saved `config.yaml`" in (p["out"] / "COMPARISON.md").read_text()
