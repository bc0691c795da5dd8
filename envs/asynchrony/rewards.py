"""Rewards of the asynchrony family: graded closeness of each answer digit, optional noise.

All functions are pure and bounded: they never raise on any string and return values in
``[LOW, HIGH]``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LOW, HIGH = 0.0, 1.0
DIGITS = "0123456789"
#: Closeness falls by 1/WIDTH per unit of distance between the answer digit and the target:
#: 1, 0.75, 0.5, 0.25, then 0 from four away. A uniformly random digit scores 0.3 on average.
WIDTH = 4
#: A conflict's rival target is this far (mod 10) from the first requirement's target.
RIVAL_OFFSET = 5


def answer_digits(completion: str, k: int) -> list[int | None]:
    """The ``k`` answer slots of a completion: its first ``k`` whitespace-separated tokens, each
    a digit or ``None`` (missing, or not a single digit)."""
    tokens = completion.split(maxsplit=k)[:k]
    slots: list[int | None] = [int(t) if len(t) == 1 and t in DIGITS else None for t in tokens]
    return slots + [None] * (k - len(slots))


def closeness(answer: int | None, target: int) -> float:
    """1 at the target, 1/WIDTH less per unit of distance, never below 0; 0 for no answer."""
    if answer is None:
        return LOW
    return max(LOW, HIGH - abs(answer - target) / WIDTH)


def rival(target: int) -> int:
    """The digit a conflicting requirement wants in the first requirement's slot."""
    return (target + RIVAL_OFFSET) % 10


def unit_noise(*parts: object) -> float:
    """A deterministic draw, uniform on [-1, 1), from the sha256 of ``parts``: the same
    completion of the same item always gets the same noise (scores are reproducible), two
    different completions get independent-looking draws. Symmetric about 0."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "replace")).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def noisy(value: float, sigma: float, draw: float) -> float:
    """``value + sigma * draw`` clipped to [LOW, HIGH] (zero-mean away from the bounds)."""
    return min(HIGH, max(LOW, value + sigma * draw))


def score(
    targets: Sequence[str],
    completion: str,
    *,
    conflict: tuple[int, int] | None = None,
) -> list[float]:
    """The clean reward of every requirement. With ``conflict=(i, j)`` requirement ``j`` earns
    half its reward from its own slot and half from slot ``i`` holding :func:`rival` of
    requirement ``i``'s target, so moving slot ``i`` toward its target costs requirement ``j``."""
    digits = [int(target) for target in targets]
    slots = answer_digits(completion, len(digits))
    values = [closeness(slot, target) for slot, target in zip(slots, digits, strict=True)]
    if conflict is not None:
        first, second = conflict
        values[second] = 0.5 * values[second] + 0.5 * closeness(slots[first], rival(digits[first]))
    return values
