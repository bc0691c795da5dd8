"""Plausible mistakes in a tool-calling answer, for the tiny policy's warm start.

The tiny policy's supervised warm start (:mod:`saw_bench.policy._tiny`) trains on a share of
corrupted targets so that the warm policy knows the format but is far from perfect.
:meth:`~saw_bench.envs.toolcall.task.ToolCallTask.corrupt_reference` answers with
:func:`corrupt_answer`: a wrong value, a dropped key, a wrong function, a call where none fits,
or broken tags. Replacement values come from the same parameter in other train items (see
:func:`parameter_values`), so they look real.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from saw_bench.core.task import Item
from saw_bench.envs.toolcall import rewards

#: What the reference's think block says when an item has none (as ToolCallTask.reference).
DEFAULT_THINK = "I pick the function that fits the request."


def parameter_values(calls_per_item: Iterable[Sequence[dict[str, Any]]]) -> dict[str, list[str]]:
    """Every value each parameter key takes in the given calls, as sorted JSON texts."""
    pool: dict[str, set[str]] = {}
    for calls in calls_per_item:
        for call in calls:
            for key, value in call["parameters"].items():
                pool.setdefault(key, set()).add(json.dumps(value))
    return {key: sorted(values) for key, values in pool.items()}


def corrupt_answer(
    item: Item,
    expected_calls: Sequence[dict[str, Any]],
    reference: str,
    rng: random.Random,
    values: Mapping[str, Sequence[str]],
) -> str:
    """One plausible mistake in the answer to ``item``, drawn with ``rng``.

    ``values`` maps each parameter key to JSON texts of values it takes elsewhere
    (:func:`parameter_values`); a replaced string value is one of them.
    """
    calls = copy.deepcopy(list(expected_calls))
    response = item["answer"].get("response")
    think = item.get("think") or DEFAULT_THINK
    kinds = ["tags", "wrong_function"] + (["value", "drop_key"] if calls else ["call"])
    kind = rng.choice(kinds)
    names = [tool["name"] for tool in item["tools"]] or ["unknown_function"]  # a tool-less item
    if kind == "tags":
        return break_tags(reference, rng)
    if kind == "call":  # a call where the answer is a plain response
        return rewards.render_completion(think, [{"name": rng.choice(names), "parameters": {}}])
    call = rng.choice(calls) if calls else None
    if kind == "wrong_function" and call is not None:
        others = [name for name in names if name != call["name"]] or ["unknown_function"]
        call["name"] = rng.choice(others)
    elif kind == "wrong_function":  # response expected: call something instead
        calls, response = [{"name": rng.choice(names), "parameters": {}}], None
    elif call is not None and call["parameters"]:
        key = rng.choice(sorted(call["parameters"]))
        if kind == "drop_key":
            del call["parameters"][key]
        else:
            call["parameters"][key] = other_value(call["parameters"][key], values.get(key, ()), rng)
    else:
        return break_tags(reference, rng)
    return rewards.render_completion(think, calls, response)


def other_value(value: Any, choices: Sequence[str], rng: random.Random) -> Any:
    """A different value of the same kind: a flipped bool, a number off by 1 or 2, or another
    of ``choices`` (JSON texts); ``"<value> <value>"`` when there is no other."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + rng.choice((-2, -1, 1, 2))
    others = [json.loads(text) for text in choices]
    others = [choice for choice in others if choice != value]
    return rng.choice(others) if others else f"{value} {value}"


def break_tags(reference: str, rng: random.Random) -> str:
    """The reference with one of its tags missing or misspelt (half of it when it has none)."""
    tags = re.findall(r"</?[a-z_]+>", reference)
    tag = rng.choice(tags) if tags else ""
    if not tag:
        return reference[: len(reference) // 2]
    if rng.random() < 0.5:
        return reference.replace(tag, "", 1)  # a missing tag
    return reference.replace(tag, tag.replace("_", "").replace(">", "s>"), 1)  # misspelt
