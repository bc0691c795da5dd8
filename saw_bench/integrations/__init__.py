"""saw-bench inside other training engines.

- :mod:`saw_bench.integrations.trl`: any weighting agent inside TRL's ``GRPOTrainer``
  (``SawGRPOTrainer``) and adapters from a saw-bench task to a TRL dataset and reward
  functions (``pip install 'saw-bench[trl]'``).
- :mod:`saw_bench.integrations.trl_backend`: ``backend = "trl"`` of ``saw_bench.train``: the
  same run folder as saw-bench's own trainer, trained by TRL.
- :mod:`saw_bench.integrations.verifiers`: every registered task as a verifiers 0.4
  environment (taskset ``saw-bench-tasks``), one weighted reward per objective
  (``pip install 'saw-bench[verifiers]'``).
- :mod:`saw_bench.integrations.verl`: any weighting agent that needs no gradients inside verl
  0.9's GRPO and GDPO (the estimators ``saw_bench_grpo`` and ``saw_bench_gdpo``, registered by
  the ``verl.plugins`` entry point :mod:`saw_bench.integrations.verl_plugin`;
  ``pip install 'saw-bench[verl]'``); :mod:`saw_bench.integrations.verl_data`: any task as
  verl's parquet data and ``compute_score``.

Nothing here is imported by ``import saw_bench``: the engines are optional extras.
"""
