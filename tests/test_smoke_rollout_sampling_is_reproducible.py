"""The smoke's CPU rollout samples reproducibly: two servers with the same seed and weights, asked for the
same requests in a different order (as the agent loop's concurrent requests may arrive), draw the same
responses for each prompt, with the same log-probs. So two smoke runs from the same seed get the same
rollouts whatever the loss (the premise of comparing an ASPO run with a GRPO run), and a group's n
identical prompts still get n different samples.

``archer.smoke.rollout.TransformersServer`` itself (the class the smoke's Ray actor runs), on the tiny
Qwen2 of tests/verl_cpu_support.py."""

from __future__ import annotations

from collections import Counter

import pytest

from verl_cpu_support import build_tiny_model

from archer.smoke.rollout import TransformersServer

SAMPLING = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True, "max_tokens": 8}
P, Q = [2, 5, 9, 11], [2, 7, 7, 30, 4]
GROUP = 4  # n responses per prompt


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("rollout_model") / "model"))


def draw(server, prompts):
    out = {}
    for prompt in prompts:
        tokens, log_probs = server._generate(list(prompt), dict(SAMPLING))
        out.setdefault(tuple(prompt), []).append((tuple(tokens), tuple(round(x, 5) for x in log_probs)))
    return {k: Counter(v) for k, v in out.items()}


def test_same_seed_same_samples_per_prompt_whatever_the_arrival_order(model_dir):
    a = TransformersServer(model_dir, prompt_length=8, response_length=8, seed=0)
    b = TransformersServer(model_dir, prompt_length=8, response_length=8, seed=0)
    first = draw(a, [P, Q] * GROUP)
    second = draw(b, [Q] * GROUP + [P] * GROUP)
    assert first == second
    # the group's identical prompts are n draws, not one sample repeated
    assert all(len(samples) > 1 for samples in first.values()), first


def test_new_weights_draw_afresh_and_another_seed_draws_otherwise(model_dir):
    a = TransformersServer(model_dir, prompt_length=8, response_length=8, seed=0)
    before = draw(a, [P] * GROUP)
    a.load_weights(a.model.state_dict(), global_steps=1)  # the same weights, a new weight version
    after = draw(a, [P] * GROUP)
    other = draw(TransformersServer(model_dir, prompt_length=8, response_length=8, seed=1), [P] * GROUP)
    assert after != before and other != before
