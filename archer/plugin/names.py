"""The names archer adds to verl, importable without importing verl (the plugin loads in every process)."""

LOSS_MODE = "aspo"  # actor_rollout_ref.actor.policy_loss.loss_mode of the ASPO loss (verl's policy-loss registry)
