"""Tests of the procedural tool-calling dataset (saw/ToolCall-Synth-v0).

Expected numbers are computed by hand from the ToolRL formula in the rewards module's
docstring; the schema validator below is written independently of the generator.
"""

from __future__ import annotations

import json
import pickle
import re
import string
import time
from typing import Any

import numpy as np
import pytest

import saw_bench
from saw_bench.core.options import OptionError
from saw_bench.envs.toolcall import synth
from saw_bench.envs.toolcall.synth import (
    ToolCallSynthTask,
    ToolCallSynthV1Task,
    ToolCallSynthV2Task,
)

Item = dict[str, Any]


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def task() -> ToolCallSynthTask:
    return ToolCallSynthTask()


def all_items(task: ToolCallSynthTask) -> list[Item]:
    return task.split("train") + task.split("test")


def schema_violations(call: dict[str, Any], tools: list[dict[str, Any]]) -> list[str]:
    """Why a call does not fit the shown schemas (empty when it fits)."""
    by_name = {tool["name"]: tool for tool in tools}
    if call["name"] not in by_name:
        return [f"{call['name']} is not shown"]
    parameters = by_name[call["name"]]["parameters"]
    properties, required = parameters["properties"], parameters["required"]
    problems = [f"missing {key}" for key in required if key not in call["parameters"]]
    for key, value in call["parameters"].items():
        if key not in properties:
            problems.append(f"unknown {key}")
            continue
        spec = properties[key]
        expected_type = {"string": str, "integer": int, "number": float, "boolean": bool}
        if type(value) is not expected_type[spec["type"]]:
            problems.append(f"{key}={value!r} is not {spec['type']}")
        if "enum" in spec and value not in spec["enum"]:
            problems.append(f"{key}={value!r} not in {spec['enum']}")
    return problems


def string_values(item: Item) -> set[str]:
    """Free-text (non-enum) string values of an item's expected calls."""
    properties = {tool["name"]: tool["parameters"]["properties"] for tool in item["tools"]}
    return {
        value
        for call in item["answer"]["tool_calls"]
        for key, value in call["parameters"].items()
        if isinstance(value, str) and "enum" not in properties[call["name"]][key]
    }


def completion(calls: list[dict[str, Any]]) -> str:
    lines = "\n".join(json.dumps(call) for call in calls)
    return f"<think>I call a function.</think>\n<tool_call>\n{lines}\n</tool_call>"


# --------------------------------------------------------------------------- determinism
def test_same_kwargs_give_identical_items() -> None:
    first = ToolCallSynthTask(seed=7, train_size=300, test_size=50)
    second = ToolCallSynthTask(seed=7, train_size=300, test_size=50)
    assert first.split("train") == second.split("train")
    assert first.split("test") == second.split("test")


def test_different_seed_gives_different_items() -> None:
    first = ToolCallSynthTask(seed=0, train_size=300, test_size=50)
    second = ToolCallSynthTask(seed=1, train_size=300, test_size=50)
    assert [i["query"] for i in first.split("train")] != [i["query"] for i in second.split("train")]
    assert [i["query"] for i in first.split("test")] != [i["query"] for i in second.split("test")]


def test_pickled_task_drops_its_cache_and_regenerates_the_same_items(task) -> None:
    items = task.split("train")
    payload = pickle.dumps(task)
    assert len(payload) < 10_000
    assert pickle.loads(payload).split("train") == items


def test_default_sizes_are_generated_fast_with_numbered_ids() -> None:
    fresh = ToolCallSynthTask()
    start = time.perf_counter()
    train, test = fresh.split("train"), fresh.split("test")
    assert time.perf_counter() - start < 2.0  # well under a second on a laptop
    assert [item["id"] for item in train] == [f"synth-train-{i:05d}" for i in range(2000)]
    assert [item["id"] for item in test] == [f"synth-test-{i:05d}" for i in range(200)]


def test_unknown_split_name_is_rejected(task) -> None:
    with pytest.raises(ValueError, match="validation"):
        task.split("validation")


# --------------------------------------------------------------------------- catalog
def test_catalog_has_40_functions_in_6_domains_with_all_parameter_types(task) -> None:
    assert len({function.name for function in synth.FUNCTIONS}) >= 40
    assert len({function.domain for function in synth.FUNCTIONS}) >= 6
    shown = {tool["name"]: tool for item in all_items(task) for tool in item["tools"]}
    assert len(shown) >= 40
    kinds = {
        "enum" if "enum" in spec else spec["type"]
        for tool in shown.values()
        for spec in tool["parameters"]["properties"].values()
    }
    assert kinds == {"string", "integer", "number", "boolean", "enum"}
    required_flags = {
        key in tool["parameters"]["required"]
        for tool in shown.values()
        for key in tool["parameters"]["properties"]
    }
    assert required_flags == {True, False}


def test_every_phrasing_names_exactly_the_required_parameters() -> None:
    for function in synth.FUNCTIONS:
        required = {param.name for param in function.params if param.required}
        for phrasing in function.phrasings[0] + function.phrasings[1]:
            fields = {field for _, field, _, _ in string.Formatter().parse(phrasing) if field}
            assert fields == required, (function.name, phrasing)


# --------------------------------------------------------------------------- knobs
@pytest.mark.parametrize(
    ("multi_call_share", "no_call_share"), [(0.2, 0.15), (0.0, 0.5), (0.5, 0.0), (0.3, 0.3)]
)
def test_item_kinds_follow_the_share_knobs(multi_call_share, no_call_share) -> None:
    task = ToolCallSynthTask(
        train_size=1000,
        test_size=100,
        multi_call_share=multi_call_share,
        no_call_share=no_call_share,
    )
    for name in ("train", "test"):
        items = task.split(name)
        calls = [len(item["answer"]["tool_calls"]) for item in items]
        assert abs(calls.count(2) / len(items) - multi_call_share) <= 0.02
        assert abs(calls.count(0) / len(items) - no_call_share) <= 0.02
        assert set(calls) <= {0, 1, 2}
        for item in items:
            has_response = item["answer"]["response"] is not None
            assert has_response == (not item["answer"]["tool_calls"])


@pytest.mark.parametrize("n_candidates", [1, 2, 3, 6])
def test_prompts_show_n_candidates_distinct_functions_including_the_needed_ones(
    n_candidates,
) -> None:
    multi_call_share = 0.0 if n_candidates == 1 else 0.3
    task = ToolCallSynthTask(
        train_size=200, test_size=50, n_candidates=n_candidates, multi_call_share=multi_call_share
    )
    for item in task.split("train") + task.split("test"):
        names = [tool["name"] for tool in item["tools"]]
        assert len(names) == len(set(names)) == n_candidates
        assert {call["name"] for call in item["answer"]["tool_calls"]} <= set(names)


def test_max_parameters_caps_shown_and_used_parameters() -> None:
    assert max(len(function.params) for function in synth.FUNCTIONS) > 2  # the cap bites
    task = ToolCallSynthTask(train_size=300, test_size=50, max_parameters=2)
    for item in task.split("train") + task.split("test"):
        for tool in item["tools"]:
            assert len(tool["parameters"]["properties"]) <= 2
        for call in item["answer"]["tool_calls"]:
            assert len(call["parameters"]) <= 2
            assert not schema_violations(call, item["tools"])


def test_base_class_kwargs_pass_through() -> None:
    task = ToolCallSynthTask(brevity=True, think_target_words=8, think_limit_words=30)
    assert task.objective_names == ("format", "correctness", "brevity")
    assert task.think_target_words == 8
    assert saw_bench.load_task("saw/ToolCall-Synth-3obj-v0").reward_dim == 3
    assert saw_bench.load_task("saw/ToolCall-Synth-v0").reward_dim == 2


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"n_candidates": 0}, "n_candidates"),
        ({"n_candidates": 9}, "n_candidates"),
        ({"n_candidates": "3"}, "n_candidates"),
        ({"max_parameters": 0}, "max_parameters"),
        ({"train_size": 0}, "train_size"),
        ({"test_size": -1}, "test_size"),
        ({"seed": 1.5}, "seed"),
        ({"multi_call_share": 1.5}, "multi_call_share"),
        ({"no_call_share": -0.1}, "no_call_share"),
        ({"no_call_share": True}, "no_call_share"),
        ({"multi_call_share": 0.6, "no_call_share": 0.5}, "no_call_share"),
        ({"n_candidates": 1}, "multi_call_share"),
        ({"think_target_words": 70}, "think_target_words"),
    ],
)
def test_bad_kwargs_raise_value_error_naming_the_kwarg(kwargs, named) -> None:
    with pytest.raises(ValueError, match=named):
        ToolCallSynthTask(**kwargs)


# --------------------------------------------------------------------------- content
def test_every_expected_call_validates_against_its_shown_schema(task) -> None:
    for item in all_items(task):
        for call in item["answer"]["tool_calls"]:
            assert not schema_violations(call, item["tools"]), (item["id"], call)


def test_two_call_items_use_two_different_functions(task) -> None:
    for item in all_items(task):
        names = [call["name"] for call in item["answer"]["tool_calls"]]
        assert len(names) == len(set(names))


def test_call_values_appear_verbatim_in_the_request(task) -> None:
    for item in all_items(task):
        for call in item["answer"]["tool_calls"]:
            for value in call["parameters"].values():
                if not isinstance(value, bool):
                    assert str(value) in item["query"], (item["query"], call)


def test_think_sentences_have_at_most_12_words(task) -> None:
    assert max(len(item["think"].split()) for item in all_items(task)) <= 12


def test_prompts_stay_compact(task) -> None:
    lengths = [len(task.render_prompt(item)) for item in all_items(task)]
    assert np.mean(lengths) < 2000
    assert max(lengths) < task.max_prompt_chars


# --------------------------------------------------------------------------- generalisation
def test_train_and_test_template_tables_are_disjoint() -> None:
    pairs = [synth.FRAMES, synth.CONNECTORS, synth.BOOLEAN_MENTIONS, synth.SMALL_TALK]
    for function in synth.FUNCTIONS:
        pairs.append(function.phrasings)
        # an optional parameter's mentions are one (train phrase, test phrase) pair
        pairs.extend(((p.mentions[0],), (p.mentions[1],)) for p in function.params if p.mentions)
    for train, test in pairs:
        assert train and test
        assert not set(train) & set(test), (train, test)


def phrasing_patterns(function: synth.Function, side: int) -> list[re.Pattern[str]]:
    """A pattern per phrasing of one side: its fixed words, any text for each placeholder."""
    patterns = []
    for phrasing in function.phrasings[side]:
        parts = [
            re.escape(literal) + ("(.+?)" if field else "")
            for literal, field, *_ in string.Formatter().parse(phrasing)
        ]
        patterns.append(re.compile("".join(parts)))
    return patterns


@pytest.mark.parametrize(("mode", "side"), [("seen", 0), ("novel", 1)])
def test_test_phrasings_choose_the_wording_of_test_requests(mode, side) -> None:
    task = ToolCallSynthTask(
        test_phrasings=mode, test_frames="novel", multi_call_share=0.0, no_call_share=0.0
    )
    by_name = {function.name: function for function in synth.FUNCTIONS}
    frames = [frame.split("{action}")[0] for frame in synth.FRAMES[1]]
    for item in task.split("test")[:200]:
        function = by_name[item["answer"]["tool_calls"][0]["name"]]
        query = item["query"]
        assert any(query.startswith(frame) for frame in frames), query  # always a test frame
        # the function is asked for with the wording of the chosen side (some phrasings of
        # the two sides overlap, so only the chosen side's match is required)
        assert any(p.search(query) for p in phrasing_patterns(function, side)), (mode, query)


def frame_patterns(side: int) -> list[re.Pattern[str]]:
    """A pattern per frame of one side, any text for the action."""
    return [
        re.compile(re.escape(frame).replace(r"\{action\}", "(.+)"), re.I | re.S)
        for frame in synth.FRAMES[side]
    ]


@pytest.mark.parametrize(("mode", "side"), [("seen", 0), ("novel", 1)])
def test_test_frames_choose_the_frames_and_connectors_of_test_requests(mode, side):
    task = ToolCallSynthTask(test_frames=mode, multi_call_share=0.3, no_call_share=0.3)
    test_frames = frame_patterns(1)
    train_small_talk = {talk.lower() for talk in synth.SMALL_TALK[0]}
    for item in task.split("test"):
        query = item["query"]
        framed = any(pattern.fullmatch(query) for pattern in test_frames)
        assert framed == (side == 1), (mode, query)  # train frames never look like test ones
        assert not any(talk in query.lower() for talk in train_small_talk), (mode, query)
        if len(item["answer"]["tool_calls"]) == 2:
            assert any(connector in query for connector in synth.CONNECTORS[side]), query
            if side == 0:  # (a train connector, " and ", is part of a test one)
                assert not any(connector in query for connector in synth.CONNECTORS[1]), query
    kinds = {len(item["answer"]["tool_calls"]) for item in task.split("test")}
    assert kinds == {0, 1, 2}
    # the training items do not depend on the choice
    other = "novel" if mode == "seen" else "seen"
    assert task.split("train") == ToolCallSynthTask(
        test_frames=other, multi_call_share=0.3, no_call_share=0.3
    ).split("train")


def test_unknown_test_phrasings_and_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="test_phrasings must be 'seen' or 'novel'"):
        ToolCallSynthTask(test_phrasings="both")
    with pytest.raises(ValueError, match="test_frames must be 'seen' or 'novel'"):
        ToolCallSynthTask(test_frames="both")


def test_train_and_test_value_pools_are_disjoint() -> None:
    for name, (train, test) in synth.POOLS.items():
        assert train and test and not set(train) & set(test), name


@pytest.mark.parametrize("pool", sorted(synth.POOLS))
def test_generated_values_share_type_and_shape_with_the_pool_but_never_a_test_value(pool):
    import random

    train, test = synth.POOLS[pool]
    rng = random.Random(pool)
    values = [synth.generated_value(rng, pool) for _ in range(300)]
    assert not set(values) & set(test)
    assert {type(value) for value in values} == {type(train[0])}
    assert len(set(values)) > len(set(train))  # a wider supply than the list to memorise

    def shape(value: object) -> str:  # letters -> a/A, digits -> 9, the rest kept
        text = re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", str(value)))
        return re.sub(r"a+", "a", re.sub(r"A(?=a)", "C", re.sub(r"[0-9]", "9", text)))

    if isinstance(train[0], str) and pool not in ("date", "time", "email"):
        assert {shape(value) for value in values} <= {shape(value) for value in train}
    if pool == "date":
        date = r"20(2[6-9]|3[0-5])-(0[1-9]|1[0-2])-[0-2][0-9]"
        assert all(re.fullmatch(date, value) for value in values)


def test_about_half_of_train_string_values_are_generated(task) -> None:
    pooled = set().union(*(set(train) for train, _ in synth.POOLS.values()))
    values = [value for item in task.split("train") for value in string_values(item)]
    share = np.mean([value not in pooled for value in values])
    assert 0.4 < share < 0.6, share


def copied_values(item: Item) -> list[Any]:
    """Values of an item's expected calls other than enum members and booleans."""
    properties = {tool["name"]: tool["parameters"]["properties"] for tool in item["tools"]}
    return [
        value
        for call in item["answer"]["tool_calls"]
        for key, value in call["parameters"].items()
        if not isinstance(value, bool) and "enum" not in properties[call["name"]][key]
    ]


@pytest.mark.parametrize("test_frames", ["seen", "novel"])
def test_a_test_query_repeats_a_train_query_only_when_it_has_nothing_to_copy(test_frames):
    task = ToolCallSynthTask(test_frames=test_frames)
    train_queries = {item["query"] for item in task.split("train")}
    repeated = [item for item in task.split("test") if item["query"] in train_queries]
    if test_frames == "novel":
        assert not repeated
    # in train frames, a request of enum and boolean values alone can be a training request
    assert len(repeated) <= 0.03 * len(task.split("test"))
    for item in repeated:
        assert not copied_values(item), item["query"]


def test_test_string_values_never_appear_in_train_answers(task) -> None:
    train_values = set().union(*(string_values(item) for item in task.split("train")))
    test_values = set().union(*(string_values(item) for item in task.split("test")))
    assert len(test_values) > 50
    assert not train_values & test_values


def test_test_numeric_values_are_new_for_their_parameter(task) -> None:
    def numbers(items: list[Item]) -> set[tuple[str, str, float]]:
        return {
            (call["name"], key, value)
            for item in items
            for call in item["answer"]["tool_calls"]
            for key, value in call["parameters"].items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }

    test_numbers = numbers(task.split("test"))
    assert test_numbers
    assert not numbers(task.split("train")) & test_numbers


# --------------------------------------------------------------------------- scoring
@pytest.mark.parametrize("brevity", [False, True])
def test_reference_completion_scores_the_maximum_on_every_item(brevity) -> None:
    task = ToolCallSynthTask(brevity=brevity)
    items = all_items(task)
    rewards = task.score(items, [task.reference(item) for item in items])
    maximum = [1.0, 3.0, 1.0] if brevity else [1.0, 3.0]
    assert rewards.shape == (len(items), len(maximum))
    np.testing.assert_array_equal(rewards, np.tile(maximum, (len(items), 1)))


def test_one_wrong_value_out_of_two_scores_one_and_a_half(task) -> None:
    # S = name 1 + keys 1 + values 1 = 3, S_max = 1 + (1 + 2) = 4: 6 * 3/4 - 3 = 1.5
    item = next(
        item
        for item in task.split("train")
        if len(item["answer"]["tool_calls"]) == 1
        and len(item["answer"]["tool_calls"][0]["parameters"]) == 2
    )
    call = json.loads(json.dumps(item["answer"]["tool_calls"][0]))
    first_key = next(iter(call["parameters"]))
    call["parameters"][first_key] = "certainly wrong"
    assert task.score([item], [completion([call])]).tolist() == [[1.0, 1.5]]


def test_missing_second_call_scores_zero(task) -> None:
    # names {a, b} vs {a}: 1/2; first call 1 + 1; S = 2.5, S_max = 1 + 2 + 2 = 5: 6/2 - 3 = 0
    item = next(
        item
        for item in task.split("train")
        if len(item["answer"]["tool_calls"]) == 2
        and all(len(call["parameters"]) == 1 for call in item["answer"]["tool_calls"])
    )
    first = item["answer"]["tool_calls"][0]
    assert task.score([item], [completion([first])]).tolist() == [[1.0, 0.0]]


def test_wrong_function_name_scores_minus_three(task) -> None:
    item = next(i for i in task.split("test") if len(i["answer"]["tool_calls"]) == 1)
    call = dict(item["answer"]["tool_calls"][0], name="no_such_function")
    assert task.score([item], [completion([call])]).tolist() == [[1.0, -3.0]]


def test_calling_a_function_on_a_no_call_item_scores_minus_three(task) -> None:
    item = next(i for i in task.split("test") if not i["answer"]["tool_calls"])
    call = {"name": item["tools"][0]["name"], "parameters": {}}
    assert task.score([item], [completion([call])]).tolist() == [[0.0, -3.0]]


# --------------------------------------------------------------------------- v1
def _think(completion: str) -> str:
    return re.search(r"<think>(.*)</think>", completion).group(1)


def test_v1_adds_brevity_and_references_that_close_the_think_block_at_many_lengths() -> None:
    v0 = saw_bench.load_task("saw/ToolCall-Synth-v0", train_size=200, test_size=20)
    v1 = saw_bench.load_task("saw/ToolCall-Synth-v1", train_size=200, test_size=20)
    assert isinstance(v1, ToolCallSynthV1Task)
    assert v1.objective_names == ("format", "correctness", "brevity")
    assert ToolCallSynthV1Task.objectives_for() == v1.objectives
    # brevity says what it measures, with the bounds the task was given
    assert v1.objectives[2].description == (
        "1 up to 60 characters of answer, 0 at 260; 0 unless the format is right and "
        "correctness is above its minimum"
    )
    wider = ToolCallSynthV1Task.objectives_for(completion_limit_chars=300)[2].description
    assert wider.startswith("1 up to 60 characters of answer, 0 at 300;")
    think = saw_bench.load_task("saw/ToolCall-Synth-3obj-v0", train_size=50, test_size=20)
    assert think.objectives[2].description == "1 up to 12 words of think block, 0 at 60"
    assert v0.split("test") == v1.split("test")  # the same data and prompts
    kept = []
    for item in v1.split("train"):
        whole, reference = _think(v0.reference(item)).split(), v1.reference(item)
        think = _think(reference).split()
        # a prefix of v0's think sentence, at least 2 words; the rest of the reference is v0's
        assert 2 <= len(think) <= len(whole) and think == whole[: len(think)]
        assert reference.replace(_think(reference), " ".join(whole)) == v0.reference(item)
        # brevity by hand: 1 up to 60 characters of the completion, 0 at 260
        brevity = min(1.0, max(0.0, 1 - (len(reference) - 60) / 200))
        assert v1.score([item], [reference])[0].tolist() == pytest.approx([1.0, 3.0, brevity])
        kept.append(len(think))
        assert v1.reference(item) == reference  # fixed per item
    # every length from 2 words to the longest sentence (11) occurs; about uniform
    assert set(kept) == set(range(2, 12))
    assert max(kept.count(n) for n in range(2, 10)) < 3 * min(kept.count(n) for n in range(2, 10))
    # a shorter well-formed answer earns more brevity; a malformed one none
    item = next(i for i in v1.split("test") if len(i["answer"]["tool_calls"]) == 1)
    reference = v1.reference(item)
    short = reference.replace(_think(reference), "I")
    gained = (len(reference) - len(short)) / 200
    brevity = v1.score([item], [reference])[0][2]
    assert v1.score([item], [short])[0][2] == pytest.approx(brevity + gained)
    assert v1.score([item], [short.removeprefix("<think>")])[0].tolist() == [0.0, 3.0, 0.0]
    # a well-formed but useless call (unparsable, or to no expected function) earns none either
    garbage = short.split("<tool_call>")[0] + "<tool_call>\nx\n</tool_call>"
    assert v1.score([item], [garbage])[0].tolist() == [1.0, -3.0, 0.0]
    wrong = short.replace(item["answer"]["tool_calls"][0]["name"], "no_such_function")
    assert v1.score([item], [wrong])[0].tolist() == [1.0, -3.0, 0.0]
    # the right function without its arguments: shorter, less correct, and some brevity
    call = item["answer"]["tool_calls"][0]
    bare = short.split("<tool_call>")[0] + (
        f'<tool_call>\n{{"name": "{call["name"]}", "parameters": {{}}}}\n</tool_call>'
    )
    keys = len(call["parameters"])
    assert v1.score([item], [bare])[0].tolist() == pytest.approx(
        [1.0, 6 * 1 / (2 + keys) - 3, 1 - (len(bare) - 60) / 200]
    )


def test_v2_adds_think_brevity_before_brevity_on_v1s_data_and_references() -> None:
    v1 = saw_bench.load_task("saw/ToolCall-Synth-v1", train_size=200, test_size=20)
    v2 = saw_bench.load_task("saw/ToolCall-Synth-v2", train_size=200, test_size=20)
    assert isinstance(v2, ToolCallSynthV2Task)
    assert v2.objective_names == ("format", "correctness", "think_brevity", "brevity")
    assert ToolCallSynthV2Task.objectives_for() == v2.objectives
    assert v2.objectives[2].description == "1 up to 2 words of think block, 0 at 10"
    assert [v2.objectives[i] for i in (0, 1, 3)] == list(v1.objectives)
    # the same items and references, so the same tiny policy's warm start
    assert v2.split("train") == v1.split("train") and v2.split("test") == v1.split("test")
    assert v2.data_fingerprint() == v1.data_fingerprint()
    for item in v2.split("train")[:50]:
        reference = v2.reference(item)
        assert reference == v1.reference(item)
        # think brevity by hand: 1 up to 2 words, 0 at 10, linear between
        words = len(_think(reference).split())
        think_brevity = min(1.0, max(0.0, 1 - (words - 2) / 8))
        format_, correctness, brevity = v1.score([item], [reference])[0].tolist()
        assert v2.score([item], [reference])[0].tolist() == pytest.approx(
            [format_, correctness, think_brevity, brevity]
        )
    item = next(i for i in v2.split("test") if len(i["answer"]["tool_calls"]) == 1)
    reference = v2.reference(item)
    six = reference.replace(_think(reference), "one two three four five six")
    assert v2.score([item], [six])[0][2] == pytest.approx(0.5)
    twelve = reference.replace(_think(reference), " ".join(["word"] * 12))
    assert v2.score([item], [twelve])[0][2] == 0.0
    # no think block: no think brevity, whatever else the answer gets
    assert v2.score([item], [reference.split("</think>\n")[1]])[0][2] == 0.0
    # weighting the think block twice is refused
    with pytest.raises(ValueError, match="use brevity_of='completion' beside think_brevity"):
        ToolCallSynthV2Task(brevity_of="think")


def test_reference_think_brief_full_and_an_unknown_value() -> None:
    item = next(i for i in saw_bench.load_task("saw/ToolCall-Synth-v0").split("test") if i["think"])
    words = item["think"].split()
    brief = ToolCallSynthV1Task(reference_think="brief", train_size=50, test_size=20)
    full = ToolCallSynthV1Task(reference_think="full", train_size=50, test_size=20)
    assert _think(brief.reference(item)) == " ".join(words[:2])
    assert _think(full.reference(item)) == item["think"]
    with pytest.raises(
        OptionError, match="reference_think must be one of 'brief', 'full', 'varied', but got"
    ):
        ToolCallSynthV1Task(reference_think="short")
    with pytest.raises(OptionError, match="brevity_of must be 'think' or 'completion', but got"):
        ToolCallSynthV1Task(brevity_of="call")
    with pytest.raises(ValueError, match="completion_target_chars < completion_limit_chars"):
        ToolCallSynthV1Task(completion_target_chars=300)


def test_v1_data_fingerprint_follows_its_references() -> None:
    """The tiny policy's name hashes the fingerprint: references cut another way must name
    another policy, though the items are the same."""
    varied = ToolCallSynthV1Task(train_size=50, test_size=20)
    full = ToolCallSynthV1Task(reference_think="full", train_size=50, test_size=20)
    assert varied.split("train") == full.split("train")
    assert varied.data_fingerprint() != full.data_fingerprint()
    assert (
        varied.data_fingerprint()
        == ToolCallSynthV1Task(train_size=50, test_size=20).data_fingerprint()
    )


@pytest.mark.parametrize(
    "task_class", [ToolCallSynthTask, ToolCallSynthV1Task, ToolCallSynthV2Task]
)
def test_an_unknown_option_is_an_option_error_listing_the_valid_ones(task_class) -> None:
    with pytest.raises(
        OptionError, match=r"unknown option\(s\) \['n_candidate'\]; valid options: .*n_candidates, "
    ):
        task_class(n_candidate=3)
