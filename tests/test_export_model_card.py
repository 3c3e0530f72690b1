"""Model card content for the cases the round trip does not cover: no run config, a table.md, a local
base model path, a non-ASPO run."""

from __future__ import annotations

from omegaconf import OmegaConf

from archer.export.model_card import build_model_card, load_eval_table

HF_CONFIG = {"architectures": ["Qwen2ForCausalLM"], "_name_or_path": "Qwen/Qwen2.5-Math-1.5B"}


def test_card_without_run_config_says_hyperparameters_were_not_recorded():
    card = build_model_card(hf_config=HF_CONFIG, base_model=None, global_step=120)
    assert "base_model: Qwen/Qwen2.5-Math-1.5B" in card  # from the config's _name_or_path
    assert "Not recorded: the run's config was not found" in card
    assert "training step 120" in card and "ASPO" in card
    assert "No evaluation results were attached" in card


def test_table_md_is_included_as_written(tmp_path):
    table = "| benchmark | avg@16 |\n|---|---|\n| aime2025 | 33.3 |\n"
    (tmp_path / "table.md").write_text(table)
    markdown = load_eval_table(tmp_path)  # a directory with table.md only
    card = build_model_card(hf_config=HF_CONFIG, base_model=None, eval_table=markdown)
    assert table.strip() in card


def test_local_base_model_path_is_named_but_kept_out_of_the_hub_metadata(tmp_path):
    card = build_model_card(hf_config=HF_CONFIG, base_model=str(tmp_path))
    front = card.split("---")[1]
    assert "base_model" not in front
    assert f"- Base model: `{tmp_path}`" in card


def test_non_aspo_run_is_not_described_as_aspo():
    config = OmegaConf.create({
        "actor_rollout_ref": {"actor": {"policy_loss": {"loss_mode": "vanilla"}, "optim": {"lr": 1e-6}},
                              "model": {"path": "Qwen/Qwen3-4B"}},
    })
    card = build_model_card(hf_config=HF_CONFIG, base_model=None, run_config=config)
    assert "policy loss `vanilla`" in card and "- aspo" not in card
    assert "base_model: Qwen/Qwen3-4B" in card  # the run's model path wins over _name_or_path
    assert "| learning rate | `actor_rollout_ref.actor.optim.lr` | 1e-06 |" in card
