"""A verl upgrade that moves or changes a function archer patches must stop the run naming the patch, not
run on silently without it (verl swallows plugin import errors). Each case runs in a fresh process: the
target is made not to match (as a different verl would have it), the patch is applied again, and
``archer.plugin.patches.verify`` — what the driver runs before Ray starts and the loss runs in a worker —
must raise ``PatchNotApplied`` naming it."""

import subprocess
import sys
import textwrap

import pytest

CASES = {
    # the worker method is gone: the whole-step metric patch cannot wrap it
    "whole_step_metrics": """
        import verl.workers.engine_workers as ew
        ew.TrainingWorker.train_mini_batch = 42  # no longer a function
    """,
    # ppo_loss renamed in another verl: nothing to wrap
    "entropy_handoff": """
        import verl.workers.utils.losses as L
        del L.ppo_loss
    """,
    # the trainer's replay-buffer builder renamed: the filter-groups bound would silently vanish
    "filter_groups_bound": """
        import verl.trainer.ppo.v1.trainer_base as tb
        del tb.PPOTrainer._build_replay_buffer
    """,
}

PROBE = """
import verl  # the plugin applies every patch
from archer.plugin import patches
patches.verify()  # all active first
{tamper}
patches.apply({name!r})
try:
    patches.verify()
except patches.PatchNotApplied as error:
    print("RAISED:", error)
else:
    print("NOT RAISED")
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_patch_whose_target_does_not_match_is_named(name):
    tamper = textwrap.dedent(CASES[name]).strip()
    code = PROBE.format(tamper=tamper, name=name)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RAISED:" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    message = proc.stdout.split("RAISED:", 1)[1]
    assert name in message and "verl 0.9.1" in message, message
