"""Generation throughput of ``python -m archer.eval generate`` with 1 and 2 engine processes on CPU.

    python benchmarks/bench_eval.py [--problems 16] [--n 4] [--max-tokens 48] [--hidden 256] [--layers 4]
        [--engines 1,2] [--gpu-tokens-per-s 15000] [--mean-response-tokens 10000] [--gpus 8]

Measured part: a randomly initialised Llama (``--hidden``, ``--layers``, 64-word vocabulary; no hub access)
and a synthetic eval set are written to a temp dir, then the real CLI generates ``--problems`` x ``--n``
samples of ``--max-tokens`` tokens with the transformers backend, ``--data-parallel 1`` and ``2``, each
into a fresh output dir. Wall time includes the engine processes' start-up (imports, model load), as a real
run does. Samples/s for each and the ratio are printed; the two generations files are compared (they must
be identical: the result does not depend on the number of engines). On a 2-core machine the ceiling of the
ratio is 2 on an idle machine. On a shared, oversubscribed machine the ratio can exceed 2: the single
engine runs torch with one OpenMP thread per core, whose spinning barriers stall when other processes
hold the cores, while the 2-engine run gives each engine one thread (``cores / N``). Read the ratio as this
machine's figure at that moment, not as the scaling law.

Estimated part (NOT measured, printed as an estimate): hours for the paper's protocol per checkpoint on one
engine and on ``--gpus`` engines (one per GPU), from the sample counts of the paper's protocol and two
assumptions you can change: ``--mean-response-tokens`` (mean generated tokens per sample; R1-distilled 1.5B
models average roughly 8-12k tokens under a 32k budget) and ``--gpu-tokens-per-s`` (aggregate vLLM decode
throughput of one engine on one H100 for a 1.5B model at large batch). Data parallelism has no
communication, so the node figure is the single-engine figure divided by the engine count, times a
straggler allowance for the longest shard (``--straggler``, default 1.1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

# problems x samples of the paper's protocol (eval-set sizes of archer.data's prepared sets)
PROTOCOL = {"aime2024": (30, 64), "aime2025": (30, 64), "amc2023": (40, 64), "math500": (500, 4),
            "minerva": (272, 8), "olympiadbench": (675, 4), "livecodebench_v5": (279, 8), "livecodebench_v6": (175, 16)}


def build_model(path: Path, hidden: int, layers: int) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from eval_support import build_tiny_model

    build_tiny_model(path)  # tokenizer + chat template; the model is replaced by a bigger one below
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                      num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=512,
                      tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    LlamaForCausalLM(cfg).save_pretrained(path)
    return path


def run(engines: int, model: Path, data: Path, out: Path, args) -> float:
    cmd = [sys.executable, "-m", "archer.eval", "generate", "--model", str(model), "--out", str(out),
           "--data-dir", str(data), "--benchmarks", "math500", "--n", str(args.n), "--max-tokens", str(args.max_tokens),
           "--backend", "transformers", "--device", "cpu", "--dtype", "float32", "--data-parallel", str(engines),
           "--no-progress", "--log-level", "WARNING"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problems", type=int, default=16)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=48)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--engines", default="1,2")
    p.add_argument("--gpu-tokens-per-s", type=float, default=15000.0)
    p.add_argument("--mean-response-tokens", type=float, default=10000.0)
    p.add_argument("--gpus", type=int, default=8)
    p.add_argument("--straggler", type=float, default=1.1)
    args = p.parse_args()

    from eval_support import write_eval_set

    print(f"machine: {os.cpu_count()} CPUs; model: random Llama hidden {args.hidden} x {args.layers} layers; "
          f"workload: {args.problems} problems x n={args.n} x {args.max_tokens} tokens (transformers, CPU)")
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        tmp = Path(tmp)
        model = build_model(tmp / "model", args.hidden, args.layers)
        write_eval_set(tmp / "data", "math500", [(f"w{5 + i % 50} w{6 + i % 40}", "1") for i in range(args.problems)])
        samples = args.problems * args.n
        timings = {}
        for engines in (int(e) for e in args.engines.split(",")):
            seconds = run(engines, model, tmp / "data", tmp / f"out{engines}", args)
            timings[engines] = seconds
            print(f"measured: --data-parallel {engines}: {seconds:7.1f} s wall, {samples / seconds:6.2f} samples/s, "
                  f"<= {samples * args.max_tokens / seconds:7.1f} tokens/s (a sample may stop early at <eos>)")
        files = {e: (tmp / f"out{e}" / "generations.jsonl").read_bytes() for e in timings}
        same = len(set(files.values())) == 1
        print(f"generations files identical across engine counts: {same}")
        if 1 in timings and len(timings) > 1:
            for e, s in timings.items():
                if e != 1:
                    print(f"measured: speed-up {e} engines / 1 engine = {timings[1] / s:.2f}x (ideal {e}x)")

    total = sum(p * k for p, k in PROTOCOL.values())
    tokens = total * args.mean_response_tokens
    one = tokens / args.gpu_tokens_per_s / 3600
    node = one / args.gpus * args.straggler
    print("\nESTIMATE (not measured; assumptions below):")
    print(f"  paper protocol: {total} samples per checkpoint "
          f"({', '.join(f'{b} {p}x{k}' for b, (p, k) in PROTOCOL.items())})")
    print(f"  assumed mean response {args.mean_response_tokens:.0f} tokens -> {tokens / 1e6:.0f} M generated tokens")
    print(f"  assumed {args.gpu_tokens_per_s:.0f} decode tokens/s per engine (1.5B model, one H100, vLLM, large batch)")
    print(f"  one engine (--data-parallel 1): {one:.1f} h per checkpoint")
    print(f"  {args.gpus} engines (--data-parallel auto on {args.gpus} GPUs, x{args.straggler} straggler allowance): "
          f"{node:.1f} h per checkpoint, {node * 10:.0f} h for a sweep of 10 checkpoints")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
