"""megatron-core and mbridge (requirements-megatron-cpu.txt) are installed only when the caller asks for them
(scripts/test.sh: tests/test_aspo_megatron_moe_ep2_matches_fsdp.py needs them); the smoke run's set-up
installs neither."""

from __future__ import annotations

from cpu_env_support import REPO_ROOT, run_cpu_env, stand_in_venv


def test_plain_set_up_installs_no_megatron(tmp_path):
    venv = stand_in_venv(tmp_path / "venv")
    done, calls = run_cpu_env(venv)
    assert done.returncode == 0, done.stderr
    assert not any("megatron" in c or "--target" in c for c in calls)


def test_megatron_set_up_installs_it_beside_the_venv_once(tmp_path):
    venv = stand_in_venv(tmp_path / "venv")
    done, calls = run_cpu_env(venv, "megatron")
    assert done.returncode == 0, done.stderr
    assert calls[-1] == (f"-m pip install --quiet --no-deps --target {venv}/megatron-cpu -r "
                         "requirements-megatron-cpu.txt --disable-pip-version-check")
    _, calls_again = run_cpu_env(venv, "megatron")
    assert calls_again == calls


def test_only_the_test_script_asks_for_megatron():
    assert 'test.sh megatron' in (REPO_ROOT / "scripts" / "test.sh").read_text()
    # the launcher's --smoke set-up (archer/launch/run.py) calls archer_cpu_env without it
    smoke = (REPO_ROOT / "archer" / "launch" / "run.py").read_text()
    call = [ln for ln in smoke.splitlines() if "archer_cpu_env " in ln and not ln.lstrip().startswith("#")]
    assert call and not any("megatron" in ln for ln in call)
