"""`import verl` alone must register ASPO: verl swallows plugin import errors, so check in a fresh process."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import sys
    import verl
    assert "archer.plugin" in sys.modules, "plugin not loaded by import verl"
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    fn = get_policy_loss_fn("aspo")
    assert fn.__module__ == "archer.plugin.loss", fn.__module__
    from archer.plugin import patches
    patches.verify()  # every patch active in a plain process
    import verl.workers.utils.losses as losses
    assert getattr(losses.ppo_loss, "__archer_wrapped__", False), "ppo_loss not wrapped"
    import verl.workers.engine_workers as engine_workers
    assert engine_workers.ppo_loss is losses.ppo_loss, "engine workers bind the unwrapped ppo_loss"
    import verl.trainer.distillation.losses as distillation
    assert distillation.ppo_loss is losses.ppo_loss
    print("OK")
    """
)


def run_python(code, **env):
    import os

    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def test_plain_import_verl_registers_aspo_and_wraps_ppo_loss_in_a_fresh_process():
    proc = run_python(PROBE)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]


def test_importing_the_adapter_twice_wraps_ppo_loss_once():
    proc = run_python(
        "import verl, importlib, archer.plugin.entropy_handoff as a, verl.workers.utils.losses as L\n"
        "w = L.ppo_loss\na.install(); a.install()\nassert L.ppo_loss is w\n"
        "assert not getattr(w.__wrapped__, '__archer_wrapped__', False)\nprint('OK')"
    )
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]


def test_the_math_module_does_not_import_verl():
    proc = run_python("import sys, archer.aspo\nassert 'verl' not in sys.modules\nprint('OK')")
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
