"""saw-ema: SAW with the coefficient of variation smoothed across steps.

    m_k(0) = CV_k(0),   m_k(t) = beta * m_k(t-1) + (1 - beta) * CV_k(t),   w'_k = m_k / sum_l m_l

CV_k as in SAW (batch level, shifted by the lower bound). Smoothing damps step-to-step noise in
the weights at the cost of reacting later to a change of stage. The running mean is the agent's
state (saved in checkpoints).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent
from saw_bench.weighting._saw import coefficient_of_variation, weights_from_cv


class SAWEmaWeighting(WeightingAgent):
    name = "saw-ema"
    description = "SAW ablation: CV smoothed by an exponential moving average across steps"

    def __init__(self, beta: float = 0.9) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), but got {beta}")
        self.beta = float(beta)
        self.average: np.ndarray | None = None

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        cv = coefficient_of_variation(batch.rewards, batch.low)
        cv = np.where(np.isfinite(cv), cv, 0.0)
        if self.average is None or len(self.average) != len(cv):
            self.average = cv
        else:
            self.average = self.beta * self.average + (1.0 - self.beta) * cv
        return weights_from_cv(self.average, batch.priorities)

    def state_dict(self) -> dict[str, Any]:
        average = None if self.average is None else self.average.tolist()
        return {"beta": self.beta, "average": average}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.beta = float(state["beta"])
        self.average = None if state["average"] is None else np.asarray(state["average"], float)
