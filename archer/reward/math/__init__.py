"""Math reward: answer extraction (extract), normalisation (normalize), symbolic equivalence in bounded
worker processes (grader, pool, worker) and the per-response score (reward). See docs/reward_math.md."""
