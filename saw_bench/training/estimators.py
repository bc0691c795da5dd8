"""Advantage estimators for several rewards: GRPO (sum, then normalise) and GDPO (normalise each,
sum, then batch-normalise). Pure functions on NumPy arrays.

Notation: rollout i answers prompt g(i); rewards r (n, K); weights w (K,) from the weighting
agent (summing to K); eps = 1e-4.

GRPO (Shao et al. 2024, DeepSeekMath), weights at the reward level as in the SAW paper::

    R_i = sum_k w_k r_ik
    A_i = (R_i - mean_{j in g(i)} R_j) / (std_{j in g(i)} R_j + eps)

GDPO (arXiv 2601.05242), weights at the advantage level::

    A_ik = (r_ik - mean_{j in g(i)} r_jk) / (std_{j in g(i)} r_jk + eps)
    B_i  = sum_k w_k A_ik
    A_i  = (B_i - mean_all B) / (std_all B + eps)

Choices (they differ between reference implementations): standard deviations are the unbiased
ones (ddof = 1, as ``torch.std`` in TRL's GRPOTrainer; a group of one rollout gets std 0);
eps = 1e-4 as in TRL; advantages are per sequence (every token of a completion gets its
sequence's advantage; TRL does the same, verl whitens over tokens instead).

:data:`ESTIMATORS` holds one :class:`Estimator` record per name: the function, a description,
and the options under which another trainer computes the same advantages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from saw_bench.core.scores import EPS, group_normalise


def batch_normalise(values: np.ndarray, eps: float = EPS) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return (values - values.mean()) / (std + eps)


def _check(rewards: np.ndarray, group_ids: np.ndarray, weights: np.ndarray) -> tuple:
    rewards = np.asarray(rewards, dtype=np.float64)
    group_ids = np.asarray(group_ids)
    weights = np.asarray(weights, dtype=np.float64)
    if rewards.ndim != 2 or group_ids.shape != (rewards.shape[0],):
        raise ValueError(
            f"need rewards (n, K) and group_ids (n,), but got {rewards.shape} and {group_ids.shape}"
        )
    if weights.shape != (rewards.shape[1],):
        raise ValueError(f"need {rewards.shape[1]} weights, but got shape {weights.shape}")
    return rewards, group_ids, weights


def grpo_advantages(
    rewards: np.ndarray, group_ids: np.ndarray, weights: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """GRPO: weighted sum of the rewards, normalised within each group. Returns (n,)."""
    rewards, group_ids, weights = _check(rewards, group_ids, weights)
    return group_normalise(rewards @ weights, group_ids, eps)


def gdpo_advantages(
    rewards: np.ndarray, group_ids: np.ndarray, weights: np.ndarray, eps: float = EPS
) -> np.ndarray:
    """GDPO: per-objective group normalisation, weighted sum, batch normalisation. Returns (n,)."""
    rewards, group_ids, weights = _check(rewards, group_ids, weights)
    per_objective = group_normalise(rewards, group_ids, eps)
    return batch_normalise(per_objective @ weights, eps)


#: (rewards (n, K), group_ids (n,), weights (K,)) -> advantages (n,)
AdvantageFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Estimator:
    """One advantage estimator and how other trainers compute the same advantages.

    ``trl_options``: the ``trl.GRPOConfig`` options under which TRL's ``GRPOTrainer`` gives
    these advantages (:func:`saw_bench.integrations.trl.trl_aggregation` returns them).
    ``verl_options``: the verl 0.9 overrides under which verl's trainer computes these
    advantages with saw-bench's weights (the estimators :mod:`saw_bench.integrations.verl`
    registers). They differ from these functions where verl's own GRPO and GDPO do: eps 1e-6,
    a group of one rollout keeps its raw reward and, for ``gdpo``, the last normalisation
    whitens over response tokens."""

    name: str
    function: AdvantageFunction
    description: str
    trl_options: dict[str, str]
    verl_options: dict[str, str] = field(default_factory=dict)


ESTIMATORS: dict[str, Estimator] = {
    estimator.name: estimator
    for estimator in (
        Estimator(
            name="grpo",
            function=grpo_advantages,
            description="weighted sum of rewards, then group normalisation (GRPO)",
            trl_options={
                "multi_objective_aggregation": "sum_then_normalize",
                "scale_rewards": "group",
            },
            verl_options={"algorithm.adv_estimator": "saw_bench_grpo"},
        ),
        Estimator(
            name="gdpo",
            function=gdpo_advantages,
            description="group-normalise each objective, weighted sum, batch normalisation (GDPO)",
            trl_options={
                "multi_objective_aggregation": "normalize_then_sum",
                "scale_rewards": "group",
            },
            verl_options={"algorithm.adv_estimator": "saw_bench_gdpo"},
        ),
    )
}
