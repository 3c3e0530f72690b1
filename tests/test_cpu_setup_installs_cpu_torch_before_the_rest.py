"""The CPU set-up (scripts/cpu_env.sh) installs the CPU build of torch (requirements-cpu.txt's torch==...+cpu)
on its own first, from a local wheel or else PyTorch's CPU index, then the other requirements without that
index; it says each step with its time, and a rerun with unchanged requirements does nothing."""

from __future__ import annotations

import re

from cpu_env_support import REPO_ROOT, run_cpu_env, stand_in_venv


def torch_pin() -> str:
    (line,) = [ln for ln in (REPO_ROOT / "requirements-cpu.txt").read_text().splitlines() if ln.startswith("torch==")]
    return line


def test_requirements_pin_a_cpu_build_and_name_the_cpu_index():
    text = (REPO_ROOT / "requirements-cpu.txt").read_text()
    assert torch_pin().endswith("+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text.splitlines()


def test_torch_from_a_local_wheel_first_then_the_rest_without_the_index(tmp_path):
    venv = stand_in_venv(tmp_path / "venv")
    done, calls = run_cpu_env(venv)
    assert done.returncode == 0, done.stderr
    assert calls[0] == f"-m pip install --quiet --no-deps --no-index {torch_pin()} --disable-pip-version-check"
    assert re.fullmatch(r"-m pip install --quiet -r \S+ --disable-pip-version-check", calls[1])
    reqs = calls[1].split(" -r ")[1].split()[0]
    assert "index-url" not in open(reqs).read() and torch_pin() in open(reqs).read()
    assert calls[2] == "-m pip install --quiet --no-deps -e . --disable-pip-version-check"
    assert len(calls) == 3
    for step in ("installing torch==", "torch in ", "requirements in ", "set-up: done in "):
        assert step in done.stderr, done.stderr

    again, calls_again = run_cpu_env(venv)
    assert again.returncode == 0 and calls_again == calls and again.stderr == ""


def test_without_a_local_wheel_torch_comes_from_pytorchs_cpu_index_only(tmp_path):
    venv = stand_in_venv(tmp_path / "venv")
    done, calls = run_cpu_env(venv, env={"NO_LOCAL_WHEEL": "1"})
    assert done.returncode == 0, done.stderr
    assert calls[1] == (f"-m pip install --quiet --no-deps --index-url https://download.pytorch.org/whl/cpu "
                        f"{torch_pin()} --disable-pip-version-check")
