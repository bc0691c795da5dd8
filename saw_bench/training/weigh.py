"""Weigh: the weighting agent's K weights for a step's reward matrix.

The agent sees an :class:`~saw_bench.weighting.ObjectiveBatch` (rewards, group ids, bounds,
priorities, step). Gradient-based agents (``needs_gramian``) also get a callable that computes
the K x K Gramian of per-objective policy gradients on this step's rollouts, only when they
call it (one forward pass and K backward passes on a parameter subset, or the agent's own
choice of parameters and passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from saw_bench.core.task import TextTask
from saw_bench.policy import fast_llama
from saw_bench.training.rollouts import RolloutTensors
from saw_bench.weighting import (
    ObjectiveBatch,
    WeightingAgent,
    objective_advantages,
    objective_gramian,
)


def weigh(
    agent: WeightingAgent,
    task: TextTask,
    rewards: np.ndarray,
    group_ids: np.ndarray,
    *,
    step: int,
    priorities: Sequence[float] | None,
    model: torch.nn.Module,
    tensors: RolloutTensors,
    temperature: float,
    fast: bool = True,
) -> np.ndarray:
    """(K,) float64 weights from ``agent`` for this step (``fast``: the Gramian's forward on
    the fast path where it covers the model, as the update's)."""
    gramian = None
    if agent.needs_gramian:
        gramian = gramian_callable(agent, model, tensors, rewards, group_ids, temperature, fast)
    batch = ObjectiveBatch(
        rewards=rewards,
        group_ids=group_ids,
        low=task.reward_low,
        high=task.reward_high,
        priorities=priorities,
        step=step,
        gramian=gramian,
    )
    return np.asarray(agent.weights(batch), dtype=np.float64)


def gramian_callable(
    agent: WeightingAgent,
    model: torch.nn.Module,
    tensors: RolloutTensors,
    rewards: np.ndarray,
    group_ids: np.ndarray,
    temperature: float,
    fast: bool = True,
) -> Callable[[], np.ndarray]:
    # off the fast path the log-probabilities come from the model's own forward, whose LM head
    # the Gramian can share across the objectives
    covered = fast and fast_llama(model, training=True) is not None

    def logprobs() -> torch.Tensor:
        return tensors.logprobs(model, temperature, fast=covered)

    def gramian() -> np.ndarray:
        return objective_gramian(
            model,
            tensors.completion_mask,
            torch.as_tensor(objective_advantages(rewards, group_ids), dtype=torch.float32),
            logprobs,
            parameters=getattr(agent, "parameters", "subset"),
            separate_passes=getattr(agent, "separate_passes", False),
            share_head=not covered,
        )

    return gramian
