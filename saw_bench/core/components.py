"""A task's scores as the ``{"reward", "reward_components"}`` records other trainers read.

NeMo Gym's resources servers return a summed ``reward`` with its ``reward_components``
(NeMo RL's GDPO path reads them), verl's GDPO reads per-objective keys of the custom reward
function's dict, and SkyRL follows the same shape. :func:`reward_components` gives that record
for any :class:`~saw_bench.core.task.TextTask`, one per completion::

    {"reward": 2.0, "reward_components": {"format": 1.0, "correctness": 1.0}}

``reward_components`` holds :meth:`TextTask.score` unchanged, one raw value per objective.
``reward`` is their weighted sum with the weights of saw-bench's ``static`` agent on the raw
rewards::

    reward = sum_k w_k r_k,    w_k = K p_k / sum_l p_l    (p: priorities, ones by default)

so with equal priorities every w_k is 1 and ``reward`` is the plain sum of the objectives (the
SAW paper's GRPO baseline, and NeMo Gym's summed reward). :func:`objective_weights` gives the
w_k; the verifiers environment (:mod:`saw_bench.integrations.verifiers`) weights its rewards
with the same numbers, so verifiers' total equals ``reward``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from saw_bench.core.registry import load_task
from saw_bench.core.task import Item, TextTask


def objective_weights(task: TextTask, priorities: Sequence[float] | None = None) -> list[float]:
    """w_k = K p_k / sum_l p_l: the task's priorities rescaled to sum to K (ones by default)."""
    k = task.reward_dim
    if priorities is None:
        return [1.0] * k
    if isinstance(priorities, str | bytes) or not isinstance(priorities, Sequence):
        raise ValueError(
            f"priorities must be a list of {k} numbers (one per objective: "
            f"{', '.join(task.objective_names)}), but got {priorities!r}"
        )
    values = list(priorities)
    valid = len(values) == k and all(
        isinstance(p, int | float) and not isinstance(p, bool) and math.isfinite(p) and p >= 0
        for p in values
    )
    if not valid or sum(values) <= 0:
        raise ValueError(
            f"priorities must be {k} finite numbers >= 0 with a positive sum (one per objective: "
            f"{', '.join(task.objective_names)}), but got {values!r}"
        )
    total = float(sum(values))
    return [k * float(p) / total for p in values]


def reward_components(
    task: TextTask | str,
    items: Sequence[Item],
    completions: Sequence[str],
    priorities: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """One ``{"reward": float, "reward_components": {objective: float}}`` per completion.

    ``task`` is a :class:`TextTask` or a registered id or alias (built with its registered
    kwargs). The components are :meth:`TextTask.score`'s values; ``reward`` is
    ``sum_k w_k r_k`` with the weights of :func:`objective_weights`.
    """
    if isinstance(task, str):
        task = load_task(task)
    if not isinstance(task, TextTask):
        raise TypeError(
            f"task must be a TextTask or a registered id, but got {type(task).__name__}"
        )
    weights = objective_weights(task, priorities)
    scores = task.score(items, completions)
    records = []
    for row in scores:
        values = [float(value) for value in row]
        records.append(
            {
                "reward": math.fsum(w * v for w, v in zip(weights, values, strict=True)),
                "reward_components": dict(zip(task.objective_names, values, strict=True)),
            }
        )
    return records
