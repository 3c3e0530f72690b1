"""Full tensors from verl's FSDP shard files, read here independently of verl's merger.

Each ``model_world_size_W_rank_r.pt`` holds rank r's sharded state dict. A sharded parameter is a
DTensor whose device mesh is ``("fsdp",)`` or ``("ddp", "fsdp")``: its ``_local_tensor`` is rank r's
chunk along the ``Shard(dim)`` of the fsdp mesh dim (replicated along ddp), and the DTensor records the
global shape. The full tensor is the concatenation of the chunks of the ranks in rank 0's fsdp group,
in mesh order; it must have the recorded global shape. A plain tensor (buffer, unsharded parameter)
is replicated: every rank must hold the same values.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from .errors import ExportError

try:
    from torch.distributed.tensor import DTensor
except ImportError:  # torch < 2.5
    from torch.distributed._tensor import DTensor


def load_rank_files(shard_paths: list[Path]) -> list[dict]:
    states = []
    for path in tqdm(shard_paths, desc="reading shards for verification", unit="rank", leave=False):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise ExportError(f"cannot read shard file {path} (truncated or corrupt?): {type(exc).__name__}: {exc}") from exc
        if not isinstance(state, dict):
            raise ExportError(f"{path} holds a {type(state).__name__}, not a state dict")
        states.append(state)
    return states


def _fsdp_group(dtensor: "DTensor", name: str) -> tuple[list[int], int]:
    """(global ranks of rank 0's fsdp group in mesh order, index of the fsdp mesh dim)."""
    mesh = dtensor.device_mesh
    names = tuple(mesh.mesh_dim_names or ("fsdp",) * mesh.ndim)
    if names not in (("fsdp",), ("ddp", "fsdp"), ("dp", "fsdp")):
        raise ExportError(f"{name}: unsupported device mesh {names} (only fsdp and ddp x fsdp are handled)")
    grid = mesh.mesh
    while grid.ndim > 1:
        grid = grid[0]
    return [int(r) for r in grid.tolist()], len(names) - 1


def merge_rank_states(states: list[dict]) -> dict[str, torch.Tensor]:
    """The full float32 state dict (float32 for comparison; the shards may be fp32 or bf16)."""
    keys = list(states[0])
    for rank, state in enumerate(states[1:], start=1):
        if set(state) != set(keys):
            diff = sorted(set(state) ^ set(keys))
            raise ExportError(f"rank {rank}'s shard has different parameter names than rank 0's: {diff[:5]}")
    merged: dict[str, torch.Tensor] = {}
    for name in tqdm(keys, desc="merging shards for verification", unit="tensor", leave=False):
        first = states[0][name]
        if isinstance(first, DTensor):
            ranks, fsdp_dim = _fsdp_group(first, name)
            placements = tuple(first.placements)
            for i, placement in enumerate(placements):
                if i != fsdp_dim and not placement.is_replicate():
                    raise ExportError(f"{name}: placement {placement} on a non-fsdp mesh dim is not supported")
            placement = placements[fsdp_dim]
            locals_ = [states[r][name]._local_tensor for r in ranks] if len(ranks) <= len(states) else None
            if locals_ is None:
                raise ExportError(f"{name}: the mesh needs ranks {ranks}, only {len(states)} shard files exist")
            if placement.is_shard():
                full = torch.cat(locals_, dim=placement.dim)
            elif placement.is_replicate():
                full = locals_[0]
            else:
                raise ExportError(f"{name}: placement {placement} (partial) cannot be merged")
            if tuple(full.shape) != tuple(first.shape):
                raise ExportError(
                    f"{name}: shards concatenate to shape {tuple(full.shape)}, the DTensor records {tuple(first.shape)}"
                )
            merged[name] = full.float() if full.is_floating_point() else full
        elif isinstance(first, torch.Tensor):
            for rank, state in enumerate(states[1:], start=1):
                if state[name].shape != first.shape or not torch.equal(state[name], first):
                    raise ExportError(f"{name}: plain (replicated) tensor differs between rank 0 and rank {rank}")
            merged[name] = first.float() if first.is_floating_point() else first
        else:
            raise ExportError(f"{name}: unsupported entry type {type(first).__name__} in the shard files")
    return merged
