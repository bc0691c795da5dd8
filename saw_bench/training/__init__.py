"""The training loop: one module per phase of a step (see :mod:`saw_bench.training.trainer`).

:class:`TrainConfig` holds every option of a run and :class:`Trainer` runs it; most users call
:func:`saw_bench.train`, which adds the run's summary and curves (:mod:`saw_bench.harness.run`).
"""

import importlib
from typing import Any

from saw_bench.training.config import TrainConfig, describe_options
from saw_bench.training.estimators import (
    ESTIMATORS,
    Estimator,
    gdpo_advantages,
    grpo_advantages,
)

#: Names whose modules import torch and transformers, loaded on first use so that reading the
#: options (the CLI's --help, a config check) stays fast.
_LAZY = {
    "Trainer": "saw_bench.training.trainer",
    "default_run_dir": "saw_bench.training.trainer",
    "evaluate_policy": "saw_bench.training.evaluation",
    "format_evaluation": "saw_bench.training.evaluation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'saw_bench.training' has no attribute {name!r}")


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
