"""Score: the task's reward matrix for a step's rollouts, checked against the task's contract.

A task's ``score`` must return an (n, K) array of finite values inside each objective's
[low, high]. A task that breaks this (a new environment with a scorer bug, say) would otherwise
feed NaN or out-of-range rewards silently into the weights and advantages; here it stops the
run with a message naming the task, the objective and the first bad row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.core.task import Item, TextTask

#: slack on the bounds for float32 rounding in a task's arithmetic
BOUND_TOLERANCE = 1e-5


def score_rollouts(task: TextTask, items: Sequence[Item], completions: Sequence[str]) -> np.ndarray:
    """(n, K) float64 rewards of ``completions`` (row r answers ``items[r]``)."""
    rewards = np.asarray(task.score(items, completions), dtype=np.float64)
    check_rewards(task, rewards, len(completions))
    return rewards


def check_rewards(task: TextTask, rewards: np.ndarray, rows: int) -> None:
    name = type(task).__name__
    if rewards.shape != (rows, task.reward_dim):
        raise SawBenchError(
            f"{name}.score returned shape {rewards.shape}, but should return "
            f"({rows}, {task.reward_dim}): one row per completion, one column per objective"
        )
    low = task.reward_low.astype(np.float64) - BOUND_TOLERANCE
    high = task.reward_high.astype(np.float64) + BOUND_TOLERANCE
    bad = ~np.isfinite(rewards) | (rewards < low) | (rewards > high)
    if bad.any():
        row, column = (int(index) for index in np.argwhere(bad)[0])
        objective = task.objectives[column]
        raise SawBenchError(
            f"{name}.score gave {objective.name} = {rewards[row, column]!r} for completion "
            f"{row}, outside its bounds [{objective.low:g}, {objective.high:g}] "
            f"({int(bad.sum())} bad values in all)"
        )
