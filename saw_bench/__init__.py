"""saw-bench: a benchmark suite for multi-objective reinforcement learning of language models.

The environment API::

    import saw_bench
    env = saw_bench.make("saw/ToolCall-Synth-v0")      # a gymnasium.Env with a vector reward
    task = saw_bench.load_task("toolcall")             # the same task, for batch scoring
    saw_bench.reward_components(task, items, texts)    # {"reward", "reward_components"} records
    run_dir = saw_bench.train("toolcall", weighting="saw")
    run_dirs = saw_bench.train_many(                    # ten runs as one batched model
        [{"weighting": w, "seed": s} for w in ("static", "saw") for s in range(5)]
    )

The package in layers, each importing only its own and the ones before it (enforced by
tests/test_layout.py; the docs page concepts/architecture.md describes them):

- ``saw_bench.core``: the task contract, Gymnasium face, registry, shared scores, files.
- ``saw_bench.envs`` and ``saw_bench.weighting``: the environment families (the repository's
  ``envs/`` folder); the weighting agents.
- ``saw_bench.policy``: models and tokenizers, the fast path, the tiny embedded policy.
- ``saw_bench.training``: the GRPO/GDPO loop, one module per phase of a step.
- ``saw_bench.integrations``: TRL's GRPOTrainer with the agents plugged in, the ``trl`` backend,
  every task as a verifiers environment.
- ``saw_bench.harness``: runs on disk, sweeps, comparisons, plots, reports.
- ``saw_bench.leaderboard``: submissions, verification, the generated page.
- ``saw_bench.cli``: ``python -m saw_bench``, one library call per verb.
"""

from saw_bench.core import VERSION
from saw_bench.core.env import TextEnv
from saw_bench.core.errors import DataError, SawBenchError, UnknownTaskError
from saw_bench.core.registry import (
    aliases,
    load_plugins,
    load_task,
    make,
    register,
    registered_ids,
    resolve,
)
from saw_bench.core.spaces import FreeText
from saw_bench.core.task import Objective, TextTask

__version__ = VERSION

__all__ = [
    "DataError",
    "FreeText",
    "Objective",
    "SawBenchError",
    "TextEnv",
    "TextTask",
    "UnknownTaskError",
    "aliases",
    "load_plugins",
    "load_task",
    "make",
    "register",
    "registered_ids",
    "resolve",
    "reward_components",
    "train",
    "train_many",
]

import saw_bench.envs  # noqa: E402,F401 - registers the shipped environment families

load_plugins()


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute
    """``saw_bench.train``, ``train_many`` and ``reward_components``, imported on first use
    (``import saw_bench`` does not import torch)."""
    if name == "train":
        from saw_bench.harness.run import train

        return train
    if name == "train_many":
        from saw_bench.harness.batch import train_many

        return train_many
    if name == "reward_components":
        from saw_bench.core.components import reward_components

        return reward_components
    raise AttributeError(f"module 'saw_bench' has no attribute {name!r}")
