"""scripts/install_gpu.sh (what ARCHER_AUTO_INSTALL=1 and the README run on a GPU node): the exact pip
commands, in order, from its --print mode; the pins agree with verl 0.9.1's own metadata; FLASH_ATTN=0 makes
the launchers use sdpa attention."""

from __future__ import annotations

import importlib.metadata
import subprocess

import pytest

from launcher_support import REPO_ROOT, dry_config, get, launcher_env

SCRIPT = REPO_ROOT / "scripts" / "install_gpu.sh"
PY = "/opt/venv/bin/python"
PIP = f"{PY} -m pip install"
TORCH = "torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0"


def print_install(**env: str) -> subprocess.CompletedProcess:
    env = launcher_env(PYTHON=PY, MAX_JOBS="4", **env)
    for name in ("FLASH_ATTN_WHEEL",):
        env.setdefault(name, "")
    return subprocess.run(["bash", str(SCRIPT), "--print"], env=env, capture_output=True, text=True, timeout=60)


def test_default_order_is_torch_then_flash_attn_binary_then_no_isolation_build_then_rest():
    proc = print_install()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{PIP} {TORCH}",
        f"{PIP} --no-deps --only-binary=:all: flash-attn==2.8.3",
        "# if no prebuilt wheel matched (PyPI has none for 2.8.3): compile, tens of minutes, needs nvcc + ninja",
        f"{PIP} packaging psutil ninja einops wheel setuptools",
        f"env MAX_JOBS=4 {PIP} --no-build-isolation --no-deps flash-attn==2.8.3",
        f"{PIP} -r {REPO_ROOT}/requirements.txt",
        f"{PIP} --no-deps -e {REPO_ROOT}",
    ]


def test_flash_attn_0_skips_flash_attn():
    proc = print_install(FLASH_ATTN="0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{PIP} {TORCH}",
        "# FLASH_ATTN=0: flash-attn skipped; run the launchers with FLASH_ATTN=0 (sdpa attention)",
        f"{PIP} -r {REPO_ROOT}/requirements.txt",
        f"{PIP} --no-deps -e {REPO_ROOT}",
    ]


def test_given_flash_attn_wheel_is_installed_as_is():
    wheel = "/wheels/flash_attn-2.8.3+cu130torch2.11-cp311-cp311-linux_x86_64.whl"
    proc = print_install(FLASH_ATTN_WHEEL=wheel)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == [f"{PIP} {TORCH}", f"{PIP} --no-deps {wheel}"]
    assert "--no-build-isolation" not in proc.stdout


def test_bad_flash_attn_value_and_unknown_argument_exit_2():
    assert print_install(FLASH_ATTN="yes").returncode == 2
    proc = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown argument" in proc.stderr


def _verl_extra(extra: str) -> set[str]:
    reqs = importlib.metadata.requires("verl") or []
    out = set()
    for r in reqs:
        req, _, marker = r.partition(";")
        if f'extra == "{extra}"' in marker:
            out.add(req.strip())
    return out


def _requirements() -> list[str]:
    lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def test_torch_pins_are_verls_gpu_extra_pins():
    assert importlib.metadata.version("verl") == "0.9.1"
    pins = set(TORCH.split())
    assert pins <= _verl_extra("vllm") and pins <= _verl_extra("fsdp")
    assert pins <= set(_requirements())
    script = SCRIPT.read_text()
    assert "TORCH_PINS=(torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0)" in script


def test_requirements_is_verls_fsdp_extra_without_flash_attn():
    reqs = set(_requirements())
    assert not any(r.startswith("flash-attn") or r.startswith("flash_attn") for r in reqs)
    assert "verl[vllm,math]==0.9.1" in reqs
    fsdp = {r for r in _verl_extra("fsdp") if not r.startswith("verl[")}
    assert fsdp - set(TORCH.split()) <= reqs
    # the flash-attn and cupy extras the fsdp extra pulls in
    assert _verl_extra("flash-attn-cu130torch211") == {"flash-attn==2.8.3"}
    assert _verl_extra("cupy-cu130") <= reqs
    assert "FLASH_ATTN_PIN=flash-attn==2.8.3" in SCRIPT.read_text()


@pytest.fixture(scope="module")
def launcher_configs() -> dict[str, dict]:
    """The launcher's dry runs of this file (in-process, launcher_support.dry_config)."""
    return {"flash_attn_0": dry_config("math", {"FLASH_ATTN": "0"}),
            "keep_all": dry_config("math", {"MAX_CKPT_TO_KEEP": "0"})}


def test_flash_attn_0_dry_run_uses_sdpa_attention(launcher_configs):
    config = launcher_configs["flash_attn_0"]
    assert get(config, "actor_rollout_ref.model.override_config.attn_implementation") == "sdpa"


def test_max_ckpt_to_keep_sets_both_retention_keys(launcher_configs):
    config = launcher_configs["keep_all"]
    assert get(config, "trainer.max_actor_ckpt_to_keep") == 0
    assert get(config, "trainer.max_critic_ckpt_to_keep") == 0
    with pytest.raises(KeyError):
        get(config, "actor_rollout_ref.model.override_config.attn_implementation")


FAKE_PYTHON = """#!/usr/bin/env bash
# records each call; `-c` (is flash-attn installed?) answers no; the --only-binary flash-attn attempt fails
echo "$*" >> "$CALLS"
case "$*" in
  -c*) exit 1 ;;
  *--only-binary=:all:*flash-attn*) exit 1 ;;
esac
exit 0
"""


def _run_install_with_fake_python(tmp_path, with_nvcc: bool):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    if with_nvcc:
        (bin_dir / "nvcc").write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / "nvcc").chmod(0o755)
    calls = tmp_path / "calls.txt"
    env = launcher_env(PYTHON=str(fake), MAX_JOBS="2", CALLS=str(calls), CUDA_HOME=str(tmp_path / "no-cuda"),
                       FLASH_ATTN_WHEEL="", PATH=f"{bin_dir}:/usr/bin:/bin")
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return proc, calls.read_text().splitlines() if calls.exists() else []


def test_real_run_falls_back_to_a_no_isolation_build_when_no_wheel_matches(tmp_path):
    proc, calls = _run_install_with_fake_python(tmp_path, with_nvcc=True)
    assert proc.returncode == 0, proc.stderr
    assert [c for c in calls if not c.startswith("-c")] == [
        f"-m pip install {TORCH}",
        "-m pip install --no-deps --only-binary=:all: flash-attn==2.8.3",
        "-m pip install packaging psutil ninja einops wheel setuptools",
        "-m pip install --no-build-isolation --no-deps flash-attn==2.8.3",
        f"-m pip install -r {REPO_ROOT}/requirements.txt",
        f"-m pip install --no-deps -e {REPO_ROOT}",
    ]
    assert "COMPILES" in proc.stderr and "FLASH_ATTN=0" in proc.stderr


def test_real_run_without_nvcc_stops_before_compiling_and_names_the_options(tmp_path):
    proc, calls = _run_install_with_fake_python(tmp_path, with_nvcc=False)
    assert proc.returncode == 1
    assert "nvcc not found" in proc.stderr and "FLASH_ATTN=0" in proc.stderr
    assert not any("--no-build-isolation" in c for c in calls)
    assert not any("requirements.txt" in c for c in calls)


def test_megatron_1_adds_megatron_core_then_transformer_engine_before_archer():
    proc = print_install(FLASH_ATTN="0", MEGATRON="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{PIP} {TORCH}",
        "# FLASH_ATTN=0: flash-attn skipped; run the launchers with FLASH_ATTN=0 (sdpa attention)",
        f"{PIP} -r {REPO_ROOT}/requirements.txt",
        f"{PIP} -r {REPO_ROOT}/requirements-megatron.txt",
        "# transformer-engine's torch extension is compiled here: tens of minutes, needs nvcc (CUDA 13) + cuDNN headers",
        f"env MAX_JOBS=4 {PIP} --no-build-isolation transformer-engine\\[core_cu13\\,pytorch\\]==2.11.0",
        f"{PIP} --no-deps -e {REPO_ROOT}",
    ]


def test_megatron_pins_match_the_cpu_test_pins():
    """The GPU node gets the megatron-core and mbridge the CPU Megatron test runs."""
    def pins(name):
        lines = (REPO_ROOT / name).read_text().splitlines()
        return {line.split("==")[0]: line for line in lines if "==" in line and not line.startswith("#")}

    gpu, cpu = pins("requirements-megatron.txt"), pins("requirements-megatron-cpu.txt")
    for package in ("megatron-core", "mbridge"):
        assert gpu[package] == cpu[package]
