"""The node-wide slot budget (archer/reward/code/slots.py) on its own: exclusive across threads, waiting
without burning CPU, its runtime directory kept private, one lock file per slot uid, clear errors."""
import os
import threading
import time

import pytest

from archer.reward.code import sandbox as sb
from archer.reward.code import slots


def _budget(tmp_path, size=1, base=0x3B600):
    return slots.SlotBudget(size, base, tmp_path / "rt", lambda held: None)


def test_threads_of_one_process_exclude_each_other(tmp_path):
    budget = _budget(tmp_path, size=2)
    inside, peak, lock = [0], [0], threading.Lock()

    def work():
        for _ in range(5):
            held = budget.acquire()
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1
            budget.release(held)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_waiting_for_a_slot_sleeps_and_reports_the_wait(tmp_path):
    budget = _budget(tmp_path, size=1)
    held = budget.acquire()
    got = {}

    def wait():
        t = time.thread_time()
        h = budget.acquire()
        got["cpu"], got["held"] = time.thread_time() - t, h
        budget.release(h)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1.0)
    budget.release(held)
    waiter.join(5)
    assert got["held"].waited_s >= 0.9
    assert got["cpu"] < 0.2  # a second of waiting cost (almost) no CPU
    assert not got["held"].left_unclean  # the first holder released cleanly


def test_lock_files_are_named_by_slot_uid_so_bases_never_share_them_wrongly(tmp_path):
    a, b = _budget(tmp_path, size=4, base=0x3B600), _budget(tmp_path, size=4, base=0x3B602)
    assert a.slot_path(0) != b.slot_path(0)
    assert a.slot_path(2) == b.slot_path(0)  # both would run as uid 0x3B602: they must exclude each other
    held = b.acquire()
    assert (held.uid, held.path) == (0x3B602, a.slot_path(2))
    first_three = [a.acquire() for _ in range(3)]
    assert [h.index for h in first_three] == [0, 1, 3]  # a's slot 2 is b's slot 0, held
    for h in first_three + [held]:
        (a if h in first_three else b).release(h)


def test_runtime_dir_is_private_and_overridable(tmp_path, monkeypatch):
    monkeypatch.setenv(slots.RUNTIME_DIR_ENV, str(tmp_path / "mine"))
    assert slots.runtime_dir() == tmp_path / "mine"
    made = slots.ensure_private_dir(slots.runtime_dir())
    assert (os.stat(made).st_mode & 0o777) == 0o700
    monkeypatch.delenv(slots.RUNTIME_DIR_ENV)
    assert str(slots.runtime_dir()) == f"/tmp/archer-sandbox-{os.geteuid()}"

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    with pytest.raises(ValueError, match=f"{shared}.*writable by group or others.*ARCHER_SANDBOX_DIR"):
        slots.ensure_private_dir(shared)
    link = tmp_path / "link"
    link.symlink_to(made)
    with pytest.raises(ValueError, match=f"{link} is a symlink"):
        slots.ensure_private_dir(link)


def test_bad_workers_value_names_the_variable(monkeypatch):
    for bad in ("two", "0", "-3"):
        monkeypatch.setenv("ARCHER_CODE_WORKERS", bad)
        with pytest.raises(ValueError, match="ARCHER_CODE_WORKERS"):
            slots.budget_size()
    monkeypatch.setenv("ARCHER_CODE_WORKERS", "5")
    assert slots.budget_size() == 5 == sb.pool_size()


def test_uid_base_must_stay_clear_of_system_and_real_accounts():
    with pytest.raises(ValueError, match="sandbox_uid_base"):
        sb.SandboxConfig(sandbox_uid_base=0)
    if os.geteuid() == 0:
        import pwd

        accounts = [p.pw_uid for p in pwd.getpwall() if 1000 <= p.pw_uid < 2**31 - 2**16]
        if accounts:  # a range holding a real account: its processes would be swept
            with pytest.raises(ValueError, match="sandbox_uid_base.*account"):
                sb.slot_budget(sb.SandboxConfig(sandbox_uid_base=accounts[0]))


def test_a_child_forked_while_locks_are_held_does_not_keep_them(tmp_path):
    """A grading process may fork (a math worker pool) while one thread holds a slot and another waits at
    the head of the queue: the child's copies of those descriptors must not keep either lock."""
    budget = _budget(tmp_path, size=1)
    held = budget.acquire()
    second = {}

    def wait_then_release():
        h = budget.acquire()  # the head waiter: holds the queue lock while it waits
        second["waited"] = h.waited_s
        budget.release(h)

    waiter = threading.Thread(target=wait_then_release)
    waiter.start()
    time.sleep(0.3)
    pid = os.fork()
    if pid == 0:  # the child inherits the slot's and the queue's descriptors and just sits on them
        time.sleep(5)
        os._exit(0)
    try:
        budget.release(held)
        waiter.join(3)
        assert not waiter.is_alive() and second["waited"] >= 0.25
        t0 = time.monotonic()
        third = budget.acquire()
        assert time.monotonic() - t0 < 1.0
        budget.release(third)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
