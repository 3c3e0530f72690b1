"""Is the Hugging Face hub reachable? Asked once per process, answered within a few seconds.

``hub_unavailable(offline)`` returns None when hub sources can be tried, else the reason they cannot:
``--offline``, ``HF_HUB_OFFLINE=1`` (huggingface_hub's own switch), or a TCP connection to the endpoint
(``HF_ENDPOINT``, default https://huggingface.co; through ``HTTPS_PROXY`` when one is set) that failed
within ``PROBE_TIMEOUT_S``. Without this, every hub source spends ~20 s in ``datasets``' retries.
"""

from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

__all__ = ["hub_unavailable", "hub_endpoint", "PROBE_TIMEOUT_S"]

PROBE_TIMEOUT_S = 3.0
_TRUE = ("1", "true", "yes", "on")
_cache: dict[tuple[str, str], str | None] = {}


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").strip() or "https://huggingface.co"


def _probe(url: str, timeout: float) -> str | None:
    parsed = urlparse(url if "//" in url else f"//{url}", scheme="https")
    host = parsed.hostname or ""
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    result: list[str | None] = []

    def connect():  # in a thread: name resolution has no timeout of its own
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(None)
        except OSError as e:
            result.append(f"cannot connect to {host}:{port} ({type(e).__name__}: {e})")

    t = threading.Thread(target=connect, name="archer-hub-probe", daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return result[0] if result else f"no answer from {host}:{port} within {timeout:.0f} s"


def hub_unavailable(offline: bool = False, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    if offline:
        return "--offline"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return "HF_HUB_OFFLINE=1"
    endpoint = hub_endpoint()
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
    if urlparse(endpoint).scheme == "http":
        proxy = os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy") or ""
    key = (endpoint, proxy)
    if key not in _cache:
        why = _probe(proxy or endpoint, timeout)
        _cache[key] = None if why is None else (f"hub {endpoint} unreachable: {why}" + (f" (via the proxy {urlparse(proxy).hostname})" if proxy else ""))
    return _cache[key]
