"""upgrad: unconflicting projection of gradients (Quinton & Rey 2024, "Jacobian Descent for
Multi-Objective Optimization").

Each per-objective gradient is projected onto the dual cone of all of them (the directions that
conflict with none), and the projections are averaged::

    v_i = argmin_{v >= e_i / K} v^T G v        (the weights of pi(g_i / K), Proposition 1)
    c   = sum_i v_i,   w = K * c * priorities / sum (rescaled to sum K)

computed on the K x K Gramian by torchjd's ``UPGradWeighting`` with its quadprog projector
(which normalises G and adds 1e-4 to its diagonal). When nothing conflicts (every
g_i . g_j >= 0) each g_i already lies in the dual cone and the weights stay equal.
"""

from __future__ import annotations

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._gramian import batch_gramian, check_parameter_set


class UPGradWeighting(WeightingAgent):
    name = "upgrad"
    description = "UPGrad: average of gradients projected onto their dual cone (torchjd)"
    needs_gramian = True
    separate_passes = False

    def __init__(self, parameters: str = "subset") -> None:
        self.parameters = check_parameter_set(parameters)

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        gramian = batch_gramian(batch, self.name)
        import torch
        from torchjd import aggregation

        combined = aggregation.UPGradWeighting()(
            torch.as_tensor(gramian, dtype=torch.float64)
        ).numpy()
        k = batch.num_objectives
        return normalise_to_sum(np.clip(combined, 0.0, None) * batch.priorities, k)
