"""Input validation of a verl actor checkpoint dir, before anything is merged or written.

verl's ``FSDPCheckpointManager.save_checkpoint`` writes, into ``.../global_step_N/actor``:

- ``model_world_size_{W}_rank_{r}.pt`` for r in 0..W-1: each rank's sharded model state dict
  (DTensors for sharded parameters, plain tensors for replicated ones);
- ``optim_world_size_*`` / ``extra_state_world_size_*`` (optimizer, scheduler, RNG: not exported);
- ``fsdp_config.json`` = ``{"FSDP_version": 1|2, "world_size": W}`` (rank 0);
- ``huggingface/``: the model config, tokenizer and (when it could be read) generation config;
- ``lora_train_meta.json`` when the actor was trained with LoRA.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import ExportError
from archer import rundir

SHARD_RE = re.compile(r"^model_world_size_(\d+)_rank_(\d+)\.pt$")
LORA_META = "lora_train_meta.json"
FSDP_CONFIG = "fsdp_config.json"


@dataclass
class CheckpointInfo:
    """What the export needs to know about a valid FSDP actor checkpoint dir."""

    path: Path
    world_size: int
    fsdp_version: Optional[int]
    shard_paths: list[Path]
    hf_config_dir: Path
    global_step: Optional[int] = None
    notes: list[str] = field(default_factory=list)


_STEP_DIR = re.compile(r"^global_step_(\d+)$")


def resolve_checkpoint_dir(path: Path) -> tuple[Path, Optional[str]]:
    """The verl actor checkpoint dir that ``path`` names, in every form ``archer.eval run --model`` takes:
    ``.../global_step_N/actor`` itself, its ``huggingface/`` subdir, ``.../global_step_N``, or a run dir
    (``global_step_*`` subdirs: the step in verl's latest_checkpointed_iteration.txt, else the highest with an
    ``actor/``). Returns (dir, a note saying what was chosen, or None); a HF model dir is refused (there is
    nothing to convert). Anything else is returned as is, for inspect_checkpoint to explain."""
    path = Path(path)
    if not path.is_dir() or (path / FSDP_CONFIG).is_file() or any(path.glob("model_world_size_*_rank_*.pt")):
        return path, None
    if path.name == "huggingface" and (path.parent / FSDP_CONFIG).is_file():
        return path.parent, f"{path} is the checkpoint's config dir: exporting its actor checkpoint {path.parent}"
    if (path / "actor").is_dir():
        return path / "actor", None
    steps = sorted((int(m.group(1)), c) for c in path.iterdir() if (m := _STEP_DIR.match(c.name)) and c.is_dir())
    if steps:
        with_actor = [(n, c) for n, c in steps if (c / "actor").is_dir()]
        if not with_actor:
            raise ExportError(f"{path}: a run dir whose global_step_* dirs hold no actor/ checkpoint (pruned by "
                              "verl's checkpoint retention?)")
        latest = rundir.marked_step(path)
        chosen = dict(with_actor).get(latest) if latest is not None else None
        if chosen is None:
            latest, chosen = with_actor[-1]
        return chosen / "actor", (f"{path} is a run dir: exporting its latest checkpoint {chosen.name} "
                                  f"(steps with a checkpoint: {', '.join(str(n) for n, _ in with_actor)}; pass "
                                  f"{path}/global_step_N for another)")
    if (path / "config.json").is_file() and (any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))):
        raise ExportError(f"{path} is already a Hugging Face model dir: there is nothing to export "
                          "(python -m archer.eval run --model takes it as it is)")
    return path, None


def global_step_of(path: Path) -> Optional[int]:
    """N of the nearest ``global_step_N`` component of ``path`` (None if there is none)."""
    return rundir.step_of(path)


def _read_fsdp_config(path: Path) -> tuple[int, Optional[int]]:
    config_path = path / FSDP_CONFIG
    if not config_path.is_file():
        hint = ""
        if (path / "actor" / FSDP_CONFIG).is_file():
            hint = f" It exists under {path / 'actor'}: pass that directory instead."
        elif any(path.glob("model_world_size_*_rank_*.pt")):
            hint = (
                " The shard files are there, so the checkpoint was copied without it: copy fsdp_config.json from "
                'the original run, or write {"FSDP_version": 2, "world_size": W} with W = the number of '
                "model_world_size_W_rank_*.pt files."
            )
        elif list(path.glob("global_step_*")):
            hint = " This looks like a run dir: pass one checkpoint, e.g. .../global_step_N/actor."
        raise ExportError(
            f"{config_path} not found: {path} is not a verl FSDP actor checkpoint (expected "
            f".../global_step_N/actor as written by verl's FSDPCheckpointManager).{hint}"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{config_path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ExportError(f"{config_path} must hold a JSON object, found {type(config).__name__}")
    world_size = config.get("world_size")
    if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
        raise ExportError(f"{config_path}: key 'world_size' must be a positive integer, found {world_size!r}")
    version = config.get("FSDP_version")
    if version is not None and version not in (1, 2):
        raise ExportError(f"{config_path}: key 'FSDP_version' must be 1 or 2, found {version!r}")
    return world_size, version


def _shard_paths(path: Path, world_size: int) -> list[Path]:
    found: dict[int, dict[int, Path]] = {}
    for file in path.iterdir():
        match = SHARD_RE.match(file.name)
        if match:
            found.setdefault(int(match.group(1)), {})[int(match.group(2))] = file
    if not found:
        present = sorted(p.name for p in path.iterdir())
        raise ExportError(
            f"checkpoint without weights: {path} has no model_world_size_*_rank_*.pt files (it holds: "
            f"{', '.join(present) or 'nothing'}). The run probably saved without 'model' in "
            "actor_rollout_ref.actor.checkpoint.save_contents, or the shard files were not copied; "
            "export a checkpoint that has them."
        )
    if world_size not in found:
        raise ExportError(
            f"{path / FSDP_CONFIG} says world_size {world_size}, but the model shards are for world size "
            f"{sorted(found)} (model_world_size_W_rank_*.pt): the files come from different runs or were renamed"
        )
    ranks = found[world_size]
    missing = [r for r in range(world_size) if r not in ranks]
    if missing:
        names = ", ".join(f"model_world_size_{world_size}_rank_{r}.pt" for r in missing)
        raise ExportError(f"{path}: missing model shard file(s) {names}; every rank's shard is needed to merge")
    extra = sorted(r for r in ranks if r >= world_size)
    if extra:
        raise ExportError(f"{path}: shard file(s) for rank(s) {extra} beyond world_size {world_size}")
    for rank in range(world_size):
        if ranks[rank].stat().st_size == 0:
            raise ExportError(f"{ranks[rank]} is empty (an interrupted save?)")
        check_torch_file(ranks[rank], "model shard")
    return [ranks[r] for r in range(world_size)]


def check_torch_file(path: Path, what: str) -> None:
    """A torch.save file (a zip archive since torch 1.6) whose directory or member data is cut off is
    refused naming the file; torch.load would only say ``OSError: [Errno 22] Invalid argument``. Reads the
    zip directory only (cheap); files in torch's legacy (non-zip) format are left to torch.load."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"PK\x03\x04":
            return
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.header_offset + len(info.FileHeader()) + info.compress_size > size:
                    raise zipfile.BadZipFile(f"member {info.filename} ends beyond the end of the file")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ExportError(
            f"{path}: {what} file looks truncated or corrupt ({size} bytes; {type(exc).__name__}: {exc}); "
            "an interrupted save or copy? Copy the complete file from the original run, or export another checkpoint"
        ) from None


def check_safetensors_file(path: Path) -> None:
    """A ``.safetensors`` file whose header or tensor data is cut off is refused naming the file (reads the
    8-byte length and the JSON header only)."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError("shorter than the 8-byte header length")
            n = int.from_bytes(head, "little")
            if n > size - 8:
                raise ValueError(f"header of {n} bytes does not fit in the file")
            header = json.loads(fh.read(n).decode("utf-8"))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        if ends and 8 + n + max(ends) > size:
            raise ValueError(f"tensor data ends at byte {8 + n + max(ends)}, beyond the end of the file")
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ExportError(
            f"{path}: safetensors file looks truncated or corrupt ({size} bytes; {type(exc).__name__}: {exc}); "
            "an interrupted write or copy?"
        ) from None


def _hf_config_dir(path: Path, override: Optional[Path]) -> Path:
    hf_dir = Path(override) if override is not None else path / "huggingface"
    if not (hf_dir / "config.json").is_file():
        how = "--hf-config-dir"
        if override is None:
            how = "the checkpoint (verl writes it on rank 0 under huggingface/)"
        raise ExportError(
            f"{hf_dir / 'config.json'} not found ({how}); the model architecture is read from it. Pass "
            "--hf-config-dir DIR with the config.json and tokenizer files of the model that was trained."
        )
    return hf_dir


def refuse_lora(path: Path, shard_keys: Optional[list[str]] = None) -> None:
    """Raise for a LoRA checkpoint (adapter metadata or ``lora_`` parameters in the shards)."""
    lora_keys = [k for k in (shard_keys or []) if "lora_" in k]
    if not (path / LORA_META).is_file() and not lora_keys:
        return
    evidence = f"{path / LORA_META} exists" if (path / LORA_META).is_file() else f"shard keys such as {lora_keys[0]!r}"
    raise ExportError(
        f"{path} is a LoRA checkpoint ({evidence}); archer.export refuses it: verl's merger writes the *base* "
        "weights as the model and the adapter separately (lora_adapter/), so a release made from it would not be "
        "the trained policy. To release it: run `python -m verl.model_merger merge --backend fsdp --local_dir "
        f"{path} --target_dir DIR`, then merge DIR/lora_adapter into the base model with peft "
        "(PeftModel.from_pretrained(base, DIR/lora_adapter).merge_and_unload().save_pretrained(OUT)); for a "
        "save_lora_only checkpoint the base model must come from the original model path."
    )


def inspect_checkpoint(checkpoint_dir: Path, hf_config_dir: Optional[Path] = None) -> CheckpointInfo:
    """Validate an FSDP actor checkpoint dir; raises ExportError naming the file and the fix."""
    path = Path(checkpoint_dir).expanduser()
    if not path.exists():
        raise ExportError(f"checkpoint dir {path} does not exist")
    if not path.is_dir():
        raise ExportError(f"checkpoint dir {path} is a file, not a directory (expected .../global_step_N/actor)")
    world_size, version = _read_fsdp_config(path)
    shard_paths = _shard_paths(path, world_size)
    refuse_lora(path)
    info = CheckpointInfo(
        path=path,
        world_size=world_size,
        fsdp_version=version,
        shard_paths=shard_paths,
        hf_config_dir=_hf_config_dir(path, hf_config_dir),
        global_step=global_step_of(path.resolve()),
    )
    if world_size == 1:
        info.notes.append("world_size 1 checkpoint: one shard file holds the whole model")
    return info


def check_out_dir(out_dir: Path, overwrite: bool, checkpoint_dir: Path) -> Path:
    """Refuse to write into a non-empty dir (unless overwrite) or into the checkpoint itself."""
    out = Path(out_dir).expanduser()
    ckpt = Path(checkpoint_dir).expanduser().resolve()
    resolved = out.resolve()
    if resolved == ckpt or ckpt in resolved.parents:
        raise ExportError(f"output dir {out} is inside the checkpoint dir {ckpt}; choose a separate directory")
    if out.exists() and not out.is_dir():
        raise ExportError(f"output dir {out} is a file")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"output dir {out} is not empty; choose a new directory or pass --overwrite")
    return out
