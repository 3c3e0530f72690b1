"""Verification of an exported model against the checkpoint shards.

(a) tensors: every tensor in the exported safetensors equals the tensor merged here from the shard files
    (``shards.py``, independent of verl's merger): the same names (no missing, no extra key; a tied
    output embedding may be absent from the files when the config ties it), the same shapes, and values
    within bfloat16 rounding: |exported - shards| <= 2^-8 * |shards| per element (verl's merger stores
    bfloat16; round-to-nearest moves a value by at most half a bf16 ulp = 2^-8 of its magnitude).
(b) logits: the exported dir reloaded with transformers (``from_pretrained``) and a model built from its
    config with the shard tensors (rounded to the exported dtype, as stored) give the same logits on a
    fixed prompt, both computed in ``dtype`` (float32 by default) with eager attention: max |diff| <=
    ``LOGITS_ATOL``. The difference to the unrounded shard tensors is reported too (information: the
    effect of bf16 storage, not a pass criterion).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import torch
from tqdm import tqdm

from .errors import ExportError
from .shards import load_rank_files, merge_rank_states


BF16_RTOL = 2.0**-8
LOGITS_ATOL = 1e-4
DEFAULT_PROMPT = "Solve: what is 12 * 7? Put the final answer in \\boxed{}."


@dataclass
class CheckResult:
    name: str
    passed: bool
    max_abs_diff: Optional[float] = None
    tolerance: str = ""
    details: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def exported_tensors(out_dir: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the safetensors file(s) of a Hugging Face model dir."""
    from safetensors.torch import load_file

    index = out_dir / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
    elif (out_dir / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        raise ExportError(f"{out_dir} has no model.safetensors / model.safetensors.index.json")
    tensors: dict[str, torch.Tensor] = {}
    from .checks import check_safetensors_file

    for name in files:
        check_safetensors_file(out_dir / name)
        for key, value in load_file(str(out_dir / name)).items():
            if key in tensors:
                raise ExportError(f"{out_dir}: tensor {key} appears in more than one safetensors file")
            tensors[key] = value
    return tensors


def _tied_keys(out_dir: Path, reference: dict[str, torch.Tensor]) -> set[str]:
    """Reference keys that may be absent from the files because the config ties them to the input embedding."""
    config = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    text = config.get("text_config") or {}
    tied = config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))
    if not tied:
        return set()
    return {k for k in reference if k.endswith("lm_head.weight")}


def compare_tensors(out_dir: Path, reference: dict[str, torch.Tensor]) -> CheckResult:
    result = CheckResult("tensors", passed=True, tolerance=f"|exported - shards| <= {BF16_RTOL} * |shards|")
    exported = exported_tensors(out_dir)
    tied = _tied_keys(out_dir, reference)
    missing = sorted(set(reference) - set(exported) - tied)
    extra = sorted(set(exported) - set(reference))
    if missing:
        result.problems.append(f"missing in the export: {missing}")
    if extra:
        result.problems.append(f"not in the checkpoint shards: {extra}")
    embed = [k for k in reference if k.endswith("embed_tokens.weight")]
    for key in sorted(tied - set(exported)):
        if len(embed) != 1 or reference[key].shape != reference[embed[0]].shape or not torch.allclose(
            reference[key], reference[embed[0]]
        ):
            result.problems.append(
                f"config.json ties {key} to the input embedding, but the checkpoint's {key} differs from "
                f"{embed[0] if embed else 'the input embedding'}: the export lost the trained output layer "
                "(wrong tie_word_embeddings in the config?)"
            )
    max_abs = 0.0
    dtypes = set()
    for key in tqdm(sorted(set(exported) & set(reference)), desc="comparing tensors", unit="tensor", leave=False):
        got, want = exported[key], reference[key]
        dtypes.add(str(got.dtype).replace("torch.", ""))
        if tuple(got.shape) != tuple(want.shape):
            result.problems.append(f"{key}: shape {tuple(got.shape)} in the export, {tuple(want.shape)} in the shards")
            continue
        if not got.is_floating_point():
            if not torch.equal(got, want):
                result.problems.append(f"{key}: integer tensor differs")
            continue
        diff = (got.float() - want.float()).abs()
        if diff.numel():
            max_abs = max(max_abs, float(diff.max()))
        bad = diff > BF16_RTOL * want.float().abs()
        if bool(bad.any()) or not bool(torch.isfinite(got).all() == torch.isfinite(want).all()):
            result.problems.append(
                f"{key}: {int(bad.sum())} element(s) beyond bf16 rounding (max |diff| {float(diff.max()):.3g})"
            )
    result.max_abs_diff = max_abs
    result.details = {
        "tensors_compared": len(set(exported) & set(reference)),
        "tied_keys_absent": sorted(tied - set(exported)),
        "exported_dtypes": sorted(dtypes),
    }
    result.passed = not result.problems
    return result


def _prompt_ids(out_dir: Path, prompt: str) -> torch.Tensor:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(out_dir))
    except Exception as exc:
        raise ExportError(f"the exported tokenizer in {out_dir} does not load: {exc}") from exc
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    if ids.numel() == 0:
        raise ExportError(f"the verification prompt {prompt!r} encodes to no tokens; pass another --verify-prompt")
    return ids


def compare_logits(
    out_dir: Path, reference: dict[str, torch.Tensor], prompt: str, dtype: torch.dtype, trust_remote_code: bool
) -> CheckResult:
    from transformers import AutoConfig, AutoModelForCausalLM

    tolerance = f"max |diff| <= {LOGITS_ATOL} ({str(dtype).replace('torch.', '')}, eager attention)"
    result = CheckResult("logits", passed=False, tolerance=tolerance)
    config = AutoConfig.from_pretrained(str(out_dir), trust_remote_code=trust_remote_code)
    architectures = getattr(config, "architectures", None) or []
    if not any("ForCausalLM" in a for a in architectures):
        result.problems.append(f"logits check supports causal LMs only; architectures {architectures}")
        return result
    ids = _prompt_ids(out_dir, prompt)
    exported = AutoModelForCausalLM.from_pretrained(
        str(out_dir), dtype=dtype, attn_implementation="eager", trust_remote_code=trust_remote_code
    ).eval()
    stored = {k: v.dtype for k, v in exported_tensors(out_dir).items()}
    config._attn_implementation = "eager"
    built = AutoModelForCausalLM.from_config(config, dtype=dtype, trust_remote_code=trust_remote_code).eval()
    as_stored = {k: v.to(stored.get(k, v.dtype)).to(dtype) for k, v in reference.items()}
    result_keys = built.load_state_dict(as_stored, strict=False)
    if result_keys.missing_keys or result_keys.unexpected_keys:
        result.problems.append(
            f"the shard tensors do not fit the model class: missing {result_keys.missing_keys}, "
            f"unexpected {result_keys.unexpected_keys}"
        )
        return result
    with torch.no_grad():
        got = exported(input_ids=ids).logits.float()
        want = built(input_ids=ids).logits.float()
        built.load_state_dict({k: v.to(dtype) for k, v in reference.items()}, strict=False)
        unrounded = built(input_ids=ids).logits.float()
    diff = float((got - want).abs().max())
    result.max_abs_diff = diff
    result.details = {
        "prompt": prompt,
        "prompt_tokens": int(ids.shape[1]),
        "max_abs_diff_vs_unrounded_shards": float((got - unrounded).abs().max()),
        "max_abs_logit": float(want.abs().max()),
    }
    if not bool(torch.isfinite(got).all()):
        result.problems.append("the exported model gives non-finite logits")
    if diff > LOGITS_ATOL:
        result.problems.append(f"logits differ by {diff:.3g} > {LOGITS_ATOL}")
    result.passed = not result.problems
    return result


def verify_export(
    out_dir: Path,
    shard_paths: list[Path],
    *,
    prompt: str = DEFAULT_PROMPT,
    dtype: torch.dtype = torch.float32,
    trust_remote_code: bool = False,
) -> list[CheckResult]:
    """Run (a) and (b); returns their results (the caller decides what a failure does)."""
    reference = merge_rank_states(load_rank_files(shard_paths))
    results = []
    for name, check in (
        ("tensors", lambda: compare_tensors(out_dir, reference)),
        ("logits", lambda: compare_logits(out_dir, reference, prompt, dtype, trust_remote_code)),
    ):
        try:
            results.append(check())
        except ExportError as exc:
            results.append(CheckResult(name, passed=False, problems=[str(exc)]))
    return results


def results_as_dict(results: list[CheckResult]) -> dict:
    return {r.name: asdict(r) for r in results}
