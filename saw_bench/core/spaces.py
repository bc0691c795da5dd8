"""A Gymnasium space for free text.

The stock :class:`gymnasium.spaces.Text` only admits characters from a fixed charset (letters and
digits by default), so it rejects ordinary prompts and completions with spaces, punctuation,
newlines or Unicode. :class:`FreeText` accepts any Python ``str`` up to ``max_length`` characters.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium.spaces import Text

# What sample() draws from: printable ASCII (letters, digits, punctuation, space, newline).
SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n"


class FreeText(Text):
    """Any ``str`` with ``min_length <= len(x) <= max_length``; sampling uses printable ASCII."""

    def __init__(
        self,
        max_length: int,
        *,
        min_length: int = 0,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, but got {max_length}")
        super().__init__(
            max_length=max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed
        )

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"FreeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FreeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    __hash__ = None  # type: ignore[assignment]  # mutable rng inside, like other spaces
