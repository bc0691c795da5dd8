"""saw-bench: a benchmark suite for multi-objective reinforcement learning of language models.

The environment API::

    import saw_bench
    env = saw_bench.make("saw/ToolCall-Synth-v0")      # a gymnasium.Env with a vector reward
    task = saw_bench.load_task("toolcall")             # the same task, for batch scoring
"""

from saw_bench.env import TextEnv
from saw_bench.errors import DataError, SawBenchError, UnknownTaskError
from saw_bench.registry import (
    aliases,
    load_plugins,
    load_task,
    make,
    register,
    registered_ids,
    resolve,
)
from saw_bench.spaces import FreeText
from saw_bench.task import Objective, TextTask

__version__ = "0.1.0"

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
    "train",
]

import saw_bench.envs  # noqa: E402,F401 - registers the shipped environment families

load_plugins()


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute
    """``saw_bench.train`` without importing torch at ``import saw_bench``."""
    if name == "train":
        from saw_bench.trainer import train

        return train
    raise AttributeError(f"module 'saw_bench' has no attribute {name!r}")
