"""What every weighting agent sees (ObjectiveBatch) and the interface it implements.

Convention: an agent returns K non-negative weights that sum to K, so equal weights are all ones
and every agent trains at the same step size. The estimator decides where the weights apply
(reward level for GRPO, advantage level for GDPO); see :mod:`saw_bench.training.estimators`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ObjectiveBatch:
    """One step's rewards and what an agent may need to weigh them.

    rewards: (n, K) raw rewards, one row per rollout.
    group_ids: (n,) the prompt each rollout answers (rollouts of one prompt form a group).
    low, high: (K,) the objectives' bounds, from the task's reward space.
    priorities: (K,) static priorities kept on top of dynamic weights (ones by default).
    step: the training step (0-based).
    gramian: a callable returning the K x K Gramian of per-objective policy-loss gradients;
        supplied by the trainer only for agents with ``needs_gramian``; computed on demand.
    """

    rewards: np.ndarray
    group_ids: np.ndarray
    low: np.ndarray
    high: np.ndarray
    priorities: np.ndarray | None = None
    step: int = 0
    gramian: Callable[[], np.ndarray] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        rewards = np.asarray(self.rewards, dtype=np.float64)
        if rewards.ndim != 2:
            raise ValueError(f"rewards must be an (n, K) array, but got shape {rewards.shape}")
        n, k = rewards.shape
        object.__setattr__(self, "rewards", rewards)
        object.__setattr__(self, "group_ids", np.asarray(self.group_ids))
        for name in ("low", "high"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != (k,):
                raise ValueError(f"{name} must have shape ({k},), but got {value.shape}")
            object.__setattr__(self, name, value)
        if self.group_ids.shape != (n,):
            raise ValueError(f"group_ids must have shape ({n},), but got {self.group_ids.shape}")
        priorities = np.ones(k) if self.priorities is None else np.asarray(self.priorities, float)
        valid = priorities.shape == (k,) and np.all(np.isfinite(priorities))
        if not valid or np.any(priorities < 0):
            raise ValueError(f"priorities must be {k} finite numbers >= 0, but got {priorities}")
        object.__setattr__(self, "priorities", priorities)

    @property
    def num_objectives(self) -> int:
        return self.rewards.shape[1]


class WeightingAgent(abc.ABC):
    """Maps one step's ObjectiveBatch to K weights (non-negative, summing to K)."""

    name: str = ""
    description: str = ""
    needs_gramian: bool = False

    @abc.abstractmethod
    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        """The (K,) weights for this step."""

    def state_dict(self) -> dict[str, Any]:
        """Everything the agent remembers across steps (JSON-serialisable)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 - stateless default
        """Restore what :meth:`state_dict` returned."""


def normalise_to_sum(weights: np.ndarray, total: float) -> np.ndarray:
    """Scale non-negative weights to sum to ``total``; equal weights when they sum to ~0."""
    weights = np.asarray(weights, dtype=np.float64)
    mass = weights.sum()
    if not np.isfinite(mass) or mass <= 1e-12:
        return np.full(weights.shape, total / len(weights))
    return weights * (total / mass)
