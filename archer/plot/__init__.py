"""Figures of training dynamics and eval results: ``python -m archer.plot dynamics|eval``.

* :mod:`archer.plot.logs`: read a run's logged metrics (verl's ``file`` logger jsonl or tensorboard event
  files) into one tidy table (columns ``step``, ``metric``, ``value``);
* :mod:`archer.plot.runs`: ``--run PATH[:LABEL]`` parsing and each run's loss mode (named in legends);
* :mod:`archer.plot.panels`: which metrics go on which panel, with titles and y labels;
* :mod:`archer.plot.figures`: matplotlib rendering (Agg backend) of the dynamics panels;
* :mod:`archer.plot.eval_figure`: avg@k / pass@k across checkpoints from ``global_step_*/summary.json``.
"""

from archer.plot.errors import PlotInputError

__all__ = ["PlotInputError"]
