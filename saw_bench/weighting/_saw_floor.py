"""saw-floor: SAW with a minimum weight per objective (for objectives that must never be
dropped, such as safety or format constraints).

    w'_k = CV_k / sum_l CV_l                      (as in SAW)
    v_k  = f_k + (1 - sum_l f_l) * w'_k           every share at least its floor f_k, sum 1
    w_k  = K * alpha_k * v_k (rescaled to sum K)

``floor`` is one number for every objective or one per objective; the floors must sum to at
most 1 (all at 1/K gives equal weights).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._saw import coefficient_of_variation, weights_from_cv


class SAWFloorWeighting(WeightingAgent):
    name = "saw-floor"
    description = "SAW ablation: every objective keeps at least a floor share of the weight"

    def __init__(self, floor: float | Sequence[float] = 0.1) -> None:
        floors = np.atleast_1d(np.asarray(floor, dtype=np.float64))
        if np.any(~np.isfinite(floors)) or np.any(floors < 0):
            raise ValueError(f"floor must be finite and >= 0, but got {floor}")
        self.floor = floors

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        k = batch.num_objectives
        floors = np.broadcast_to(self.floor, (k,)) if len(self.floor) == 1 else self.floor
        if floors.shape != (k,) or floors.sum() > 1 + 1e-12:
            raise ValueError(
                f"floor needs one value or {k} values summing to at most 1, got {self.floor}"
            )
        shares = weights_from_cv(coefficient_of_variation(batch.rewards, batch.low), np.ones(k)) / k
        floored = floors + (1.0 - floors.sum()) * shares
        return normalise_to_sum(floored * batch.priorities, k)
