"""Items of the asynchrony family: a codebook per requirement and prompts that draw from them.

Requirement ``k`` has its own codebook of ``difficulty[k]`` code words (invented words, never
shared between requirements), each mapped to a digit. The codebooks are fixed by the task's
seed and are the same for both splits: what a policy learns is the codebooks. An item names one
code word per requirement; its answer is their digits, in order, separated by spaces.

With ``d`` code words in a codebook, each word appears in about ``1/d`` of the prompts, so a
policy sees each association ``d`` times less often: the number of keys is the dial of how fast
an objective is learnt. Items are drawn uniformly; with few keys the test split repeats
combinations of the train split (the codebooks, not the combinations, are what is held fixed).

Determinism: every draw comes from a ``random.Random`` seeded with a string naming the seed and
what is drawn (string seeds hash with SHA-512, independent of ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import random
from typing import Any

from saw_bench.core.invented import invented_word

DIGITS = "0123456789"


def codebooks(seed: int, difficulty: tuple[int, ...]) -> list[dict[str, str]]:
    """One ``{code word: digit}`` table per requirement; no word is in two tables.

    Digits are dealt round-robin from a shuffled deck of the ten digits, so a table of two words
    maps them to two different digits and every digit is used about equally often."""
    rng = random.Random(f"asynchrony-{seed}-codebooks")
    used: set[str] = set()
    tables = []
    for keys in difficulty:
        words: list[str] = []
        while len(words) < keys:
            word = invented_word(rng, 4)
            if word not in used:
                used.add(word)
                words.append(word)
        deck = list(DIGITS)
        rng.shuffle(deck)
        tables.append({word: deck[index % len(deck)] for index, word in enumerate(words)})
    return tables


def generate_items(
    split: str, size: int, seed: int, tables: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """``size`` items of ``split``: one code word per table and the digits they map to."""
    rng = random.Random(f"asynchrony-{seed}-{split}")
    words = [sorted(table) for table in tables]
    items = []
    for index in range(size):
        keys = [rng.choice(choices) for choices in words]
        items.append(
            {
                "id": f"async-{split}-{index:05d}",
                "split": split,
                "keys": keys,
                "targets": [table[key] for table, key in zip(tables, keys, strict=True)],
            }
        )
    return items
