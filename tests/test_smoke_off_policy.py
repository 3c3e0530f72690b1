"""The smoke run is off-policy, as the paper's regime: several PPO epochs and mini-batches per rollout, so
the importance ratio moves, ASPO's clip / dual-clip terms act, and ASPO's update differs from GRPO's from
the same seed and the same rollouts (on-policy, r = 1 on every token and the two updates are the same)."""

from __future__ import annotations

import math

import pytest
import yaml
from smoke_support import math_run_dir, metrics_by_step, run_smoke, summary

pytestmark = pytest.mark.slow

CLIP_FRACTIONS = ("actor/aspo/clipfrac_upper", "actor/aspo/clipfrac_lower", "actor/pg_clipfrac_lower",
                  "actor/aspo/dual_clipfrac_pos", "actor/aspo/dual_clipfrac_neg")
# what the rollout of step 1 produced: equal in two runs from the same seed whatever the loss
ROLLOUT_METRICS = ("response_length/mean", "critic/score/mean", "critic/advantages/max", "critic/advantages/min")


@pytest.fixture(scope="module")
def aspo(tmp_path_factory):
    return math_run_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def grpo(tmp_path_factory):
    """The same smoke run with verl's vanilla loss (the GRPO baseline launcher), training only."""
    run_dir = tmp_path_factory.getbasetemp() / "smoke_math_grpo"
    if not (run_dir / "latest_checkpointed_iteration.txt").is_file():
        run_smoke("math", run_dir, SMOKE_STEPS="2", SMOKE_FINISH="0", LOSS_MODE="vanilla")
    return run_dir


def _metrics(run_dir):
    files = sorted((run_dir / "metrics").glob("*.jsonl"))
    assert files, f"no metrics in {run_dir / 'metrics'}"
    return metrics_by_step(files[-1])


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


def test_aspo_and_grpo_updates_differ_after_step_1_from_the_same_rollouts(aspo, grpo):
    a, g = metrics_by_step(summary(aspo)["metrics_file"])[1], _metrics(grpo)[1]
    for key in ROLLOUT_METRICS:  # same seed, same start weights: the same rollout
        assert math.isclose(a[key], g[key], rel_tol=1e-6, abs_tol=1e-9), (key, a[key], g[key])
    # different losses on it: the first mini-batch is on-policy (equal), the later ones are not
    assert not math.isclose(a["actor/grad_norm"], g["actor/grad_norm"], rel_tol=1e-3), \
        (a["actor/grad_norm"], g["actor/grad_norm"])
    assert not math.isclose(a["actor/pg_loss"], g["actor/pg_loss"], rel_tol=1e-3), (a["actor/pg_loss"], g["actor/pg_loss"])
