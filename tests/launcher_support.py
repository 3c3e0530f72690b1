"""Shared helpers of the launcher tests: run scripts/run_aspo_*.sh as a subprocess with the repo's
python first on PATH, read key paths of the printed config, and build small local inputs (a verl-format
parquet, a config+tokenizer-only model dir)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

# every environment variable the launchers read: cleared so that the caller's shell cannot change a test
LAUNCHER_VARS = (
    "MODEL_PATH ASPO_PRESET ADV_ESTIMATOR DATA_DIR TRAIN_FILE EVAL_DIR VAL_SETS MAX_PROMPT_LENGTH "
    "MAX_RESPONSE_LENGTH TRAIN_BATCH_SIZE PPO_MINI_BATCH_SIZE FILTER_OVERLONG_PROMPTS ROLLOUT_ENGINE "
    "N_RESPONSES TEMPERATURE TOP_P TOP_K ROLLOUT_TP ROLLOUT_GPU_MEMORY_UTILIZATION ENABLE_CHUNKED_PREFILL "
    "ROLLOUT_MAX_MODEL_LEN ROLLOUT_MAX_NUM_BATCHED_TOKENS VAL_N VAL_TEMPERATURE VAL_TOP_P LR LR_WARMUP_STEPS "
    "WEIGHT_DECAY GRAD_CLIP PPO_EPOCHS ENTROPY_COEFF LOSS_AGG_MODE USE_KL_LOSS KL_LOSS_COEF KL_LOSS_TYPE "
    "USE_KL_IN_REWARD KL_IN_REWARD_COEF USE_DYNAMIC_BSZ PPO_MAX_TOKEN_LEN_PER_GPU "
    "LOG_PROB_MAX_TOKEN_LEN_PER_GPU MICRO_BATCH_SIZE_PER_GPU SP_SIZE GRADIENT_CHECKPOINTING OFFLOAD "
    "REWARD_MANAGER OVERLONG_BUFFER OVERLONG_BUFFER_LEN OVERLONG_PENALTY_FACTOR OVERLONG_BUFFER_LOG "
    "FILTER_GROUPS FILTER_GROUPS_METRIC FILTER_GROUPS_MAX_NUM_GEN_BATCHES NNODES GPUS_PER_NODE "
    "RAY_WAIT_TIMEOUT SAVE_FREQ RESUME_MODE RESUME_FROM_PATH TEST_FREQ VAL_BEFORE_TRAIN TOTAL_EPOCHS "
    "PROJECT_NAME EXPERIMENT_NAME CKPT_DIR TENSORBOARD_DIR LOGGER WANDB_API_KEY WANDB_MODE PYTHON "
    "REPO_ROOT ARCHER_AUTO_INSTALL MAX_CKPT_TO_KEEP FLASH_ATTN ATTN_IMPLEMENTATION PREFLIGHT LOSS_MODE "
    "MODEL ENGINE TRAIN_TP TRAIN_PP TRAIN_CP TRAIN_EP TRAIN_ETP OPTIMIZER_CPU_OFFLOAD RECOMPUTE MOE_ROUTER_DTYPE MEGATRON"
).split()


def launcher_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def run_launcher(task: str, *args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """``bash scripts/run_aspo_<task>.sh ARGS`` with ENV on top of a cleaned environment."""
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / f"run_aspo_{task}.sh"), *args],
        cwd=REPO_ROOT,
        env=launcher_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# dry runs of the launchers shared by the test files of one pytest session: each distinct (script, env, args)
# is run once, with the same empty DATA_DIR (a fresh clone without data). conftest.py prefetches the ones in
# PREFETCH in a background thread, one at a time, on the core that pytest's own single process leaves idle.
_DRY_RUNS: dict[tuple, subprocess.CompletedProcess] = {}
_PENDING: dict[tuple, threading.Event] = {}  # set when the key's result is in _DRY_RUNS (or it failed)
_STARTED: set[tuple] = set()
_LOCK = threading.Lock()
_LIVE: set[subprocess.Popen] = set()
_EMPTY_DATA_DIR: list[Path] = []

# numbers written every way the launchers accept (test_launcher_rejects_non_numbers.py)
EVERY_SPELLING = ("run_aspo_math.sh", {"LR": "1e-6", "TEMPERATURE": "1.", "TOP_P": ".95", "TEST_FREQ": "-1",
                                       "KL_LOSS_COEF": "0.001", "MAX_RESPONSE_LENGTH": "1024"})

# (test file, request) for the dry runs of the launcher test files, prefetched at session start
PREFETCH = [
    ("test_install_gpu_order.py", ("run_aspo_math.sh", {"FLASH_ATTN": "0"})),
    ("test_install_gpu_order.py", ("run_aspo_math.sh", {"MAX_CKPT_TO_KEEP": "0"})),
    ("test_launcher_dry_run_values.py", ("run_aspo_math.sh", {})),
    ("test_launcher_dry_run_values.py", ("run_aspo_code.sh", {})),
    ("test_launcher_grpo_baseline.py", ("run_grpo_math.sh", {})),
    ("test_launcher_grpo_baseline.py", ("run_grpo_code.sh", {})),
    ("test_launcher_model_presets.py", ("run_aspo_math.sh", {"MODEL": "qwen3-4b"})),
    ("test_launcher_model_presets.py", ("run_aspo_math.sh", {"MODEL": "qwen3-8b"})),
    ("test_launcher_model_presets.py", ("run_aspo_math.sh", {"MODEL": "qwen3-30b-a3b"})),
    ("test_launcher_rejects_non_numbers.py", EVERY_SPELLING),
]


def empty_data_dir() -> Path:
    """The session's empty DATA_DIR for the shared dry runs (removed when the session's process exits)."""
    if not _EMPTY_DATA_DIR:
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="archer-dry-run-data-"))
        atexit.register(shutil.rmtree, path, True)
        _EMPTY_DATA_DIR.append(path)
    return _EMPTY_DATA_DIR[0]


def _key(request: tuple) -> tuple:
    script, env, *rest = request
    return (script, tuple(sorted(env.items())), tuple(rest[0] if rest else ()))


def _start(k: tuple) -> subprocess.Popen:
    script, env, args = k[0], {"DATA_DIR": str(empty_data_dir()), **dict(k[1])}, list(k[2])
    proc = subprocess.Popen(["bash", str(REPO_ROOT / "scripts" / script), "--dry-run", *args], cwd=REPO_ROOT,
                            env=launcher_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _LIVE.add(proc)
    return proc


def _finish(k: tuple, proc: subprocess.Popen, timeout: int) -> None:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        stderr += f"\n[launcher_support] dry run killed after {timeout} s"
    finally:
        _LIVE.discard(proc)
    _DRY_RUNS[k] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@atexit.register
def _kill_live() -> None:
    for proc in list(_LIVE):
        proc.kill()


def _claim(keys: list[tuple]) -> list[tuple]:
    """The keys nobody has started yet, now marked as started by the caller."""
    with _LOCK:
        mine = [k for k in keys if k not in _DRY_RUNS and k not in _STARTED]
        _STARTED.update(mine)
        for k in mine:
            _PENDING.setdefault(k, threading.Event())
        return mine


def _run(keys: list[tuple], parallel: int, timeout: int) -> None:
    """Run claimed keys, ``parallel`` at a time; each key's event is set as soon as its result is stored."""
    running: list[tuple[tuple, subprocess.Popen]] = []

    def finish_first():
        k, proc = running.pop(0)
        try:
            _finish(k, proc, timeout)
        finally:
            _PENDING[k].set()

    try:
        for k in keys:
            if len(running) >= parallel:
                finish_first()
            running.append((k, _start(k)))
        while running:
            finish_first()
    finally:
        for k in keys:
            _PENDING[k].set()


def prefetch(requests: list[tuple], timeout: int = 600) -> None:
    """Run these dry runs in a background thread, one at a time (a key that a test asks for first is run by
    that test instead); :func:`dry_runs` waits for the ones the thread has started."""
    keys = list(dict.fromkeys(map(_key, requests)))
    empty_data_dir()  # created here, in the main thread
    with _LOCK:
        for k in keys:
            _PENDING.setdefault(k, threading.Event())

    def work():
        for k in keys:
            if _claim([k]):
                _run([k], 1, timeout)

    threading.Thread(target=work, name="dry-run-prefetch", daemon=True).start()


def dry_runs(requests: dict[str, tuple], parallel: int = 2, timeout: int = 600) -> dict[str, subprocess.CompletedProcess]:
    """``bash scripts/<script> --dry-run [ARGS]`` for each named ``(script, ENV)`` or ``(script, ENV, ARGS)``,
    with ``DATA_DIR=empty_data_dir()`` unless ENV sets it: the ones nobody has started yet run here,
    ``parallel`` at a time; the ones the prefetch thread started are waited for. Results are kept for the
    session (a dry run is a python process composing verl's config: ~15 s of one core)."""
    keys = list(dict.fromkeys(_key(r) for r in requests.values()))
    _run(_claim(keys), parallel, timeout)
    for k in keys:
        if k not in _DRY_RUNS and not _PENDING[k].wait(timeout):
            raise TimeoutError(f"prefetched dry run {k} did not finish in {timeout} s")
    return {name: _DRY_RUNS[_key(r)] for name, r in requests.items()}


# keys of a resolved config named after the experiment (they differ between two runs of other names)
RUN_NAME_KEYS = {
    "trainer.experiment_name",
    "actor_rollout_ref.rollout.trace.experiment_name",  # verl interpolates trainer.experiment_name
    "trainer.default_local_dir",
    "trainer.validation_data_dir",
    "ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR",
}


def flatten(node, prefix: str = "") -> dict[str, Any]:
    """A nested dict as {dotted key path: leaf value}."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def get(config: dict, key: str) -> Any:
    """The value at a dotted key path of a plain nested dict; KeyError names the missing part."""
    node = config
    for i, part in enumerate(key.split(".")):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"{'.'.join(key.split('.')[: i + 1])} is not in the printed config")
        node = node[part]
    return node


def write_verl_parquet(path: Path, data_source: str, answers: list[str]) -> Path:
    """A small prepared math file in the shared data contract format."""
    import pandas as pd

    rows = [
        {
            "data_source": data_source,
            "prompt": [{"role": "user", "content": f"What is {a} + 0? Put the answer in \\boxed{{}}."}],
            "ability": "math",
            "reward_model": {"ground_truth": a, "style": "rule"},
            "extra_info": {"index": i, "split": "test"},
        }
        for i, a in enumerate(answers)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


def build_config_only_model(model_dir: Path) -> Path:
    """A local model dir with what verl's HFModelConfig reads (config.json, tokenizer), no weights; its context
    (max_position_embeddings) fits the launchers' default prompt + response lengths, as a real model's does."""
    from transformers import Qwen2Config

    from verl_cpu_support import save_word_level_tokenizer

    save_word_level_tokenizer(model_dir)
    Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=131072, pad_token_id=0, eos_token_id=1, bos_token_id=2,
        architectures=["Qwen2ForCausalLM"],
    ).save_pretrained(model_dir)
    return model_dir
