"""Rule family "settings": each declared setting alone (archer/launch/settings.py) -- its type, range or
choices -- in both places it is checked: an environment variable's text before anything is set up
(``check_text``, through ``resolve.environment_problems``), and a composed config's value
(``check_settings``, so a hydra override of the key is checked the same way). One passing and one failing
case per declared setting, generated from its declaration; then the same mistakes through the whole dry run,
reported together, each naming the variable and what is allowed."""

from __future__ import annotations

import pytest

from archer.launch import resolve, settings
from archer.launch.settings import CONFIG_KINDS, SETTINGS, VARIABLES, check_setting, check_settings, check_text, keys_of
from rules_support import base, config, line_naming, problem_lines, world

TEXT_KINDS = ("int", "float", "bool", "switch", "choice", "choices")


def _num_text(s, value):
    return str(int(value)) if s.kind == "int" else repr(float(value))


def good_and_bad_text(s) -> tuple[str, list[str]]:
    """An accepted text for the setting and the texts it must reject."""
    if s.kind == "bool":
        return "False", ["yes", "1"]
    if s.kind == "switch":
        return "0", ["2", "on"]
    if s.kind == "choice":
        return settings._choices(s)[0], ["no-such-choice"]
    if s.kind == "choices":
        return f"[{settings._choices(s)[0]}]", [f"[{settings._choices(s)[0]},no-such-choice]"]
    bad = ["abc", "1.5"] if s.kind == "int" else ["abc", "1e-6x"]
    if s.low is not None:
        below = min([s.low, *s.also]) - 1 if not s.low_open else s.low
        if below not in s.also:
            bad.append(_num_text(s, below))
    if s.high is not None:
        bad.append(_num_text(s, s.high if s.high_open else s.high + 1))
    if isinstance(s.default, str):
        good = s.default
    elif s.low is not None:
        good = _num_text(s, s.low + 1 if s.high is None else (s.low + s.high) / 2 if s.kind == "float" else s.high)
    else:
        good = "1"
    return good, bad


@pytest.mark.parametrize("s", [s for s in VARIABLES if s.kind in TEXT_KINDS], ids=lambda s: s.var)
def test_each_variable_accepts_a_good_text_and_names_a_bad_one(s):
    good, bad = good_and_bad_text(s)
    assert check_text(s, good) is None, (good, check_text(s, good))
    assert resolve.environment_problems({s.var: good}, smoke=False) == []
    for text in bad:
        problem = check_text(s, text)
        assert problem and problem.startswith(f"{s.var}=") and "see docs/" in problem, (text, problem)
        assert resolve.environment_problems({s.var: text}, smoke=False) == [problem]


def good_and_bad_value(s) -> tuple[object, list[object]]:
    """An accepted config value for the setting and the values it must reject."""
    if s.kind == "bool":
        return True, ["yes", 1]
    if s.kind == "choice":
        return settings._choices(s)[0], ["no-such-choice"]
    if s.kind == "choices":
        return [settings._choices(s)[0]], [[settings._choices(s)[0], "no-such-choice"]]
    good_text, bad_texts = good_and_bad_text(s)
    convert = int if s.kind == "int" else float
    bad: list[object] = ["abc", True]
    bad += [convert(t) for t in bad_texts if t not in ("abc", "1.5", "1e-6x")]
    if s.kind == "int":
        bad.append(1.5)
    return convert(good_text), bad


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.kind in CONFIG_KINDS and s.key and not s.group],
                         ids=lambda s: s.var or s.key)
def test_each_config_key_accepts_a_good_value_and_names_a_bad_one(s):
    good, bad = good_and_bad_value(s)
    for key in keys_of(s):
        assert check_setting(s, good, key) is None
        extra = {"model_engine": "megatron"} if s.engine == "megatron" else {}
        assert check_settings(config({key: good, **extra})) == []
        for value in bad:
            problem = check_setting(s, value, key)
            assert problem and key in (problem if key != s.key else s.name()) and "use " in problem, (value, problem)
            assert check_settings(config({key: value, **extra})) == [problem]


def test_megatron_keys_are_not_checked_without_the_megatron_engine():
    s = settings.BY_VAR["TRAIN_TP"]
    assert check_settings(config({s.key: 0})) == []
    assert check_settings(config({s.key: 0, "model_engine": "megatron"}))


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


OUT_OF_RANGE = [
    ("actor_rollout_ref.actor.clip_ratio_high=1.5", "clip_ratio_high=1.5"),
    ("actor_rollout_ref.actor.clip_ratio_low=-0.1", "clip_ratio_low=-0.1"),
    ("actor_rollout_ref.actor.kl_loss_coef=-0.001", "KL_LOSS_COEF"),
    ("actor_rollout_ref.rollout.gpu_memory_utilization=0", "ROLLOUT_GPU_MEMORY_UTILIZATION"),
    ("actor_rollout_ref.rollout.top_p=0", "TOP_P"),
    ("actor_rollout_ref.actor.optim.clip_grad=0", "GRAD_CLIP"),
    ("actor_rollout_ref.actor.ppo_epochs=0", "PPO_EPOCHS"),
    ("actor_rollout_ref.rollout.temperature=0", "TEMPERATURE (actor_rollout_ref.rollout.temperature)"),
]


def test_out_of_range_values_are_reported_together_each_naming_the_variable_and_the_range(w):
    from rules_support import rejected

    message = rejected(w, *(override for override, _ in OUT_OF_RANGE))
    for _, named in OUT_OF_RANGE:
        line = line_naming(message, named)
        assert "range" in line or "use a number" in line, line
    # the upper bound too (one key cannot take two values in one run)
    line = line_naming(rejected(w, "actor_rollout_ref.rollout.gpu_memory_utilization=1.2"),
                       "ROLLOUT_GPU_MEMORY_UTILIZATION")
    assert "range" in line, line


TYPOS = [
    ("algorithm.adv_estimator=grop", "ADV_ESTIMATOR", "grpo"),
    ("actor_rollout_ref.actor.kl_loss_type=low_var", "KL_LOSS_TYPE", "low_var_kl"),
    ("trainer.resume_mode=autoo", "RESUME_MODE", "resume_path"),
    ("trainer.logger=[console,wanb]", "LOGGER", "wandb"),
    ("actor_rollout_ref.actor.loss_agg_mode=token_mean", "LOSS_AGG_MODE", "token-mean"),
]


def test_typos_in_fixed_choices_are_reported_together_each_listing_the_valid_ones(w):
    from rules_support import rejected

    message = rejected(w, *(override for override, _, _ in TYPOS))
    for _, named, choice in TYPOS:
        assert choice in line_naming(message, named)
    assert len(problem_lines(message)) >= len(TYPOS)


def test_the_base_of_the_dry_run_cases_passes(w):
    from archer.launch import dry_run

    dry_run.run(base(w), task="math")


def test_a_config_group_choice_is_checked_by_hydra_at_composition(tmp_path):
    """ASPO_PRESET's key is hydra's config group aspo_preset: an unknown choice stops composition, naming the
    valid ones (check_settings does not see group choices in a composed config)."""
    from hydra.errors import HydraException

    from archer.launch import dry_run

    dry_run.compose_config(["aspo_preset=paper"])
    with pytest.raises(HydraException, match="archer2"):
        dry_run.compose_config(["aspo_preset=papr"])
