"""Data source of the template family: items generated from a seed (replace with your data).

Items are plain dicts, so tasks pickle and items can be saved as JSON.
"""

from __future__ import annotations

import random
from typing import Any

SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "pi")


def generate_items(split: str, size: int, seed: int) -> list[dict[str, Any]]:
    """``size`` items, each a code word to repeat; the two splits never share a word."""
    rng = random.Random(f"{seed}-{split}")  # a string seed is hashed deterministically
    parity = 0 if split == "train" else 1
    items = []
    while len(items) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(3))
        if sum(map(ord, word)) % 2 == parity:  # disjoint vocabularies for train and test
            items.append({"id": f"echo-{split}-{len(items):04d}", "word": word})
    return items
