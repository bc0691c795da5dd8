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
from saw_bench.policy import GenerationBatch, Policy, completion_logprobs, fast_llama


@dataclass(frozen=True)
class RolloutTensors:
    """One step's rollouts as the update needs them.

    ``sequences``/``attention`` are each row's prompt + completion (what a model's own forward
    takes); ``prompts``/``prompts_mask`` hold each distinct prompt once, with ``prompt_index``
    naming the prompt of every row (what the fast path takes: one prompt pass per group)."""

    sequences: torch.Tensor  # (n, P + T)
    attention: torch.Tensor  # (n, P + T)
    completion_mask: torch.Tensor  # (n, T) float, 1 up to and including EOS
    prompts: torch.Tensor  # (U, P) long, left-padded
    prompts_mask: torch.Tensor  # (U, P) long
    prompt_index: torch.Tensor  # (n,) long, into prompts

    @property
    def completion_length(self) -> int:
        return self.completion_mask.shape[1]

    @property
    def completion_ids(self) -> torch.Tensor:
        return self.sequences[:, -self.completion_length :]

    @classmethod
    def from_batch(cls, batch: GenerationBatch, device: torch.device) -> RolloutTensors:
        index = batch.prompt_index.to(device)
        first = torch.ones_like(index, dtype=torch.bool)
        first[1:] = index[1:] != index[:-1]  # rows of one prompt are contiguous
        return cls(
            sequences=torch.cat([batch.prompt_ids, batch.completion_ids], dim=1).to(device),
            attention=torch.cat([batch.prompt_mask, batch.completion_mask], dim=1).to(device),
            completion_mask=batch.completion_mask.to(device).float(),
            prompts=batch.prompt_ids.to(device)[first],
            prompts_mask=batch.prompt_mask.to(device)[first],
            prompt_index=torch.cumsum(first.long(), dim=0) - 1,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[RolloutTensors]) -> RolloutTensors:
        """The rollouts of ``parts`` (of one prompt and completion width) one after another,
        each part's prompts its own."""
        offsets = np.cumsum([0] + [len(part.prompts) for part in parts[:-1]])
        return cls(
            sequences=torch.cat([part.sequences for part in parts]),
            attention=torch.cat([part.attention for part in parts]),
            completion_mask=torch.cat([part.completion_mask for part in parts]),
            prompts=torch.cat([part.prompts for part in parts]),
            prompts_mask=torch.cat([part.prompts_mask for part in parts]),
            prompt_index=torch.cat(
                [
                    part.prompt_index + int(offset)
                    for part, offset in zip(parts, offsets, strict=True)
                ]
            ),
        )

    def rows(self, index: torch.Tensor) -> RolloutTensors:
        """The rollouts ``index`` (a minibatch), with only the prompts they answer."""
        owners = self.prompt_index[index]
        needed, remapped = torch.unique(owners, return_inverse=True)
        return RolloutTensors(
            sequences=self.sequences[index],
            attention=self.attention[index],
            completion_mask=self.completion_mask[index],
            prompts=self.prompts[needed],
            prompts_mask=self.prompts_mask[needed],
            prompt_index=remapped,
        )

    def logprobs(
        self, model: torch.nn.Module, temperature: float, fast: bool = True
    ) -> torch.Tensor:
        """log pi(token) of every completion token under ``softmax(logits / temperature)``,
        (n, T); differentiable when gradients are on. ``fast``: through
        :class:`~saw_bench.policy.FastLlama` when it covers ``model`` (each prompt once, no
        padding scored; 0 on padding), else the model's own forward."""
        kernel = fast_llama(model, training=torch.is_grad_enabled()) if fast else None
        if kernel is None:
            return completion_logprobs(
                model, self.sequences, self.attention, self.completion_length, temperature
            )
        return kernel.completion_logprobs(
            self.prompts,
            self.prompts_mask,
            self.prompt_index,
            self.completion_ids,
            self.completion_mask,
            temperature,
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
        prompts,
        num_samples=group_size,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
    )


def derive_seed(seed: int, purpose: str, step: int) -> int:
    """A 32-bit seed for one purpose ("generate", "eval") at one step of a run."""
    digest = hashlib.sha256(f"{seed}:{purpose}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def rollout_items(items: Sequence[Item], batch: GenerationBatch) -> tuple[list[Any], np.ndarray]:
    """(the item each rollout answers, group ids): row r answers ``items[group_ids[r]]``."""
    group_ids = batch.prompt_index.cpu().numpy()
    return [items[index] for index in group_ids], group_ids
