# shellcheck shell=bash
# Shared set-up of a CPU machine (sourced by scripts/test.sh and by the launchers' --smoke):
#   archer_cpu_env REPO_ROOT BASE_PYTHON VENV LOG_TAG [megatron]
# Says each step on stderr, with how long it took (pip's own output goes to VENV/setup.log):
#   1. bubblewrap (the code reward's sandbox), when missing and we are root with apt;
#   2. VENV, created with BASE_PYTHON if missing;
#   3. the CPU build of torch (the torch== line of requirements-cpu.txt, a +cpu version), alone: from a
#      wheel pip can find without an index (its find-links, e.g. a local wheel folder), else from PyTorch's
#      CPU index (https://download.pytorch.org/whl/cpu). Never from PyPI, whose torch is a CUDA build;
#   4. the rest of requirements-cpu.txt (torch is already there, so the resolver never looks for another
#      one) and archer itself (editable, no dependency re-resolution);
#   5. with `megatron` only (scripts/test.sh: tests/test_aspo_megatron_moe_ep2_matches_fsdp.py needs it):
#      requirements-megatron-cpu.txt (megatron-core, mbridge) with --no-deps --target VENV/megatron-cpu, a
#      directory outside the venv's site-packages that only that test puts on the PYTHONPATH of its own
#      subprocesses, so `import verl` everywhere else (tests, smoke runs) keeps not finding megatron.
# Steps 3-4 are skipped when VENV/.archer-cpu-env records the same digest of requirements-cpu.txt and
# pyproject.toml, step 5 when VENV/megatron-cpu/.archer-megatron-cpu records requirements-megatron-cpu.txt's
# (a rerun starts at once). Sets ARCHER_VENV_PYTHON and ARCHER_SETUP_SECONDS (0 when nothing was done).

ARCHER_CPU_TORCH_INDEX=${ARCHER_CPU_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}

_archer_cpu_now() { date +%s; }

# pip quietly into the set-up log; on failure its last lines on stderr
_archer_cpu_pip() {
  local log=$1
  shift
  if ! "$@" --disable-pip-version-check >>"$log" 2>&1; then
    tail -n 15 "$log" >&2
    return 1
  fi
}

archer_cpu_env() {
  local root=$1 base_python=$2 venv=$3 tag=$4 with_megatron=${5:-}
  local t0 t did=0
  t0=$(_archer_cpu_now)
  ARCHER_SETUP_SECONDS=0
  if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[$tag] set-up: installing bubblewrap (apt-get; the code reward's sandbox)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
      || echo "[$tag] could not install bubblewrap; the code sandbox is unavailable" >&2
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "[$tag] set-up: creating $venv with $base_python (first run only)" >&2
    did=1
    "$base_python" -m venv "$venv" || { echo "[$tag] error: $base_python -m venv $venv failed" >&2; return 1; }
  fi
  local py="$venv/bin/python" log="$venv/setup.log"
  local stamp="$venv/.archer-cpu-env" digest
  digest=$(cat "$root/requirements-cpu.txt" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    local torch_req
    torch_req=$(grep -E '^torch==' "$root/requirements-cpu.txt" | head -n 1)
    [ -n "$torch_req" ] || { echo "[$tag] error: requirements-cpu.txt has no torch== line" >&2; return 1; }
    t=$(_archer_cpu_now) did=1
    echo "[$tag] set-up: installing $torch_req (CPU build) into $venv; pip's output: $log" >&2
    if ! _archer_cpu_pip "$log" "$py" -m pip install --quiet --no-deps --no-index "$torch_req" 2>/dev/null; then
      # no local wheel: PyTorch's CPU index, for torch only (the other packages come from the usual index)
      _archer_cpu_pip "$log" "$py" -m pip install --quiet --no-deps --index-url "$ARCHER_CPU_TORCH_INDEX" "$torch_req" \
        || { echo "[$tag] error: could not install $torch_req from a local wheel nor from $ARCHER_CPU_TORCH_INDEX (see $log)" >&2; return 1; }
    fi
    echo "[$tag] set-up: torch in $(($(_archer_cpu_now) - t)) s; installing requirements-cpu.txt (verl, transformers, math-verify, pytest, ...) and archer" >&2
    t=$(_archer_cpu_now)
    # requirements-cpu.txt minus its --extra-index-url line: torch is installed, nothing else needs that index
    # (and where it is unreachable pip would retry it for every package)
    local reqs="$venv/requirements-cpu.no-torch-index.txt"
    grep -v -E '^--(extra-)?index-url' "$root/requirements-cpu.txt" >"$reqs"
    (cd "$root" \
      && _archer_cpu_pip "$log" "$py" -m pip install --quiet -r "$reqs" \
      && _archer_cpu_pip "$log" "$py" -m pip install --quiet --no-deps -e .) \
      || { echo "[$tag] error: pip install into $venv failed (see $log)" >&2; return 1; }
    echo "$digest" >"$stamp"
    echo "[$tag] set-up: requirements in $(($(_archer_cpu_now) - t)) s" >&2
  fi
  if [ "$with_megatron" = megatron ]; then
    local mstamp="$venv/megatron-cpu/.archer-megatron-cpu" mdigest
    mdigest=$(sha256sum <"$root/requirements-megatron-cpu.txt" | cut -d' ' -f1)
    if [ "$(cat "$mstamp" 2>/dev/null)" != "$mdigest" ]; then
      t=$(_archer_cpu_now) did=1
      echo "[$tag] set-up: installing requirements-megatron-cpu.txt (megatron-core, mbridge) into $venv/megatron-cpu, for tests/test_aspo_megatron_moe_ep2_matches_fsdp.py only" >&2
      # emptied first: pip install --target keeps packages already in the directory instead of replacing them
      (cd "$root" \
        && rm -rf "$venv/megatron-cpu" \
        && _archer_cpu_pip "$log" "$py" -m pip install --quiet --no-deps --target "$venv/megatron-cpu" \
          -r requirements-megatron-cpu.txt) \
        || { echo "[$tag] error: pip install into $venv/megatron-cpu failed (see $log)" >&2; return 1; }
      mkdir -p "$venv/megatron-cpu" && echo "$mdigest" >"$mstamp"
      echo "[$tag] set-up: megatron-cpu in $(($(_archer_cpu_now) - t)) s" >&2
    fi
  fi
  if [ "$did" = 1 ]; then
    ARCHER_SETUP_SECONDS=$(($(_archer_cpu_now) - t0))
    echo "[$tag] set-up: done in $ARCHER_SETUP_SECONDS s ($venv)" >&2
  fi
  ARCHER_VENV_PYTHON="$venv/bin/python"
}
