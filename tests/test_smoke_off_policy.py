"""The default smoke run is off-policy, as the paper's regime: several PPO epochs and mini-batches per
rollout, so the importance ratio moves and ASPO's clip / dual-clip terms act (reads the session's shared
math run). That ASPO's update then differs from verl's vanilla GRPO update, and equals it on-policy, is
tests/test_aspo_and_vanilla_updates_differ_only_off_policy.py (verl's real TrainingWorker, in-process)."""

from __future__ import annotations

import pytest
import yaml
from smoke_support import math_run_dir, metrics_by_step, summary

pytestmark = pytest.mark.slow

CLIP_FRACTIONS = ("actor/aspo/clipfrac_upper", "actor/aspo/clipfrac_lower", "actor/pg_clipfrac_lower",
                  "actor/aspo/dual_clipfrac_pos", "actor/aspo/dual_clipfrac_neg")


@pytest.fixture(scope="module")
def aspo(tmp_path_factory):
    return math_run_dir(tmp_path_factory)


def test_default_smoke_is_off_policy(aspo):
    config = yaml.safe_load((aspo / "config.yaml").read_text())
    actor = config["actor_rollout_ref"]["actor"]
    prompts = config["data"]["train_batch_size"]
    assert actor["ppo_epochs"] > 1 and prompts // actor["ppo_mini_batch_size"] > 1, (actor["ppo_epochs"], prompts)


def test_default_smoke_has_nonzero_clip_or_dual_clip_fractions(aspo):
    steps = metrics_by_step(summary(aspo)["metrics_file"])
    # a fraction whose denominator is empty over the step (no A > 0 token, say) is not logged (docs/metrics.md)
    fractions = {step: {k: m[k] for k in CLIP_FRACTIONS if k in m} for step, m in steps.items()}
    assert all("actor/aspo/clipfrac_upper" in f for f in fractions.values()), fractions
    assert any(v > 0 for f in fractions.values() for v in f.values()), fractions
    # the ratio moved: verl's approximate KL between the rollout policy and the updated one
    assert any(m["actor/ppo_kl"] != 0 for m in steps.values())
