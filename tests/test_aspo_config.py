"""The ASPO keys under actor_rollout_ref.actor.policy_loss: presets, instantiation and validation."""

import subprocess
import sys

import pytest
import torch

from archer.launch.main import check_config
from archer.plugin.config import AspoPolicyLossConfig
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_archer2_preset_instantiates_with_the_archer2_code_values(actor_config):
    actor = actor_config()
    pl = actor.policy_loss
    assert isinstance(pl, AspoPolicyLossConfig)
    assert (pl.loss_mode, pl.dual_clip_c, pl.negative_dual_clip) == ("aspo", 3.0, "soft")
    assert (pl.entropy_quantile, pl.entropy_quantile_scope) == (0.8, "sequence")
    assert (pl.high_entropy_clip_ratio_low, pl.high_entropy_clip_ratio_high) == (0.4, 0.4)
    assert (actor.clip_ratio_low, actor.clip_ratio_high) == (0.2, 0.2)
    assert actor.calculate_entropy is True


def test_paper_preset_is_uniform_eps(actor_config, compose_config):
    actor = actor_config("aspo_preset=paper")
    pl = actor.policy_loss
    assert pl.high_entropy_clip_ratio_low is None and pl.high_entropy_clip_ratio_high is None
    assert (actor.clip_ratio_low, actor.clip_ratio_high, pl.dual_clip_c) == (0.2, 0.2, 3.0)
    assert not pl.uses_entropy
    assert compose_config("aspo_preset=paper").algorithm.adv_estimator == "grpo"


def test_command_line_overrides_beat_the_preset(actor_config):
    actor = actor_config("aspo_preset=paper", "actor_rollout_ref.actor.policy_loss.dual_clip_c=5",
                         "actor_rollout_ref.actor.policy_loss.negative_dual_clip=hard")
    assert actor.policy_loss.dual_clip_c == 5.0
    assert actor.policy_loss.negative_dual_clip == "hard"


INVALID = [
    ("dual_clip_c", "1.0"),
    ("dual_clip_c", "0.5"),
    ("negative_dual_clip", "medium"),
    ("entropy_quantile", "0.0"),
    ("entropy_quantile", "1.0"),
    ("entropy_quantile", "1.5"),
    ("entropy_quantile_scope", "token"),
    ("high_entropy_clip_ratio_low", "1.0"),
    ("high_entropy_clip_ratio_low", "-0.1"),
    ("high_entropy_clip_ratio_high", "1.2"),
]


@pytest.mark.parametrize("key,value", INVALID)
def test_invalid_value_is_rejected_at_instantiation_naming_the_key(actor_config, key, value):
    with pytest.raises(Exception, match=rf"actor_rollout_ref\.actor\.policy_loss\.{key}"):
        actor_config(f"actor_rollout_ref.actor.policy_loss.{key}={value}")


def test_only_one_high_entropy_eps_set_is_rejected(actor_config):
    with pytest.raises(Exception, match="both set .* or both null"):
        actor_config("actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_high=null")


def test_unknown_policy_loss_key_is_rejected(actor_config):
    with pytest.raises(Exception, match="dual_clip"):
        actor_config("+actor_rollout_ref.actor.policy_loss.dual_clip=3")


def test_direct_instantiation_validates_too():
    with pytest.raises(ValueError, match="policy_loss.dual_clip_c"):
        AspoPolicyLossConfig(dual_clip_c=1)
    assert AspoPolicyLossConfig().uses_entropy


def test_driver_check_fails_early_when_entropy_eps_lacks_calculate_entropy(compose_config):
    with pytest.raises(ValueError, match=r"actor_rollout_ref\.actor\.calculate_entropy"):
        check_config(compose_config("actor_rollout_ref.actor.calculate_entropy=false"))
    check_config(compose_config())
    check_config(compose_config("aspo_preset=paper"))


def test_cfg_job_prints_the_composed_config_on_cpu():
    # one CLI composition, with a preset override; each preset's values are the in-process tests above
    preset, expect_high = "paper", "null"
    proc = subprocess.run(
        [sys.executable, "-m", "archer.launch.main", "--cfg", "job", f"aspo_preset={preset}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    import yaml

    job = yaml.safe_load(proc.stdout)
    pl = job["actor_rollout_ref"]["actor"]["policy_loss"]
    assert pl["_target_"] == "archer.plugin.config.AspoPolicyLossConfig"
    assert pl["loss_mode"] == "aspo"
    assert str(pl["high_entropy_clip_ratio_low"]).lower().replace("none", "null") == expect_high


def test_stock_verl_policy_loss_config_with_loss_mode_aspo_uses_defaults_and_still_checks_entropy(h):
    """A user who only sets loss_mode=aspo on verl's own ppo_trainer gets the documented defaults (with a
    warning naming the missing keys), and the missing-entropy error, not a silent fallback."""
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    from verl.workers.config import FSDPActorConfig, PolicyLossConfig

    config = FSDPActorConfig(
        strategy="fsdp", rollout_n=1, ppo_micro_batch_size_per_gpu=1, policy_loss=PolicyLossConfig(loss_mode="aspo")
    )
    old, new, adv, entropy, mask = h.make_batch(batch=2, length=5)
    with pytest.raises(ValueError, match=r"actor_rollout_ref\.actor\.calculate_entropy"):
        get_policy_loss_fn("aspo")(old, new, adv, mask, "token-mean", config, None)
    loss, _ = get_policy_loss_fn("aspo")(old, new, adv, mask, "token-mean", config, None, entropy=entropy)
    assert torch.isfinite(loss)
