"""Rule family "cross_field" (archer.launch.rules.cross_field): settings that are fine alone but cannot run
together. Each rule with a passing and a failing case on a plain config, then through the whole dry run."""

from __future__ import annotations

import pytest

from archer.launch import rules
from rules_support import config, line_naming, rejected, world

A, R = "actor_rollout_ref.actor", "actor_rollout_ref.rollout"
OK = {"data.max_prompt_length": 16, "data.max_response_length": 32, f"{A}.use_dynamic_bsz": True,
      f"{A}.ppo_max_token_len_per_gpu": 48, "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": 48,
      f"{R}.log_prob_max_token_len_per_gpu": 48, f"{R}.max_model_len": 48,
      "reward.reward_kwargs.overlong_buffer_cfg.enable": True, "reward.reward_kwargs.overlong_buffer_cfg.len": 16,
      "trainer.nnodes": 1, "trainer.n_gpus_per_node": 8, f"{R}.tensor_model_parallel_size": 2,
      f"{A}.ulysses_sequence_parallel_size": 2, f"{R}.n": 4, "algorithm.filter_groups.enable": True,
      "data.train_batch_size": 8, f"{A}.ppo_mini_batch_size": 4}

# rule -> (what passes, what fails, words of the failure)
RULES = {
    "token caps fit one full-length sequence (dynamic batching)": (
        {f"{A}.ppo_max_token_len_per_gpu": 48}, {f"{A}.ppo_max_token_len_per_gpu": 47},
        ["PPO_MAX_TOKEN_LEN_PER_GPU", "=47 is below prompt + response = 16 + 32 = 48", "at least 48"]),
    "the reference / rollout log-prob caps too": (
        {f"{A}.use_dynamic_bsz": False, f"{R}.log_prob_max_token_len_per_gpu": 20},
        {f"{R}.log_prob_max_token_len_per_gpu": 20}, ["LOG_PROB_MAX_TOKEN_LEN_PER_GPU", "=20 is below"]),
    "vLLM's context fits prompt + response": (
        {f"{R}.max_model_len": 64}, {f"{R}.max_model_len": 40}, ["ROLLOUT_MAX_MODEL_LEN", "=40 is below", "48"]),
    "the overlong buffer is shorter than the response": (
        {"reward.reward_kwargs.overlong_buffer_cfg.enable": False, "reward.reward_kwargs.overlong_buffer_cfg.len": 32},
        {"reward.reward_kwargs.overlong_buffer_cfg.len": 32}, ["OVERLONG_BUFFER_LEN", "=32 is not below", "every response"]),
    "rollout tensor parallelism tiles the GPUs": (
        {f"{R}.tensor_model_parallel_size": 8}, {f"{R}.tensor_model_parallel_size": 3},
        ["ROLLOUT_TP", "=3 does not tile 1 node(s) x 8 GPUs"]),
    "Ulysses sequence parallelism divides the GPUs": (
        {f"{A}.ulysses_sequence_parallel_size": 4}, {f"{A}.ulysses_sequence_parallel_size": 3},
        ["SP_SIZE", "=3 does not divide the 8 GPUs"]),
    "group filtering needs two responses per prompt": (
        {f"{R}.n": 1, "algorithm.filter_groups.enable": False}, {f"{R}.n": 1},
        ["N_RESPONSES", "=1 with FILTER_GROUPS=True", "every group would be dropped"]),
    "the mini-batch is not larger than the batch": (
        {f"{A}.ppo_mini_batch_size": 8}, {f"{A}.ppo_mini_batch_size": 16},
        ["PPO_MINI_BATCH_SIZE", "=16 exceeds", "TRAIN_BATCH_SIZE", "=8"]),
    "the batch is a multiple of the mini-batch": (
        {f"{A}.ppo_mini_batch_size": 2}, {f"{A}.ppo_mini_batch_size": 3},
        ["TRAIN_BATCH_SIZE", "=8 is not a multiple of", "PPO_MINI_BATCH_SIZE", "=3"]),
}


def test_the_base_of_these_cases_passes():
    assert rules.cross_field(config(OK)) == []


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_passes_and_fails(rule):
    passing, failing, words = RULES[rule]
    assert rules.cross_field(config({**OK, **passing})) == []
    problems = rules.cross_field(config({**OK, **failing}))
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0], (word, problems[0])


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    return world(tmp_path_factory)


def test_combinations_that_cannot_run_are_reported_together_by_the_dry_run(w):
    message = rejected(
        w,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=20",  # below 16 + 32
        "actor_rollout_ref.rollout.max_model_len=40",
        "actor_rollout_ref.rollout.tensor_model_parallel_size=3",
        "trainer.n_gpus_per_node=8",
    )
    assert "at least 48" in line_naming(message, "PPO_MAX_TOKEN_LEN_PER_GPU")
    assert line_naming(message, "ROLLOUT_MAX_MODEL_LEN")
    assert "does not tile" in line_naming(message, "ROLLOUT_TP")
    assert message.startswith("3 problem(s)") or "problem(s)" in message  # reported together


def test_one_response_with_group_filtering_drops_every_group_in_the_dry_run(w):
    message = rejected(w, "actor_rollout_ref.rollout.n=1", "algorithm.filter_groups.enable=true")
    assert "FILTER_GROUPS" in line_naming(message, "N_RESPONSES")
