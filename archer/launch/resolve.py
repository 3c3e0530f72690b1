"""The launcher's values and hydra overrides, derived from the declarations of archer/launch/settings.py.

Each variable is resolved once, lazily, in this order: the environment (a non-empty value), then the --smoke
profile's default, then the model preset's (archer/launch/presets.py), then the task's, then the setting's
default (a string, or a function of the other resolved values). :func:`problems` checks the resolved values
(each one's type and range, the engine rules, what --smoke cannot run) and :func:`overrides` turns them into
the hydra overrides of ``python -m archer.launch.main``; the user's own overrides come after them and win.

Standard library only: the launcher resolves and checks everything before any virtual environment exists.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from archer.cli import CliError
from archer.launch import presets
from archer.launch.settings import BY_VAR, VARIABLES, M, Setting, check_text, keys_of

TASKS = ("math", "code")
# what the launcher knows besides the environment: "_task", "_repo", "_wandb" (wandb is configured) and, for
# --smoke, the assets' "_smoke_model", "_smoke_data_dir", "_smoke_train_file", "_smoke_prompt_length",
# "_smoke_response_length" (archer.smoke.assets)
FACTS = ("_task", "_repo", "_wandb", "_smoke_model", "_smoke_data_dir", "_smoke_train_file",
         "_smoke_prompt_length", "_smoke_response_length")
MEGATRON_ONLY = tuple(s.var for s in VARIABLES if s.engine == "megatron") + ("OPTIMIZER_CPU_OFFLOAD", "RECOMPUTE")


class LaunchError(CliError):
    """Bad launcher input (a setting, a flag): exit 2, nothing was started."""


class Values(dict):
    """The resolved values: ``values[VAR]`` is the variable's value (a string) or None (unset)."""

    def __init__(self, env: Mapping[str, str], facts: Mapping[str, object], smoke: bool):
        super().__init__(facts)
        self.env, self.smoke, self._busy = env, smoke, set()

    def __missing__(self, var: str) -> Optional[str]:
        setting = BY_VAR.get(var)
        if setting is None:
            raise KeyError(f"{var} is not a declared launcher setting (archer/launch/settings.py)")
        if var in self._busy:
            raise RuntimeError(f"the defaults of {var} depend on themselves (archer/launch/settings.py)")
        self._busy.add(var)
        try:
            value = self._resolve(setting)
        finally:
            self._busy.discard(var)
        self[var] = value
        return value

    def _resolve(self, s: Setting) -> Optional[str]:
        if self.env.get(s.var, "") != "":
            return self.env[s.var]
        if self.smoke and s.smoke is not None:
            return s.smoke(self) if callable(s.smoke) else s.smoke
        if s.var != "MODEL":
            preset = presets.PRESETS.get(self["MODEL"])
            if preset is not None and s.var in preset.values:
                return preset.values[s.var]
        if self["_task"] in s.task:
            return s.task[self["_task"]]
        return s.default(self) if callable(s.default) else s.default

    def source(self, var: str) -> str:
        """Where ``var``'s value came from, for messages."""
        s = BY_VAR[var]
        if self.env.get(var, "") != "":
            return "environment"
        if self.smoke and s.smoke is not None:
            return "--smoke profile"
        preset = presets.PRESETS.get(self["MODEL"])
        if var != "MODEL" and preset is not None and var in preset.values:
            return f"MODEL={self['MODEL']} preset"
        if self["_task"] in s.task:
            return f"{self['_task']} task default"
        return "default"


def resolve(task: str, env: Mapping[str, str], *, repo: str, smoke: bool = False,
            smoke_facts: Optional[Mapping[str, object]] = None) -> Values:
    if task not in TASKS:
        raise LaunchError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    facts = {"_task": task, "_repo": repo, "_wandb": bool(env.get("WANDB_API_KEY") or env.get("WANDB_MODE"))}
    facts.update(smoke_facts or {})
    values = Values(env, facts, smoke)
    for s in VARIABLES:
        values[s.var]  # noqa: B018  (resolve every variable now: a bad default fails here, not later)
    return values


def environment_problems(env: Mapping[str, str], *, smoke: bool) -> list[str]:
    """What is wrong with the environment alone (checked before any set-up): each declared variable's text,
    and the variables --smoke cannot honour."""
    from archer.launch.settings import check_environment

    problems = check_environment(env)
    if smoke:
        model = env.get("MODEL", "")
        if model and model != presets.DEFAULT:
            problems.append(f"MODEL={model}: --smoke trains its own tiny model on CPU with the FSDP engine; unset "
                            "MODEL (check a preset with --dry-run instead)")
        engine = env.get("ENGINE", "")
        if engine and engine != "fsdp":
            problems.append(f"ENGINE={engine}: --smoke runs verl's FSDP engine on CPU; unset ENGINE (the Megatron "
                            "engine's CPU check is tests/test_aspo_megatron_moe_ep2_matches_fsdp.py)")
        rollout, smoke_rollout = env.get("ROLLOUT_ENGINE", ""), env.get("SMOKE_ROLLOUT", "") or "cpu_transformers"
        if rollout and rollout != smoke_rollout:
            problems.append(f"ROLLOUT_ENGINE={rollout}: --smoke picks the rollout with SMOKE_ROLLOUT "
                            "(cpu_transformers or vllm)")
    return problems


def problems(values: Values) -> list[str]:
    """What is wrong with the resolved values: each one's type and range (a preset's or a derived default is
    checked as an environment variable is), and the engine rules."""
    found = []
    for s in VARIABLES:
        value = values[s.var]
        if value is not None and values.env.get(s.var, "") == "":  # the environment's were checked first
            problem = check_text(s, value)
            if problem:
                found.append(f"{problem} (from the {values.source(s.var)})")
    if values["RESUME_FROM_PATH"] and values["RESUME_MODE"] != "resume_path":
        found.append(f"RESUME_FROM_PATH={values['RESUME_FROM_PATH']} with RESUME_MODE={values['RESUME_MODE']}: a resume "
                     "path is read only with RESUME_MODE=resume_path (its default when RESUME_FROM_PATH is set); unset "
                     "one of them")
    if values["ENGINE"] == "fsdp":
        for var in MEGATRON_ONLY:
            default = BY_VAR[var].default
            if values[var] is not None and values[var] != default:
                found.append(f"{var}={values[var]} is a Megatron setting: set ENGINE=megatron too (ENGINE=fsdp "
                             "shards with FSDP and SP_SIZE)")
    elif values["SP_SIZE"] != "1":
        found.append(f"SP_SIZE={values['SP_SIZE']} is FSDP's Ulysses sequence parallelism; with ENGINE=megatron "
                     "use TRAIN_CP (context parallelism)")
    return found


def hydra_list(items: Sequence[str]) -> str:
    """A hydra list of single-quoted strings: ['a','b']."""
    return "[" + ",".join(f"'{item}'" for item in items) + "]"


def ray_env(env: Mapping[str, str]) -> list[str]:
    """``++ray_kwargs.ray_init.runtime_env.env_vars.NAME='value'`` for each variable: quoted, so that hydra keeps
    every value a string (an unquoted 1 becomes an int, and Ray rejects env_vars that are not Dict[str, str])."""
    out = []
    for name, value in env.items():
        escaped = value.replace("'", "\\'")
        out.append(f"++ray_kwargs.ray_init.runtime_env.env_vars.{name}='{escaped}'")
    return out


# the keys every run sets to one value (not settings: the launcher's contract with archer's data and reward)
FIXED = (
    "data.prompt_key=prompt",
    "data.truncation=error",
    "actor_rollout_ref.model.use_remove_padding=True",
    "actor_rollout_ref.rollout.val_kwargs.do_sample=True",
    "reward.custom_reward_function.path=pkg://archer.reward",
    "reward.custom_reward_function.name=compute_score",
    # [verl] the DAPO reward manager reads reward.reward_kwargs (not in verl's schema, hence ++)
    "++reward.reward_kwargs.max_resp_len=${data.max_response_length}",
)
# vars whose keys overrides() writes itself
_SPECIAL = {"TRAIN_FILE", "VAL_SETS", "ATTN_IMPLEMENTATION", "OFFLOAD"}


def overrides(values: Values) -> list[str]:
    """The hydra overrides of the resolved values (the --smoke profile's own CPU keys: archer.launch.run)."""
    out = []
    engine = values["ENGINE"]
    if engine == "megatron":
        out.append("model_engine=megatron")
    for s in VARIABLES:
        value = values[s.var]
        if not s.key or value is None or s.var in _SPECIAL:
            continue
        if s.engine and s.engine != engine:
            continue
        if s.var.startswith("SMOKE_") and not values.smoke:
            continue
        out += [f"{'++' if s.plus else ''}{key}={value}" for key in keys_of(s)]
    val_files = [f"{values['EVAL_DIR']}/{name}.parquet" for name in (values["VAL_SETS"] or "").split()]
    out += [f"data.train_files={hydra_list([values['TRAIN_FILE']])}", f"data.val_files={hydra_list(val_files)}"]
    out += list(FIXED)
    out.append(f"trainer.validation_data_dir={values['CKPT_DIR']}/val_generations")
    # verl's tracking reads TENSORBOARD_DIR in the Ray trainer process: hand it over through the job's env
    out += ray_env({"TENSORBOARD_DIR": values["TENSORBOARD_DIR"]})
    out += _engine_overrides(values)
    # [verl] HFModelConfig reads override_config.attn_implementation (default flash_attention_2); the smoke
    # profile's CPU settings set sdpa themselves
    if values["ATTN_IMPLEMENTATION"] and not values.smoke:
        out.append(f"++{BY_VAR['ATTN_IMPLEMENTATION'].key}={values['ATTN_IMPLEMENTATION']}")
    return out


def _engine_overrides(values: Values) -> list[str]:
    offload = values["OFFLOAD"]
    if values["ENGINE"] == "fsdp":
        # [verl] 0.9.1's FSDP engine clips with actor.optim.clip_grad; actor.grad_clip is kept equal (unread)
        return [f"actor_rollout_ref.actor.grad_clip={values['GRAD_CLIP']}"] + [
            f"{key}={offload}" for key in keys_of(BY_VAR["OFFLOAD"])]
    # the reference model's megatron keys follow the actor's through verl's interpolations
    # (ref.megatron.* = ${oc.select:actor_rollout_ref.actor.megatron.*}). Weights between HF and Megatron
    # through mbridge (verl's legacy bridge): the path archer tests on CPU
    # (tests/test_aspo_megatron_moe_ep2_matches_fsdp.py); Megatron-Bridge needs transformer-engine to install
    out = [f"{M}.param_offload={offload}", f"{M}.optimizer_offload={offload}", f"{M}.use_mbridge=True",
           f"{M}.vanilla_mbridge=True"]
    if values["RECOMPUTE"] == "full":
        t = f"{M}.override_transformer_config"
        out += [f"{t}.recompute_granularity=full", f"{t}.recompute_method=uniform", f"{t}.recompute_num_layers=1"]
    if (values["OPTIMIZER_CPU_OFFLOAD"] or "").lower() == "true":
        # Megatron's hybrid CPU optimizer: the fp32 master weights and Adam states stay in host memory
        o = "actor_rollout_ref.actor.optim.override_optimizer_config"
        out += [f"++{o}.optimizer_cpu_offload=True", f"++{o}.optimizer_offload_fraction=1.0",
                f"++{o}.overlap_cpu_optimizer_d2h_h2d=True", f"++{o}.use_precision_aware_optimizer=True"]
    return out
