"""Per-sample generation requests: seeds, greedy decoding, length checks. Pure Python, no vLLM needed.

Seeds. Every (benchmark, problem, sample) gets its own random stream:

    problem_seed(S, data_source, index) = sha256("S|data_source|index") mod 2**63
    sample_seed(problem_seed, j)        = sha256("problem_seed|j")      mod 2**63

so no two samples share a stream, whichever benchmark, problem or sample index they have, and a sample's
seed does not depend on which other problems are generated with it (batching, sharding, resume). vLLM
(``SamplingParams.seed``) takes one request per sample (``n=1``) with its ``sample_seed``; the transformers
backend seeds ``torch`` with the ``problem_seed`` before generating a problem's n samples. Seeds are kept
in [0, 2**63): vLLM treats ``-1`` as "unseeded" and a seed >= 2**64 overflows its generator.

Greedy (temperature 0): vLLM refuses ``n > 1`` with greedy sampling, and greedy samples are identical
anyway, so one request (``n=1``) is decoded and its text repeated n times.

Lengths. A prompt of ``max_model_len`` tokens or more makes vLLM raise and abort the whole batch; a
prompt + ``max_tokens`` beyond ``max_model_len`` would cut the response short silently. ``check_lengths``
sorts the prompts into those that fit, those whose ``max_tokens`` is capped to the room left (reported),
and those that cannot be generated at all (skipped and reported).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Sequence

from archer.eval.errors import EvalInputError

__all__ = ["SEED_LIMIT", "check_base_seed", "check_request_seed", "problem_seed", "sample_seed", "SampleRequest",
           "build_requests", "assemble", "LengthReport", "check_lengths", "to_vllm", "check_sampling"]

SEED_LIMIT = 2**63  # request seeds are in [0, SEED_LIMIT)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_base_seed(seed: Any) -> int:
    """The ``--seed`` value: an integer in [0, 2**63)."""
    if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise EvalInputError(f"--seed must be an integer in [0, 2**63), got {seed!r}")
    return seed


def check_request_seed(seed: Any, what: str = "seed") -> int:
    """A seed as vLLM can take it: an int in [0, 2**63) (-1 would mean unseeded, >= 2**64 overflows)."""
    if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise EvalInputError(f"{what}: request seed must be an integer in [0, 2**63), got {seed!r}")
    return seed


def _hash(*parts: Any) -> int:
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big") % SEED_LIMIT


def problem_seed(base_seed: int, data_source: str, index: Any) -> int:
    """The seed of one problem, from ``--seed``, its benchmark and its id (``index``)."""
    return _hash(check_base_seed(base_seed), data_source, index)


def sample_seed(problem: int, sample: int) -> int:
    """The seed of sample ``sample`` of a problem whose seed is ``problem``."""
    return _hash(check_request_seed(problem, "problem seed"), sample)


def check_sampling(temperature: float, top_p: float, max_tokens: int, n: int) -> None:
    """Reject settings no backend can run, before any model loads (messages name the flag)."""
    if not temperature >= 0:
        raise EvalInputError(f"--temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise EvalInputError(f"--top-p must be in (0, 1], got {top_p}")
    if not _is_int(max_tokens) or max_tokens < 1:
        raise EvalInputError(f"--max-tokens must be an integer >= 1, got {max_tokens!r}")
    if not _is_int(n) or n < 1:
        raise EvalInputError(f"--n: samples per problem must be an integer >= 1, got {n!r}")


@dataclass(frozen=True)
class SampleRequest:
    """One engine request: ``samples`` are the sample indices of problem ``problem`` it answers (one, or
    all n for greedy decoding); ``params`` are SamplingParams keyword arguments (always ``n=1``)."""

    problem: int  # position in the prompts given to build_requests
    samples: tuple[int, ...]
    prompt_token_ids: list[int] = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)


def build_requests(prompts: Sequence[Sequence[int]], n: int, *, temperature: float, top_p: float, max_tokens,
                   seeds: Sequence[int]) -> list[SampleRequest]:
    """Requests for ``n`` samples of every prompt. ``seeds[i]`` is prompt i's ``problem_seed``;
    ``max_tokens`` is one int or one per prompt (see ``check_lengths``). Greedy: one request per prompt."""
    if len(seeds) != len(prompts):
        raise ValueError(f"{len(seeds)} seeds for {len(prompts)} prompts")
    caps = [max_tokens] * len(prompts) if _is_int(max_tokens) else list(max_tokens)
    if len(caps) != len(prompts):
        raise ValueError(f"{len(caps)} max_tokens for {len(prompts)} prompts")
    check_sampling(temperature, top_p, min(caps) if caps else 1, n)
    greedy = temperature == 0
    requests: list[SampleRequest] = []
    for i, (prompt, seed) in enumerate(zip(prompts, seeds)):
        check_request_seed(seed, f"prompt {i}")
        if greedy:
            params = {"n": 1, "temperature": 0.0, "max_tokens": caps[i]}
            requests.append(SampleRequest(i, tuple(range(n)), list(prompt), params))
            continue
        for j in range(n):
            params = {"n": 1, "temperature": float(temperature), "top_p": float(top_p), "max_tokens": caps[i],
                      "seed": sample_seed(seed, j)}
            requests.append(SampleRequest(i, (j,), list(prompt), params))
    return requests


def assemble(requests: Sequence[SampleRequest], texts: Sequence[str], n_prompts: int, n: int) -> list[list[str]]:
    """Per prompt, its n response texts in sample order, from one text per request."""
    if len(texts) != len(requests):
        raise RuntimeError(f"the engine returned {len(texts)} outputs for {len(requests)} requests")
    out: list[list[str | None]] = [[None] * n for _ in range(n_prompts)]
    for req, text in zip(requests, texts):
        for j in req.samples:
            out[req.problem][j] = text
    missing = [(i, j) for i, row in enumerate(out) for j, t in enumerate(row) if t is None]
    if missing:
        raise RuntimeError(f"no output for (prompt, sample) {missing[:5]}")
    return out  # type: ignore[return-value]


@dataclass
class LengthReport:
    """``max_tokens[i]``: the cap for prompt i (None: skipped); ``capped`` / ``skipped``: (i, prompt tokens)."""

    max_model_len: int | None
    max_tokens: list[int | None]
    capped: list[tuple[int, int]] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)


def check_lengths(prompt_lens: Sequence[int], max_tokens: int, max_model_len: int | None) -> LengthReport:
    """Which prompts fit in ``max_model_len`` (None: no limit known, everything fits as asked).

    - prompt >= max_model_len: skipped (vLLM would raise and abort the batch);
    - prompt + max_tokens > max_model_len: generated with max_tokens = max_model_len - prompt (capped);
    - else: max_tokens as asked."""
    report = LengthReport(max_model_len, [max_tokens] * len(prompt_lens))
    if max_model_len is None:
        return report
    for i, length in enumerate(prompt_lens):
        if length >= max_model_len:
            report.max_tokens[i] = None
            report.skipped.append((i, length))
        elif length + max_tokens > max_model_len:
            report.max_tokens[i] = max_model_len - length
            report.capped.append((i, length))
    return report


def to_vllm(requests: Sequence[SampleRequest], sampling_params_cls) -> list:
    """``SamplingParams`` objects (``sampling_params_cls`` is ``vllm.SamplingParams``), one per request."""
    return [sampling_params_cls(**req.params) for req in requests]
