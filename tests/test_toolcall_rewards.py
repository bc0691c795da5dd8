"""The tool-calling reward rules on hand-worked examples (ToolRL's format and correctness)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saw_bench.envs.toolcall import rewards

WEATHER = {"name": "get_weather", "parameters": {"city": "Oslo", "days": 3}}
TIME = {"name": "get_time", "parameters": {"zone": "CET"}}

CALL_LINE = '{"name": "get_weather", "parameters": {"city": "Oslo", "days": 3}}'


# ----------------------------------------------------------------------------- format
@pytest.mark.parametrize(
    ("completion", "tool_call", "response", "expected"),
    [
        (f"<think>hm</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>", True, False, 1.0),
        ("<think>hm</think>\n<response>Hello</response>", False, True, 1.0),
        (
            f"<think>a</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>\n<response>b</response>",
            True,
            True,
            1.0,
        ),
        ("<think>only thinking</think>", False, False, 1.0),
        # empty think and empty response bodies are allowed by the rule
        ("<think></think>\n<response></response>", False, True, 1.0),
        # missing newline between think and tool_call
        (f"<think>hm</think><tool_call>\n{CALL_LINE}\n</tool_call>", True, False, 0.0),
        # tool_call body must sit on its own lines
        (f"<think>hm</think>\n<tool_call>{CALL_LINE}</tool_call>", True, False, 0.0),
        # a single newline is not "\n body \n"
        ("<think>hm</think>\n<tool_call>\n</tool_call>", True, False, 0.0),
        # text after the last block
        (f"<think>hm</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>\nbye", True, False, 0.0),
        # leading text before <think>
        (f" <think>hm</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>", True, False, 0.0),
        # two tool_call blocks
        (
            f"<think>a</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>\n<tool_call>\nx\n</tool_call>",
            True,
            False,
            0.0,
        ),
        # a response where a tool call was expected
        ("<think>hm</think>\n<response>Hello</response>", True, False, 0.0),
        # a tool call where only a response was expected
        (f"<think>hm</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>", False, True, 0.0),
        # both expected, response missing
        (f"<think>a</think>\n<tool_call>\n{CALL_LINE}\n</tool_call>", True, True, 0.0),
        # both expected, wrong order
        (
            f"<think>a</think>\n<response>b</response>\n<tool_call>\n{CALL_LINE}\n</tool_call>",
            True,
            True,
            0.0,
        ),
        # think never closed
        ("<think>hm\n<response>Hello</response>", False, True, 0.0),
        ("", True, False, 0.0),
    ],
)
def test_format_reward_follows_toolrl_shapes(completion, tool_call, response, expected):
    assert rewards.format_reward(completion, tool_call, response) == expected


# ----------------------------------------------------------------------------- correctness
def completion_with(*lines: str) -> str:
    return "<think>t</think>\n<tool_call>\n" + "\n".join(lines) + "\n</tool_call>"


def test_exact_match_scores_plus_three():
    assert rewards.correctness_reward(completion_with(CALL_LINE), [WEATHER]) == 3.0


def test_wrong_value_gets_partial_credit_by_hand():
    # name 1 + keys {city, days} vs {city, days} -> 1 + values: city right, days wrong -> 1
    # score 3, S_max = 1 + (1 + 2) = 4, correctness = 6 * 3 / 4 - 3 = 1.5
    line = '{"name": "get_weather", "parameters": {"city": "Oslo", "days": 4}}'
    assert rewards.correctness_reward(completion_with(line), [WEATHER]) == pytest.approx(1.5)


def test_missing_key_gets_partial_credit_by_hand():
    # keys {city, days} vs {city}: Jaccard 1/2; value city right: 1 -> score 1 + 0.5 + 1 = 2.5
    # correctness = 6 * 2.5 / 4 - 3 = 0.75
    line = '{"name": "get_weather", "parameters": {"city": "Oslo"}}'
    assert rewards.correctness_reward(completion_with(line), [WEATHER]) == pytest.approx(0.75)


def test_wrong_function_name_scores_minus_three():
    # names {get_weather} vs {get_time}: Jaccard 0 and no same-name candidate -> score 0
    line = '{"name": "get_time", "parameters": {"city": "Oslo", "days": 3}}'
    assert rewards.correctness_reward(completion_with(line), [WEATHER]) == -3.0


def test_two_expected_calls_with_one_predicted_by_hand():
    # names {get_weather, get_time} vs {get_weather}: 1/2.  weather matched fully: 1 + 2 = 3.
    # S_max = 1 + (1 + 2) + (1 + 1) = 6 -> 6 * 3.5 / 6 - 3 = 0.5
    assert rewards.correctness_reward(completion_with(CALL_LINE), [WEATHER, TIME]) == pytest.approx(
        0.5
    )


def test_call_order_does_not_matter():
    time_line = '{"name": "get_time", "parameters": {"zone": "CET"}}'
    assert rewards.correctness_reward(completion_with(time_line, CALL_LINE), [WEATHER, TIME]) == 3.0


def test_extra_predicted_call_lowers_the_name_score_by_hand():
    # names {get_weather} vs {get_weather, get_time}: 1/2; weather fully matched: 3
    # S_max = 4 -> 6 * 3.5 / 4 - 3 = 2.25
    time_line = '{"name": "get_time", "parameters": {"zone": "CET"}}'
    completion = completion_with(CALL_LINE, time_line)
    assert rewards.correctness_reward(completion, [WEATHER]) == pytest.approx(2.25)


@pytest.mark.parametrize(
    "completion",
    [
        "<think>t</think>\n<response>no call</response>",
        "<think>t</think>\n<tool_call>\n" + CALL_LINE,  # not closed
        completion_with("get_weather(city='Oslo', days=3)"),  # Python syntax is not parsed
        completion_with(CALL_LINE, "", CALL_LINE),  # blank line between calls
        completion_with('{"name": "get_weather", "parameters": "city=Oslo"}'),
        completion_with('{"name": 7, "parameters": {}}'),
        completion_with('["get_weather", {"city": "Oslo"}]'),
    ],
)
def test_missing_or_unparsable_call_scores_minus_three(completion):
    assert rewards.correctness_reward(completion, [WEATHER]) == -3.0


def test_booleans_never_equal_numbers():
    expected = [{"name": "set_light", "parameters": {"on": True}}]
    as_number = completion_with('{"name": "set_light", "parameters": {"on": 1}}')
    as_bool = completion_with('{"name": "set_light", "parameters": {"on": true}}')
    # name 1 + keys 1 + value 0 = 2, S_max 3 -> 6 * 2 / 3 - 3 = 1
    assert rewards.correctness_reward(as_number, expected) == pytest.approx(1.0)
    assert rewards.correctness_reward(as_bool, expected) == 3.0


def test_integer_equals_the_same_float():
    expected = [{"name": "pay", "parameters": {"amount": 3}}]
    as_float = completion_with('{"name": "pay", "parameters": {"amount": 3.0}}')
    assert rewards.correctness_reward(as_float, expected) == 3.0


def test_no_expected_call_rewards_abstaining():
    assert rewards.correctness_reward("<think>t</think>\n<response>Sorry</response>", []) == 3.0
    assert rewards.correctness_reward(completion_with(CALL_LINE), []) == -3.0
    assert rewards.correctness_reward("<tool_call> anywhere", []) == -3.0


def test_multiset_jaccard_counts_duplicates():
    assert rewards.multiset_jaccard(["a", "a", "b"], ["a", "b", "b"]) == pytest.approx(2 / 4)
    assert rewards.multiset_jaccard([], []) == 1.0
    assert rewards.multiset_jaccard(["a"], []) == 0.0


# ----------------------------------------------------------------------------- brevity
@pytest.mark.parametrize(
    ("think", "expected"),
    [
        ("one two three", 1.0),
        (" ".join(["w"] * 12), 1.0),
        (" ".join(["w"] * 36), 0.5),
        (" ".join(["w"] * 60), 0.0),
        (" ".join(["w"] * 500), 0.0),
    ],
)
def test_brevity_is_linear_between_target_and_limit(think, expected):
    completion = f"<think>{think}</think>\n<response>x</response>"
    assert rewards.brevity_reward(completion, 12, 60) == pytest.approx(expected)


def test_brevity_without_think_block_is_zero():
    assert rewards.brevity_reward("<response>x</response>", 12, 60) == 0.0
    assert rewards.brevity_reward("<think>never closed", 12, 60) == 0.0


@pytest.mark.parametrize(
    ("length", "expected"),
    [(10, 1.0), (60, 1.0), (160, 0.5), (210, 0.25), (260, 0.0), (5000, 0.0)],
)
def test_completion_brevity_is_linear_in_characters_between_target_and_limit(length, expected):
    completion = "x" * length
    assert rewards.completion_brevity_reward(completion, True, 60, 260) == pytest.approx(expected)


def test_completion_brevity_of_a_malformed_answer_is_zero_however_short():
    assert rewards.completion_brevity_reward("", False, 60, 260) == 0.0
    assert rewards.completion_brevity_reward("<think>x</think>", False, 60, 260) == 0.0


# ----------------------------------------------------------------------------- properties
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
calls = st.lists(
    st.builds(
        lambda name, parameters: {"name": name, "parameters": parameters},
        st.sampled_from(["a", "b", "c"]),
        st.dictionaries(st.sampled_from(["x", "y", "z"]), json_values, max_size=3),
    ),
    min_size=1,
    max_size=3,
)


@given(expected=calls, predicted=calls)
def test_correctness_stays_in_bounds_and_rendered_answer_is_exact(expected, predicted):
    completion = rewards.render_completion("t", predicted)
    score = rewards.correctness_reward(completion, expected)
    assert -3.0 <= score <= 3.0
    assert rewards.correctness_reward(rewards.render_completion("t", expected), expected) == 3.0
    assert rewards.format_reward(completion, True, False) == 1.0


@given(st.text(max_size=300))
def test_any_text_scores_inside_bounds(text):
    for tool_call in (True, False):
        for response in (True, False):
            assert rewards.format_reward(text, tool_call, response) in (0.0, 1.0)
    assert -3.0 <= rewards.correctness_reward(text, [WEATHER]) <= 3.0
    assert 0.0 <= rewards.brevity_reward(text, 12, 60) <= 1.0
