"""Checks of a composed training config that verl 0.9.1 itself makes only inside a worker, or never.

Each returns nothing or raises :class:`ConfigError` whose message names the key and the fix. They run on
the driver before Ray starts (:func:`archer.launch.main.check_config`) and in the dry run
(:mod:`archer.launch.dry_run`), so a mistake costs seconds on a CPU, not a node's start-up.

* :func:`check_loss_mode` -- verl looks ``policy_loss.loss_mode`` up in ``POLICY_LOSS_REGISTRY`` only in
  ``get_policy_loss_fn`` at the first actor update; here it is looked up after ``import verl`` has loaded
  the plugins, and the error lists the registered modes.
* :func:`check_value_types` -- OmegaConf keeps a command-line ``rollout.n=abc`` as a string and verl's
  config dataclasses do not convert or check field types, so the string reaches the trainer. Every leaf of
  a node that verl builds into a dataclass (a ``_target_`` node) is checked against the field's annotation;
  every other leaf against the type of verl's (or archer's) default value for that key.
* :func:`check_batch_divides_gpus` -- the step's responses split evenly over the data-parallel ranks
  (verl checks it only without dynamic batching);
* :func:`check_megatron_layout` -- with ``model_engine=megatron``, the tensor / pipeline / context and
  expert parallel sizes tile the GPUs (Megatron checks it only when its process groups start, on the nodes);
* :func:`check_experts_divide` -- given the model's HF config, the expert parallel size divides its number
  of experts (Megatron asserts it while building the model, on the nodes);
* :func:`check_aspo_entropy` -- the entropy-dependent eps of ``loss_mode=aspo`` needs
  ``actor.calculate_entropy``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import numbers
import types
import typing
from typing import Any, Iterator, Optional

__all__ = ["ConfigError", "check_loss_mode", "check_value_types", "check_aspo_entropy", "check_batch_divides_gpus",
           "check_megatron_layout", "check_experts_divide", "check_all"]

LOSS_MODE_KEY = "actor_rollout_ref.actor.policy_loss.loss_mode"


class ConfigError(ValueError):
    """A config value that would fail (or silently misbehave) after the job has started; names the key."""


# ---------------------------------------------------------------------------------------------- loss mode


def registered_loss_modes() -> list[str]:
    import verl  # noqa: F401  (loads the verl.plugins entry points, archer's "aspo" among them)
    from verl.trainer.ppo.core_algos import POLICY_LOSS_REGISTRY

    import archer.plugin  # noqa: F401  (registers "aspo" even with plugins disabled)

    return sorted(POLICY_LOSS_REGISTRY)


def check_loss_mode(config) -> None:
    mode = config.actor_rollout_ref.actor.policy_loss.get("loss_mode")
    modes = registered_loss_modes()
    if mode not in modes:
        raise ConfigError(
            f"{LOSS_MODE_KEY}={mode!r} is not a registered policy loss; registered: {', '.join(modes)} "
            f"(archer's is 'aspo', verl's PPO/GRPO loss is 'vanilla'; a loss from another plugin must be "
            f"installed on every node)"
        )


# ---------------------------------------------------------------------------------------------- value types


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


@functools.lru_cache(maxsize=None)
def _field_types(target: str) -> dict[str, Any]:
    """{field name: resolved annotation} of the dataclass ``target`` names ({} if it is not one)."""
    module_name, _, name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        return {}
    if not dataclasses.is_dataclass(cls):
        return {}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: no field check for this class
        return {}
    return {f.name: hints.get(f.name) for f in dataclasses.fields(cls)}


def _scalar_kinds(annotation: Any) -> Optional[set[type]]:
    """The scalar types an annotation admits ({int}, {float, int}, {bool}, {str}, ...), or None when the
    annotation is not (an optional / union of) plain scalars: then nothing is checked."""
    if annotation is None:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(annotation, types.UnionType)):
        kinds: set[type] = set()
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            sub = _scalar_kinds(arg)
            if sub is None:
                return None
            kinds |= sub
        return kinds or None
    if annotation in (bool, int, float, str):
        return {annotation} | ({int} if annotation is float else set())
    return None


def _fits(value: Any, kinds: set[type]) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, numbers.Integral):
        return bool(kinds & {int, float})
    if isinstance(value, numbers.Real):
        return float in kinds
    if isinstance(value, str):
        return str in kinds
    return True  # containers and other objects: not a scalar mismatch


def _kind_name(kinds: set[type]) -> str:
    if kinds >= {float, int}:
        return "a number"
    return " or ".join(sorted({bool: "true/false", int: "an integer", float: "a number", str: "a string"}[k] for k in kinds))


def _leaves(node, prefix: str = "", target: Optional[str] = None) -> Iterator[tuple[str, Any, Optional[str], str]]:
    """(key, value, enclosing dataclass target, field name) for every scalar leaf; interpolations that do
    not resolve are skipped (hydra reports them itself)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(node, DictConfig):
        own = node.get("_target_") if "_target_" in node else None
        target = own if isinstance(own, str) else None
        for key in node.keys():
            if key == "_target_" or OmegaConf.is_interpolation(node, key):
                continue  # an interpolation's source key is checked where it is written
            try:
                value = node[key]
            except OmegaConfBaseException:
                continue
            if isinstance(value, (DictConfig, ListConfig)):
                yield from _leaves(value, _join(prefix, key), target)
            else:
                yield _join(prefix, key), value, target, str(key)
    elif isinstance(node, ListConfig):
        return  # list items are not typed by verl's dataclasses


def _default_leaves(defaults) -> dict[str, Any]:
    return {key: value for key, value, _target, _field in _leaves(defaults)}


@functools.lru_cache(maxsize=1)
def _default_config_leaves() -> dict[str, Any]:
    """:func:`default_config`'s leaves, composed once per process (the config files do not change under a
    running process; the dict is only read)."""
    return _default_leaves(default_config())


def check_value_types(config, defaults=None) -> None:
    """Reject scalars whose type does not fit: the dataclass field's annotation where verl builds one,
    else the type of the default value (``defaults``: the config composed with no overrides)."""
    check_value_types_against(config, _default_leaves(defaults) if defaults is not None else {})


def check_value_types_against(config, default_values: dict[str, Any]) -> None:
    """:func:`check_value_types` with the defaults given as their leaves (key -> default value)."""
    problems = []
    for key, value, target, field in _leaves(config):
        kinds = None
        if target is not None:
            kinds = _scalar_kinds(_field_types(target).get(field))
        if kinds is None and key in default_values:
            default = default_values[key]
            if isinstance(default, bool):
                kinds = {bool}
            elif isinstance(default, numbers.Real):  # verl writes some float keys with int defaults (entropy_coeff: 0)
                kinds = {float, int}
        if kinds is not None and not _fits(value, kinds):
            problems.append(f"{key}={value!r} must be {_kind_name(kinds)}")
    if problems:
        raise ConfigError("wrong value type: " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------- ASPO


def check_aspo_entropy(config) -> None:
    from archer.plugin import config as verl_adapter

    actor = config.actor_rollout_ref.actor
    if actor.policy_loss.get("loss_mode") != verl_adapter.LOSS_MODE:
        return
    if verl_adapter.aspo_settings(actor).uses_entropy and not actor.calculate_entropy:
        raise ConfigError(str(verl_adapter.missing_entropy_error()))


def default_config():
    """archer's trainer config with no overrides: the reference types for keys without a dataclass field.
    Inside a running hydra app (``archer.launch.main``) hydra's compose API reuses its search path."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from archer.launch import CONFIG_DIR, CONFIG_NAME

    if GlobalHydra.instance().is_initialized():
        return compose(config_name=CONFIG_NAME, overrides=[])
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None, job_name="archer_defaults"):
        return compose(config_name=CONFIG_NAME, overrides=[])


# ---------------------------------------------------------------------------------------------- batch


MEGATRON_KEY = "actor_rollout_ref.actor.megatron"


def _megatron_sizes(config) -> Optional[dict[str, int]]:
    """The actor's Megatron parallel sizes (tp, pp, cp, ep, etp) when ``model_engine=megatron``, else None."""
    if config.get("model_engine") != "megatron":
        return None
    m = config.actor_rollout_ref.actor.megatron
    tp = int(m.tensor_model_parallel_size)
    etp = m.get("expert_tensor_parallel_size")
    return {
        "tensor_model_parallel_size": tp,
        "pipeline_model_parallel_size": int(m.pipeline_model_parallel_size),
        "context_parallel_size": int(m.context_parallel_size),
        "expert_model_parallel_size": int(m.expert_model_parallel_size),
        # Megatron's default expert tensor parallel size is the tensor parallel size
        "expert_tensor_parallel_size": tp if etp is None else int(etp),
    }


def data_parallel_size(config) -> int:
    """Ranks the step's batch is split over: every GPU with FSDP (Ulysses ranks share a batch slice, verl
    splits by GPU first), GPUs / (TP x PP x CP) with Megatron."""
    n_gpus = int(config.trainer.n_gpus_per_node) * int(config.trainer.nnodes)
    sizes = _megatron_sizes(config)
    if sizes is None:
        return n_gpus
    model_parallel = (sizes["tensor_model_parallel_size"] * sizes["pipeline_model_parallel_size"]
                      * sizes["context_parallel_size"])
    return max(n_gpus // model_parallel, 1)


def check_megatron_layout(config) -> None:
    """Megatron's process groups need TP x PP x CP to divide the GPUs, and EP x ETP to divide the GPUs of one
    pipeline stage (its expert data-parallel groups); every size is at least 1."""
    sizes = _megatron_sizes(config)
    if sizes is None:
        return
    n_gpus = int(config.trainer.n_gpus_per_node) * int(config.trainer.nnodes)
    for name, value in sizes.items():
        if value < 1:
            raise ConfigError(f"{MEGATRON_KEY}.{name}={value} must be at least 1")
    tp, pp, cp = (sizes[k] for k in ("tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size"))
    ep, etp = sizes["expert_model_parallel_size"], sizes["expert_tensor_parallel_size"]
    if n_gpus % (tp * pp * cp):
        raise ConfigError(
            f"{MEGATRON_KEY}: tensor_model_parallel_size x pipeline_model_parallel_size x context_parallel_size = "
            f"{tp} x {pp} x {cp} = {tp * pp * cp} must divide the {n_gpus} GPUs (trainer.n_gpus_per_node x "
            f"trainer.nnodes; TRAIN_TP, TRAIN_PP, TRAIN_CP in the launchers)"
        )
    per_stage = n_gpus // pp
    if per_stage % (ep * etp):
        raise ConfigError(
            f"{MEGATRON_KEY}: expert_model_parallel_size x expert_tensor_parallel_size = {ep} x {etp} = {ep * etp} "
            f"must divide the {per_stage} GPUs of a pipeline stage ({n_gpus} GPUs / pipeline_model_parallel_size "
            f"{pp}; TRAIN_EP, TRAIN_ETP in the launchers)"
        )


def check_experts_divide(config, hf_config) -> None:
    """The experts of a mixture-of-experts model (``num_experts``, Mixtral's ``num_local_experts``) split
    evenly over ``expert_model_parallel_size`` ranks; a dense model with EP > 1 is a mistake too."""
    sizes = _megatron_sizes(config)
    if sizes is None:
        return
    ep = sizes["expert_model_parallel_size"]
    experts = getattr(hf_config, "num_experts", None) or getattr(hf_config, "num_local_experts", None)
    model = config.actor_rollout_ref.model.path
    if not experts:
        if ep > 1:
            raise ConfigError(
                f"{MEGATRON_KEY}.expert_model_parallel_size={ep} but {model} has no experts (a dense model): "
                f"set it to 1 (TRAIN_EP=1)"
            )
        return
    if int(experts) % ep:
        raise ConfigError(
            f"{MEGATRON_KEY}.expert_model_parallel_size={ep} does not divide the {experts} experts per layer of "
            f"{model} (TRAIN_EP in the launchers)"
        )


def check_batch_divides_gpus(config) -> None:
    """verl splits each step's ``train_batch_size * rollout.n`` responses evenly over the data-parallel
    ranks; its ``validate_config`` checks that only without dynamic batching (archer's default is dynamic
    batching), so an indivisible batch would fail in the trainer instead."""
    dp = data_parallel_size(config)
    responses = int(config.data.train_batch_size) * int(config.actor_rollout_ref.rollout.n)
    if dp > 0 and responses % dp:
        where = ("trainer.n_gpus_per_node * trainer.nnodes" if _megatron_sizes(config) is None
                 else "the GPUs / (tensor x pipeline x context parallel size)")
        raise ConfigError(
            f"data.train_batch_size * actor_rollout_ref.rollout.n = {responses} responses per step must be "
            f"divisible by the {dp} data-parallel ranks ({where}; TRAIN_BATCH_SIZE, N_RESPONSES, "
            f"GPUS_PER_NODE, NNODES in the launchers)"
        )


def check_all(config, defaults=None) -> None:
    """Every check of this module, cheapest first (``defaults``: :func:`default_config` when None)."""
    if defaults is None:
        check_value_types_against(config, _default_config_leaves())
    else:
        check_value_types(config, defaults)
    check_megatron_layout(config)
    check_batch_divides_gpus(config)
    check_loss_mode(config)
    check_aspo_entropy(config)
