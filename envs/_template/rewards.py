"""Reward functions of the template family: pure functions of (item, completion) with bounds."""

from __future__ import annotations

from typing import Any

EXACT_LOW, EXACT_HIGH = 0.0, 1.0
BREVITY_LOW, BREVITY_HIGH = 0.0, 1.0


def exact(item: dict[str, Any], completion: str) -> float:
    """1 when the completion, stripped of surrounding space, is the code word; else 0."""
    return EXACT_HIGH if completion.strip() == item["word"] else EXACT_LOW


def brevity(item: dict[str, Any], completion: str, slack_chars: int = 20) -> float:
    """1 up to the word's length, linear down to 0 at ``slack_chars`` characters more."""
    extra = max(0, len(completion.strip()) - len(item["word"]))
    return max(BREVITY_LOW, BREVITY_HIGH - extra / slack_chars)
