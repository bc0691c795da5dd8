"""The training loop: one module per phase of a step (see :mod:`saw_bench.training.trainer`).

:class:`TrainConfig` holds every option of a run and :class:`Trainer` runs it; most users call
:func:`saw_bench.train`, which adds the run's summary and curves (:mod:`saw_bench.harness.run`).
"""

from saw_bench.training.config import TrainConfig, describe_options
from saw_bench.training.estimators import (
    ESTIMATORS,
    Estimator,
    gdpo_advantages,
    grpo_advantages,
)
from saw_bench.training.evaluation import evaluate_policy, format_evaluation
from saw_bench.training.trainer import Trainer, default_run_dir

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "TrainConfig",
    "Trainer",
    "default_run_dir",
    "describe_options",
    "evaluate_policy",
    "format_evaluation",
    "gdpo_advantages",
    "grpo_advantages",
]
