"""A misspelt ``policy_loss.loss_mode`` fails in the dry run (verl would reject it only at the first actor
update), and the message lists the registered modes, archer's ``aspo`` among them."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT


def test_unregistered_loss_mode_fails_the_dry_run_listing_the_registered_modes():
    proc = subprocess.run(
        [sys.executable, "-m", "archer.launch.dry_run", "actor_rollout_ref.actor.policy_loss.loss_mode=aspoo"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]  # bad input (archer/cli.py)
    assert "actor_rollout_ref.actor.policy_loss.loss_mode='aspoo' is not a registered policy loss" in proc.stderr
    assert "aspo, " in proc.stderr and "vanilla" in proc.stderr
    assert "verl rejected" not in proc.stderr  # archer's own check says so as archer's
    assert proc.stdout == ""


def test_driver_check_rejects_it_before_ray(compose_config):
    import pytest

    from archer.launch.config_checks import ConfigError
    from archer.launch.main import check_config

    with pytest.raises(ConfigError, match="registered: .*aspo"):
        check_config(compose_config("actor_rollout_ref.actor.policy_loss.loss_mode=grpoo"))
    check_config(compose_config("actor_rollout_ref.actor.policy_loss.loss_mode=vanilla"))
