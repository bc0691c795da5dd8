"""Summarize-Synth task: write a one-sentence TL;DR of a Reddit-style post.

Mirrors the SAW paper's Reddit TL;DR task with two objectives, ``quality`` [0, 10] and
``conciseness`` [0, 10], scored by the deterministic offline judge of :mod:`.rewards`. The
completion is plain text; a leading "TL;DR:" is stripped before scoring. The reference
completion, ``"TL;DR: " + item["reference"]``, scores 10 on both objectives on every item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from saw_bench.task import Item, Message, Objective, TextTask

from . import data, rewards

SYSTEM_PROMPT = (
    "Summarize the post in one short sentence that keeps its key names, numbers and places. "
    "Start with TL;DR:"
)


class SummarizeSynthTask(TextTask):
    """Procedural Reddit-style posts to summarize in one short TL;DR line."""

    objectives = (
        Objective(
            "quality", rewards.QUALITY_LOW, rewards.QUALITY_HIGH,
            "10 * (0.6 * key-fact recall + 0.4 * ROUGE-L F1 against the reference)",
        ),
        Objective(
            "conciseness", rewards.CONCISENESS_LOW, rewards.CONCISENESS_HIGH,
            "10 within the word budget, 0 at 3x the budget; 0 when the post is pasted back",
        ),
    )
    max_completion_chars = 2000

    def __init__(
        self,
        *,
        seed: int = 0,
        train_size: int = 2000,
        test_size: int = 200,
        difficulty: str = "short",
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"seed must be an integer, but got {seed!r}")
        for name, size in (("train_size", train_size), ("test_size", test_size)):
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ValueError(f"{name} must be a positive integer, but got {size!r}")
        if difficulty not in data.DIFFICULTIES:
            raise ValueError(
                f"difficulty must be one of {', '.join(data.DIFFICULTIES)}, "
                f"but got {difficulty!r}"
            )
        self.seed, self.difficulty = seed, difficulty
        self.sizes = {"train": train_size, "test": test_size}
        self._items: dict[str, list[Item]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_items"] = {}  # regenerated on first access, deterministically
        return state

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        if name not in self._items:
            self._items[name] = data.generate_items(
                name, self.sizes[name], self.seed, self.difficulty
            )
        return self._items[name]

    def prompt(self, item: Item) -> list[Message]:
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": item["post"]},
        ]

    def score_completion(self, item: Item, completion: str) -> tuple[float, float]:
        summary = rewards.strip_prefix(completion)
        return rewards.quality(item, summary), rewards.conciseness(item, summary)

    def reference(self, item: Item) -> str:
        return "TL;DR: " + item["reference"]

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        summary = rewards.strip_prefix(completion)
        return {
            "summary_words": len(summary.split()),
            "word_budget": item["word_budget"],
            "fact_recall": rewards.fact_recall(item, summary),
        }
