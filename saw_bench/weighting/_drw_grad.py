"""drw-grad: gradient-based dynamic reward weighting (Lu et al. 2025, "Learning to Optimize
Multi-Objective Alignment Through Dynamic Reward Weighting", arXiv 2509.11452).

Each step, from the K x K Gramian G of the per-objective policy gradients g_k::

    g_k   <- g_k * min(1, max_grad_norm / (|g_k| + 1e-6))   (norm clip, from diag(G))
    log w <- log_softmax(log w + lr * (G 1) / mu)            (G 1)_k = g_k . sum_l g_l
    weights = K * w * priorities (rescaled to sum K)

w starts uniform; mu = 1e-5 and lr is the actor's learning rate. An objective whose gradient
helps the others (large g_k . sum_l g_l) gains weight; the weights carry over from step to step
(the agent's state). As in the released code, each g_k is clipped like the actor's gradient
(verl's grad_clip 1.0) before the Gramian; ``max_grad_norm=None`` leaves it out. The clip uses
the norm over the Gramian's parameters, which is the released code's for ``parameters="full"``.

The released code takes one forward and backward pass per objective, over all parameters (or a
chosen layer subset): ``separate_passes=True`` and ``parameters="full"`` reproduce that cost.
Note the scale: with lr 3e-4 and mu 1e-5 the exponent moves by 30 * (G 1)_k per step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._gramian import batch_gramian, check_parameter_set

#: As torch.nn.utils.clip_grad_norm_: the clip factor is max_norm / (norm + CLIP_EPS).
CLIP_EPS = 1e-6


class DRWGradWeighting(WeightingAgent):
    name = "drw-grad"
    description = "Lu et al. 2025: log w += lr * (G 1) / mu each step, per-objective gradients"
    needs_gramian = True
    separate_passes = True

    def __init__(
        self,
        learning_rate: float = 3e-4,
        mu: float = 1e-5,
        max_grad_norm: float | None = 1.0,
        parameters: str = "full",
        separate_passes: bool = True,
    ) -> None:
        for label, value in (("learning_rate", learning_rate), ("mu", mu)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{label} must be a finite positive number, but got {value!r}")
        if max_grad_norm is not None and not (
            isinstance(max_grad_norm, int | float) and max_grad_norm > 0
        ):
            raise ValueError(f"max_grad_norm must be positive or None, but got {max_grad_norm!r}")
        self.learning_rate = float(learning_rate)
        self.mu = float(mu)
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.parameters = check_parameter_set(parameters)
        self.separate_passes = bool(separate_passes)
        self.log_weights: np.ndarray | None = None

    def weights(self, batch: ObjectiveBatch) -> np.ndarray:
        gramian = batch_gramian(batch, self.name)
        k = batch.num_objectives
        if self.max_grad_norm is not None:
            norms = np.sqrt(np.clip(np.diag(gramian), 0.0, None))
            clip = np.minimum(1.0, self.max_grad_norm / (norms + CLIP_EPS))
            gramian = gramian * np.outer(clip, clip)
        if self.log_weights is None or len(self.log_weights) != k:
            self.log_weights = np.full(k, -math.log(k))
        logits = self.log_weights + self.learning_rate * gramian.sum(axis=1) / self.mu
        top = logits.max()
        self.log_weights = logits - (top + math.log(np.exp(logits - top).sum()))
        return normalise_to_sum(np.exp(self.log_weights) * batch.priorities, k)

    def state_dict(self) -> dict[str, Any]:
        log_weights = None if self.log_weights is None else self.log_weights.tolist()
        return {"log_weights": log_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        log_weights = state["log_weights"]
        self.log_weights = None if log_weights is None else np.asarray(log_weights, float)
