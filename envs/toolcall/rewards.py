"""Reward functions of the tool-calling family: ``format``, ``correctness`` and ``brevity``.

The output format is ToolRL's (Qian et al. 2025, "ToolRL: Reward is All Tool Learning Needs",
used by the SAW paper,
arXiv 2606.07705)::

    <think>free reasoning</think>
    <tool_call>
    {"name": "get_weather", "parameters": {"city": "Oslo"}}
    {"name": "get_time", "parameters": {"zone": "CET"}}
    </tool_call>
    <response>text for the user</response>

with the ``<tool_call>`` block, the ``<response>`` block or both, as the item's answer asks.

format, in {0, 1} -- 1 when the whole completion has exactly the expected shape:
  * tool call only: ``<think>…</think>\\n<tool_call>\\n…\\n</tool_call>`` and nothing else;
  * response only: ``<think>…</think>\\n<response>…</response>``;
  * both: ``<think>…</think>\\n<tool_call>\\n…\\n</tool_call>\\n<response>…</response>``;
  * neither: ``<think>…</think>``;
  and each expected ``<tool_call>``/``</tool_call>``/``<response>``/``</response>`` tag occurs
  exactly once. (ToolRL states this as anchored regular expressions; the same test is done
  here with string positions, so its time is linear in the completion's length.)

correctness, in [-3, 3]:
  * expected calls G (non-empty), predicted calls P read from the first ``<tool_call>`` block,
    one JSON object ``{"name": str, "parameters": object}`` per line. No block, an unclosed
    block, or any line that is not such an object: -3.
  * score = name_match + sum over g in G (in order) of the best still-unused p in P with the
    same name: key_match(keys g, keys p) + #{keys k of g with p[k] equal to g[k]};
    name_match and key_match are multiset Jaccard similarities |A ∩ B| / |A ∪ B| (1 when both
    are equal, 0 when either is empty).
  * S_max = 1 + sum over g in G of (1 + #keys g); correctness = 6 * score / S_max - 3, so an
    exact match gives +3 and a well-formed call to nothing expected gives -3.
  * Values are equal when they are equal JSON values, except that a boolean never equals a
    number (``true`` is not ``1``); ``3`` equals ``3.0``.
  * No expected call (the item wants only a response): +3 when the completion contains no
    ``<tool_call>`` tag, -3 when it does. ToolRL gives 0 here; saw-bench rewards abstaining so
    the reference completion reaches the maximum on every item.

brevity, in [0, 1] (the three-objective variant), of the think block
(:func:`brevity_reward`): 1 when the think block has at most ``target_words`` words, falling
linearly to 0 at ``limit_words``; 0 without a think block. Or of the whole completion
(:func:`completion_brevity_reward`): 1 up to ``target_chars`` characters, falling linearly to 0
at ``limit_chars``; 0 when the format is wrong or correctness is at its minimum (no call that
parses and names an expected function, or a call where none fits), so an empty, broken or
useless answer earns nothing however short.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

FORMAT_LOW, FORMAT_HIGH = 0.0, 1.0
CORRECTNESS_LOW, CORRECTNESS_HIGH = -3.0, 3.0
BREVITY_LOW, BREVITY_HIGH = 0.0, 1.0

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<response>", "</response>"

ToolCall = dict[str, Any]  # {"name": str, "parameters": dict}


# --------------------------------------------------------------------------- format
def format_reward(completion: str, expects_tool_call: bool, expects_response: bool) -> float:
    """1.0 when the completion has exactly the expected block structure, else 0.0."""
    text = completion
    if not text.startswith(THINK_OPEN):
        return FORMAT_LOW
    tags = [(CALL_OPEN, CALL_CLOSE)] if expects_tool_call else []
    if expects_response:
        tags.append((RESPONSE_OPEN, RESPONSE_CLOSE))
    for opening, closing in tags:
        if text.count(opening) != 1 or text.count(closing) != 1:
            return FORMAT_LOW
    if not tags:  # ^<think>.*</think>$
        return FORMAT_HIGH if text.endswith(THINK_CLOSE) and len(text) >= 15 else FORMAT_LOW

    # The first block after the think block starts right after "</think>\n".
    first_open = tags[0][0]
    position = text.index(first_open)
    think_end = position - len(THINK_CLOSE) - 1
    if think_end < len(THINK_OPEN) or text[think_end:position] != THINK_CLOSE + "\n":
        return FORMAT_LOW
    if expects_tool_call:
        # "<tool_call>\n" body "\n</tool_call>"
        body_start = position + len(CALL_OPEN) + 1
        close = text.index(CALL_CLOSE)
        if text[position + len(CALL_OPEN) : body_start] != "\n":
            return FORMAT_LOW
        if close - 1 < body_start or text[close - 1] != "\n":
            return FORMAT_LOW
        position = close + len(CALL_CLOSE)
        if expects_response:
            if text[position : position + 1 + len(RESPONSE_OPEN)] != "\n" + RESPONSE_OPEN:
                return FORMAT_LOW
            position += 1
        elif position != len(text):
            return FORMAT_LOW
    if expects_response:
        # "<response>" body "</response>" closing the text
        if text.index(RESPONSE_OPEN) != position:
            return FORMAT_LOW
        close = text.index(RESPONSE_CLOSE)
        if close < position + len(RESPONSE_OPEN) or close + len(RESPONSE_CLOSE) != len(text):
            return FORMAT_LOW
    return FORMAT_HIGH


# --------------------------------------------------------------------------- parsing
def extract_tool_calls(completion: str) -> list[ToolCall] | None:
    """The calls of the first ``<tool_call>`` block, or None when it is missing or malformed.

    Only JSON is parsed (never Python, never evaluated). Blank lines inside the block are
    malformed, as in ToolRL. An empty list is never returned.
    """
    start = completion.find(CALL_OPEN)
    if start < 0:
        return None
    end = completion.find(CALL_CLOSE, start + len(CALL_OPEN))
    if end < 0:
        return None
    body = completion[start + len(CALL_OPEN) : end].strip()
    calls = []
    for line in body.split("\n"):
        call = _parse_call(line)
        if call is None:
            return None
        calls.append(call)
    return calls


def _parse_call(line: str) -> ToolCall | None:
    try:
        call = json.loads(line)
    except (ValueError, RecursionError):  # includes ints over Python's digit limit
        return None
    if not isinstance(call, dict):
        return None
    name, parameters = call.get("name"), call.get("parameters")
    if not isinstance(name, str) or not isinstance(parameters, dict):
        return None
    return {"name": name, "parameters": parameters}


# --------------------------------------------------------------------------- correctness
def multiset_jaccard(first: Sequence[Any], second: Sequence[Any]) -> float:
    """|A ∩ B| / |A ∪ B| over multisets; 1.0 when equal, 0.0 when either is empty."""
    if Counter(first) == Counter(second):
        return 1.0
    if not first or not second:
        return 0.0
    counts_first, counts_second = Counter(first), Counter(second)
    shared = sum((counts_first & counts_second).values())
    return shared / (len(first) + len(second) - shared)


def values_equal(expected: Any, predicted: Any) -> bool:
    """JSON value equality where booleans never equal numbers (``1 == True`` in Python)."""
    if isinstance(expected, bool) or isinstance(predicted, bool):
        return isinstance(expected, bool) and isinstance(predicted, bool) and expected == predicted
    if isinstance(expected, int | float) and isinstance(predicted, int | float):
        return expected == predicted
    if isinstance(expected, list) and isinstance(predicted, list):
        return len(expected) == len(predicted) and all(
            values_equal(e, p) for e, p in zip(expected, predicted, strict=True)
        )
    if isinstance(expected, dict) and isinstance(predicted, dict):
        return expected.keys() == predicted.keys() and all(
            values_equal(expected[key], predicted[key]) for key in expected
        )
    return type(expected) is type(predicted) and expected == predicted


def tool_call_match(expected: Sequence[ToolCall], predicted: Sequence[ToolCall]) -> float:
    """ToolRL's match of predicted against expected calls, scaled into [-3, 3]."""
    score = multiset_jaccard([c["name"] for c in expected], [c["name"] for c in predicted])
    best_possible = 1.0
    used: set[int] = set()
    for want in expected:
        want_parameters = want["parameters"]
        best_possible += 1.0 + len(want_parameters)
        best_index, best_score = -1, 0.0
        for index, got in enumerate(predicted):
            if index in used or got["name"] != want["name"]:
                continue
            got_parameters = got["parameters"]
            candidate = multiset_jaccard(list(want_parameters), list(got_parameters)) + sum(
                1.0
                for key, value in want_parameters.items()
                if key in got_parameters and values_equal(value, got_parameters[key])
            )
            if candidate > best_score:
                best_index, best_score = index, candidate
        if best_index >= 0:
            used.add(best_index)
            score += best_score
    span = CORRECTNESS_HIGH - CORRECTNESS_LOW
    return span * score / best_possible + CORRECTNESS_LOW


def correctness_reward(completion: str, expected_calls: Sequence[ToolCall]) -> float:
    """Correctness in [-3, 3] of a completion against the expected calls (see module doc)."""
    if not expected_calls:
        return CORRECTNESS_LOW if CALL_OPEN in completion else CORRECTNESS_HIGH
    predicted = extract_tool_calls(completion)
    if predicted is None:
        return CORRECTNESS_LOW
    return tool_call_match(expected_calls, predicted)


# --------------------------------------------------------------------------- brevity
def think_words(completion: str) -> int | None:
    """Words in the first think block, or None when there is no closed think block."""
    start = completion.find(THINK_OPEN)
    if start < 0:
        return None
    end = completion.find(THINK_CLOSE, start + len(THINK_OPEN))
    if end < 0:
        return None
    return len(completion[start + len(THINK_OPEN) : end].split())


def brevity_reward(completion: str, target_words: int, limit_words: int) -> float:
    """1 up to ``target_words`` think words, linear down to 0 at ``limit_words``."""
    words = think_words(completion)
    if words is None:
        return BREVITY_LOW
    if words <= target_words:
        return BREVITY_HIGH
    return max(BREVITY_LOW, 1.0 - (words - target_words) / (limit_words - target_words))


def completion_brevity_reward(
    completion: str, useful: bool, target_chars: int, limit_chars: int
) -> float:
    """1 up to ``target_chars`` characters, linear down to 0 at ``limit_chars``; 0 when the
    completion is not ``useful`` (its format is wrong or its correctness at the minimum)."""
    if not useful:
        return BREVITY_LOW
    if len(completion) <= target_chars:
        return BREVITY_HIGH
    return max(BREVITY_LOW, 1.0 - (len(completion) - target_chars) / (limit_chars - target_chars))


# --------------------------------------------------------------------------- rendering
def render_completion(
    think: str, tool_calls: Sequence[ToolCall] = (), response: str | None = None
) -> str:
    """A completion in the family's format; the reference completion of an item."""
    parts = [f"{THINK_OPEN}{think}{THINK_CLOSE}"]
    if tool_calls:
        lines = "\n".join(json.dumps(call, ensure_ascii=False) for call in tool_calls)
        parts.append(f"{CALL_OPEN}\n{lines}\n{CALL_CLOSE}")
    if response is not None:
        parts.append(f"{RESPONSE_OPEN}{response}{RESPONSE_CLOSE}")
    return "\n".join(parts)
