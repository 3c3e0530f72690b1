"""A verl upgrade that moves or changes a function archer patches must stop the run naming the patch, not
run on silently without it (verl swallows plugin import errors). In a fresh process (the ``gpu_path``
plugin snapshot, plugin_snapshot_support.py), every patch first verifies; then each case makes its target
not match (as a different verl would have it: plugin_snapshot_support.TAMPER_CASES), applies the patch
again and calls ``archer.plugin.patches.verify`` — what the driver runs before Ray starts and the loss runs
in a worker —, which must raise ``PatchNotApplied`` naming it and the verl version it was written for."""

import pytest

from plugin_snapshot_support import TAMPER_CASES


@pytest.mark.parametrize("name", sorted(TAMPER_CASES))
def test_a_patch_whose_target_does_not_match_is_named(name, plugin_snapshots):
    gpu = plugin_snapshots["gpu_path"]
    assert gpu["patches_verify_error"] is None, gpu["patches_verify_error"]  # all active before the tampering
    message = gpu["tampered"][name]
    assert message is not None, f"verify() did not raise after {name}'s target was made not to match"
    assert name in message and "verl 0.9.1" in message, message
