"""``bash scripts/run_aspo_math.sh --smoke``: verl's real trainer loop on CPU with archer's ASPO loss,
reward and metrics, then export, eval and plot (2 steps, shared with test_smoke_off_policy.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from smoke_support import math_run_dir, metrics_by_step, summary

from archer.smoke.pipeline import SUMMARY_KEYS, max_weight_change

pytestmark = pytest.mark.slow

ASPO_METRICS = ("actor/aspo/clipfrac_upper", "actor/aspo/clipfrac_lower", "actor/pg_clipfrac_lower",
                "actor/aspo/dual_clipfrac_pos", "actor/aspo/dual_clipfrac_neg", "actor/aspo/is_ratio_mean_pos",
                "actor/aspo/is_ratio_mean_neg", "actor/aspo/high_entropy_frac")
REWARD_METRICS = ("reward/grader_score/mean", "reward/acc/mean", "reward/response_has_answer/mean")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return math_run_dir(tmp_path_factory)


def test_summary_has_every_key_and_two_steps(run):
    s = summary(run)
    assert set(SUMMARY_KEYS) <= set(s), set(SUMMARY_KEYS) - set(s)
    assert s["steps"] == 2
    assert set(s["seconds"]) >= {"assets", "train", "export", "eval", "plot"}


def test_every_step_logs_aspo_kl_reward_and_grad_metrics(run):
    steps = metrics_by_step(summary(run)["metrics_file"])
    assert sorted(steps) == [1, 2]
    for step, m in steps.items():
        missing = [k for k in (*ASPO_METRICS, *REWARD_METRICS, "actor/kl_loss", "actor/grad_norm") if k not in m]
        assert not missing, f"step {step} lacks {missing}"
        # archer2 preset: tokens strictly above each response's 0.8 entropy quantile (about 20%; tiny
        # responses of ~7 tokens make the fraction coarse)
        assert 0.05 < m["actor/aspo/high_entropy_frac"] < 0.45, m["actor/aspo/high_entropy_frac"]
        assert not any("@" in key for key in m), "raw metric parts reached the log"
        assert m["actor/grad_norm"] > 0
    # the reference model is the start policy: KL is 0 before the first update and non-zero after it
    assert steps[2]["actor/kl_loss"] > 0


def test_checkpoints_saved_every_step(run):
    for step in (1, 2):
        assert (run / f"global_step_{step}" / "actor").is_dir()
    assert (run / "latest_checkpointed_iteration.txt").read_text().strip() == "2"


def test_export_verifies_and_weights_moved_from_the_start_model(run):
    s = summary(run)
    assert s["export_verified"] is True
    report = json.loads((Path(s["export_dir"]) / "export_report.json").read_text())
    assert report["status"] == "passed"
    assert max_weight_change(Path(s["model_start"]), Path(s["export_dir"])) > 0


def test_eval_summary_and_plots_written(run):
    s = summary(run)
    assert Path(s["eval_summary"]).is_file()
    assert json.loads(Path(s["eval_summary"]).read_text())
    assert s["plots"] and all(Path(p).is_file() and Path(p).stat().st_size > 0 for p in s["plots"])
