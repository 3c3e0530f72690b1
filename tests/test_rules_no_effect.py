"""Rule family "no_effect" (archer.launch.rules.no_effect): a setting the chosen loss ignores, set away from
verl's default, is named with the setting to use instead. Passing and failing cases, then the dry run."""

from __future__ import annotations

import pytest

from archer.launch import rules
from rules_support import config, line_naming, rejected, world

A = "actor_rollout_ref.actor"


@pytest.mark.parametrize("values", [
    {f"{A}.policy_loss.loss_mode": "aspo", f"{A}.clip_ratio_c": 3.0},  # verl's default: not a choice
    {f"{A}.policy_loss.loss_mode": "aspo"},  # unset
    {f"{A}.policy_loss.loss_mode": "vanilla", f"{A}.clip_ratio_c": 10.0},  # verl's dual clip is read
])
def test_clip_ratio_c_passes_where_it_is_read_or_left_alone(values):
    assert rules.no_effect(config(values)) == []


def test_clip_ratio_c_set_under_aspo_names_aspos_dual_clip():
    problems = rules.no_effect(config({f"{A}.policy_loss.loss_mode": "aspo", f"{A}.clip_ratio_c": 10.0,
                                       f"{A}.policy_loss.dual_clip_c": 3.0}))
    assert problems == [f"{A}.clip_ratio_c=10.0 has no effect with loss_mode=aspo; ASPO's dual clip is "
                        f"{A}.policy_loss.dual_clip_c (now 3.0)"]


def test_the_dry_run_names_the_setting_to_use(tmp_path_factory):
    message = rejected(world(tmp_path_factory), "actor_rollout_ref.actor.clip_ratio_c=10")
    assert "policy_loss.dual_clip_c" in line_naming(message, "no effect")
