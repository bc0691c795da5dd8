"""rlw: random loss weighting (Lin et al. 2021, "Reasonable Effectiveness of Random Weighting").

    w = K * softmax(z),  z ~ Normal(0, I_K), drawn afresh each step

A sanity baseline every other agent must beat. The draw is a function of (seed, step), so a
resumed run sees the same weights as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum


class RandomWeighting(WeightingAgent):
    name = "rlw"
    description = "random weights each step, K * softmax(normal draw) (sanity baseline)"

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        draw = np.random.default_rng([self.seed, batch.step]).standard_normal(batch.num_objectives)
        softmax = np.exp(draw - draw.max())
        return normalise_to_sum(softmax / softmax.sum() * batch.priorities, batch.num_objectives)

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seed = int(state["seed"])
