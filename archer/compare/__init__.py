"""``python -m archer.compare``: from an ASPO run and a GRPO run to the paper's comparison.

Inputs, per method label (e.g. ``ASPO``, ``GRPO``):

* ``--run LABEL=RUN_DIR``: the training run (the launchers' ``checkpoints/<project>/<experiment>``: verl's
  ``global_step_*`` checkpoints, the saved ``config.yaml`` and the metric log, ``tensorboard/`` event files
  or verl's ``file``-logger jsonl; a log file or log dir works too). Drawn with ``archer.plot dynamics``
  (each run's loss mode, named in legends and in ``comparison.json``, from ``--loss-mode``, the saved
  config or the metrics, as there);
* ``--eval LABEL=EVAL_DIR``: the ``python -m archer.eval run --out EVAL_DIR`` output
  (``global_step_*/summary.json``, or one ``summary.json``).

Outputs in ``--out``: ``table.md`` / ``table_*.csv`` / ``summary.csv`` (Table 1 / Table 2 layout of
``archer.eval.table`` with one row per method at the selected checkpoint, plus the paper's rows with
``--reference``), ``all_steps/`` (the same for every scored checkpoint), ``dynamics/*.png`` (training
dynamics of all runs on shared panels), ``eval.png`` (avg@n / pass@n across checkpoints),
``comparison.json`` (what was compared) and ``COMPARISON.md`` linking them and naming the steps.

Which checkpoint a row shows: ``--step N`` (every method) or ``--step LABEL=N``; else ``--select last``
(default: the highest scored step) or ``--select best`` (highest mean avg@n; chosen on the eval sets
themselves, so optimistic, and said so in ``COMPARISON.md``). See docs/reproduce.md.
"""

from archer.compare.core import CompareInputError, Method, compare, select_checkpoint

__all__ = ["CompareInputError", "Method", "compare", "select_checkpoint"]
