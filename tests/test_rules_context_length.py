"""Rule family "context_length" (archer.launch.rules.context_length): prompt + response fit the model's
context (max_position_embeddings) -- read from the model's config when it is on disk, else the context a
model preset declares (archer/launch/presets.py), else unchecked. Passing and failing cases, then the dry run
with a local model and with a preset's hub model that is not on disk."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from archer.launch import presets, rules
from launcher_support import dry, dry_config
from rules_support import config, line_naming, rejected, world

LENGTHS = {"data.max_prompt_length": 16, "data.max_response_length": 48, "actor_rollout_ref.model.path": "m"}


@pytest.mark.parametrize("limit", [64, 1000, None])
def test_lengths_within_the_context_or_an_unknown_context_pass(limit):
    assert rules.context_length(config(LENGTHS), SimpleNamespace(max_position_embeddings=limit)) == []
    assert rules.context_length(config(LENGTHS), None) == []


def test_lengths_past_the_context_name_it_and_the_longest_response():
    (problem,) = rules.context_length(config(LENGTHS), SimpleNamespace(max_position_embeddings=63))
    assert "16 + 48 = 64 exceeds the model's context, max_position_embeddings=63 (m)" in problem
    assert "shorten MAX_RESPONSE_LENGTH to at most 47" in problem


def test_every_preset_declares_its_models_context():
    for preset in presets.PRESETS.values():
        assert presets.context_of(preset.values["MODEL_PATH"]) == preset.context > 0
    assert presets.context_of("someone/else") is None


def test_the_dry_run_reads_a_local_models_context(tmp_path_factory):
    # the tiny model's max_position_embeddings is 64
    message = rejected(world(tmp_path_factory), "data.max_response_length=100",
                       "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=200",
                       "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=200",
                       "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=200",
                       "actor_rollout_ref.rollout.max_model_len=200",
                       "actor_rollout_ref.rollout.max_num_batched_tokens=200")
    assert line_naming(message, "max_position_embeddings=64")


def test_a_presets_declared_context_when_its_model_is_not_on_disk():
    dry_config("math", {"MODEL": "qwen3-8b"})  # 2048 + 32768 fits 40960
    done = dry("math", {"MODEL": "qwen3-8b", "MAX_RESPONSE_LENGTH": "40000"})
    assert done.exit_code == 2 and done.config is None
    line = line_naming(done.problems, "max_position_embeddings=40960")
    assert "2048 + 40000 = 42048" in line and "Qwen/Qwen3-8B" in line and "at most 38912" in line
