"""verl's reward-loop worker processes grade the code smoke's programs in archer's sandbox, both of them.

verl's real ``RewardLoopManager`` (the one the v1 trainer builds, ``reward.num_workers=2``: two
``RewardLoopWorker`` Ray actors running verl's DAPO reward manager over ``archer.reward.compute_score``)
scores responses to the code smoke's problems (``archer.smoke.assets``, warm-started model, the smoke's own
data): the hand-written correct and wrong program of every problem, and samples of the warm-started model.
``ARCHER_SMOKE_REWARD_TRACE`` (archer/smoke/reward_trace.py, as in the smoke run) records which process ran
which program, around the unchanged grader.

Checked: each worker process ran programs in the sandbox; every correct program passes its 3 tests and
every wrong one fails; the warm-started model writes some programs that pass and some that do not (the
code smoke's rewards are mixed, so GRPO has a signal).
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from code_reward_support import needs_bwrap

from archer.smoke import cpu_settings
from archer.smoke import problems as smoke_problems
from archer.smoke.assets import DEFAULTS, ensure_assets, settings_for

pytestmark = needs_bwrap

SAMPLES_PER_PROBLEM = 4  # the smoke's n


def _response_ids(tokenizer, prompt_ids: list[int], text: str | None, model=None, seed: int = 0) -> list[int]:
    if text is not None:
        return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt_ids]), do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                             max_new_tokens=DEFAULTS["code"].response_length, eos_token_id=tokenizer.eos_token_id,
                             pad_token_id=tokenizer.pad_token_id)
    tokens = out[0, len(prompt_ids):].tolist()
    return tokens[: tokens.index(tokenizer.eos_token_id) + 1] if tokenizer.eos_token_id in tokens else tokens


def _batch(tokenizer, rows: list[tuple[list[int], list[int], str]]):
    """verl's DataProto of (prompt ids, response ids, ground truth): left-padded prompts, right-padded
    responses, as the agent loop hands them to the reward loop."""
    import numpy as np

    from verl import DataProto

    p_len, r_len = max(len(p) for p, _, _ in rows), max(len(r) for _, r, _ in rows)
    pad = tokenizer.pad_token_id
    prompts = torch.tensor([[pad] * (p_len - len(p)) + p for p, _, _ in rows])
    responses = torch.tensor([r + [pad] * (r_len - len(r)) for _, r, _ in rows])
    mask = torch.tensor([[0] * (p_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (r_len - len(r))
                         for p, r, _ in rows])
    return DataProto.from_dict(
        tensors={"prompts": prompts, "responses": responses, "attention_mask": mask,
                 "input_ids": torch.cat([prompts, responses], 1)},
        non_tensors={"data_source": np.array([smoke_problems.CODE_SOURCE] * len(rows), dtype=object),
                     "reward_model": np.array([{"ground_truth": gt} for _, _, gt in rows], dtype=object),
                     "extra_info": np.array([{"index": i} for i in range(len(rows))], dtype=object)},
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ray = pytest.importorskip("ray")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    from archer.launch.dry_run import compose_config

    settings = settings_for("code")
    assets, manifest, _ = ensure_assets(settings)
    tokenizer = AutoTokenizer.from_pretrained(manifest["model"])
    model = AutoModelForCausalLM.from_pretrained(manifest["model"], torch_dtype=torch.float32).eval()
    problems = smoke_problems.code_problems(settings.train_problems, settings.seed)
    rows, kinds = [], []
    for i, problem in enumerate(problems):
        text = tokenizer.apply_chat_template([{"role": "user", "content": problem.prompt}],
                                             add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for kind, text in (("correct", problem.correct), ("wrong", problem.wrong)):
            rows.append((prompt_ids, _response_ids(tokenizer, prompt_ids, text), problem.ground_truth))
            kinds.append(kind)
        for k in range(SAMPLES_PER_PROBLEM):
            rows.append((prompt_ids, _response_ids(tokenizer, prompt_ids, None, model, seed=100 * i + k),
                         problem.ground_truth))
            kinds.append("sample")

    trace = tmp_path_factory.mktemp("reward_loop") / "trace.jsonl"
    config = compose_config([f"actor_rollout_ref.model.path={manifest['model']}", "reward.num_workers=2",
                             f"data.max_response_length={settings.response_length}",
                             f"data.max_prompt_length={manifest['prompt_length']}"])
    # what the smoke launcher hands every Ray worker (the smoke backend, which installs the trace), plus its
    # offline switches
    smoke_env = {st.name: st.smoke for st in cpu_settings.for_rollout("cpu_transformers") if st.is_env}
    smoke_env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    owns_ray = not ray.is_initialized()
    assert owns_ray, "a Ray cluster is already up in this process: its workers would lack the trace variable"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="archer_reward_loop_test",
             runtime_env={"env_vars": {**smoke_env, "ARCHER_SMOKE_REWARD_TRACE": str(trace)}})
    try:
        manager = RewardLoopManager(config=config)
        out = manager.compute_rm_score(_batch(tokenizer, rows))
    finally:
        ray.shutdown()
    traced = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()] if trace.exists() else []
    return kinds, out, traced


def test_both_reward_loop_workers_ran_programs_in_the_sandbox(graded):
    kinds, _, traced = graded
    assert len(traced) == len(kinds), f"{len(traced)} programs graded of {len(kinds)}"
    assert all("RewardLoopWorker" in r["process"] for r in traced), sorted({r["process"] for r in traced})
    assert all(r["data_source"] == smoke_problems.CODE_SOURCE and r["total"] == 3 for r in traced)
    assert len({r["pid"] for r in traced}) == 2 and os.getpid() not in {r["pid"] for r in traced}


def test_correct_programs_pass_and_wrong_ones_fail(graded):
    kinds, out, _ = graded
    acc = out.non_tensor_batch["acc"].tolist()
    assert [a for a, k in zip(acc, kinds) if k == "correct"] == [1.0] * kinds.count("correct"), acc
    assert [a for a, k in zip(acc, kinds) if k == "wrong"] == [0.0] * kinds.count("wrong"), acc


def test_the_warm_started_model_writes_some_passing_and_some_failing_programs(graded):
    kinds, out, _ = graded
    sampled = [a for a, k in zip(out.non_tensor_batch["acc"].tolist(), kinds) if k == "sample"]
    assert 1.0 in sampled and 0.0 in sampled, sampled
