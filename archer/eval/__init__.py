"""Evaluation in the paper's protocol: ``python -m archer.eval run|generate|score|table|benchmarks``.

``pass_at_k(n, c, k)`` is the unbiased pass@k estimator. Importing this package is cheap (no torch,
transformers or vLLM); the pipeline modules import those when they run. See docs/eval.md.

Modules: metrics (pass@k, avg@k), benchmarks (protocol registry), generations (jsonl I/O), summary
(summary.json), scoring (parallel resumable grading), table (Markdown / CSV), reference (the paper's
numbers), backends (vLLM, transformers), requests (per-sample seeds, greedy, length checks), parallel
(data-parallel engines, sharding, merging), worker (one engine process), checkpoints (HF / verl / run
dirs), pipeline (model -> tables).
"""

from archer.eval.errors import EvalInputError
from archer.eval.metrics import avg_at_k, pass_at_k

__all__ = ["pass_at_k", "avg_at_k", "EvalInputError"]
