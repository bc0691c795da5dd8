"""Static weighting: fixed weights times priorities (the SAW paper's equal-weight baseline).

``static``: w_k = c_k * alpha_k, rescaled so sum_k w_k = K; c defaults to ones (equal weights on
the raw rewards, as in the paper's GRPO/GDPO baselines).

``static-range``: w_k = alpha_k / (high_k - low_k), rescaled to sum to K: equal weights on
rewards divided by their span. Equal raw weights are not balanced when ranges differ (tool
calling: correctness spans 6 units, format 1, so correctness dominates the summed reward).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum


class StaticWeighting(WeightingAgent):
    name = "static"
    description = "fixed weights (default equal on raw rewards) times priorities"

    def __init__(self, weights: Sequence[float] | None = None) -> None:
        if weights is not None:
            weights = [float(w) for w in weights]
            if not weights or any(not np.isfinite(w) or w < 0 for w in weights):
                raise ValueError(
                    f"static weights must be finite and non-negative, but got {weights}"
                )
            if sum(weights) <= 0:
                raise ValueError(f"static weights must not all be zero, but got {weights}")
        self.fixed = weights

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        k = batch.num_objectives
        fixed = np.ones(k) if self.fixed is None else np.asarray(self.fixed)
        if fixed.shape != (k,):
            raise ValueError(f"static weights need {k} values for {k} objectives, got {self.fixed}")
        return normalise_to_sum(fixed * batch.priorities, k)


class StaticRangeWeighting(WeightingAgent):
    name = "static-range"
    description = "equal weights on rewards divided by their span (high - low)"

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        span = batch.high - batch.low
        return normalise_to_sum(batch.priorities / span, batch.num_objectives)
