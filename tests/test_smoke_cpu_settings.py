"""The settings the smoke profile changes because it runs on CPU are declared once (archer/smoke/
cpu_settings.py), each with its GPU value and a reason; the launcher's --smoke (archer.launch.run) applies
exactly them, and the GPU values stated there are the GPU launcher's. In-process (launcher_support.smoke_launch
and launcher_support.dry_config)."""

from __future__ import annotations

import pytest

from archer.smoke import cpu_settings
from archer.smoke.cpu_settings import ROLLOUTS, SETTINGS, differs_from_gpu_run, for_rollout
from launcher_support import dry_config, flatten, smoke_launch

ENV_NAMES = {s.name for s in SETTINGS if s.is_env}


def test_every_setting_has_a_reason_and_differs_from_the_gpu_value():
    for s in SETTINGS:
        assert s.why.strip() and (s.smoke or "on") != s.gpu.split(" (")[0], s
        assert set(s.rollouts) <= set(ROLLOUTS), s
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("rollout", ROLLOUTS)
def test_the_smoke_launch_applies_exactly_the_table(rollout, tmp_path):
    launched = smoke_launch("math", {"SMOKE_ROLLOUT": rollout}, tmp=tmp_path)
    table = for_rollout(rollout)
    # the table's hydra overrides, in its order, one block after the launcher's own (the user's come later)
    expected = [f"{s.key}={s.smoke}" for s in table if not s.is_env and not s.is_eval]
    start = launched.overrides.index(expected[0])
    assert launched.overrides[start:start + len(expected)] == expected
    # its environment settings, and no other rollout's: in the launcher's environment and handed to Ray
    assert {n for n in ENV_NAMES if n in launched.environ} == {s.name for s in table if s.is_env}
    for s in table:
        if s.is_env:
            assert launched.environ[s.name] == s.smoke, s
            assert f"++ray_kwargs.ray_init.runtime_env.env_vars.{s.name}='{s.smoke}'" in launched.overrides
    assert launched.asset_settings.hidden_size == cpu_settings.HIDDEN_SIZE[rollout]
    assert set(differs_from_gpu_run(rollout)) == {s.summary_key for s in table}


def test_eval_gets_the_cpu_forced_options():
    from archer.smoke.pipeline import eval_backend_args

    assert eval_backend_args("cpu_transformers", 64) == ["--backend", "transformers", "--device", "cpu",
                                                         "--dtype", "float32"]
    assert eval_backend_args("vllm", 64) == ["--backend", "vllm", "--dtype", "float32", "--enforce-eager",
                                             "--max-model-len", "64"]
    for rollout in ROLLOUTS:
        assert eval_backend_args(rollout, 64)[:2] == ["--backend", cpu_settings.EVAL_BACKEND[rollout]]


def test_user_value_wins_only_where_the_table_allows_it(tmp_path):
    launched = smoke_launch("math", {"SMOKE_ROLLOUT": "vllm", "VLLM_CPU_KVCACHE_SPACE": "3", "VERL_PLATFORM": "cuda"},
                            tmp=tmp_path)
    assert launched.environ["VLLM_CPU_KVCACHE_SPACE"] == "3"  # user_wins
    assert launched.environ["VERL_PLATFORM"] == "cpu"  # forced: the smoke backend needs it


def test_vllm_rehearsal_uses_the_gpu_rollout_and_the_default_does_not():
    assert differs_from_gpu_run("cpu_transformers")["actor_rollout_ref.rollout.name"]["gpu"] == "vllm"
    assert "actor_rollout_ref.rollout.name" not in differs_from_gpu_run("vllm")
    assert cpu_settings.HIDDEN_SIZE["vllm"] // 4 >= 32  # vLLM's CPU attention: head size >= 32 (4 heads)


def test_gpu_values_are_the_gpu_launchers():
    """Each hydra setting's GPU value is what the GPU launcher's --dry-run resolves (or, where the key is
    absent there, the table says verl's default applies)."""
    config = flatten(dry_config("math"))
    for s in SETTINGS:
        if s.is_env or s.is_eval:
            continue
        gpu_value = s.gpu.split(" (")[0]
        if s.name in config:
            assert str(config[s.name]).lower() == gpu_value.lower(), (s.name, config[s.name], s.gpu)
        else:
            assert "verl default" in s.gpu, f"{s.name} is not in the GPU config; say where {s.gpu!r} comes from"
