"""Answering task items with a policy: one completion per item, in seeded batches."""

from __future__ import annotations

import time
from collections.abc import Sequence

from saw_bench.core.task import Item, TextTask
from saw_bench.policy._hf import Policy


def answer_items(
    policy: Policy,
    task: TextTask,
    items: Sequence[Item],
    *,
    temperature: float,
    max_new_tokens: int,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[list[str], int, float]:
    """One completion per item, generated in batches: (texts, completion tokens, seconds).
    Batch ``b`` starting at item ``i`` samples with seed ``seed + i``."""
    started = time.perf_counter()
    completions: list[str] = []
    tokens = 0
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        batch = policy.generate(
            [policy.render(task.prompt(item)) for item in chunk],
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed + start,
        )
        completions += batch.texts
        tokens += batch.completion_tokens
    return completions, tokens, time.perf_counter() - started
