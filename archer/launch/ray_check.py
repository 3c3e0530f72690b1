"""Wait until a running Ray cluster has every node and GPU a multi-node job needs.

    python -m archer.launch.ray_check --nodes 2 --gpus-per-node 8 [--address auto] [--timeout 300]

Connects to the existing cluster (``ray.init(address=...)``; default: $RAY_ADDRESS, else ``auto``, the
cluster ``ray start --head`` started on this machine), polls ``ray.nodes()`` until ``--nodes`` alive nodes
with at least ``--gpus-per-node`` GPUs each have joined or ``--timeout`` seconds pass, prints a per-node
table on stderr, and exits 0 (complete) or 1 naming what is missing. The decision is
:func:`cluster_shortfall`, a pure function of the node list.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

AUTH_HINT = (
    "Ray >= 2.59 can start clusters with token authentication: if the cluster uses it, export "
    "RAY_AUTH_MODE=token here (as on every node) and make the token available (~/.ray/auth_token, "
    "RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH); see docs/launch.md"
)


def _gpus(node: Mapping[str, Any]) -> float:
    return float((node.get("Resources") or {}).get("GPU", 0) or 0)


def _alive(node: Mapping[str, Any]) -> bool:
    return bool(node.get("Alive", node.get("alive", False)))


def _name(node: Mapping[str, Any]) -> str:
    return str(node.get("NodeManagerAddress") or node.get("NodeName") or node.get("NodeID", "?")[:12])


def cluster_shortfall(nodes: Iterable[Mapping[str, Any]], want_nodes: int, gpus_per_node: int) -> list[str]:
    """What the cluster lacks for ``want_nodes`` nodes with >= ``gpus_per_node`` GPUs each (as listed by
    ``ray.nodes()``); an empty list means it is complete. Dead nodes do not count; nodes with too few
    GPUs are named."""
    if want_nodes < 1:
        raise ValueError(f"--nodes must be >= 1, got {want_nodes}")
    if gpus_per_node < 0:
        raise ValueError(f"--gpus-per-node must be >= 0, got {gpus_per_node}")
    alive = [n for n in nodes if _alive(n)]
    ready = [n for n in alive if _gpus(n) >= gpus_per_node]
    short = [n for n in alive if _gpus(n) < gpus_per_node]
    problems = []
    if len(ready) < want_nodes:
        problems.append(
            f"{len(ready)} of {want_nodes} nodes with >= {gpus_per_node} GPUs have joined "
            f"({len(alive)} alive node(s) in total)"
        )
        for n in short:
            problems.append(f"node {_name(n)} has {_gpus(n):g} GPU(s), needs {gpus_per_node}")
    return problems


def node_table(nodes: Iterable[Mapping[str, Any]], gpus_per_node: int) -> str:
    rows = [("node", "alive", "GPUs", "CPUs", "ok")]
    for n in sorted(nodes, key=_name):
        ok = _alive(n) and _gpus(n) >= gpus_per_node
        cpus = float((n.get("Resources") or {}).get("CPU", 0) or 0)
        rows.append((_name(n), "yes" if _alive(n) else "no", f"{_gpus(n):g}", f"{cpus:g}", "yes" if ok else "no"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def _log(message: str) -> None:
    print(f"[ray_check] {message}", file=sys.stderr, flush=True)


def _reachable(address: str, timeout: float) -> Optional[str]:
    """None if host:port accepts TCP connections, else the reason (skipped for 'auto' / ray:// forms)."""
    if address in ("", "auto", "local") or "://" in address or ":" not in address:
        return None
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except (OSError, ValueError) as exc:
        return f"cannot reach {address}: {exc}"


def connect(address: str, timeout: float) -> None:
    """``ray.init(address=...)`` with a time limit (Ray itself retries for minutes on a wrong address)."""
    import ray

    problem = _reachable(address, timeout=min(timeout, 10.0))
    if problem:
        raise ConnectionError(f"{problem}. Is `ray start --head` running there (docs/launch.md)?")
    outcome: dict[str, BaseException] = {}

    def target():
        try:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ConnectionError(f"could not connect to the Ray cluster at {address} within {timeout:g} s. {AUTH_HINT}")
    if "error" in outcome:
        exc = outcome["error"]
        hint = f" {AUTH_HINT}" if "auth" in f"{type(exc).__name__} {exc}".lower() else ""
        raise ConnectionError(f"could not connect to the Ray cluster at {address}: {exc}{hint}") from exc


def _ready_count(nodes: Iterable[Mapping[str, Any]], gpus_per_node: int) -> int:
    return sum(1 for n in nodes if _alive(n) and _gpus(n) >= gpus_per_node)


def wait_for_cluster(
    want_nodes: int, gpus_per_node: int, timeout: float, poll: float = 2.0, nodes_fn=None, progress: bool = False
) -> tuple[list[str], list[dict]]:
    """Poll until complete or ``timeout``; returns (shortfall, last node list). ``progress`` shows a tqdm
    bar of ready nodes on stderr."""
    if nodes_fn is None:
        import ray

        nodes_fn = ray.nodes
    from tqdm import tqdm

    deadline = time.monotonic() + timeout
    last_report = None
    with tqdm(total=want_nodes, desc="nodes ready", unit="node", file=sys.stderr, disable=not progress) as bar:
        while True:
            nodes = nodes_fn()
            problems = cluster_shortfall(nodes, want_nodes, gpus_per_node)
            bar.n = min(_ready_count(nodes, gpus_per_node), want_nodes)
            bar.refresh()
            if not problems or time.monotonic() >= deadline:
                return problems, nodes
            if problems != last_report:
                bar.write(f"[ray_check] waiting: {'; '.join(problems)}", file=sys.stderr)
                last_report = problems
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archer.launch.ray_check",
        description="Wait until an existing Ray cluster has NODES alive nodes with >= GPUS_PER_NODE GPUs each; "
        "print a per-node table; exit 1 naming what is missing after TIMEOUT seconds.",
    )
    parser.add_argument("--nodes", type=int, required=True, help="number of nodes the job needs")
    parser.add_argument("--gpus-per-node", type=int, required=True, help="GPUs each of those nodes must have")
    parser.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS") or "auto",
        help="Ray cluster address, e.g. 10.0.0.1:6379 (default: $RAY_ADDRESS, else 'auto' = the cluster "
        "started on this machine with `ray start --head`)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for nodes (default 300)")
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls (default 2)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nodes < 1 or args.gpus_per_node < 0:
        _log(f"error: need --nodes >= 1 and --gpus-per-node >= 0, got {args.nodes} and {args.gpus_per_node}")
        return 2
    start = time.monotonic()
    try:
        connect(args.address, timeout=max(args.timeout, 5.0))
    except ConnectionError as exc:
        _log(f"error: {exc}")
        return 1
    remaining = max(0.0, args.timeout - (time.monotonic() - start))
    problems, nodes = wait_for_cluster(args.nodes, args.gpus_per_node, remaining, poll=args.poll, progress=True)
    print(node_table(nodes, args.gpus_per_node), file=sys.stderr, flush=True)
    if problems:
        _log(f"error: the cluster at {args.address} is incomplete after {args.timeout:g} s: " + "; ".join(problems))
        return 1
    total = sum(_gpus(n) for n in nodes if _alive(n))
    _log(f"ok: {args.nodes} node(s) with >= {args.gpus_per_node} GPUs each ({total:g} GPUs alive in the cluster)")
    return 0


if __name__ == "__main__":
    code = main()
    import ray

    if ray.is_initialized():
        ray.shutdown()  # disconnects this driver; the cluster keeps running
    sys.stderr.flush()
    # a connection thread Ray left blocked must not keep the interpreter alive
    os._exit(code)
