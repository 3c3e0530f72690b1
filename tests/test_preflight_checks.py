"""archer.launch.preflight: each GPU-node check with the facts injected (this machine has no GPU), and the
unreachable-model cases against a local path that does not exist and a closed port on 127.0.0.1."""

from __future__ import annotations

import json
import socket

import pytest

from archer.launch import preflight as pf

R1_DISTILL_1P5B_CONFIG = {  # deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B config.json (the fields used)
    "model_type": "qwen2",
    "hidden_size": 1536,
    "intermediate_size": 8960,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": False,
}
H100 = [pf.Gpu(i, "NVIDIA H100 80GB HBM3", 81559) for i in range(8)]


def test_driver_older_than_cuda13_minimum_fails_naming_the_version_to_install():
    r = pf.check_driver("570.133.20", "13.0")
    assert not r.ok
    assert "570.133.20 is older than 580.65.06" in r.message and "CUDA 13.0" in r.message
    assert "nvidia-driver-580" in r.message


def test_driver_new_enough_for_cuda13_passes():
    assert pf.check_driver("580.95.05", "13.0").ok
    assert pf.check_driver("590.44.01", "13.0").ok


def test_cuda12_8_build_accepts_a_570_driver():
    assert pf.min_driver_for_cuda("12.8") == "570.26"
    assert pf.check_driver("570.133.20", "12.8").ok
    assert not pf.check_driver("565.57.01", "12.8").ok


def test_pinned_torch_is_judged_as_a_cuda13_build():
    assert pf.PINNED_TORCH_CUDA == "13.0"
    assert pf.min_driver_for_cuda(pf.PINNED_TORCH_CUDA) == "580.65.06"


def test_no_driver_and_cpu_torch_fail_with_their_fixes():
    r = pf.check_driver(None, "13.0")
    assert not r.ok and "no NVIDIA driver" in r.message and "--dry-run" in r.message
    r = pf.check_driver("580.95.05", None)
    assert not r.ok and "CPU build" in r.message and "scripts/install_gpu.sh" in r.message


def test_eight_h100s_pass():
    r = pf.check_gpus(H100, 8)
    assert r.ok, r.message


def test_too_few_gpus_fails_naming_gpus_per_node():
    r = pf.check_gpus(H100[:4], 8)
    assert not r.ok
    assert "GPUS_PER_NODE=8 but this node has 4 GPU(s)" in r.message and "Set GPUS_PER_NODE=4" in r.message


def test_too_little_gpu_memory_fails_naming_the_memory_settings():
    small = [pf.Gpu(i, "NVIDIA L40S", 46068) for i in range(8)]
    r = pf.check_gpus(small, 8)
    assert not r.ok
    assert "GPU 0 NVIDIA L40S 46068 MiB" in r.message and ">= 80 GB" in r.message
    assert "PPO_MAX_TOKEN_LEN_PER_GPU" in r.message and "PREFLIGHT_MIN_GPU_MEMORY_GB" in r.message
    assert pf.check_gpus(small, 8, min_memory_gb=40).ok


def test_a100_80gb_counts_as_80_gb():
    assert pf.check_gpus([pf.Gpu(i, "NVIDIA A100-SXM4-80GB", 81920) for i in range(8)], 8).ok


def test_nvidia_smi_csv_is_parsed():
    text = "0, NVIDIA H100 80GB HBM3, 81559, 580.95.05\n1, NVIDIA H100 80GB HBM3, 81559, 580.95.05\n"
    driver, gpus = pf.parse_nvidia_smi(text)
    assert driver == "580.95.05"
    assert gpus == [pf.Gpu(0, "NVIDIA H100 80GB HBM3", 81559), pf.Gpu(1, "NVIDIA H100 80GB HBM3", 81559)]


def test_r1_distill_1p5b_parameter_count_from_its_config():
    assert pf.param_count_from_config(R1_DISTILL_1P5B_CONFIG) == 1_777_088_000
    assert pf.KNOWN_PARAMS["deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"] == 1_777_088_000


def test_checkpoint_estimate_is_12_bytes_per_param_times_kept_plus_headroom():
    n = 1_777_088_000
    assert pf.checkpoint_bytes(n) == 12 * n  # ~21.3 GB
    assert pf.required_disk_bytes(n, 3) == int(3 * 12 * n * 1.1 + 10 * 2**30)
    # K == 1: verl keeps the old checkpoint until the new one is saved -> two at the peak
    assert pf.required_disk_bytes(n, 1) == pf.required_disk_bytes(n, 2)


def test_too_little_disk_fails_naming_max_ckpt_to_keep_and_ckpt_dir():
    r = pf.check_disk(50 * 10**9, "/ckpt", 1_777_088_000, keep=3)
    assert not r.ok
    assert "50.0 GB free at /ckpt" in r.message and "~81.1 GB" in r.message
    assert "MAX_CKPT_TO_KEEP" in r.message and "CKPT_DIR" in r.message


def test_enough_disk_passes():
    assert pf.check_disk(200 * 10**9, "/ckpt", 1_777_088_000, keep=3).ok


def test_keeping_every_checkpoint_is_a_warning_with_the_count_that_fits():
    r = pf.check_disk(500 * 10**9, "/ckpt", 1_777_088_000, keep=0)
    assert r.ok and r.warning
    assert "every checkpoint is kept" in r.message and "holds ~22" in r.message


def test_missing_bwrap_fails_for_code_only():
    r = pf.check_bwrap("code", None)
    assert not r.ok and "apt-get install -y bubblewrap" in r.message
    assert pf.check_bwrap("math", None).ok
    assert pf.check_bwrap("code", "/usr/bin/bwrap").ok


def test_local_model_dir_that_does_not_exist_fails(tmp_path):
    missing = tmp_path / "no-such-model"
    r, n = pf.check_model(str(missing), env={})
    assert not r.ok and f"local model dir {missing} does not exist" in r.message and n is None


def test_local_model_dir_without_config_fails_and_with_config_counts_params(tmp_path):
    r, _ = pf.check_model(str(tmp_path), env={})
    assert not r.ok and "no config.json" in r.message
    (tmp_path / "config.json").write_text(json.dumps(R1_DISTILL_1P5B_CONFIG))
    r, n = pf.check_model(str(tmp_path), env={})
    assert r.ok and n == 1_777_088_000


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_hub_id_with_unreachable_endpoint_fails_with_a_network_message():
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    r, n = pf.check_model("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", env={"HF_ENDPOINT": endpoint})
    assert not r.ok
    assert f"cannot reach {endpoint}" in r.message and "MODEL_PATH" in r.message
    # the disk estimate still knows the model's size from the table
    assert n == 1_777_088_000


@pytest.mark.parametrize("code, expected", [(401, "set HF_TOKEN"), (403, "set HF_TOKEN"), (404, "not found")])
def test_hub_gated_or_missing_repo_names_hf_token(code, expected):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        r, _ = pf.check_model_hub("org/gated-model", endpoint=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert not r.ok and f"HTTP {code}" in r.message and expected in r.message


def test_cli_on_a_machine_without_gpus_exits_1_naming_each_failure(tmp_path):
    import shutil
    import subprocess
    import sys

    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver")
    proc = subprocess.run(
        [sys.executable, "-m", "archer.launch.preflight", "--task", "code", "--model", str(tmp_path / "none"),
         "--ckpt-dir", str(tmp_path / "ckpt"), "--keep", "3"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    assert "FAIL NVIDIA driver" in proc.stderr and "FAIL GPUs" in proc.stderr and "FAIL model" in proc.stderr
    assert "failed:" in proc.stderr and "nothing was started" in proc.stderr
