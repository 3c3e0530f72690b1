"""A value whose type does not fit verl's (or archer's) config field is rejected by the dry run and by
the entry point's driver check, naming the key: OmegaConf keeps ``n=abc`` as a string and verl's
dataclasses would carry it into the trainer."""

from __future__ import annotations

import pytest

from archer.launch.config_checks import ConfigError, check_value_types
from archer.launch.dry_run import DryRunError, compose_config, validate_with_verl


@pytest.fixture(scope="module")
def defaults():
    return compose_config([])


@pytest.mark.parametrize(
    "override, message",
    [
        ("actor_rollout_ref.rollout.n=abc", "actor_rollout_ref.rollout.n='abc' must be an integer"),  # dataclass field
        ("actor_rollout_ref.actor.optim.lr=abc", "actor_rollout_ref.actor.optim.lr='abc' must be a number"),
        ("actor_rollout_ref.actor.ppo_epochs=1.5", "actor_rollout_ref.actor.ppo_epochs=1.5 must be an integer"),
        ("data.max_response_length=32k", "data.max_response_length='32k' must be a number"),  # no dataclass: default's type
        ("actor_rollout_ref.actor.policy_loss.dual_clip_c=three", "policy_loss.dual_clip_c='three' must be a number"),  # archer's field
        ("actor_rollout_ref.actor.use_kl_loss=maybe", "actor_rollout_ref.actor.use_kl_loss='maybe' must be true/false"),
    ],
)
def test_wrong_type_is_rejected_naming_the_key(defaults, override, message):
    with pytest.raises(ConfigError) as err:
        check_value_types(compose_config([override]), defaults)
    assert message in str(err.value)


def test_an_interpolated_copy_is_not_reported_twice(defaults):
    with pytest.raises(ConfigError) as err:
        check_value_types(compose_config(["actor_rollout_ref.rollout.n=abc"]), defaults)
    assert "rollout_n" not in str(err.value)  # actor.rollout_n interpolates rollout.n


def test_valid_numbers_of_either_kind_pass(defaults):
    check_value_types(
        compose_config(["actor_rollout_ref.actor.entropy_coeff=0.001", "actor_rollout_ref.actor.optim.lr=1"]), defaults
    )


def test_the_dry_run_reports_it_as_archer_s_check():
    with pytest.raises(DryRunError, match=r"actor_rollout_ref\.rollout\.n='abc'") as err:
        validate_with_verl(compose_config(["actor_rollout_ref.rollout.n=abc"]))
    assert "verl rejected" not in str(err.value)
