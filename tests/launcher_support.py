"""Shared helpers of the launcher tests: run scripts/run_aspo_*.sh as a subprocess with the repo's
python first on PATH, read key paths of the printed config, and build small local inputs (a verl-format
parquet, a config+tokenizer-only model dir)."""

from __future__ import annotations

import os
import subprocess
import sys
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


# dry runs of the launchers shared by the test files of one pytest session: each distinct (script, env) is run
# once, with the same empty DATA_DIR (a fresh clone without data)
_DRY_RUNS: dict[tuple, subprocess.CompletedProcess] = {}
_EMPTY_DATA_DIR: list[Path] = []


def empty_data_dir() -> Path:
    """The session's empty DATA_DIR for the shared dry runs (removed when the session's process exits)."""
    if not _EMPTY_DATA_DIR:
        import atexit
        import shutil
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="archer-dry-run-data-"))
        atexit.register(shutil.rmtree, path, True)
        _EMPTY_DATA_DIR.append(path)
    return _EMPTY_DATA_DIR[0]


def dry_runs(requests: dict[str, tuple], parallel: int = 2, timeout: int = 600) -> dict[str, subprocess.CompletedProcess]:
    """``bash scripts/<script> --dry-run [ARGS]`` for each named ``(script, ENV)`` or ``(script, ENV, ARGS)``,
    with ``DATA_DIR=empty_data_dir()`` unless ENV sets it: the ones not yet run in this session start
    ``parallel`` at a time; results are kept for the session (a dry run is a python process composing verl's
    config: ~15 s of one core)."""
    def key(request: tuple) -> tuple:
        script, env, *rest = request
        return (script, tuple(sorted(env.items())), tuple(rest[0] if rest else ()))

    todo = list(dict.fromkeys(key(r) for r in requests.values() if key(r) not in _DRY_RUNS))
    running: list[tuple[tuple, subprocess.Popen]] = []

    def finish(item):
        k, proc = item
        stdout, stderr = proc.communicate(timeout=timeout)
        _DRY_RUNS[k] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)

    for k in todo:
        script, env, args = k[0], {"DATA_DIR": str(empty_data_dir()), **dict(k[1])}, list(k[2])
        if len(running) >= parallel:
            finish(running.pop(0))
        proc = subprocess.Popen(["bash", str(REPO_ROOT / "scripts" / script), "--dry-run", *args], cwd=REPO_ROOT,
                                env=launcher_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        running.append((k, proc))
    for item in running:
        finish(item)
    return {name: _DRY_RUNS[key(r)] for name, r in requests.items()}


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
    """A local model dir with what verl's HFModelConfig reads (config.json, tokenizer), no weights."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, **{f"w{i}": i for i in range(3, 64)}}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>"
    ).save_pretrained(model_dir)
    Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=2,
        architectures=["Qwen2ForCausalLM"],
    ).save_pretrained(model_dir)
    return model_dir
