"""Without the hub, ``prepare`` fails within seconds (not ~20 s of retries per source), names every source
that needs the hub and says how to give local files. No traffic leaves 127.0.0.1: the endpoint is a
closed local port, or HF_HUB_OFFLINE=1 / --offline stop before any connection."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from data_support import FIXTURES, REPO

HUB_TRAIN_SOURCES = ("deepscaler", "skywork_or1_math", "dapo_math")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we leave: connections are refused


def _prepare(tmp_path, env_extra: dict, *args: str) -> tuple[int, str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy",
                                                             "HTTP_PROXY", "http_proxy", "ARCHER_SHARED_DATA")}
    env.update({"HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}", "HF_DATASETS_OFFLINE": "0",
                "HF_HOME": str(tmp_path / "hf_home")}, **env_extra)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "archer.data", "prepare", "--out-dir", str(tmp_path / "out"),
                           "--no-progress", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr, time.monotonic() - start


def _assert_names_sources_and_fix(err: str, names) -> None:
    assert "Traceback" not in err
    for name in names:
        assert f"{name} (hub:" in err, name
    assert "--local-dir DIR" in err and "--source NAME=PATH" in err


@pytest.mark.parametrize("how", ["closed_port", "HF_HUB_OFFLINE", "--offline"])
def test_math_suite_without_hub_fails_within_seconds_naming_all_hub_sources(tmp_path, how):
    env, args = {}, []
    if how == "HF_HUB_OFFLINE":
        env = {"HF_HUB_OFFLINE": "1"}
    elif how == "--offline":
        args = ["--offline"]
    rc, err, seconds = _prepare(tmp_path, env, "--suite", "math", *args)
    assert rc == 1
    assert seconds < 15, f"took {seconds:.1f} s"  # interpreter start + imports; the hub part is < 4 s
    from archer.data import EVAL_SETS

    _assert_names_sources_and_fix(err, (*HUB_TRAIN_SOURCES, *EVAL_SETS))  # 11 sources: 3 training + 8 eval
    reason = {"closed_port": "unreachable: cannot connect to 127.0.0.1", "HF_HUB_OFFLINE": "HF_HUB_OFFLINE=1",
              "--offline": "(--offline)"}[how]
    assert reason in err


def test_local_sources_still_work_offline_and_only_hub_ones_are_named(tmp_path):
    rc, err, seconds = _prepare(tmp_path, {"HF_HUB_OFFLINE": "1"}, "--suite", "eval", "--sets", "aime2024,amc2023",
                                "--source", f"aime2024={FIXTURES / 'aime2024_mini.jsonl'}")
    assert rc == 1 and seconds < 15
    assert (tmp_path / "out" / "eval" / "aime2024.parquet").exists()
    _assert_names_sources_and_fix(err, ["amc2023"])
    assert "aime2024 (hub:" not in err


def test_probe_of_a_closed_port_answers_within_the_timeout(monkeypatch):
    from archer.data import hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    start = time.monotonic()
    why = hub.hub_unavailable()
    assert why and "cannot connect to 127.0.0.1" in why
    assert time.monotonic() - start < hub.PROBE_TIMEOUT_S + 1
