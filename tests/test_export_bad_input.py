"""Bad input fails at once with a message naming the file and the fix, before anything is written.

The checkpoint dirs here are laid out by hand in verl's on-disk format (file names of
FSDPCheckpointManager); the checks reject them before any shard is read, so the shard files'
contents do not matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export_support import run_cli

from archer.export import ExportError, export_checkpoint


def layout(root: Path, world_size: int = 2, *, shards=True, fsdp_config=True, hf_config=True) -> Path:
    actor = root / "global_step_7" / "actor"
    actor.mkdir(parents=True)
    if fsdp_config:
        (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": world_size}))
    for rank in range(world_size):
        (actor / f"optim_world_size_{world_size}_rank_{rank}.pt").write_bytes(b"x")
        if shards:
            (actor / f"model_world_size_{world_size}_rank_{rank}.pt").write_bytes(b"x")
    if hf_config:
        (actor / "huggingface").mkdir()
        (actor / "huggingface" / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    return actor


def test_missing_checkpoint_dir_is_named(tmp_path):
    with pytest.raises(ExportError, match=r"checkpoint dir .*nowhere does not exist"):
        export_checkpoint(tmp_path / "nowhere", tmp_path / "out")


def test_missing_fsdp_config_names_the_file_and_how_to_recreate_it(tmp_path):
    actor = layout(tmp_path, fsdp_config=False)
    with pytest.raises(ExportError, match=r"fsdp_config\.json not found.*copied without it.*world_size"):
        export_checkpoint(actor, tmp_path / "out")
    assert not (tmp_path / "out").exists()



def test_fsdp_config_without_world_size_names_the_key(tmp_path):
    actor = layout(tmp_path)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2}))
    with pytest.raises(ExportError, match=r"fsdp_config\.json: key 'world_size' must be a positive integer"):
        export_checkpoint(actor, tmp_path / "out")


def test_checkpoint_without_model_shards_is_a_checkpoint_without_weights(tmp_path):
    actor = layout(tmp_path, shards=False)
    expected = r"checkpoint without weights: .* no model_world_size_\*_rank_\*\.pt.*save_contents"
    with pytest.raises(ExportError, match=expected):
        export_checkpoint(actor, tmp_path / "out")


def test_missing_rank_shard_is_named(tmp_path):
    actor = layout(tmp_path, world_size=4)
    (actor / "model_world_size_4_rank_2.pt").unlink()
    with pytest.raises(ExportError, match=r"missing model shard file\(s\) model_world_size_4_rank_2\.pt"):
        export_checkpoint(actor, tmp_path / "out")


def test_shards_of_another_world_size_are_reported(tmp_path):
    actor = layout(tmp_path, world_size=2)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 8}))
    with pytest.raises(ExportError, match=r"says world_size 8, but the model shards are for world size \[2\]"):
        export_checkpoint(actor, tmp_path / "out")


def test_missing_huggingface_config_asks_for_hf_config_dir(tmp_path):
    actor = layout(tmp_path, hf_config=False)
    with pytest.raises(ExportError, match=r"huggingface/config\.json not found.*--hf-config-dir"):
        export_checkpoint(actor, tmp_path / "out")


def test_lora_metadata_is_refused(tmp_path):
    actor = layout(tmp_path)
    (actor / "lora_train_meta.json").write_text(json.dumps({"r": 8, "lora_alpha": 16}))
    with pytest.raises(ExportError, match="LoRA checkpoint"):
        export_checkpoint(actor, tmp_path / "out")


def test_non_empty_output_dir_needs_overwrite(tmp_path):
    actor = layout(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="is not empty.*--overwrite"):
        export_checkpoint(actor, out)
    assert (out / "keep.txt").read_text() == "mine"


def test_output_inside_the_checkpoint_is_refused(tmp_path):
    actor = layout(tmp_path)
    with pytest.raises(ExportError, match="inside the checkpoint dir"):
        export_checkpoint(actor, actor / "hf_export")


def test_malformed_eval_summary_names_the_entry_and_key(tmp_path):
    actor = layout(tmp_path)
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"aime2024": {"n": 4, "problems": 30, "avg": 10.0}}))
    with pytest.raises(ExportError, match=r"summary\.json: entry 'aime2024' lacks key\(s\) \['pass'\]"):
        export_checkpoint(actor, tmp_path / "out", eval_table=summary)


def test_run_config_that_is_not_a_training_config_is_refused(tmp_path):
    actor = layout(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text("foo: 1\n")
    with pytest.raises(ExportError, match=r"--config .*config\.yaml has no 'actor_rollout_ref' section"):
        export_checkpoint(actor, tmp_path / "out", config=config)


def test_push_to_hub_without_verification_is_refused_before_any_work(tmp_path):
    actor = layout(tmp_path, fsdp_config=False)  # would fail later: the refusal comes first
    with pytest.raises(ExportError, match="--push-to-hub needs a verified export.*--no-verify"):
        export_checkpoint(actor, tmp_path / "out", verify=False, push_to_hub="someone/model")


@pytest.mark.parametrize("repo_id", ["no-owner", "a/b/c", "owner/", "/name", "owner/na me"])
def test_malformed_hub_repo_id_is_refused(tmp_path, repo_id):
    with pytest.raises(ExportError, match="not a Hub repo id of the form OWNER/NAME"):
        export_checkpoint(tmp_path, tmp_path / "out", push_to_hub=repo_id)


def test_megatron_backend_requires_no_verify(tmp_path):
    with pytest.raises(ExportError, match="--backend megatron.*--no-verify"):
        export_checkpoint(tmp_path, tmp_path / "out", backend="megatron")


def test_cli_help_documents_the_options_and_checks():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--no-verify", "--base-model", "--config", "--eval-table", "--push-to-hub", "--private",
                   "--hf-config-dir", "--backend", "--overwrite", "HF_TOKEN"):
        assert option in result.stdout, option
    assert "0.00390625" in result.stdout  # the bf16 tolerance of the tensor check


def test_cli_bad_input_exits_2_with_the_message_on_stderr(tmp_path):
    actor = layout(tmp_path, shards=False)
    result = run_cli(str(actor), str(tmp_path / "out"))
    assert result.returncode == 2
    assert "error: checkpoint without weights" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    result = run_cli(str(actor), str(tmp_path / "out"), "--private")
    assert result.returncode == 2 and "--private only applies with --push-to-hub" in result.stderr
