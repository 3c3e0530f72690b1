"""Helpers for the archer.eval tests: fixture paths, a tiny local model, tiny verl-format eval sets,
and a way to run the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "eval"
MATH_GENERATIONS = FIXTURES / "generations_math.jsonl"
CODE_GENERATIONS = FIXTURES / "generations_code.jsonl"

# hand-computed from the fixtures' responses (see each row's "note"): {data_source: (n, problems, avg %, pass %)}
MATH_EXPECTED = {
    "aime2024": (4, 3, 100 * 6 / 12, 100 * 2 / 3),  # c = 2, 0, 4 of 4
    "math500": (2, 2, 25.0, 50.0),  # c = 1, 0 of 2
    "minerva": (8, 1, 37.5, 100.0),  # c = 3 of 8
    "gsm8k": (3, 1, 100 / 3, 100.0),  # c = 1 of 3
}
CODE_EXPECTED = {
    "livecodebench_v5": (2, 2, 25.0, 50.0),  # c = 1, 0 of 2
    "livecodebench_v6": (2, 1, 100.0, 100.0),  # c = 2 of 2
}

VOCAB = 64
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}w3{% endif %}"


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``python -m archer.eval ARGV`` in this process: (exit code, stdout, stderr)."""
    from archer.eval.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def build_tiny_model(model_dir: Path, seed: int = 0) -> Path:
    """A randomly initialised 2-layer Llama (hidden 32) with a 64-word word-level tokenizer and a chat
    template, saved locally (no hub access). Llama rather than Qwen2: transformers 5 replaces the tokenizer
    of a ``qwen2`` model dir by its own Qwen2Tokenizer, which would drop this word-level vocabulary."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2}
    vocab.update({f"w{i}": i for i in range(3, VOCAB)})
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(model_dir)
    # AutoTokenizer would otherwise pick the model type's class (Qwen2Tokenizer) and lose the word-level vocab
    cfg_path = Path(model_dir) / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(model_dir)
    return model_dir


def write_eval_set(data_dir: Path, name: str, problems: list[tuple[str, str]], ability: str = "math") -> Path:
    """``data_dir/eval/<name>.parquet`` in verl format from (prompt text, ground truth) pairs."""
    import pandas as pd

    path = data_dir / "eval" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "data_source": name,
            "prompt": [{"role": "user", "content": text}],
            "ability": ability,
            "reward_model": {"ground_truth": gt, "style": "rule"},
            "extra_info": {"index": i, "split": "test"},
        }
        for i, (text, gt) in enumerate(problems)
    ]
    pd.DataFrame(rows).to_parquet(path)
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


EXAMPLE_DOC_HEADER = """# Example evaluation table (NOT real results)

Example generated from tests/fixtures/eval, not real results: the rows labelled "example (test fixture)"
grade the hand-written responses of `tests/fixtures/eval/generations_math.jsonl` and
`generations_code.jsonl` (a few problems, 2-8 samples each), so their numbers only show the layout.
Rows marked [ref] are the paper's published numbers. Regenerate with:

```bash
cat tests/fixtures/eval/generations_math.jsonl tests/fixtures/eval/generations_code.jsonl > /tmp/example.jsonl
python -m archer.eval score --generations /tmp/example.jsonl --out /tmp/example \\
    --label "example (test fixture)" --reference
```

and paste `/tmp/example/table.md` below (tests/test_eval_example_doc.py checks that it matches).

"""


def example_table(tmp_dir: Path) -> str:
    """table.md of the example in docs/example_eval_table.md, regenerated from the fixtures."""
    gens = Path(tmp_dir) / "example.jsonl"
    gens.write_text(MATH_GENERATIONS.read_text() + CODE_GENERATIONS.read_text())
    code, _, err = run_cli("score", "--generations", str(gens), "--out", str(Path(tmp_dir) / "example"),
                           "--label", "example (test fixture)", "--reference", "--no-progress")
    if code != 0:
        raise RuntimeError(err)
    return (Path(tmp_dir) / "example" / "table.md").read_text()
