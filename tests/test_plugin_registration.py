"""`import verl` alone must register ASPO: verl swallows plugin import errors, so check in a fresh process
(the session's plugin snapshots, plugin_snapshot_support.py)."""

import subprocess
import sys


def run_python(code, **env):
    import os

    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def test_plain_import_verl_registers_aspo_and_wraps_ppo_loss_in_a_fresh_process(plugin_snapshots):
    gpu = plugin_snapshots["gpu_path"]
    assert gpu["archer_plugin_loaded"], "plugin not loaded by import verl"
    assert gpu["aspo_loss_module"] == "archer.plugin.loss"
    assert gpu["patches_verify_error"] is None, gpu["patches_verify_error"]  # every patch active in a plain process
    assert gpu["ppo_loss_wrapped"], "ppo_loss not wrapped"
    assert gpu["engine_workers_bind_the_wrapped_ppo_loss"], "engine workers bind the unwrapped ppo_loss"
    assert gpu["distillation_binds_the_wrapped_ppo_loss"]


def test_the_plugin_imports_no_verl_module_of_its_own_at_import_verl(plugin_snapshots):
    # every process verl starts imports the plugin: its patches hook their verl targets when those are
    # imported (archer.plugin.post_import), so a process that never computes a loss does not load the loss
    # modules (nor datasets / transformers through them)
    extra = set(plugin_snapshots["gpu_path"]["heavy_modules_after_import"])
    extra -= set(plugin_snapshots["verl_alone"]["heavy_modules_after_import"])
    assert not extra, sorted(extra)


def test_importing_the_adapter_twice_wraps_ppo_loss_once(plugin_snapshots):
    assert plugin_snapshots["gpu_path"]["reinstall_keeps_one_wrapper"]


def test_the_math_module_does_not_import_verl():
    proc = run_python("import sys, archer.aspo\nassert 'verl' not in sys.modules\nprint('OK')")
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-3000:]
