"""The settings the smoke profile changes because it runs on CPU are declared once (archer/smoke/
cpu_settings.py), each with its GPU value and a reason; the launcher applies exactly them, and the GPU
values stated there are the GPU launcher's."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from launcher_support import dry_runs, flatten

from archer.smoke import cpu_settings
from archer.smoke.cpu_settings import ROLLOUTS, SETTINGS, differs_from_gpu_run, for_rollout, shell_lines


def _eval_in_bash(rollout: str, env: dict | None = None) -> dict[str, list[str]]:
    script = "\n".join(shell_lines(rollout)) + '\nprintf "OVR %s\\n" "${SMOKE_CPU_OVERRIDES[@]}"\n' \
        'for n in "${SMOKE_CPU_ENV[@]}"; do printf "ENV %s=%s\\n" "$n" "${!n}"; done\n' \
        'printf "VAR %s\\n" "$SMOKE_HIDDEN_SIZE" "$SMOKE_EVAL_BACKEND"\n'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env=env or {}).stdout
    parsed: dict[str, list[str]] = {"OVR": [], "ENV": [], "VAR": []}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        parsed[kind].append(rest)
    return parsed


def test_every_setting_has_a_reason_and_differs_from_the_gpu_value():
    for s in SETTINGS:
        assert s.why.strip() and (s.smoke or "on") != s.gpu.split(" (")[0], s
        assert set(s.rollouts) <= set(ROLLOUTS), s
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("rollout", ROLLOUTS)
def test_bash_gets_exactly_the_table(rollout):
    got = _eval_in_bash(rollout)
    table = for_rollout(rollout)
    assert got["OVR"] == [f"{s.key}={s.smoke}" for s in table if not s.is_env and not s.is_eval]
    assert got["ENV"] == [f"{s.name}={s.smoke}" for s in table if s.is_env]
    assert got["VAR"] == [str(cpu_settings.HIDDEN_SIZE[rollout]), cpu_settings.EVAL_BACKEND[rollout]]
    assert set(differs_from_gpu_run(rollout)) == {s.summary_key for s in table}


def test_eval_gets_the_cpu_forced_options():
    from archer.smoke.pipeline import eval_backend_args

    assert eval_backend_args("cpu_transformers", 64) == ["--backend", "transformers", "--device", "cpu",
                                                         "--dtype", "float32"]
    assert eval_backend_args("vllm", 64) == ["--backend", "vllm", "--dtype", "float32", "--enforce-eager",
                                             "--max-model-len", "64"]


def test_user_value_wins_only_where_the_table_allows_it():
    got = _eval_in_bash("vllm", {"VLLM_CPU_KVCACHE_SPACE": "3", "VERL_PLATFORM": "cuda"})
    env = dict(line.split("=", 1) for line in got["ENV"])
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "3"  # user_wins
    assert env["VERL_PLATFORM"] == "cpu"  # forced: the smoke backend needs it


def test_vllm_rehearsal_uses_the_gpu_rollout_and_the_default_does_not():
    assert differs_from_gpu_run("cpu_transformers")["actor_rollout_ref.rollout.name"]["gpu"] == "vllm"
    assert "actor_rollout_ref.rollout.name" not in differs_from_gpu_run("vllm")
    assert cpu_settings.HIDDEN_SIZE["vllm"] // 4 >= 32  # vLLM's CPU attention: head size >= 32 (4 heads)


@pytest.mark.slow
def test_gpu_values_are_the_gpu_launchers():
    """Each hydra setting's GPU value is what the GPU launcher's --dry-run resolves (or, where the key is
    absent there, the table says verl's default applies)."""
    done = dry_runs({"gpu": ("run_aspo_math.sh", {})})["gpu"]
    assert done.returncode == 0, done.stderr[-2000:]
    config = flatten(yaml.safe_load(done.stdout))
    for s in SETTINGS:
        if s.is_env or s.is_eval:
            continue
        gpu_value = s.gpu.split(" (")[0]
        if s.name in config:
            assert str(config[s.name]).lower() == gpu_value.lower(), (s.name, config[s.name], s.gpu)
        else:
            assert "verl default" in s.gpu, f"{s.name} is not in the GPU config; say where {s.gpu!r} comes from"
