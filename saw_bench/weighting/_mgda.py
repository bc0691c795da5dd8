"""mgda: the multiple-gradient descent algorithm (Desideri 2012; Sener & Koltun 2018,
"Multi-Task Learning as Multi-Objective Optimization").

From the K x K Gramian G of the per-objective policy gradients g_k::

    alpha = argmin_{alpha in simplex} alpha^T G alpha    (min-norm point of conv{g_1..g_K})
    w     = K * alpha * priorities (rescaled to sum K)

solved by torchjd's ``MGDAWeighting`` (Frank-Wolfe, Algorithm 2 of Sener & Koltun) with a
tighter stop than torchjd's default (epsilon 1e-5, 1000 iterations, not 1e-3 and 100, which
leave errors of ~2e-3 in the weights for K = 3; on a K x K matrix this costs < 0.1 s). The
direction sum_k alpha_k g_k conflicts with no objective; a nearly learned objective with a small
gradient draws most of the weight. Two additions: G + 1e-8 * trace(G) / K * I makes the
min-norm point unique (identical gradients get equal weights, not the first objective's vertex;
other weights move by ~1e-8), and a zero Gramian (no signal) gives equal weights.
"""

from __future__ import annotations

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._gramian import batch_gramian, check_parameter_set

#: Ridge added to the Gramian, relative to its mean diagonal, to make the minimiser unique.
TIE_BREAK = 1e-8


class MGDAWeighting(WeightingAgent):
    name = "mgda"
    description = "MGDA: min-norm point of the per-objective gradients' convex hull (torchjd)"
    needs_gramian = True
    separate_passes = False

    def __init__(
        self, parameters: str = "subset", epsilon: float = 1e-5, max_iters: int = 1000
    ) -> None:
        self.parameters = check_parameter_set(parameters)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be positive, but got {epsilon!r}")
        if not isinstance(max_iters, int) or max_iters < 1:
            raise ValueError(f"max_iters must be a positive integer, but got {max_iters!r}")
        self.epsilon = float(epsilon)
        self.max_iters = max_iters

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        gramian = batch_gramian(batch, self.name)
        k = batch.num_objectives
        scale = np.trace(gramian) / k
        if not scale > 0:
            return normalise_to_sum(batch.priorities, k)
        import torch
        from torchjd import aggregation

        ridged = torch.as_tensor(gramian + TIE_BREAK * scale * np.eye(k), dtype=torch.float64)
        weighting = aggregation.MGDAWeighting(epsilon=self.epsilon, max_iters=self.max_iters)
        alpha = weighting(ridged).numpy()
        return normalise_to_sum(np.clip(alpha, 0.0, None) * batch.priorities, k)
