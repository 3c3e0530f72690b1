"""archer.compare: COMPARISON.md names the compared steps, links the outputs, lists differing settings."""

from __future__ import annotations

from compare_support import both, make_inputs, run_compare


def test_comparison_md_names_the_steps_and_links_table_and_figures(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--reference", "--panels", "entropy,repetition"))
    assert code == 0, err
    md = (p["out"] / "COMPARISON.md").read_text()
    assert "| ASPO | ASPO (ours, step 20) |" in md and "| GRPO | GRPO (ours, step 20) |" in md
    assert "last scored checkpoint (of 2)" in md
    assert "[table.md](table.md)" in md and "[all_steps/table.md](all_steps/table.md)" in md
    assert "[dynamics/overview.png](dynamics/overview.png)" in md and "![eval across checkpoints](eval.png)" in md
    assert "ASPO-Math-1.5B [ref]" in md  # Table 1 is shown inline too
    assert "different training steps" not in md
    for link in ("table.md", "all_steps/table.md", "dynamics/overview.png", "dynamics/entropy.png", "eval.png"):
        assert (p["out"] / link).is_file(), link


def test_settings_that_differ_between_the_saved_configs_are_listed(tmp_path):
    p = make_inputs(tmp_path)
    code, _, err = run_compare(*both(p, "--panels", "entropy"))
    assert code == 0, err
    md = (p["out"] / "COMPARISON.md").read_text()
    section = md.split("## Settings that differ")[1]
    assert "| `actor_rollout_ref.actor.policy_loss.loss_mode` | `aspo` | `vanilla` |" in section
    assert "| `actor_rollout_ref.actor.clip_ratio_c` | `10.0` | `3.0` |" in section
    assert "| `actor_rollout_ref.actor.clip_ratio_high` | `0.28` | `0.2` |" in section
    assert "experiment_name" not in section and "lr" not in section.replace("clip_ratio", "")
