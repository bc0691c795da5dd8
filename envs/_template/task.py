"""Template task: repeat a code word, with two objectives (exact match and brevity).

A TextTask declares its objectives with finite bounds and implements four methods: ``split``,
``prompt``, ``score_completion`` and ``reference``. Scoring must never raise on any string,
never evaluate it, and stay inside the bounds; the base class truncates completions to
``max_completion_chars`` before ``score_completion`` sees them.

Two optional hooks shape the tiny policy saw-bench trains on the task (``--model tiny``):
``tiny_recipe`` changes the recipe's defaults (or ``tiny_recipe_for(**kwargs)``, when they depend
on the registered kwargs), and ``corrupt_reference`` gives the wrong answers of its warm start.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

from saw_bench.core.task import Item, Message, Objective, TextTask

from . import data, rewards


class EchoTask(TextTask):
    """Repeat the code word of the prompt; nothing else earns full brevity."""

    objectives = (
        Objective("exact", rewards.EXACT_LOW, rewards.EXACT_HIGH, "the code word, exactly"),
        Objective("brevity", rewards.BREVITY_LOW, rewards.BREVITY_HIGH, "no extra text"),
    )
    max_completion_chars = 256
    #: Optional: changes to the tiny policy's recipe (``saw_bench.policy.TinyRecipe`` fields).
    #: Without it, the defaults tuned for ToolCall-Synth (a 2,048-token vocabulary, a 1,000-step
    #: warm start, figures with up to 96 new tokens). Here: bytes only (256 bytes and the 7
    #: special tokens, no merges), so a held-out word is spelt in the tokens the train words
    #: were and copying generalises; a 400-step warm start; figures with at most 16 new tokens.
    tiny_recipe: ClassVar[dict[str, Any]] = {
        "vocab_size": 263,
        "sft_steps": 400,
        "max_new_tokens": 16,
    }

    def __init__(self, *, seed: int = 0, train_size: int = 1024, test_size: int = 64) -> None:
        if train_size < 1 or test_size < 1:
            raise ValueError(
                f"train_size and test_size must be positive, but got {train_size}, {test_size}"
            )
        self.seed, self.sizes = seed, {"train": train_size, "test": test_size}
        self._items: dict[str, list[Item]] = {}

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        if name not in self._items:
            self._items[name] = data.generate_items(name, self.sizes[name], self.seed)
        return self._items[name]

    def prompt(self, item: Item) -> list[Message]:
        request = f"Repeat the code word and nothing else: {item['word']}"
        return [{"role": "user", "content": request}]

    def score_completion(self, item: Item, completion: str) -> tuple[float, float]:
        return rewards.exact(item, completion), rewards.brevity(item, completion)

    def reference(self, item: Item) -> str:
        return item["word"]

    def corrupt_reference(self, item: Item, reference: str, rng: random.Random) -> str:
        """Optional: a plausible wrong answer for the tiny policy's warm start, drawn with
        ``rng`` (without it saw-bench cuts, deletes or swaps words): one syllable changed."""
        start = 2 * rng.randrange(len(reference) // 2)  # every syllable is two letters
        syllable = rng.choice([s for s in data.SYLLABLES if s != reference[start : start + 2]])
        return reference[:start] + syllable + reference[start + 2 :]
