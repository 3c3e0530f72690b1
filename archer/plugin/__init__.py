"""archer's verl plugin: everything that runs inside verl's processes.

``import verl`` imports this package in every process it starts (the ``verl.plugins`` entry point in
pyproject.toml; Ray workers too). It applies every patch of :mod:`archer.plugin.patches`, each on its verl
target module: at once if that module is imported, else right after it is (:mod:`archer.plugin.post_import`),
so loading the plugin imports no verl module of its own:

* ``aspo_loss`` (:mod:`archer.plugin.loss`): ``loss_mode=aspo`` in verl's policy-loss registry, with its
  config class :class:`archer.plugin.config.AspoPolicyLossConfig`;
* ``entropy_handoff`` (:mod:`archer.plugin.entropy_handoff`): wraps ``verl.workers.utils.losses.ppo_loss``
  to hand the per-token entropy to the loss and add the dual-token KL (:mod:`archer.plugin.dual_token_kl`);
* ``whole_step_metrics`` (:mod:`archer.plugin.step_metrics`): wraps ``TrainingWorker.train_mini_batch``;
* ``reward_metrics`` (:mod:`archer.plugin.reward_logging`) and ``filter_groups_bound``
  (:mod:`archer.plugin.filter_groups_guard`): patch the trainer modules.

The ASPO math itself is :mod:`archer.aspo` (pure torch). The driver and CLI side is :mod:`archer.launch`.
"""

from archer.plugin import patches

patches.apply_all()
