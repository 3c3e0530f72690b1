"""The vLLM request builder (archer.eval.requests), tested without vLLM's engine: every (benchmark,
problem, sample) has its own seed, greedy decoding with n > 1 is one request repeated, seeds vLLM cannot
take are refused, prompts that do not fit the context are reported; plus the checks the CLI makes before
any model loads. Where vllm is importable, the requests are also built into its real SamplingParams."""

from __future__ import annotations

import importlib.util

import pytest

from archer.eval.errors import EvalInputError
from archer.eval.requests import (SEED_LIMIT, assemble, build_requests, check_base_seed, check_lengths,
                                  check_request_seed, problem_seed, sample_seed, to_vllm)
from eval_support import build_tiny_model, run_cli, write_eval_set

HAVE_VLLM = importlib.util.find_spec("vllm") is not None


def test_seeds_are_distinct_per_benchmark_problem_and_sample():
    seeds = {}
    for bench in ("aime2024", "aime2025", "math500"):
        for index in range(60):
            ps = problem_seed(0, bench, index)
            for j in range(16):
                seeds[(bench, index, j)] = sample_seed(ps, j)
    assert len(set(seeds.values())) == len(seeds)  # no two samples share a stream (the old S+i+j did)
    assert all(0 <= s < SEED_LIMIT for s in seeds.values())
    assert problem_seed(0, "aime2024", 3) == problem_seed(0, "aime2024", 3)  # a function of its inputs only
    assert problem_seed(1, "aime2024", 3) != problem_seed(0, "aime2024", 3)
    assert problem_seed(0, "aime2024", 1) != problem_seed(0, "aime2025", 1)


def test_sampled_requests_are_one_per_sample_with_its_own_seed():
    seeds = [problem_seed(0, "math500", i) for i in range(2)]
    reqs = build_requests([[5, 6], [7]], 3, temperature=0.8, top_p=0.95, max_tokens=16, seeds=seeds)
    assert [(r.problem, r.samples) for r in reqs] == [(0, (0,)), (0, (1,)), (0, (2,)), (1, (0,)), (1, (1,)), (1, (2,))]
    assert all(r.params["n"] == 1 and r.params["max_tokens"] == 16 for r in reqs)
    assert [r.params["seed"] for r in reqs] == [sample_seed(seeds[i], j) for i in range(2) for j in range(3)]
    texts = [f"p{r.problem}s{r.samples[0]}" for r in reqs]
    assert assemble(reqs, texts, 2, 3) == [["p0s0", "p0s1", "p0s2"], ["p1s0", "p1s1", "p1s2"]]


def test_greedy_with_n_above_one_is_one_request_repeated():
    reqs = build_requests([[5, 6], [7]], 4, temperature=0.0, top_p=0.95, max_tokens=[8, 3], seeds=[1, 2])
    assert [(r.problem, r.samples) for r in reqs] == [(0, (0, 1, 2, 3)), (1, (0, 1, 2, 3))]
    assert reqs[0].params == {"n": 1, "temperature": 0.0, "max_tokens": 8}  # no seed, no top_p: greedy
    assert reqs[1].params["max_tokens"] == 3
    assert assemble(reqs, ["a", "b"], 2, 4) == [["a"] * 4, ["b"] * 4]


@pytest.mark.parametrize("seed", [-1, -5, SEED_LIMIT, 2**64, 2**64 + 3, True, 1.5, "7"])
def test_seeds_vllm_cannot_take_are_rejected(seed):
    with pytest.raises(EvalInputError, match="--seed"):
        check_base_seed(seed)
    with pytest.raises(EvalInputError, match=r"\[0, 2\*\*63\)"):
        check_request_seed(seed)
    with pytest.raises(EvalInputError):
        build_requests([[1]], 2, temperature=0.8, top_p=0.9, max_tokens=4, seeds=[seed])


def test_bad_sampling_settings_are_rejected():
    for kwargs, flag in (({"temperature": -0.1}, "--temperature"), ({"top_p": 0.0}, "--top-p"),
                         ({"max_tokens": 0}, "--max-tokens")):
        args = {"temperature": 0.8, "top_p": 0.95, "max_tokens": 4, **kwargs}
        with pytest.raises(EvalInputError, match=flag):
            build_requests([[1]], 2, seeds=[0], **args)
    with pytest.raises(EvalInputError, match="--n"):
        build_requests([[1]], 0, temperature=0.8, top_p=0.95, max_tokens=4, seeds=[0])


def test_prompts_that_do_not_fit_are_skipped_or_capped():
    report = check_lengths([3, 10, 12, 8, 6], max_tokens=4, max_model_len=10)
    assert report.skipped == [(1, 10), (2, 12)]  # at or over max_model_len: vLLM would abort the batch
    assert report.capped == [(3, 8)]  # 8 + 4 > 10: only 2 tokens of room, reported
    assert report.max_tokens == [4, None, None, 2, 4]
    unlimited = check_lengths([3, 10_000], max_tokens=4, max_model_len=None)
    assert unlimited.skipped == unlimited.capped == [] and unlimited.max_tokens == [4, 4]


@pytest.mark.skipif(not HAVE_VLLM, reason="vllm is not installed here (GPU nodes only); the request builder's "
                                          "output is checked against vLLM's real SamplingParams where it is")
def test_requests_are_accepted_by_vllm_sampling_params():
    from vllm import SamplingParams

    with pytest.raises(ValueError):  # the defect: greedy with n > 1 is refused by vLLM itself
        SamplingParams(n=4, temperature=0.0)
    for temperature in (0.0, 0.8):
        reqs = build_requests([[5, 6], [7]], 4, temperature=temperature, top_p=0.95, max_tokens=8,
                              seeds=[problem_seed(0, "aime2024", 0), problem_seed(0, "aime2024", 1)])
        params = to_vllm(reqs, SamplingParams)
        assert all(p.n == 1 and p.max_tokens == 8 for p in params)
        if temperature:
            assert len({p.seed for p in params}) == 8


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("req")
    write_eval_set(root / "data", "math500", [("w5 w6", "1")])
    return build_tiny_model(root / "model"), root / "data"


@pytest.mark.parametrize("extra, message", [
    (("--seed", "-1"), "--seed must be an integer in [0, 2**63)"),
    (("--temperature", "-1"), "--temperature must be >= 0"),
    (("--data-parallel", "0"), "--data-parallel must be >= 1"),
    (("--data-parallel", "two"), "--data-parallel must be a positive integer or 'auto'"),
])
def test_cli_rejects_bad_settings_before_any_model_loads(tiny, tmp_path, monkeypatch, extra, message):
    model, data = tiny
    import archer.eval.pipeline as pipeline

    monkeypatch.setattr(pipeline, "generate_benchmarks", lambda *a, **k: pytest.fail("a model was about to load"))
    code, _, err = run_cli("run", "--model", str(model), "--out", str(tmp_path / "out"), "--data-dir", str(data),
                           "--benchmarks", "math500", "--backend", "transformers", "--no-progress", *extra)
    assert code == 2 and message in err, err


def test_cli_rejects_more_engines_than_gpus(tiny, tmp_path, monkeypatch):
    model, data = tiny
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    args = ("run", "--model", str(model), "--out", str(tmp_path / "out"), "--data-dir", str(data),
            "--benchmarks", "math500", "--backend", "vllm", "--no-progress")
    code, _, err = run_cli(*args, "--data-parallel", "3")
    assert code == 2 and "--data-parallel 3 x --tensor-parallel-size 1 needs 3 GPUs, but 2 are visible" in err, err
    code, _, err = run_cli(*args, "--data-parallel", "2", "--tensor-parallel-size", "2")
    assert code == 2 and "needs 4 GPUs, but 2 are visible" in err, err
    code, _, err = run_cli(*args, "--data-parallel", "auto", "--tensor-parallel-size", "4")
    assert code == 2 and "--tensor-parallel-size 4 needs 4 GPUs" in err, err
