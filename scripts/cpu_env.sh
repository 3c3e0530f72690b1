# shellcheck shell=bash
# Shared set-up of a CPU machine (sourced by scripts/test.sh and by the launchers' --smoke):
#   archer_cpu_env REPO_ROOT BASE_PYTHON VENV LOG_TAG
# installs bubblewrap when missing and we are root with apt (the code reward's sandbox), creates VENV with
# BASE_PYTHON if missing, and installs requirements-cpu.txt (torch pinned to a CPU build) plus archer
# (editable, no dependency re-resolution). It also installs requirements-megatron-cpu.txt (megatron-core,
# mbridge) with --no-deps --target into VENV/megatron-cpu, a directory outside the venv's site-packages:
# only tests/test_aspo_megatron_moe_ep2_matches_fsdp.py puts it on the PYTHONPATH of its own subprocesses,
# so `import verl` everywhere else (tests, smoke runs) keeps not finding megatron. The pip steps are skipped
# when VENV/.archer-cpu-env records the same digest of requirements-cpu.txt, requirements-megatron-cpu.txt
# and pyproject.toml (a rerun starts at once). Sets ARCHER_VENV_PYTHON.

archer_cpu_env() {
  local root=$1 base_python=$2 venv=$3 tag=$4
  if ! command -v bwrap >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[$tag] installing bubblewrap" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
      || echo "[$tag] could not install bubblewrap; the code sandbox is unavailable" >&2
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "[$tag] creating $venv" >&2
    "$base_python" -m venv "$venv"
  fi
  local stamp="$venv/.archer-cpu-env" digest
  digest=$(cat "$root/requirements-cpu.txt" "$root/requirements-megatron-cpu.txt" "$root/pyproject.toml" \
    | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    (cd "$root" \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-cpu.txt \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .) >&2 \
      || { echo "[$tag] error: pip install into $venv failed" >&2; return 1; }
    # emptied first: pip install --target keeps packages already in the directory instead of replacing them
    (cd "$root" \
      && rm -rf "$venv/megatron-cpu" \
      && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$venv/megatron-cpu" -r requirements-megatron-cpu.txt) >&2 \
      || { echo "[$tag] error: pip install into $venv/megatron-cpu failed" >&2; return 1; }
    echo "$digest" >"$stamp"
  fi
  ARCHER_VENV_PYTHON="$venv/bin/python"
}
