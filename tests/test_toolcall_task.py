"""The family's shared task: prompt styles and the signature line of the compact style."""

from __future__ import annotations

import json
import random

import pytest

import saw_bench
from saw_bench.core.options import OptionError
from saw_bench.envs.toolcall import corrupt
from saw_bench.envs.toolcall.task import compact_signature

TOOL = {
    "name": "set_mode",
    "description": "Set the heater mode.",
    "parameters": {
        "type": "object",
        "properties": {
            "room": {"type": "string"},
            "mode": {"type": "string", "enum": ["eco", "comfort"]},
            "hours": {"type": "integer"},
        },
        "required": ["room", "mode"],
    },
}


def test_compact_signature_marks_optional_parameters_and_enums():
    assert compact_signature(TOOL) == (
        'set_mode(room: string, mode: "eco"|"comfort", hours?: integer) Set the heater mode.'
    )


def test_prompt_styles_show_the_same_functions():
    compact = saw_bench.load_task("saw/ToolCall-Synth-v0")
    full = saw_bench.load_task("saw/ToolCall-Synth-v0", prompt_style="json")
    item = compact.split("train")[0]
    compact_system = compact.prompt(item)[0]["content"]
    json_system = full.prompt(item)[0]["content"]
    for tool in item["tools"]:
        assert compact_signature(tool) in compact_system
        assert json.dumps(tool, ensure_ascii=False) in json_system
    assert (
        compact.prompt(item)[1]
        == full.prompt(item)[1]
        == {
            "role": "user",
            "content": item["query"],
        }
    )


def test_unknown_prompt_style_is_refused():
    with pytest.raises(
        OptionError, match="prompt_style must be 'json' or 'compact', but got 'yaml'"
    ):
        saw_bench.load_task("saw/ToolCall-Synth-v0", prompt_style="yaml")
    # the base's options are typed like every task's: strict, bounded
    with pytest.raises(OptionError, match="max_completion_chars must be a positive integer"):
        saw_bench.load_task("saw/ToolCall-Synth-v0", max_completion_chars=0)
    with pytest.raises(OptionError, match="think_limit_words must be an integer, but got '60'"):
        saw_bench.load_task("saw/ToolCall-Synth-v0", think_limit_words="60")


def test_warm_start_values_are_each_parameters_values_across_answers_as_sorted_json():
    calls_per_item = [
        [{"name": "book", "parameters": {"city": "Oslo", "nights": 2}}],
        [],
        [{"name": "fly", "parameters": {"city": "Bergen"}}, {"name": "book", "parameters": {}}],
        [{"name": "book", "parameters": {"city": "Oslo", "late": True}}],
    ]
    assert corrupt.parameter_values(calls_per_item) == {
        "city": ['"Bergen"', '"Oslo"'],
        "late": ["true"],
        "nights": ["2"],
    }


def test_a_corrupted_value_is_another_of_the_same_kind():
    rng = random.Random(0)
    for _ in range(20):
        assert corrupt.other_value(True, [], rng) is False
        assert corrupt.other_value(5, [], rng) in {3, 4, 6, 7}
        assert corrupt.other_value("Oslo", ['"Bergen"', '"Oslo"'], rng) == "Bergen"
    assert corrupt.other_value("Oslo", ['"Oslo"'], rng) == "Oslo Oslo"


def test_an_item_without_tools_is_corrupted_too():
    """ToolCall-ToolRL holds items whose prompt offers no tool; every kind of mistake applies."""
    from saw_bench.envs.toolcall import rewards

    item = {"tools": [], "answer": {"response": "I cannot do that."}, "think": "No tool fits."}
    reference = rewards.render_completion(item["think"], [], item["answer"]["response"])
    mistakes = {
        corrupt.corrupt_answer(item, [], reference, random.Random(seed), {}) for seed in range(40)
    }
    assert reference not in mistakes
    # the plain response replaced by a call (kinds "call" and "wrong_function") names no tool
    assert any('"name": "unknown_function"' in mistake for mistake in mistakes)
