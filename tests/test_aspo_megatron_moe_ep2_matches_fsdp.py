"""ASPO through verl's Megatron engine with expert parallelism EP=2 equals ASPO through its FSDP2 engine.

The configuration shape of Qwen3-30B-A3B under archer's Megatron launchers (MoE layers, experts spread
over ranks), shrunk to CPU size: a 2-layer Qwen3-MoE with 4 experts, top-2 routing, built here. Two runs
of ``megatron_moe_step.py`` on the same model and batch, in subprocesses:

* the reference: verl's ``FSDPEngineWithLMHead`` (strategy fsdp2) in one process;
* verl's ``MegatronEngineWithLMHead`` (``transformer_impl.py``, mbridge loading the HF checkpoint) on two
  gloo ranks with ``expert_model_parallel_size=2``: each rank holds 2 of every layer's 4 experts, and
  tokens reach the other rank's experts through megatron's all-to-all token dispatcher.

Each run does a forward-only log-prob / entropy pass and one ASPO actor update with archer's wrapped
``ppo_loss`` in fp32 with plain SGD, so the two engines must agree to round-off: forward outputs, the
ASPO metrics (also against values worked out from the batch design, as in
``test_actor_step_through_verl_engine.py``), the loss, and every parameter's update, experts compared one
by one.

megatron-core and mbridge are not in the test venv (importing verl would then load its megatron engine
in every test): ``scripts/cpu_env.sh`` installs ``requirements-megatron-cpu.txt`` into
``<venv>/megatron-cpu``, which only the Megatron rank processes get on their PYTHONPATH. Those processes
apply ``megatron_cpu_support``'s process-wide CPU patches; this process imports neither. See
docs/megatron_cpu_test.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from verl_cpu_support import strictly_above_row_quantile

TESTS = Path(__file__).resolve().parent
DRIVER = TESTS / "megatron_moe_step.py"
RUN_TIMEOUT_S = 300
DISTRIBUTED_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")

# archer2 preset values the batch design relies on (checked against each run's composed config)
EPS = 0.2
HIGH_ENTROPY_EPS = 0.4
ENTROPY_QUANTILE = 0.8
DUAL_CLIP_C = 3.0

ASPO_METRICS = (
    "actor/aspo/clipfrac_upper",
    "actor/aspo/clipfrac_lower",
    "actor/pg_clipfrac_lower",
    "actor/aspo/dual_clipfrac_pos",
    "actor/aspo/dual_clipfrac_neg",
    "actor/aspo/high_entropy_frac",
    "actor/aspo/is_ratio_mean_pos",
    "actor/aspo/is_ratio_mean_neg",
)


def megatron_cpu_path() -> Path:
    """Where requirements-megatron-cpu.txt was installed: $ARCHER_MEGATRON_CPU_PATH or <venv>/megatron-cpu."""
    configured = os.environ.get("ARCHER_MEGATRON_CPU_PATH")
    return Path(configured) if configured else Path(sys.prefix) / "megatron-cpu"


def _installed(path: Path) -> bool:
    return (path / "megatron" / "core").is_dir() and (path / "mbridge").is_dir()


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not _installed(megatron_cpu_path()),
        reason=f"megatron-core / mbridge not found in {megatron_cpu_path()}: run bash scripts/test.sh, which "
        "installs requirements-megatron-cpu.txt into .venv/megatron-cpu (or point ARCHER_MEGATRON_CPU_PATH "
        "at such a directory)",
    ),
]


# ---------------------------------------------------------------------------------------------------
# the two runs


def _pythonpath(*paths: Path) -> str:
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join([*map(str, paths), *inherited])


def _run_all(jobs: list[tuple[str, list[str], dict, Path]], timeout_s: float) -> None:
    """Start every job at once and wait for all; as soon as one fails, or at the timeout, stop the rest
    and fail with the tail of each job's log."""
    procs = []
    stopped = set()
    timed_out = False
    try:
        for _, argv, env, log in jobs:
            with open(log, "w") as log_file:
                procs.append(subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + timeout_s
        while True:
            codes = [proc.poll() for proc in procs]
            if all(code is not None for code in codes) or any(code not in (None, 0) for code in codes):
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.2)
    finally:
        for index, proc in enumerate(procs):
            if proc.poll() is None:
                stopped.add(index)
                proc.kill()
                proc.wait()
    failed = [
        name
        for index, ((name, *_), proc) in enumerate(zip(jobs, procs))
        if proc.returncode != 0 and index not in stopped
    ]
    if timed_out or failed:
        what = f"did not finish within {timeout_s:.0f} s" if timed_out else f"failed: {', '.join(failed)}"
        tails = "\n".join(
            f"----- {name} ({'stopped by the test' if index in stopped else f'exit {proc.returncode}'}), "
            f"last lines of {log}:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for index, ((name, _, _, log), proc) in enumerate(zip(jobs, procs))
        )
        pytest.fail(f"the engine runs {what}\n{tails}", pytrace=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The FSDP2 reference and the Megatron EP=2 run on the same tiny Qwen3-MoE (their result files).

    All three processes start at once; the FSDP2 one builds the model into tmp_path first (it imports
    transformers anyway) and the Megatron ranks wait for it.
    """
    tmp = tmp_path_factory.mktemp("megatron_moe_ep2")
    model_dir = tmp / "model"
    # each process gets its rank on the command line; torch.distributed variables that another test may
    # have left in this process's environment must not reach them
    inherited = {k: v for k, v in os.environ.items() if k not in DISTRIBUTED_ENV}
    base_env = {**inherited, "OMP_NUM_THREADS": "1"}
    fsdp_env = {**base_env, "PYTHONPATH": _pythonpath(TESTS)}
    megatron_env = {**base_env, "PYTHONPATH": _pythonpath(megatron_cpu_path(), TESTS)}
    common = [sys.executable, str(DRIVER), "--model-dir", str(model_dir)]

    fsdp_argv = [*common, "--engine", "fsdp2", "--build-model", "--init-file", str(tmp / "gloo_fsdp2")]
    jobs = [("fsdp2", [*fsdp_argv, "--out", str(tmp / "fsdp2.pt")], fsdp_env, tmp / "fsdp2.log")]
    for rank in range(2):
        argv = [*common, "--engine", "megatron", "--ep", "2", "--world-size", "2", "--rank", str(rank)]
        argv += ["--init-file", str(tmp / "gloo_megatron"), "--out", str(tmp / "megatron.pt")]
        jobs.append((f"megatron rank {rank}", argv, megatron_env, tmp / f"megatron_rank{rank}.log"))

    started = time.monotonic()
    _run_all(jobs, RUN_TIMEOUT_S)
    return SimpleNamespace(
        fsdp=torch.load(tmp / "fsdp2.pt", weights_only=False),
        megatron=torch.load(tmp / "megatron.pt", weights_only=False),
        wall_s=time.monotonic() - started,
    )


# ---------------------------------------------------------------------------------------------------
# helpers


def expected_aspo_metrics(result: dict) -> dict[str, float]:
    """The ASPO metrics the batch design implies (verl_cpu_support.OFF_POLICY_RATIOS), from the run's own
    update-forward entropies and a quantile computed here."""
    from verl_cpu_support import expected_aspo_metrics as from_design

    mask = result["mask"]
    return from_design(strictly_above_row_quantile(result["update_output"]["entropy"], mask, ENTROPY_QUANTILE), mask)


def expert_names(layer: int, expert: int) -> tuple[str, str, str]:
    """mbridge's per-expert HF names (gate, up, down) of one expert."""
    prefix = f"model.layers.{layer}.mlp.experts.{expert}"
    return f"{prefix}.gate_proj.weight", f"{prefix}.up_proj.weight", f"{prefix}.down_proj.weight"


def fsdp_expert(params: dict, layer: int, expert: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(gate, up, down) of one expert from transformers' fused ``experts.gate_up_proj`` / ``down_proj``."""
    gate, up = params[f"model.layers.{layer}.mlp.experts.gate_up_proj"][expert].chunk(2, dim=0)
    return gate, up, params[f"model.layers.{layer}.mlp.experts.down_proj"][expert]


def relative_l2(x: torch.Tensor, reference: torch.Tensor) -> float:
    return ((x - reference).norm() / reference.norm()).item()


# ---------------------------------------------------------------------------------------------------
# tests


def test_both_runs_use_archers_aspo_loss_with_the_archer2_values(runs):
    for name, result, engine_class in (
        ("fsdp2", runs.fsdp, "verl.workers.engine.fsdp.transformer_impl.FSDPEngineWithLMHead"),
        ("megatron", runs.megatron, "verl.workers.engine.megatron.transformer_impl.MegatronEngineWithLMHead"),
    ):
        setup = result["setup"]
        assert setup["engine_class"] == engine_class, name
        assert setup["ppo_loss_wrapped_by_archer"], f"{name}: archer's ppo_loss wrapper is not installed"
        assert setup["loss_mode"] == "aspo" and setup["calculate_entropy"], name
        assert setup["clip_ratio"] == (EPS, EPS), name
        assert setup["high_entropy_clip_ratio"] == (HIGH_ENTROPY_EPS, HIGH_ENTROPY_EPS), name
        assert setup["entropy_quantile"] == ENTROPY_QUANTILE and setup["entropy_quantile_scope"] == "sequence", name
        assert setup["dual_clip_c"] == DUAL_CLIP_C and setup["negative_dual_clip"] == "soft", name


def test_megatron_run_holds_two_of_the_four_experts_on_each_rank(runs):
    from megatron_moe_step import NUM_EXPERTS, NUM_LAYERS

    result = runs.megatron
    assert (result["ep"], result["world_size"]) == (2, 2)
    placement = result["expert_placement"]
    assert [p["rank"] for p in placement] == [0, 1]
    for rank, part in enumerate(placement):
        assert (part["ep_size"], part["ep_rank"]) == (2, rank), part
        # the dense layers: a data-parallel group of both ranks
        assert part["dp_size"] == 2, part
        assert part["expert_module"] == "SequentialMLP", part
        assert part["local_expert_counts"] == {layer: NUM_EXPERTS // 2 for layer in range(NUM_LAYERS)}, part
        held = list(range(rank * NUM_EXPERTS // 2, (rank + 1) * NUM_EXPERTS // 2))
        assert part["experts"] == {layer: held for layer in range(NUM_LAYERS)}, part
    # the ranks' dense replicas ended the step identical
    assert result["replica_max_diff"] <= 1e-6


def test_megatron_ep2_forward_log_probs_and_entropies_equal_fsdp2(runs):
    fsdp, megatron = runs.fsdp, runs.megatron
    assert torch.equal(fsdp["mask"], megatron["mask"])
    mask = fsdp["mask"]
    for key in ("log_probs", "entropy"):
        # forward only (the old log-probs of the update) and the update's own forward
        for name, a, b in (
            ("forward-only", megatron[key], fsdp[key]),
            ("update forward", megatron["update_output"][key], fsdp["update_output"][key]),
        ):
            diff = (a - b)[mask].abs().max().item()
            assert diff <= 1e-4, f"{name} {key}: max |megatron - fsdp2| = {diff:.3e}"
    # the entropies differ across tokens enough for the quantile split to be meaningful
    assert fsdp["entropy"][mask].std() > 1e-2


def test_megatron_ep2_aspo_metrics_and_pg_loss_equal_fsdp2_and_the_batch_design(runs):
    fsdp, megatron = runs.fsdp["metrics"], runs.megatron["metrics"]
    for name in (*ASPO_METRICS, "actor/pg_loss", "grad_norm"):
        assert name in megatron and name in fsdp, f"{name} missing: megatron {sorted(megatron)}, fsdp2 {sorted(fsdp)}"
    for name in ASPO_METRICS:
        assert megatron[name] == pytest.approx(fsdp[name], rel=1e-5, abs=1e-6), name
    assert megatron["actor/pg_loss"] == pytest.approx(fsdp["actor/pg_loss"], rel=1e-4, abs=1e-6)
    assert megatron["grad_norm"] == pytest.approx(fsdp["grad_norm"], rel=1e-4)

    # both Megatron ranks hold the whole batch: they report the same metrics
    rank0, rank1 = runs.megatron["rank_metrics"]
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert rank1[name] == pytest.approx(rank0[name], rel=1e-6, abs=1e-7), name

    mask = runs.fsdp["mask"]
    tokens = mask.sum(-1).tolist()
    for engine, result in (("fsdp2", runs.fsdp), ("megatron", runs.megatron)):
        high = strictly_above_row_quantile(result["update_output"]["entropy"], mask, ENTROPY_QUANTILE)
        # the entropy-dependent eps must separate tokens within responses 0 and 1
        assert high[0].any() and high[1].any() and not high[0].all() and not high[1].all(), engine
        for name, value in expected_aspo_metrics(result).items():
            assert result["metrics"][name] == pytest.approx(value, rel=1e-4, abs=1e-6), f"{engine}: {name}"
        # a uniform eps of 0.2 would have clipped every token of responses 0 and 1
        assert result["metrics"]["actor/aspo/clipfrac_upper"] < tokens[0] / mask.sum().item(), engine
        assert result["metrics"]["actor/aspo/clipfrac_lower"] < tokens[1] / mask.sum().item(), engine


def test_megatron_ep2_parameter_updates_match_fsdp2_dense_and_per_expert(runs):
    from megatron_moe_step import NUM_EXPERTS, NUM_LAYERS

    fsdp, megatron = runs.fsdp, runs.megatron
    fused = {
        f"model.layers.{layer}.mlp.experts.{part}"
        for layer in range(NUM_LAYERS)
        for part in ("gate_up_proj", "down_proj")
    }
    per_expert = {
        name for layer in range(NUM_LAYERS) for expert in range(NUM_EXPERTS) for name in expert_names(layer, expert)
    }
    assert fused <= set(fsdp["before"]), sorted(fsdp["before"])
    dense = set(fsdp["before"]) - fused
    # the Megatron export covers every dense tensor under transformers' name and every expert of both
    # layers (experts 0-1 from rank 0, 2-3 from rank 1), and nothing else
    assert set(megatron["before"]) == dense | per_expert, sorted(set(megatron["before"]) ^ (dense | per_expert))
    assert set(megatron["after"]) == set(megatron["before"])

    worst = {}
    for name in sorted(dense):
        # both engines start from the same checkpoint
        assert torch.equal(megatron["before"][name], fsdp["before"][name]), f"initial {name} differs"
        reference = fsdp["after"][name] - fsdp["before"][name]
        assert reference.norm() > 0, f"fsdp2 left {name} unchanged"
        worst[name] = relative_l2(megatron["after"][name] - megatron["before"][name], reference)

    for layer in range(NUM_LAYERS):
        for expert in range(NUM_EXPERTS):
            before = fsdp_expert(fsdp["before"], layer, expert)
            after = fsdp_expert(fsdp["after"], layer, expert)
            for name, ref_before, ref_after in zip(expert_names(layer, expert), before, after):
                assert torch.equal(megatron["before"][name], ref_before), f"initial {name} differs"
                reference = ref_after - ref_before
                # every expert received tokens, so the comparison covers both ranks' experts
                assert reference.norm() > 0, f"fsdp2 left {name} unchanged"
                worst[name] = relative_l2(megatron["after"][name] - megatron["before"][name], reference)

    assert len(worst) == len(dense) + len(per_expert)
    too_far = {name: f"{value:.2e}" for name, value in worst.items() if value > 1e-3}
    assert not too_far, f"updates differ from fsdp2's (relative L2): {too_far}"
