"""pcgrad: projecting conflicting gradients (Yu et al. 2020, "Gradient Surgery for Multi-Task
Learning", Algorithm 1).

For each objective i, in a random order over the others j::

    g_i^PC <- g_i^PC - min(0, g_i^PC . g_j) / |g_j|^2 * g_j    (remove the conflicting part)
    sum_i g_i^PC = sum_k c_k g_k,   w = K * c * priorities / sum (rescaled to sum K)

computed on the K x K Gramian by torchjd's ``PCGradWeighting``. Without conflicts (all
g_i . g_j >= 0) the weights stay equal. The random order is drawn from (seed, step) in a forked
RNG, so the weights are reproducible and the global torch RNG is untouched.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._gramian import batch_gramian, check_parameter_set


class PCGradWeighting(WeightingAgent):
    name = "pcgrad"
    description = "PCGrad: project away the conflicting parts of per-objective gradients (torchjd)"
    needs_gramian = True
    separate_passes = False

    def __init__(self, parameters: str = "subset", seed: int = 0) -> None:
        self.parameters = check_parameter_set(parameters)
        self.seed = int(seed)

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        gramian = batch_gramian(batch, self.name)
        import torch
        from torchjd import aggregation

        order_seed = int(np.random.SeedSequence([self.seed, batch.step]).generate_state(1)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(order_seed)
            combined = aggregation.PCGradWeighting()(
                torch.as_tensor(gramian, dtype=torch.float64)
            ).numpy()
        k = batch.num_objectives
        return normalise_to_sum(np.clip(combined, 0.0, None) * batch.priorities, k)

    def state_dict(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.parameters = check_parameter_set(state["parameters"])
        self.seed = int(state["seed"])
