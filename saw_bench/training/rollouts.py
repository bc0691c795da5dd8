"""Generate: the step's prompts, drawn as a pure function of (seed, step), and their rollouts,
``group_size`` completions per prompt, with the token tensors the update needs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from saw_bench.core.task import Item, TextTask
from saw_bench.policy import GenerationBatch, Policy


@dataclass(frozen=True)
class RolloutTensors:
    """One step's rollouts as the update needs them: prompt + completion token ids."""

    sequences: torch.Tensor  # (n, P + T)
    attention: torch.Tensor  # (n, P + T)
    completion_mask: torch.Tensor  # (n, T) float, 1 up to and including EOS

    @property
    def completion_length(self) -> int:
        return self.completion_mask.shape[1]

    @classmethod
    def from_batch(cls, batch: GenerationBatch, device: torch.device) -> RolloutTensors:
        return cls(
            sequences=torch.cat([batch.prompt_ids, batch.completion_ids], dim=1).to(device),
            attention=torch.cat([batch.prompt_mask, batch.completion_mask], dim=1).to(device),
            completion_mask=batch.completion_mask.to(device).float(),
        )


def sample_items(items: Sequence[Item], step: int, per_step: int, seed: int) -> list[Item]:
    """``per_step`` items for ``step``: epochs over the items in a seeded shuffle per epoch, so
    a resumed run draws what an uninterrupted one would."""
    total = len(items)
    start = step * per_step
    orders: dict[int, np.ndarray] = {}  # one shuffle per epoch this step touches
    chosen = []
    for position in range(start, start + per_step):
        epoch, offset = divmod(position, total)
        if epoch not in orders:
            orders[epoch] = np.random.default_rng([seed, 7919, epoch]).permutation(total)
        chosen.append(items[orders[epoch][offset]])
    return chosen


def generate_rollouts(
    policy: Policy,
    task: TextTask,
    items: Sequence[Item],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    seed: int,
) -> GenerationBatch:
    """``group_size`` sampled completions of every item's prompt (rows of one prompt are
    contiguous; ``prompt_index`` maps rows to items)."""
    prompts = [policy.render(task.prompt(item)) for item in items]
    return policy.generate(
        prompts, num_samples=group_size, max_new_tokens=max_new_tokens,
        temperature=temperature, seed=seed,
    )  # fmt: skip


def derive_seed(seed: int, purpose: str, step: int) -> int:
    """A 32-bit seed for one purpose ("generate", "eval") at one step of a run."""
    digest = hashlib.sha256(f"{seed}:{purpose}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def rollout_items(items: Sequence[Item], batch: GenerationBatch) -> tuple[list[Any], np.ndarray]:
    """(the item each rollout answers, group ids): row r answers ``items[group_ids[r]]``."""
    group_ids = batch.prompt_index.cpu().numpy()
    return [items[index] for index in group_ids], group_ids
