"""Reward arithmetic that every layer shares, defined once.

- :func:`group_normalise`: ``(x - group mean) / (group std + eps)`` per column, the step both
  estimators, the gradient agents' per-objective advantages and the metrics' advantage share
  are built on (unbiased std, ddof = 1; a group of one gets std 0; eps = 1e-4 as in TRL).
- :func:`normalised_aggregate`: the one scalar a run is judged by, the priority-weighted mean of
  per-objective means mapped to [0, 1] by the task's bounds::

      aggregate = sum_k p_k (x_k - low_k) / (high_k - low_k) / sum_k p_k    (p_k = 1 by default)

  The trainer's eval rows, the harness's curves and the leaderboard's verification all call it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EPS = 1e-4


def group_normalise(values: np.ndarray, group_ids: np.ndarray, eps: float = EPS) -> np.ndarray:
    """(x - group mean) / (group std + eps) for a vector or for each column of a matrix."""
    values = np.asarray(values, dtype=np.float64)
    group_ids = np.asarray(group_ids)
    out = np.empty_like(values)
    for group in np.unique(group_ids):
        members = group_ids == group
        chunk = values[members]
        mean = chunk.mean(axis=0)
        std = chunk.std(axis=0, ddof=1) if len(chunk) > 1 else np.zeros_like(mean)
        out[members] = (chunk - mean) / (std + eps)
    return out


def normalised_aggregate(
    means: np.ndarray | Sequence[float],
    low: np.ndarray | Sequence[float],
    high: np.ndarray | Sequence[float],
    priorities: Sequence[float] | None = None,
) -> np.ndarray | float:
    """Priority-weighted mean of per-objective means scaled to [0, 1] by [low, high].

    ``means`` has the objectives on its last axis: one vector gives a float, a (rows, K) table
    gives one aggregate per row.
    """
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    scaled = (np.asarray(means, dtype=float) - low) / (high - low)
    weights = np.ones(len(low)) if priorities is None else np.asarray(priorities, dtype=float)
    aggregate = scaled @ weights / weights.sum()
    return float(aggregate) if np.ndim(aggregate) == 0 else aggregate
