"""The launcher's declarations (archer/launch/settings.py, archer/launch/presets.py) agree with themselves:
every default, per-task, --smoke and preset value passes its own setting's check (no false rejection);
every preset x task x loss resolves with no problem and composes through the whole dry run; and
``resolve.overrides`` sets every hydra key a variable declares, to the variable's value (nothing silently
dropped)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from archer.launch import presets, resolve
from archer.launch.dry_run import compose_config
from archer.launch.settings import BY_VAR, VARIABLES, _choices, check_text, declared_texts, declared_values, keys_of
from launcher_support import dry_config, get

SMOKE_FACTS = {"_smoke_model": "/assets/model", "_smoke_data_dir": "/assets/data",
               "_smoke_train_file": "/assets/data/train.parquet", "_smoke_prompt_length": "64",
               "_smoke_response_length": "72"}


def test_every_declared_value_passes_its_own_check():
    for s in VARIABLES:
        for value in declared_texts(s):
            assert check_text(s, value) is None, (s.var, value, check_text(s, value))
        if s.kind in ("choice", "choices"):  # check_text takes these on trust: here they meet the registry
            assert declared_values(s) <= set(_choices(s)), (s.var, declared_values(s) - set(_choices(s)))
    for preset in presets.PRESETS.values():
        for var, value in preset.values.items():
            assert var in BY_VAR, f"preset {preset.name} sets {var}, which is not a declared setting"
            assert check_text(BY_VAR[var], value) is None, (preset.name, var, value)


@pytest.mark.parametrize("task", resolve.TASKS)
@pytest.mark.parametrize("model", sorted(presets.PRESETS))
def test_every_preset_resolves_with_no_problem_derived_defaults_included(task, model):
    values = resolve.resolve(task, {"MODEL": model}, repo="/repo")
    assert resolve.problems(values) == []
    assert values["MODEL_PATH"] == presets.PRESETS[model].values["MODEL_PATH"]


@pytest.mark.parametrize("task", resolve.TASKS)
def test_the_smoke_profile_resolves_with_no_problem(task):
    values = resolve.resolve(task, {}, repo="/repo", smoke=True, smoke_facts=SMOKE_FACTS)
    assert resolve.problems(values) == []
    assert values["MODEL_PATH"] == "/assets/model" and values["MAX_RESPONSE_LENGTH"] == "72"


@pytest.mark.parametrize("loss", ["aspo", "vanilla"])
@pytest.mark.parametrize("task", resolve.TASKS)
@pytest.mark.parametrize("model", sorted(presets.PRESETS))
def test_every_preset_task_and_loss_composes_through_the_dry_run(model, task, loss):
    env = {"MODEL": model} if model != presets.DEFAULT else {}
    if loss != "aspo":
        env["LOSS_MODE"] = loss
    config = dry_config(task, env)  # launcher_support.dry: the launcher's --dry-run, in-process
    assert get(config, "actor_rollout_ref.actor.policy_loss.loss_mode") == loss
    assert get(config, "actor_rollout_ref.model.path") == presets.PRESETS[model].values["MODEL_PATH"]
    kind = "grpo" if loss == "vanilla" else "aspo"
    assert get(config, "trainer.experiment_name") == f"{kind}-{model}-{task}"


# resolutions that, together, give every variable with a hydra key a value the overrides must carry
RESOLUTIONS = {
    "math, default": ("math", {}, False),
    "code, megatron preset": ("code", {"MODEL": "qwen3-30b-a3b"}, False),
    "math, sdpa, a resume path, the paper preset": ("math", {"FLASH_ATTN": "0", "RESUME_FROM_PATH": "/runs/x/global_step_3",
                                                  "ASPO_PRESET": "paper"}, False),
    "math, --smoke": ("math", {}, True),
}


def expected_value(values: resolve.Values, var: str, text: str):
    """The value the composed config must hold for the variable's resolved ``text``."""
    s = BY_VAR[var]
    if var == "TRAIN_FILE":
        return [text]
    if var == "VAL_SETS":
        return [f"{values['EVAL_DIR']}/{name}.parquet" for name in text.split()]
    if s.kind == "int":
        return int(text)
    if s.kind == "float":
        return float(text)
    if s.kind == "bool":
        return text.lower() == "true"
    if s.kind == "choices":
        return [v.strip() for v in text.strip("[]").split(",")]
    return text


def test_overrides_set_every_declared_key_to_the_variables_value():
    checked = set()
    for name, (task, env, smoke) in RESOLUTIONS.items():
        values = resolve.resolve(task, env, repo="/repo", smoke=smoke, smoke_facts=SMOKE_FACTS if smoke else None)
        assert resolve.problems(values) == [], name
        overrides = resolve.overrides(values)
        composed = OmegaConf.to_container(compose_config(overrides), resolve=True)
        for s in VARIABLES:
            text = values[s.var]
            if not keys_of(s) or text is None or (s.engine and s.engine != values["ENGINE"]):
                continue
            if s.var.startswith("SMOKE_") and not smoke:
                continue
            if s.var == "ASPO_PRESET":  # a config group of aspo_trainer.yaml: chosen, not a key of the result
                assert f"aspo_preset={text}" in overrides, name
                uniform = get(composed, "actor_rollout_ref.actor.policy_loss.high_entropy_clip_ratio_low") is None
                assert uniform == (text == "paper"), name
                checked.add(s.var)
                continue
            for key in keys_of(s):
                assert get(composed, key) == expected_value(values, s.var, text), (name, s.var, key, text)
            checked.add(s.var)
    assert checked == {s.var for s in VARIABLES if keys_of(s)}, "never checked: " + ", ".join(
        sorted({s.var for s in VARIABLES if keys_of(s)} - checked))
