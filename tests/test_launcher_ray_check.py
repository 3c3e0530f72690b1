"""archer.launch.ray_check: the decision on hand-made `ray.nodes()` lists, and one run against a real
local Ray head (2 logical GPUs) started by this test."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from archer.launch.ray_check import cluster_shortfall, node_table, wait_for_cluster
from launcher_support import REPO_ROOT


def node(ip, gpus, alive=True, cpus=64):
    resources = {"CPU": float(cpus), f"node:{ip}": 1.0}
    if gpus:
        resources["GPU"] = float(gpus)
    return {"NodeID": ip.replace(".", "") * 4, "Alive": alive, "NodeManagerAddress": ip, "Resources": resources}


def test_complete_cluster_has_no_shortfall():
    nodes = [node("10.0.0.1", 8), node("10.0.0.2", 8)]
    assert cluster_shortfall(nodes, want_nodes=2, gpus_per_node=8) == []


def test_more_nodes_than_needed_is_complete():
    nodes = [node("10.0.0.1", 8), node("10.0.0.2", 8), node("10.0.0.3", 0)]
    assert cluster_shortfall(nodes, want_nodes=2, gpus_per_node=8) == []


def test_missing_node_is_counted():
    assert cluster_shortfall([node("10.0.0.1", 8)], 2, 8) == [
        "1 of 2 nodes with >= 8 GPUs have joined (1 alive node(s) in total)"
    ]


def test_dead_node_does_not_count():
    nodes = [node("10.0.0.1", 8), node("10.0.0.2", 8, alive=False)]
    assert cluster_shortfall(nodes, 2, 8) == ["1 of 2 nodes with >= 8 GPUs have joined (1 alive node(s) in total)"]


def test_node_with_too_few_gpus_is_named():
    nodes = [node("10.0.0.1", 8), node("10.0.0.2", 4)]
    assert cluster_shortfall(nodes, 2, 8) == [
        "1 of 2 nodes with >= 8 GPUs have joined (2 alive node(s) in total)",
        "node 10.0.0.2 has 4 GPU(s), needs 8",
    ]


def test_invalid_request_is_rejected():
    with pytest.raises(ValueError, match="--nodes must be >= 1"):
        cluster_shortfall([], 0, 8)


def test_table_lists_every_node_with_its_gpus():
    table = node_table([node("10.0.0.2", 4), node("10.0.0.1", 8, alive=False)], 8).splitlines()
    assert table[0].split() == ["node", "alive", "GPUs", "CPUs", "ok"]
    assert table[1].split() == ["10.0.0.1", "no", "8", "64", "no"]
    assert table[2].split() == ["10.0.0.2", "yes", "4", "64", "no"]


def test_wait_returns_as_soon_as_the_last_node_joins():
    views = iter([[node("10.0.0.1", 8)], [node("10.0.0.1", 8), node("10.0.0.2", 8)]])
    problems, nodes = wait_for_cluster(2, 8, timeout=30, poll=0.01, nodes_fn=lambda: next(views))
    assert problems == [] and len(nodes) == 2


HEAD = """
import ray, sys
ctx = ray.init(num_cpus=1, num_gpus=2, include_dashboard=False, logging_level="ERROR")
print(ctx.address_info["gcs_address"], flush=True)
sys.stdin.read()
ray.shutdown()
"""


@pytest.mark.slow
def test_against_a_real_local_ray_head():
    # token auth off on both sides: this head is local to the test and gone when it ends
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    head = subprocess.Popen([sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        address = head.stdout.readline().strip()
        assert address, "the Ray head did not start"

        def check(*args):
            return subprocess.run([sys.executable, "-m", "archer.launch.ray_check", "--address", address, *args],
                                  cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)

        start = time.monotonic()
        ok = check("--nodes", "1", "--gpus-per-node", "2", "--timeout", "20")
        assert ok.returncode == 0, ok.stderr
        assert "ok: 1 node(s) with >= 2 GPUs each" in ok.stderr
        short = check("--nodes", "2", "--gpus-per-node", "8", "--timeout", "2", "--poll", "0.5")
        assert short.returncode == 1
        assert "0 of 2 nodes with >= 8 GPUs have joined" in short.stderr and "has 2 GPU(s), needs 8" in short.stderr
        assert time.monotonic() - start < 30
    finally:
        head.stdin.close()
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()


def test_unreachable_address_fails_fast_with_a_hint():
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "archer.launch.ray_check", "--address", "127.0.0.1:1",
                           "--nodes", "2", "--gpus-per-node", "8", "--timeout", "60"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot reach 127.0.0.1:1" in proc.stderr and "ray start --head" in proc.stderr
    assert time.monotonic() - start < 20
