"""Rule family "engine layout" (archer.launch.resolve.problems and environment_problems): the resolved values
fit the chosen training engine -- Megatron's settings need ENGINE=megatron, FSDP's Ulysses SP_SIZE is not
Megatron's -- and --smoke refuses what it cannot run (a model preset, the Megatron engine, another rollout
engine). Each rule with a passing and a failing case. The Megatron parallel layout of a composed config
(sizes tile the GPUs, experts divide): tests/test_dry_run_rejects_bad_megatron_layout.py."""

from __future__ import annotations

import pytest

from archer.launch import resolve
from archer.launch.settings import BY_VAR
from launcher_support import dry, smoke_launch

# a value other than the default for each Megatron-only variable
MEGATRON_VALUES = {"TRAIN_TP": "2", "TRAIN_PP": "2", "TRAIN_CP": "2", "TRAIN_EP": "8", "TRAIN_ETP": "2",
                   "MOE_ROUTER_DTYPE": "fp32", "OPTIMIZER_CPU_OFFLOAD": "True", "RECOMPUTE": "full"}


def problems(env: dict) -> list[str]:
    return resolve.problems(resolve.resolve("math", env, repo="/repo"))


def test_megatron_values_are_declared_for_every_megatron_only_variable():
    assert set(MEGATRON_VALUES) == set(resolve.MEGATRON_ONLY)


@pytest.mark.parametrize("var", sorted(MEGATRON_VALUES))
def test_a_megatron_setting_needs_engine_megatron(var):
    assert problems({var: MEGATRON_VALUES[var], "ENGINE": "megatron"}) == []
    if BY_VAR[var].default is not None:
        assert problems({var: BY_VAR[var].default}) == []  # the default is no choice: fine with FSDP
    assert problems({var: MEGATRON_VALUES[var]}) == [
        f"{var}={MEGATRON_VALUES[var]} is a Megatron setting: set ENGINE=megatron too (ENGINE=fsdp shards with FSDP "
        "and SP_SIZE)"]


def test_sp_size_is_fsdps_not_megatrons():
    assert problems({"SP_SIZE": "2"}) == []
    assert problems({"MODEL": "qwen3-30b-a3b", "SP_SIZE": "1"}) == []
    (problem,) = problems({"MODEL": "qwen3-30b-a3b", "SP_SIZE": "2"})
    assert problem.startswith("SP_SIZE=2 is FSDP's Ulysses sequence parallelism") and "TRAIN_CP" in problem


def test_a_preset_that_sets_both_engines_values_is_caught_too():
    found = problems({"MODEL": "qwen3-30b-a3b", "ENGINE": "fsdp"})  # the preset's Megatron values, FSDP asked
    assert found and all("is a Megatron setting" in problem for problem in found)
    assert any(problem.startswith("TRAIN_EP=8 ") for problem in found)


def test_the_engine_is_fsdp_or_megatron():
    assert resolve.environment_problems({"ENGINE": "megatron"}, smoke=False) == []
    (problem,) = resolve.environment_problems({"ENGINE": "deepspeed"}, smoke=False)
    assert problem.startswith("ENGINE=deepspeed: deepspeed not allowed; use one of fsdp, megatron")


@pytest.mark.parametrize("env, message", [
    ({"TRAIN_EP": "8"}, "TRAIN_EP=8 is a Megatron setting: set ENGINE=megatron too"),
    ({"MODEL": "qwen3-30b-a3b", "SP_SIZE": "2"}, "SP_SIZE=2 is FSDP's Ulysses sequence parallelism"),
    ({"ENGINE": "deepspeed"}, "ENGINE=deepspeed: deepspeed not allowed"),
])
def test_the_launchers_dry_run_stops_before_composing(env, message):
    done = dry("math", env)
    assert done.exit_code == 2 and done.config is None and message in done.problems


SMOKE_REFUSALS = [
    ("MODEL", "qwen3-30b-a3b", "r1-distill-qwen-1.5b", "unset MODEL"),
    ("ENGINE", "megatron", "fsdp", "unset ENGINE"),
    ("ROLLOUT_ENGINE", "vllm", "cpu_transformers", "SMOKE_ROLLOUT"),
]


@pytest.mark.parametrize("var, refused, accepted, says", SMOKE_REFUSALS)
def test_smoke_refuses_what_it_cannot_run(var, refused, accepted, says):
    assert resolve.environment_problems({var: accepted}, smoke=True) == []
    assert resolve.environment_problems({var: refused}, smoke=False) == []  # a GPU run takes it
    (problem,) = resolve.environment_problems({var: refused}, smoke=True)
    assert problem.startswith(f"{var}={refused}: --smoke") and says in problem


def test_smoke_takes_the_rollout_engine_smoke_rollout_picks():
    assert resolve.environment_problems({"ROLLOUT_ENGINE": "vllm", "SMOKE_ROLLOUT": "vllm"}, smoke=True) == []


@pytest.mark.parametrize("env", [{"MODEL": "qwen3-30b-a3b"}, {"ENGINE": "megatron"}])
def test_the_smoke_launch_stops_on_them_before_anything_starts(env, tmp_path):
    with pytest.raises(resolve.LaunchError) as stopped:
        smoke_launch("math", env, tmp=tmp_path)
    assert stopped.value.exit_code == 2
    assert "--smoke" in str(stopped.value) and ("unset MODEL" in str(stopped.value) or "unset ENGINE" in str(stopped.value))
