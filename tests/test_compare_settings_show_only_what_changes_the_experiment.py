"""COMPARISON.md's "Settings that differ" lists what changes the experiment (loss, clip settings, lr, data,
...), not names, paths under each run's own dir, logging, checkpointing or Ray settings."""

from __future__ import annotations

from compare_support import make_inputs, run_compare

EXTRA = """\
  project_name: {project}
  logger: {logger}
  save_freq: {save}
  validation_data_dir: checkpoints/archer/{name}/val_generations
  total_training_steps: {steps}
ray_kwargs:
  ray_init:
    runtime_env:
      env_vars:
        VERL_FILE_LOGGER_PATH: checkpoints/archer/{name}/metrics/train-{name}.jsonl
reward:
  trace_file: checkpoints/archer/{name}/reward_trace.jsonl
"""


def test_names_paths_logging_and_checkpointing_are_left_out(tmp_path):
    p = make_inputs(tmp_path)
    for method, project, logger, save, steps in (("aspo", "a", "[console]", 10, 500), ("grpo", "b", "[wandb]", 5, 400)):
        config = p[method] / "config.yaml"
        config.write_text(config.read_text() + EXTRA.format(project=project, logger=logger, save=save,
                                                            name=f"{method}-math", steps=steps))
    code, _, err = run_compare("--run", f"ASPO={p['aspo']}", "--eval", f"ASPO={p['eval_aspo']}",
                               "--run", f"GRPO={p['grpo']}", "--eval", f"GRPO={p['eval_grpo']}",
                               "--out", str(p["out"]), "--panels", "entropy")
    assert code == 0, err
    section = (p["out"] / "COMPARISON.md").read_text().split("## Settings that differ")[1]
    assert "| `actor_rollout_ref.actor.policy_loss.loss_mode` | `aspo` | `vanilla` |" in section
    assert "| `trainer.total_training_steps` | `500` | `400` |" in section
    for noise in ("project_name", "trainer.logger", "save_freq", "validation_data_dir", "VERL_FILE_LOGGER_PATH",
                  "reward.trace_file", "default_local_dir", "experiment_name"):
        assert noise not in section, noise
