"""verl 0.9.1's v1 trainer warns that algorithm.filter_groups.max_num_gen_batches "is ignored", which is not
so with archer (archer.plugin.filter_groups_guard enforces it): archer.launch.main drops that record from
verl's logger in its process; verl's other warnings pass."""

from __future__ import annotations

import logging


def test_the_contradicted_warning_is_dropped_and_others_pass(caplog):
    from archer.launch.main import quiet_contradicted_warnings

    quiet_contradicted_warnings()
    log = logging.getLogger("verl.trainer.ppo.v1.trainer_base")
    with caplog.at_level(logging.WARNING, logger="verl.trainer.ppo.v1.trainer_base"):
        log.warning("algorithm.filter_groups.max_num_gen_batches=%s is ignored by the built-in V1 ReplayBuffer; "
                    "use max_inflight_gen_batches to bound concurrent Sync DAPO generation.", 10)
        log.warning("some other warning")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["some other warning"]
