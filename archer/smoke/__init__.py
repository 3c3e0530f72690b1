"""archer's smoke profile: the whole training job (verl's real trainer loop) on any machine, CPU only.

Pipeline, one module per stage:

* :mod:`archer.smoke.problems`   - the smoke data sets (arithmetic with ``\\boxed{}`` answers, stdin code
  problems in the code grader's canonical ground-truth format), generated with fixed seeds;
* :mod:`archer.smoke.assets`     - tiny tokenizer + Qwen2 model + parquet files, cached and built atomically;
* :mod:`archer.smoke.warm_start` - the short supervised warm start that makes rewards mixed;
* :mod:`archer.smoke.backend`    - the CPU backend for verl (named in ``VERL_USE_EXTERNAL_MODULES`` by the
  smoke launcher only), made of :mod:`~archer.smoke.platform`, :mod:`~archer.smoke.patches` and
  :mod:`~archer.smoke.rollout`;
* :mod:`archer.smoke.pipeline`   - after training: export, eval, plot, ``SMOKE_SUMMARY.json``.

Nothing here is imported by ``import verl`` or ``import archer`` unless the smoke environment asks for it.
Entry point: ``bash scripts/run_aspo_math.sh --smoke`` (docs/smoke.md).
"""
