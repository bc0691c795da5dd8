"""SAW: Stage-Aware Dynamic Weighting (arXiv 2606.07705), exactly as the paper states it.

Each step, from the batch's rewards only (no extra forward or backward pass, no state)::

    r~_ik = r_ik - low_k + delta                    shift by the objective's lower bound
    CV_k  = std_i(r~_ik) / (mean_i(r~_ik) + delta)  over the WHOLE batch (all prompts x rollouts)
    w'_k  = CV_k / sum_l CV_l                       equal weights when every CV is ~0
    w_k   = K * alpha_k * w'_k  (rescaled to sum K) alpha: static priorities, kept on top

std is the unbiased one (ddof = 1) and delta = 1e-8, as in the paper's released code. A nearly
learned objective has low variance relative to its (shifted) mean, so its weight shrinks and the
update goes to the objectives still being learned.

Where the weights act is the estimator's business: GRPO sums weighted rewards (reward level),
GDPO sums weighted per-objective advantages (advantage level). Both normalise after the sum, so
only the ratios of the weights matter; the sum-to-K scale matches the paper's GDPO form.
"""

from __future__ import annotations

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum

DELTA = 1e-8
#: Below this total CV every objective counts as converged: equal weights.
FALLBACK_TOTAL_CV = 1e-8


def coefficient_of_variation(
    rewards: np.ndarray, low: np.ndarray | None, delta: float = DELTA
) -> np.ndarray:
    """CV per column: unbiased std / (mean + delta) after shifting by ``low`` (+ delta).

    ``low=None`` skips the shift and divides by |mean| + delta instead (a raw mean can be
    negative, which would make the ratio meaningless as a weight).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    std = rewards.std(axis=0, ddof=1) if len(rewards) > 1 else np.zeros(rewards.shape[1])
    if low is None:
        return std / (np.abs(rewards.mean(axis=0)) + delta)
    shifted = rewards - low + delta
    return std / (shifted.mean(axis=0) + delta)


def weights_from_cv(cv: np.ndarray, priorities: np.ndarray) -> np.ndarray:
    """w'_k = CV_k / sum CV (equal when all ~0), times priorities, rescaled to sum K."""
    cv = np.where(np.isfinite(cv), np.maximum(cv, 0.0), 0.0)
    total = cv.sum()
    shares = cv / total if total > FALLBACK_TOTAL_CV else np.full(len(cv), 1.0 / len(cv))
    return normalise_to_sum(shares * priorities, len(cv))


class SAWWeighting(WeightingAgent):
    name = "saw"
    description = "SAW: batch coefficient of variation after the lower-bound shift (paper-exact)"

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        return weights_from_cv(coefficient_of_variation(batch.rewards, batch.low), batch.priorities)
