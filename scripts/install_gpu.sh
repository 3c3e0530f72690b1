#!/usr/bin/env bash
# GPU-node install of archer: the one sequence that works in a clean venv (README "Install", docs/launch.md).
# The launcher (archer/launch/run.py) runs it for ARCHER_AUTO_INSTALL=1.
#
#   bash scripts/install_gpu.sh            # install into $PYTHON's environment (default: python3)
#   bash scripts/install_gpu.sh --print    # print the commands it would run, one per line; runs nothing
#
# Why this order: verl 0.9.1's `fsdp` extra pins flash-attn==2.8.3, which PyPI has only as a source
# distribution whose build imports torch. Under pip's build isolation torch is hidden, so a plain
# `pip install -r requirements.txt` that includes it fails ("No module named 'torch'" while "Getting
# requirements to build wheel"). So: (1) torch first, (2) flash-attn with --no-build-isolation against that
# torch, preferring a prebuilt wheel, (3) the rest (requirements.txt, which leaves flash-attn out), (4) archer.
#
# Environment:
#   PYTHON            interpreter whose environment gets the packages (default python3)
#   FLASH_ATTN        1 (default) install flash-attn; 0 skip it: the launchers then run attention with sdpa
#                     (ATTN_IMPLEMENTATION=sdpa), slower in the update (docs/launch.md)
#   FLASH_ATTN_WHEEL  a flash-attn 2.8.3 wheel (file or URL) built for torch 2.11 / CUDA 13 / this Python;
#                     installed as is instead of searching for one or compiling
#   MAX_JOBS          parallel compile jobs if flash-attn must be compiled (default: min(CPUs, RAM GB / 8))
#   MEGATRON          0 (default) | 1: also verl's Megatron engine (ENGINE=megatron, the qwen3-30b-a3b preset):
#                     requirements-megatron.txt, then transformer-engine built without build isolation
#                     (needs nvcc; compiles its torch extension, tens of minutes)
set -euo pipefail

PYTHON=${PYTHON:-python3}
FLASH_ATTN=${FLASH_ATTN:-1}
MEGATRON=${MEGATRON:-0}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# verl 0.9.1's pins (its wheel METADATA: extras vllm / fsdp)
TORCH_PINS=(torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0)
FLASH_ATTN_PIN=flash-attn==2.8.3
# megatron-core 0.16.1's metadata: transformer-engine[core_cu13,pytorch] >=2.9.0a0,<2.12.0
TRANSFORMER_ENGINE_PIN="transformer-engine[core_cu13,pytorch]==2.11.0"
# flash-attn's setup.py imports these at build time (no build isolation: they must be installed first)
FLASH_ATTN_BUILD_DEPS=(packaging psutil ninja einops wheel setuptools)

print_only=0
case "${1:-}" in
  --print) print_only=1 ;;
  "") ;;
  -h | --help)
    sed -n '2,23p' "$0"
    exit 0
    ;;
  *)
    echo "install_gpu.sh: unknown argument '$1' (--print, --help)" >&2
    exit 2
    ;;
esac
case "$FLASH_ATTN" in
  0 | 1) ;;
  *)
    echo "install_gpu.sh: FLASH_ATTN must be 0 or 1, got '$FLASH_ATTN'" >&2
    exit 2
    ;;
esac
case "$MEGATRON" in
  0 | 1) ;;
  *)
    echo "install_gpu.sh: MEGATRON must be 0 or 1, got '$MEGATRON'" >&2
    exit 2
    ;;
esac

log() { echo "[install_gpu] $*" >&2; }

# run (or, with --print, print) one command; arguments are printed shell-quoted
step() {
  if [ "$print_only" = 1 ]; then
    local out="" a
    for a in "$@"; do
      out+="${out:+ }$(printf '%q' "$a")"
    done
    printf '%s\n' "$out"
    return 0
  fi
  log "+ $*"
  "$@"
}

default_max_jobs() {
  local cpus ram_gb
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 4)  # nproc alone answers OMP_NUM_THREADS when set
  ram_gb=$(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo 2>/dev/null || echo 32)
  local by_ram=$((ram_gb / 8))
  [ "$by_ram" -ge 1 ] || by_ram=1
  echo $((cpus < by_ram ? cpus : by_ram))
}

PIP=("$PYTHON" -m pip install)

# 1. torch (CUDA 13.0 build: the default torch 2.11.0 wheel on PyPI)
step "${PIP[@]}" "${TORCH_PINS[@]}"

# 2. flash-attn
if [ "$FLASH_ATTN" = 1 ]; then
  if [ -n "${FLASH_ATTN_WHEEL:-}" ]; then
    step "${PIP[@]}" --no-deps "$FLASH_ATTN_WHEEL"
  elif [ "$print_only" = 1 ]; then
    # what the real run does: a prebuilt wheel from the configured indexes first, else a build
    step "${PIP[@]}" --no-deps --only-binary=:all: "$FLASH_ATTN_PIN"
    echo "# if no prebuilt wheel matched (PyPI has none for 2.8.3): compile, tens of minutes, needs nvcc + ninja"
    step "${PIP[@]}" "${FLASH_ATTN_BUILD_DEPS[@]}"
    step env "MAX_JOBS=${MAX_JOBS:-$(default_max_jobs)}" "${PIP[@]}" --no-build-isolation --no-deps "$FLASH_ATTN_PIN"
  elif "$PYTHON" -c "import importlib.metadata as m, sys; sys.exit(not m.version('flash-attn').startswith('2.8.3'))" 2>/dev/null; then
    log "flash-attn 2.8.3 is already installed"
  elif step "${PIP[@]}" --no-deps --only-binary=:all: "$FLASH_ATTN_PIN"; then
    log "flash-attn: installed a prebuilt wheel"
  else
    log "flash-attn: no prebuilt 2.8.3 wheel on the configured indexes (PyPI has only the source)."
    log "  Building it: flash-attn's setup.py first looks for its own release wheel for this torch/CUDA/Python"
    log "  (FLASH_ATTENTION_FORCE_BUILD=TRUE skips that), otherwise it COMPILES: typically tens of minutes"
    log "  (flash-attn's README: 3-5 min on 64 cores with ninja; far longer on few cores), several GB of RAM"
    log "  per job (MAX_JOBS=${MAX_JOBS:-$(default_max_jobs)}), the CUDA toolkit's nvcc (CUDA 13.x, like torch 2.11.0's"
    log "  build) and ninja. Skip it with FLASH_ATTN=0 (sdpa attention, slower updates), or give a prebuilt"
    log "  wheel with FLASH_ATTN_WHEEL=/path/or/url.whl"
    if ! command -v nvcc >/dev/null 2>&1 && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
      log "error: nvcc not found (PATH, CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}): install the CUDA 13 toolkit"
      log "  (e.g. apt-get install cuda-toolkit-13-0 from NVIDIA's repository), or rerun with FLASH_ATTN=0"
      exit 1
    fi
    step "${PIP[@]}" "${FLASH_ATTN_BUILD_DEPS[@]}"
    step env "MAX_JOBS=${MAX_JOBS:-$(default_max_jobs)}" "${PIP[@]}" --no-build-isolation --no-deps "$FLASH_ATTN_PIN"
  fi
else
  [ "$print_only" = 1 ] && echo "# FLASH_ATTN=0: flash-attn skipped; run the launchers with FLASH_ATTN=0 (sdpa attention)"
  [ "$print_only" = 1 ] || log "FLASH_ATTN=0: flash-attn skipped; the launchers use sdpa attention when FLASH_ATTN=0"
fi

# 3. the rest: verl's vllm + fsdp (minus flash-attn) + math extras, archer's own dependencies
step "${PIP[@]}" -r "$REPO_ROOT/requirements.txt"

# 3b. verl's Megatron engine (MEGATRON=1): megatron-core and mbridge, then transformer-engine against this torch
if [ "$MEGATRON" = 1 ]; then
  step "${PIP[@]}" -r "$REPO_ROOT/requirements-megatron.txt"
  [ "$print_only" = 1 ] && echo "# transformer-engine's torch extension is compiled here: tens of minutes, needs nvcc (CUDA 13) + cuDNN headers"
  [ "$print_only" = 1 ] || log "transformer-engine: compiling its torch extension against torch 2.11 (tens of minutes; needs nvcc, CUDA 13, cuDNN headers)"
  step env "MAX_JOBS=${MAX_JOBS:-$(default_max_jobs)}" "${PIP[@]}" --no-build-isolation "$TRANSFORMER_ENGINE_PIN"
fi

# 4. archer itself (its entry point registers the ASPO loss in every Ray worker)
step "${PIP[@]}" --no-deps -e "$REPO_ROOT"

if [ "$print_only" = 0 ]; then
  log "done. Check: $PYTHON -m archer.launch.preflight --task math   (driver, GPUs, disk, model)"
fi
