"""Dispatch on data_source, the result schema, and loading through verl 0.9.1's own machinery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archer.reward import compute_score
from archer.reward.dispatch import GRADERS, RESULT_DEFAULTS, classify

REPO = Path(__file__).resolve().parents[1]

MATH_SOURCES = [
    "math",
    "MATH",
    "aime2024",
    "aime2025",
    "AIME25",
    "amc2023",
    "amc23",
    "math500",
    "minerva",
    "minerva_math",
    "olympiadbench",
    "OlympiadBench",
    "HuggingFaceH4/MATH-500",
    "lighteval/MATH",
    "DigitalLearningGmbH/MATH-lighteval",
    "test-math-aime25",
    "deepscaler",
    "gsm8k",
    "openai/gsm8k",
    "my_math_mix",
    "Omni-MATH",
]
CODE_SOURCES = [
    "livecodebench",
    "livecodebench_v5",
    "LiveCodeBench-v6",
    "code",
    "codecontests",
    "archer2_code",
    "my_dataset_code",
    "taco",
    "apps",
    "humaneval",
    "humanevalplus",
    "openai/humaneval",
    "codeparrot/apps",
]


@pytest.mark.parametrize("source", MATH_SOURCES)
def test_math_sources(source):
    assert classify(source) == "math"
    assert compute_score(source, "\\boxed{3}", "3")["acc"] is True


@pytest.mark.parametrize("source", CODE_SOURCES)
def test_code_sources_go_to_the_code_grader(source):
    assert classify(source) == "code"
    ground_truth = '{"tests": [{"input": "", "output": "1", "testtype": "stdin"}]}'
    out = compute_score(source, "no program in this answer", ground_truth)
    assert out["failure_kind"] == "no code" and out["score"] == 0.0
    assert out["response_has_answer"] is False and out["total"] == 1


@pytest.mark.parametrize("source", ["gsm9k_typo", "", "chemistry", "unknown/dataset"])
def test_unknown_source_raises_naming_it(source):
    with pytest.raises(ValueError) as err:
        compute_score(source, "\\boxed{3}", "3")
    assert repr(source) in str(err.value)


def test_result_schema_is_the_same_for_every_outcome():
    outs = [
        compute_score("math", "\\boxed{3}", "3"),
        compute_score("aime2024", "no answer", "3"),
        compute_score("math", "\\boxed{x+1}", "1+x"),
        compute_score("math", None, "3"),
    ]
    for out in outs:
        assert set(out) == set(RESULT_DEFAULTS)
        assert isinstance(out["score"], float)
        assert isinstance(out["acc"], bool)
        assert out["pred"] is None or isinstance(out["pred"], str)
        assert isinstance(out["repetition_ratio"], float)
        assert isinstance(out["response_has_answer"], bool)


def test_reward_values_are_configurable():
    assert compute_score("math", "\\boxed{3}", "3", correct_reward=2.5)["score"] == 2.5
    assert compute_score("math", "\\boxed{4}", "3", wrong_reward=-1.0)["score"] == -1.0
    assert compute_score("math", "nothing", "3", wrong_reward=-1.0)["score"] == -1.0


def test_a_grader_with_extra_keys_is_rejected(monkeypatch):
    monkeypatch.setitem(GRADERS, "code", lambda *a, **k: {"score": 1.0, "tests_passed": 3})
    with pytest.raises(ValueError, match="tests_passed"):
        compute_score("livecodebench", "x", "y")


def test_replacing_the_code_grader_is_one_table_entry(monkeypatch):
    monkeypatch.setitem(GRADERS, "code", lambda *a, **k: {"score": 1.0, "acc": True})
    out = compute_score("livecodebench", "x", "y")
    assert out == {**RESULT_DEFAULTS, "score": 1.0, "acc": True}


def test_importing_the_package_is_light():
    code = (
        "import sys, archer.reward; "
        "heavy = [m for m in ('verl', 'sympy', 'math_verify', 'torch', 'numpy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------------
# Through verl 0.9.1


@pytest.fixture(scope="module")
def verl_reward():
    return pytest.importorskip("verl.trainer.ppo.reward")


def _config(path: str, **reward_kwargs):
    from omegaconf import OmegaConf

    return OmegaConf.create(
        {"reward": {"custom_reward_function": {"path": path, "name": "compute_score", "reward_kwargs": reward_kwargs}}}
    )


@pytest.mark.parametrize(
    "path", ["pkg://archer.reward", "pkg://archer/reward", str(REPO / "archer" / "reward" / "__init__.py")]
)
def test_loaded_by_verls_custom_reward_function_loader(verl_reward, path):
    fn = verl_reward.get_custom_reward_fn(_config(path, correct_reward=2.0))
    out = fn(data_source="aime2024", solution_str="</think>\\boxed{25}", ground_truth="025", extra_info={})
    assert out["score"] == 2.0 and out["acc"] is True and out["pred"] == "25"


class _CharTokenizer:
    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(int(i)) for i in ids)


def test_verl_naive_reward_manager_passes_every_key_to_reward_extra_info(verl_reward):
    """verl's reward loop (NaiveRewardManager.run_single) calls us from an executor thread and copies the
    whole dict into reward_extra_info; then the validation metrics are computed per key."""
    torch = pytest.importorskip("torch")
    from verl import DataProto
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    cfg = _config("pkg://archer.reward", timeout_s=5.0)
    fn = verl_reward.get_custom_reward_fn(cfg)
    texts = ["so \\boxed{25}", "hmm \\boxed{24}", "I give up", "</think>\\boxed{\\frac{50}{2}}"]
    width = max(map(len, texts))
    responses = torch.zeros(len(texts), width, dtype=torch.long)
    mask = torch.zeros(len(texts), 2 + width, dtype=torch.long)
    for i, text in enumerate(texts):
        responses[i, : len(text)] = torch.tensor([ord(c) for c in text])
        mask[i, : 2 + len(text)] = 1
    data = DataProto.from_dict(
        tensors={
            "responses": responses,
            "attention_mask": mask,
            "prompts": torch.ones(len(texts), 2, dtype=torch.long),
        },
        non_tensors={
            "data_source": np.array(["aime2024"] * len(texts), dtype=object),
            "reward_model": np.array([{"ground_truth": "025"}] * len(texts), dtype=object),
        },
    )
    manager = NaiveRewardManager(config=cfg, tokenizer=_CharTokenizer(), compute_score=fn)

    async def run_all():
        return [await manager.run_single(data[i : i + 1]) for i in range(len(data))]

    outputs = manager.loop.run_until_complete(run_all())
    assert [o["reward_score"] for o in outputs] == [1.0, 0.0, 0.0, 1.0]
    infos = [o["reward_extra_info"] for o in outputs]
    assert all(set(info) == set(RESULT_DEFAULTS) for info in infos)

    # As RewardLoopManager.compute_rm_score stacks them, then as RayPPOTrainer._validate reduces them.
    stacked = {key: np.array([info[key] for info in infos]).tolist() for key in infos[0]}
    metrics = process_validation_metrics(["aime2024"] * 4, ["uid0"] * 4, stacked)
    per_var = metrics["aime2024"]
    assert {"score", "acc", "repetition_ratio", "response_has_answer", "grader_timeout"} <= set(per_var)
    assert "pred" not in per_var  # strings are skipped; "pred" feeds majority voting instead
    assert per_var["acc"]["mean@4"] == 0.5


def test_options_from_the_verl_command_line(verl_reward):
    """reward_kwargs is not in verl's default config: it is appended with a leading '+'."""
    hydra = pytest.importorskip("hydra")
    with hydra.initialize_config_module(config_module="verl.trainer.config", version_base=None):
        cfg = hydra.compose(
            config_name="ppo_trainer",
            overrides=[
                "reward.custom_reward_function.path=pkg://archer.reward",
                "reward.custom_reward_function.name=compute_score",
                "+reward.custom_reward_function.reward_kwargs.correct_reward=3.0",
                "+reward.custom_reward_function.reward_kwargs.timeout_s=2.5",
            ],
        )
    fn = verl_reward.get_custom_reward_fn(cfg)
    out = fn(data_source="math500", solution_str="\\boxed{\\dfrac{1}{2}}", ground_truth="0.5", extra_info={})
    assert out["score"] == 3.0
