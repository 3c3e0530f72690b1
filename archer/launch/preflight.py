"""GPU-node preflight: the facts a real run needs before anything heavy starts, each failure naming its fix.

``python -m archer.launch.preflight --task math --nnodes 1 --gpus-per-node 8 --model M --ckpt-dir D --keep K``
(the launchers run it on real runs, not on --dry-run / --smoke). Exit 0 when every check passes, 1 otherwise;
one line per check on stderr.

Every check is a pure function of the facts (driver version string, GPU list, free bytes, ...) so that the
CPU test suite can inject them; the gatherers (``nvidia-smi --query-gpu``, ``shutil.disk_usage``, ...) are
thin and separate.

Sources of the numbers:

- Minimum Linux driver per CUDA toolkit: NVIDIA's CUDA Toolkit Release Notes, table "CUDA Toolkit and
  Corresponding Driver Versions" (CUDA 13.0 GA >= 580.65.06, CUDA 12.8 GA >= 570.26, 12.6 GA >= 560.28.03,
  12.4 GA >= 550.54.14). torch 2.11.0's default PyPI wheel (the version verl 0.9.1's GPU extras pin) depends
  on ``cuda-toolkit==13.0.2``: a CUDA 13.0 build, so the driver must be >= 580.65.06.
- Checkpoint size: verl's FSDP checkpoint holds, per rank, the fp32 model shard (4 bytes/param), the Adam
  optimizer state (exp_avg + exp_avg_sq in fp32: 8 bytes/param) and a small extra state (scheduler, RNG):
  ~12 bytes per parameter (estimate; ``hf_model`` in ``checkpoint.save_contents`` adds a full HF copy of
  the weights, counted as 4 more bytes/param). DeepSeek-R1-Distill-Qwen-1.5B has 1,777,088,000 parameters
  (untied embeddings) -> ~21.3 GB per checkpoint. verl's Megatron checkpoint (``--engine megatron``) holds the
  bf16 weights (2 bytes/param) beside the distributed optimizer's fp32 master weights and Adam states
  (12 bytes/param): ~14 bytes per parameter (estimate). Qwen3-30B-A3B (30.5 B parameters) -> ~430 GB.
- Parameter counts: from the model's config.json (dense Qwen2 / Qwen3 / Llama layouts, and Qwen3-MoE /
  Mixtral-style experts), else the table ``KNOWN_PARAMS``, whose Qwen3 entries are that same count applied to
  the hub's config.json values (Qwen3-4B 4.02 B, Qwen3-8B 8.19 B, Qwen3-30B-A3B 30.53 B).
- Retention: verl 0.9.1's checkpoint manager deletes the oldest kept checkpoint *before* saving when K >= 2
  (so K are on disk at the peak) and keeps the old one until the new save is complete when K == 1 (2 at the
  peak). Checkpoints left by an earlier process (before a resume) are not tracked, hence never deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CheckResult",
    "Gpu",
    "check_bwrap",
    "check_disk",
    "check_driver",
    "check_gpus",
    "check_model",
    "check_model_local",
    "check_model_hub",
    "checkpoint_bytes",
    "min_driver_for_cuda",
    "param_count_from_config",
    "parse_nvidia_smi",
    "required_disk_bytes",
]

# (CUDA major, minor) -> minimum Linux driver of that toolkit's GA release (NVIDIA CUDA Toolkit Release Notes)
MIN_DRIVER = {
    (13, 0): "580.65.06",
    (12, 9): "575.51.03",
    (12, 8): "570.26",
    (12, 6): "560.28.03",
    (12, 4): "550.54.14",
}
PINNED_TORCH_CUDA = "13.0"  # torch==2.11.0 on PyPI: cuda-toolkit==13.0.2
BYTES_PER_PARAM = 12  # fp32 model shard (4) + Adam exp_avg, exp_avg_sq fp32 (8); extra state is small
MEGATRON_BYTES_PER_PARAM = 14  # bf16 weights (2) + fp32 master weights and Adam states (12)
HF_MODEL_BYTES_PER_PARAM = 4  # a full HF copy when checkpoint.save_contents includes hf_model
MIN_GPU_MEMORY_GB = 80
# nvidia-smi reports an "80 GB" card as 81,559 MiB (H100 SXM) or 81,920 MiB (A100 80GB); accept >= 76 GiB
GPU_MEMORY_SLACK = 0.95
HEADROOM_FRACTION = 0.10
HEADROOM_BYTES = 10 * 2**30  # logs, val generations, tensorboard, data.pt, HF cache growth
KNOWN_PARAMS = {
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": 1_777_088_000,
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": 7_615_616_512,
    "Qwen/Qwen2.5-1.5B": 1_543_714_304,
    "Qwen/Qwen2.5-Math-1.5B": 1_543_714_304,
    # param_count_from_config on the hub's config.json values (the model presets, archer/launch/presets.py)
    "Qwen/Qwen3-4B": 4_022_468_096,
    "Qwen/Qwen3-8B": 8_190_735_360,
    "Qwen/Qwen3-30B-A3B": 30_532_122_624,
}
HUB_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str  # on failure: what is wrong and the fix
    warning: bool = False  # passed, but worth a look

    def line(self) -> str:
        tag = "ok" if self.ok and not self.warning else ("warn" if self.ok else "FAIL")
        return f"[preflight] {tag:4} {self.name}: {self.message}"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_mib: int


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)
    if not parts:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(p) for p in parts)


def min_driver_for_cuda(cuda: str) -> str | None:
    """The minimum Linux driver for a CUDA version like '13.0' or '12.8' (None when not in the table)."""
    major_minor = _version_tuple(cuda)[:2]
    if major_minor in MIN_DRIVER:
        return MIN_DRIVER[major_minor]
    # a newer minor of a known major: the newest entry of that major is the floor we know
    same_major = sorted(k for k in MIN_DRIVER if k[0] == major_minor[0] and k <= major_minor)
    return MIN_DRIVER[same_major[-1]] if same_major else None


def check_driver(driver_version: str | None, torch_cuda: str | None) -> CheckResult:
    """The NVIDIA driver must be new enough for the CUDA build of the installed (or pinned) torch."""
    name = "NVIDIA driver"
    if driver_version is None:
        return CheckResult(name, False, "nvidia-smi not found or failed: no NVIDIA driver on this node. Install "
                           f"driver >= {MIN_DRIVER[(13, 0)]} (CUDA 13.0, torch 2.11.0); on a CPU machine use --dry-run")
    if torch_cuda is None:
        return CheckResult(name, False, f"driver {driver_version}, but the installed torch is a CPU build; install "
                           "the GPU stack: bash scripts/install_gpu.sh")
    need = min_driver_for_cuda(torch_cuda)
    if need is None:
        return CheckResult(name, True, f"driver {driver_version}; no minimum known for CUDA {torch_cuda}", warning=True)
    try:
        have = _version_tuple(driver_version)
    except ValueError:
        return CheckResult(name, False, f"cannot read the driver version {driver_version!r} from nvidia-smi")
    if have < _version_tuple(need):
        return CheckResult(
            name, False,
            f"driver {driver_version} is older than {need}, the minimum for CUDA {torch_cuda} (torch's build). "
            f"Upgrade the NVIDIA driver to >= {need} (e.g. apt-get install nvidia-driver-580 / "
            "nvidia-open-580, then reboot), or use a torch built for an older CUDA that this driver supports",
        )
    return CheckResult(name, True, f"driver {driver_version} >= {need} (CUDA {torch_cuda})")


def check_gpus(gpus: list[Gpu], gpus_per_node: int, min_memory_gb: float = MIN_GPU_MEMORY_GB) -> CheckResult:
    """This node must have GPUS_PER_NODE GPUs of at least min_memory_gb each (the 1.5B recipe: 8 x 80 GB)."""
    name = "GPUs"
    if len(gpus) < gpus_per_node:
        return CheckResult(
            name, False,
            f"GPUS_PER_NODE={gpus_per_node} but this node has {len(gpus)} GPU(s). Set GPUS_PER_NODE={len(gpus)} "
            "(TRAIN_BATCH_SIZE * N_RESPONSES and PPO_MINI_BATCH_SIZE * N_RESPONSES must stay divisible by "
            "NNODES * GPUS_PER_NODE), or run on a node with more GPUs",
        )
    need_mib = min_memory_gb * 1e9 / 2**20 * GPU_MEMORY_SLACK
    small = [g for g in gpus[:gpus_per_node] if g.memory_mib < need_mib]
    if small:
        listed = ", ".join(f"GPU {g.index} {g.name} {g.memory_mib} MiB" for g in small)
        return CheckResult(
            name, False,
            f"the recipe needs GPUs of >= {min_memory_gb:g} GB; {listed}. On smaller GPUs lower "
            "PPO_MAX_TOKEN_LEN_PER_GPU / LOG_PROB_MAX_TOKEN_LEN_PER_GPU (or MAX_RESPONSE_LENGTH), set SP_SIZE=2 "
            "or OFFLOAD=True, lower ROLLOUT_GPU_MEMORY_UTILIZATION; then PREFLIGHT_MIN_GPU_MEMORY_GB=<GB> "
            "to accept them",
        )
    return CheckResult(name, True, f"{len(gpus)} GPU(s), using {gpus_per_node}: {gpus[0].name} {gpus[0].memory_mib} MiB")


def _moe_layers(config: dict, n_layers: int) -> set[int]:
    """Indices of the layers whose MLP is a mixture of experts (Qwen-MoE's decoder_sparse_step / mlp_only_layers)."""
    step = int(config.get("decoder_sparse_step") or 1)
    dense = set(config.get("mlp_only_layers") or [])
    return {i for i in range(n_layers) if (i + 1) % step == 0 and i not in dense}


def param_count_from_config(config: dict) -> int | None:
    """Parameters of a decoder from its HF config.json: dense Qwen2 / Qwen3 / Llama layouts, and experts
    (``num_experts`` / ``num_local_experts`` with ``moe_intermediate_size``, a router per MoE layer and
    Qwen2-MoE's shared expert). None if the config is not such a layout."""
    try:
        h = int(config["hidden_size"])
        n_layers = int(config["num_hidden_layers"])
        inter = int(config["intermediate_size"])
        vocab = int(config["vocab_size"])
        heads = int(config["num_attention_heads"])
    except (KeyError, TypeError, ValueError):
        return None
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or h // heads)
    q_dim, kv_dim = heads * head_dim, kv_heads * head_dim
    bias = bool(config.get("attention_bias", config.get("model_type") == "qwen2"))
    attn = h * q_dim + 2 * h * kv_dim + q_dim * h + ((q_dim + 2 * kv_dim) if bias else 0)
    if str(config.get("model_type", "")).startswith("qwen3"):
        attn += 2 * head_dim  # q_norm, k_norm
    dense_mlp = 3 * h * inter
    n_experts = int(config.get("num_experts") or config.get("num_local_experts") or 0)
    moe_layers = _moe_layers(config, n_layers) if n_experts else set()
    moe_mlp = 0
    if n_experts:
        expert_inter = int(config.get("moe_intermediate_size") or inter)
        moe_mlp = n_experts * 3 * h * expert_inter + h * n_experts
        shared = int(config.get("shared_expert_intermediate_size") or 0)
        if shared:
            moe_mlp += 3 * h * shared + h  # the shared expert and its gate
    layers = sum(attn + (moe_mlp if i in moe_layers else dense_mlp) + 2 * h for i in range(n_layers))
    embeddings = vocab * h * (1 if config.get("tie_word_embeddings", False) else 2)
    return layers + embeddings + h


def checkpoint_bytes(n_params: int, bytes_per_param: float = BYTES_PER_PARAM) -> int:
    return int(n_params * bytes_per_param)


def required_disk_bytes(n_params: int, keep: int, bytes_per_param: float = BYTES_PER_PARAM) -> int:
    """Free bytes a run needs for its checkpoints with verl's retention of `keep` (K <= 0: keep all -> 1 save)."""
    at_peak = 2 if keep == 1 else max(keep, 1)
    need = checkpoint_bytes(n_params, bytes_per_param) * at_peak
    return int(need * (1 + HEADROOM_FRACTION) + HEADROOM_BYTES)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def check_disk(free_bytes: int, ckpt_dir: str, n_params: int | None, keep: int,
               bytes_per_param: float = BYTES_PER_PARAM) -> CheckResult:
    """Free space under the checkpoint dir for the K checkpoints verl keeps (+10% and 10 GiB headroom)."""
    name = "disk"
    if n_params is None:
        return CheckResult(name, True, f"{_gb(free_bytes)} free at {ckpt_dir}; model size unknown, not estimated",
                           warning=True)
    one = checkpoint_bytes(n_params, bytes_per_param)
    need = required_disk_bytes(n_params, keep, bytes_per_param)
    if keep <= 0:
        fits = int((free_bytes - HEADROOM_BYTES) // one) if free_bytes > HEADROOM_BYTES else 0
        msg = (f"MAX_CKPT_TO_KEEP={keep}: every checkpoint is kept, ~{_gb(one)} each "
               f"({n_params / 1e9:.2f} B params x {bytes_per_param:g} bytes); {_gb(free_bytes)} free at {ckpt_dir} "
               f"holds ~{fits}. Set MAX_CKPT_TO_KEEP=3 to bound it")
        if free_bytes < need:
            return CheckResult(name, False, msg)
        return CheckResult(name, True, msg, warning=True)
    if free_bytes < need:
        return CheckResult(
            name, False,
            f"{_gb(free_bytes)} free at {ckpt_dir}, the run needs ~{_gb(need)}: {keep} checkpoint(s) kept "
            f"(MAX_CKPT_TO_KEEP) x ~{_gb(one)} ({n_params / 1e9:.2f} B params x {bytes_per_param:g} bytes: fp32 "
            "weights + Adam states) + headroom. Free space, set CKPT_DIR to a larger disk, or lower "
            "MAX_CKPT_TO_KEEP (>= 1)",
        )
    return CheckResult(name, True, f"{_gb(free_bytes)} free at {ckpt_dir} >= ~{_gb(need)} ({keep} x ~{_gb(one)} + headroom)")


def check_bwrap(task: str, bwrap_path: str | None) -> CheckResult:
    name = "bubblewrap"
    if task != "code":
        return CheckResult(name, True, "not needed for math")
    if bwrap_path is None:
        return CheckResult(name, False, "bwrap not found: the code reward runs programs in a bubblewrap sandbox. "
                           "Install it: apt-get install -y bubblewrap (root), or ARCHER_AUTO_INSTALL=1")
    return CheckResult(name, True, bwrap_path)


def looks_like_local_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or os.path.exists(os.path.expanduser(model))


def check_model_local(path: str) -> tuple[CheckResult, dict | None]:
    """A local model dir must exist and hold config.json; returns the parsed config too."""
    name = "model"
    p = Path(path).expanduser()
    if not p.is_dir():
        return CheckResult(name, False, f"local model dir {p} does not exist; set MODEL_PATH to a dir with "
                           "config.json + weights, or to a hub id (e.g. deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B)"), None
    cfg = p / "config.json"
    if not cfg.is_file():
        return CheckResult(name, False, f"{p} has no config.json: not a Hugging Face model dir"), None
    try:
        config = json.loads(cfg.read_text())
    except (OSError, ValueError) as e:
        return CheckResult(name, False, f"{cfg} is unreadable: {e}"), None
    return CheckResult(name, True, f"local dir {p}"), config


def check_model_hub(repo_id: str, endpoint: str | None = None, token: str | None = None,
                    timeout: float = HUB_TIMEOUT_S) -> tuple[CheckResult, dict | None]:
    """GET <endpoint>/<repo>/resolve/main/config.json with a short timeout (HF_ENDPOINT, HF_TOKEN)."""
    name = "model"
    endpoint = (endpoint or "https://huggingface.co").rstrip("/")
    url = f"{endpoint}/{repo_id}/resolve/main/config.json"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read(2_000_000)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            fix = ("the repo is gated or private: set HF_TOKEN to a token with access (and accept the model's "
                   "license on its page)" if not token else "HF_TOKEN has no access to it (gated: accept its license)")
            return CheckResult(name, False, f"{repo_id}: HTTP {e.code} from {endpoint}; {fix}"), None
        if e.code == 404:
            return CheckResult(name, False, f"{repo_id}: not found on {endpoint} (HTTP 404); check MODEL_PATH's "
                               "spelling, or it is private: set HF_TOKEN"), None
        return CheckResult(name, False, f"{repo_id}: HTTP {e.code} from {endpoint}"), None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return CheckResult(name, False, f"cannot reach {endpoint} for {repo_id} ({reason}); check the network / "
                           "proxy / HF_ENDPOINT, or download the model elsewhere and set MODEL_PATH to its local dir"), None
    try:
        config = json.loads(body)
    except ValueError:
        config = None
    return CheckResult(name, True, f"hub {repo_id} reachable at {endpoint}"), config


def _cached_hub_config(repo_id: str) -> dict | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - a cache miss of any kind just means "not cached"
        return None
    if isinstance(path, str) and os.path.isfile(path):
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError):
            return None
    return None


def check_model(model: str, env: dict[str, str] | None = None) -> tuple[CheckResult, int | None]:
    """Local dir or hub id -> (result, parameter count or None)."""
    env = dict(os.environ if env is None else env)
    if looks_like_local_path(model):
        result, config = check_model_local(model)
    else:
        config = _cached_hub_config(model) if env.get("HF_HUB_OFFLINE") == "1" else None
        if config is not None:
            result = CheckResult("model", True, f"hub {model} in the local cache (HF_HUB_OFFLINE=1)")
        else:
            result, config = check_model_hub(model, env.get("HF_ENDPOINT"), env.get("HF_TOKEN"))
    n_params = param_count_from_config(config) if config else None
    return result, n_params if n_params is not None else KNOWN_PARAMS.get(model)


# ---------------------------------------------------------------------------------------------------
# gatherers (thin; not used by the tests)

def parse_nvidia_smi(text: str) -> tuple[str | None, list[Gpu]]:
    """`nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader,nounits`."""
    driver, gpus = None, []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            continue
        index, name, mem, driver = parts[0], ", ".join(parts[1:-2]), parts[-2], parts[-1]
        gpus.append(Gpu(int(index), name, int(float(mem))))
    return driver, gpus


def gather_nvidia_smi() -> tuple[str | None, list[Gpu]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None, []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return None, []
    return parse_nvidia_smi(out)


def gather_torch_cuda() -> str | None:
    try:
        import torch
    except ImportError:
        return PINNED_TORCH_CUDA  # not installed yet: judge the driver against the pinned wheel
    return torch.version.cuda


def free_bytes_at(path: str) -> int:
    p = Path(path).expanduser().absolute()
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m archer.launch.preflight", description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=["math", "code"], default="math")
    ap.add_argument("--nnodes", type=int, default=1)
    ap.add_argument("--gpus-per-node", type=int, default=8)
    ap.add_argument("--model", default="deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")
    ap.add_argument("--ckpt-dir", default="checkpoints")
    ap.add_argument("--keep", type=int, default=3, help="checkpoints verl keeps (MAX_CKPT_TO_KEEP; <= 0: all)")
    ap.add_argument("--hf-model", action="store_true", help="checkpoint.save_contents includes hf_model")
    ap.add_argument("--engine", choices=["fsdp", "megatron"], default="fsdp",
                    help="training engine (ENGINE): sets the checkpoint size estimate per parameter")
    ap.add_argument("--min-gpu-memory-gb", type=float,
                    default=float(os.environ.get("PREFLIGHT_MIN_GPU_MEMORY_GB", MIN_GPU_MEMORY_GB)))
    args = ap.parse_args(argv)

    driver, gpus = gather_nvidia_smi()
    model_result, n_params = check_model(args.model)
    bpp = (MEGATRON_BYTES_PER_PARAM if args.engine == "megatron" else BYTES_PER_PARAM) + (
        HF_MODEL_BYTES_PER_PARAM if args.hf_model else 0)
    results = [
        check_driver(driver, gather_torch_cuda()),
        check_gpus(gpus, args.gpus_per_node, args.min_gpu_memory_gb),
        check_disk(free_bytes_at(args.ckpt_dir), args.ckpt_dir, n_params, args.keep, bpp),
        model_result,
        check_bwrap(args.task, shutil.which("bwrap")),
    ]
    for r in results:
        print(r.line(), file=sys.stderr)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"[preflight] failed: {', '.join(failed)} (fixes above); nothing was started", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
