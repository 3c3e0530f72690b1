"""Shared fixtures: actor configs composed from our presets, verl-format loss inputs, and a hand-written
scalar reference of ASPO's per-token loss and gradient weight."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace
from pathlib import Path

import sys

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# plain helper modules in tests/ (e.g. code_reward_support) are imported by name; tests/ is no package
sys.path.insert(0, str(Path(__file__).resolve().parent))


@functools.lru_cache(maxsize=None)
def _compose(overrides: tuple[str, ...]):
    from archer.launch.dry_run import compose_config

    return compose_config(overrides)


@pytest.fixture
def compose_config():
    """compose_config(*overrides) -> the full trainer config composed from aspo_trainer.yaml."""
    return lambda *overrides: _compose(tuple(overrides))


@pytest.fixture
def actor_config(compose_config):
    """actor_config(*overrides) -> a fresh verl actor config dataclass (its policy_loss our subclass)."""
    from verl.utils.config import omega_conf_to_dataclass

    def make(*overrides):
        cfg = compose_config("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2", *overrides)
        return omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)

    return make


@pytest.fixture(scope="session")
def plugin_snapshots():
    """What ``import verl`` installs in fresh interpreters, per environment profile (plugin_snapshot_support)."""
    from plugin_snapshot_support import take_snapshots

    return take_snapshots()


@pytest.fixture(scope="session")
def verl_checkpoint(tmp_path_factory):
    """verl_checkpoint(world_size) -> a real verl FSDP2 actor checkpoint (export_support.make_checkpoint),
    built once per session and world size. Shared: tests read it and write only outside it."""
    from export_support import make_checkpoint

    built = {}

    def get(world_size: int):
        if world_size not in built:
            built[world_size] = make_checkpoint(tmp_path_factory.mktemp(f"verl_ckpt_ws{world_size}"), world_size)
        return built[world_size]

    return get


def reference_token(old_lp, lp, adv, eps_low, eps_high, c, hard=False):
    """ASPO for one token, written out case by case: (loss value, d loss / d log_prob)."""
    r = math.exp(min(max(lp - old_lp, -20.0), 20.0))
    if adv < 0:
        if r < 1 - eps_low:
            return -adv * (1 - eps_low), 0.0
        if r > c:
            return (-adv * c, 0.0) if hard else (-adv * c * lp, -adv * c)
        return -adv * r, -adv * r
    if r > 1 + eps_high:
        return -adv / (1 + eps_high), 0.0
    if 1 / r > c:
        return -adv * c * lp, -adv * c
    return -adv / r, -adv / r


def reference_quantile(values, q):
    """Linear-interpolation quantile of a python list (numpy's / torch's default)."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def make_batch(batch=6, length=12, seed=0, spread=0.6, min_len=3):
    """Random padded loss inputs: log-probs, advantages constant per response (GRPO-like), entropy, and
    right-padded response lengths in [min_len, length]."""
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(batch, length, generator=g) * 3 - 0.05
    new = old + torch.randn(batch, length, generator=g) * spread
    adv = torch.randn(batch, 1, generator=g).expand(batch, length).clone()
    entropy = torch.rand(batch, length, generator=g) * 2
    lengths = torch.randint(min_len, length + 1, (batch,), generator=g)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    return old, new, adv, entropy, mask


def to_verl_inputs(old, new, adv, entropy, mask, prompt_lens=None, rollout_is_weights=None, ref_log_prob=None):
    """Pack padded tensors into what verl's ``ppo_loss`` receives from the engine in no-padding mode:
    a TensorDict of nested (jagged) tensors and a model output whose ``log_probs`` / ``entropy`` cover
    prompt + response tokens, shifted by one as the engine produces them.

    Returns (data, model_output, flat_log_probs_leaf, index) where ``index[i, t]`` is the position of
    response token t of sample i in the flat leaf (-1 for padding), to read gradients back.
    """
    from tensordict import TensorDict

    from verl.utils import tensordict_utils as tu

    batch, length = mask.shape
    lengths = mask.sum(-1).tolist()
    if prompt_lens is None:
        prompt_lens = [2 + (i % 3) for i in range(batch)]

    def nested(rows):
        return torch.nested.as_nested_tensor(rows, layout=torch.jagged)

    flat_lp, flat_ent, index = [], [], torch.full((batch, length), -1, dtype=torch.long)
    offset = 0
    for i in range(batch):
        p, n = prompt_lens[i], lengths[i]
        seq_lp = torch.full((p + n,), -7.0)  # prompt positions: never read by the loss
        seq_ent = torch.full((p + n,), 99.0)
        seq_lp[p - 1 : p - 1 + n] = new[i, :n].detach()
        seq_ent[p - 1 : p - 1 + n] = entropy[i, :n]
        index[i, :n] = torch.arange(offset + p - 1, offset + p - 1 + n)
        flat_lp.append(seq_lp)
        flat_ent.append(seq_ent)
        offset += p + n
    leaf = torch.cat(flat_lp).requires_grad_(True)
    seq_lens = [prompt_lens[i] + lengths[i] for i in range(batch)]
    log_probs = torch.nested.nested_tensor_from_jagged(leaf, torch.tensor([0, *torch.tensor(seq_lens).cumsum(0)]))
    ent = torch.nested.nested_tensor_from_jagged(torch.cat(flat_ent), log_probs.offsets())

    fields = {
        "prompts": nested([torch.ones(prompt_lens[i], dtype=torch.long) for i in range(batch)]),
        "responses": nested([torch.ones(lengths[i], dtype=torch.long) for i in range(batch)]),
        "response_mask": nested([torch.ones(lengths[i], dtype=torch.long) for i in range(batch)]),
        "old_log_probs": nested([old[i, : lengths[i]] for i in range(batch)]),
        "advantages": nested([adv[i, : lengths[i]] for i in range(batch)]),
    }
    if rollout_is_weights is not None:
        fields["rollout_is_weights"] = nested([rollout_is_weights[i, : lengths[i]] for i in range(batch)])
    if ref_log_prob is not None:
        fields["ref_log_prob"] = nested([ref_log_prob[i, : lengths[i]] for i in range(batch)])
    data = TensorDict(fields, batch_size=[batch])
    tu.assign_non_tensor(data, dp_size=1, batch_num_tokens=int(mask.sum()), global_batch_size=batch)
    model_output = {"log_probs": log_probs, "entropy": ent}
    return data, model_output, leaf, index


def gather_grad(flat_grad, index):
    """Read a flat gradient back into the padded [batch, length] layout (0 at padding)."""
    out = torch.zeros(index.shape, dtype=flat_grad.dtype)
    valid = index >= 0
    out[valid] = flat_grad[index[valid]]
    return out


@pytest.fixture
def h():
    """Test helpers: h.token (scalar reference), h.quantile, h.make_batch, h.to_verl, h.gather_grad."""
    return SimpleNamespace(
        token=reference_token,
        quantile=reference_quantile,
        make_batch=make_batch,
        to_verl=to_verl_inputs,
        gather_grad=gather_grad,
    )


# --- parallel runs (pytest-xdist; scripts/test.sh passes -n) ----------------------------------------------------
# Work goes out one unit at a time, heaviest first. A unit is a test file (its module fixtures run once), or
# a group of files that must not be split across workers:
# - the files that read the fresh-process snapshots of plugin installation (``plugin_snapshots``): taken once;
# - the files that read the session's verl checkpoints (``verl_checkpoint``): each world size built once;
# - the files that read the session's 2-step math smoke run (smoke_support.math_run_dir): it is built once;
# - the files that run programs in the code sandbox with the default slot uids: their leftover checks
#   (code_reward_support.leftovers) read the machine-wide process table, so no two of them run at once.
PLUGIN_SNAPSHOT_FILES = ("test_plugin_registration.py", "test_smoke_backend_isolation.py",
                         "test_smoke_vllm_patch_isolation.py", "test_reward_metrics_in_training_logs.py",
                         "test_patch_target_mismatch_stops_with_the_patch_named.py")
CHECKPOINT_FILES = ("test_export_round_trip.py", "test_export_world_size_one.py", "test_eval_verl_checkpoint.py")
SMOKE_RUN_FILES = ("test_smoke_math_end_to_end.py", "test_smoke_off_policy.py")
SANDBOX_FILE_PREFIX = "test_code_reward_"
SANDBOX_FILES = ("test_eval_score_summary.py", "test_eval_example_doc.py")


def unit_of(nodeid: str) -> str:
    """The scheduling unit of a test id: its file, or the group its file belongs to."""
    path = nodeid.split("::", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name in PLUGIN_SNAPSHOT_FILES:
        return "unit:plugin-snapshots"
    if name in CHECKPOINT_FILES:
        return "unit:verl-checkpoints"
    if name in SMOKE_RUN_FILES:
        return "unit:smoke-math-run"
    if name.startswith(SANDBOX_FILE_PREFIX) or name in SANDBOX_FILES:
        return "unit:code-sandbox"
    return path


def pytest_collection_modifyitems(config, items):
    # heaviest units first: the groups, then files with slow tests, then the rest (a stable sort keeps each
    # file's own order); xdist hands units out in this order
    slow = {unit_of(item.nodeid) for item in items if item.get_closest_marker("slow")}

    def weight(item):
        unit = unit_of(item.nodeid)
        if unit == "unit:smoke-math-run":
            return 0  # the longest single piece of work (a whole launch): start it first
        return 1 if unit.startswith("unit:") else 2 if unit in slow else 3

    items.sort(key=weight)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    if config.getoption("dist") not in ("load", "loadfile", "loadscope"):
        return None  # --dist each / worksteal / loadgroup: as asked

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return unit_of(nodeid)

    config.option.loadscopereorder = False  # keep the collection's heaviest-first order
    return UnitScheduling(config, log)
