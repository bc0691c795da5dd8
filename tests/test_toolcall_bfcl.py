"""The BFCL environment: its data, its use of BFCL's official checker, and BFCL's aggregation."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from saw_bench.core.errors import DataError
from saw_bench.envs.toolcall import bfcl, rewards
from saw_bench.envs.toolcall.bfcl import ToolCallBFCLTask, evaluate, group_accuracies

needs_bfcl = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason=f"bfcl-eval is not installed ({bfcl.BFCL_INSTALL})",
)

#: Item counts of bfcl-eval 2026.3.23 (design/REFERENCE.md, section 4).
BFCL_COUNTS = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "irrelevance": 240,
    "live_irrelevance": 884,
}

#: Items whose possible answer the official checker rejects whatever the model writes.
KNOWN_UNPASSABLE = {
    "simple_java_36": "ArrayList<any> answer holds 42 and true; the converter makes every "
    "element of an ArrayList<any> a string",
    "simple_java_65": "ArrayList<any> answer holds true; same converter limitation",
    "simple_java_64": "HashMap answer {'format': 'epoch_millis'} lacks the list of acceptable "
    "values, so the checker compares 'epoch_millis' with its single characters",
    "live_simple_106-63-0": "required parameters whose lists of acceptable values are empty",
    "live_simple_112-68-0": "required parameters whose lists of acceptable values are empty",
    "live_multiple_862-181-3": "the answer passes journey_start_time, which the doc lacks",
    "live_multiple_964-207-0": "the answer passes 'question'; the doc requires 'statement'",
}


#: A small BFCL entry and its possible answer, for data written to a temporary folder.
ENTRY = {
    "id": "simple_python_0",
    "question": [[{"role": "user", "content": "Area of a 10 by 5 triangle?"}]],
    "function": [
        {
            "name": "triangle.area",
            "description": "Area of a triangle.",
            "parameters": {
                "type": "dict",
                "properties": {
                    "base": {"type": "integer", "description": "Base."},
                    "height": {"type": "float", "description": "Height."},
                    "unit": {"type": "string", "description": "Unit."},
                },
                "required": ["base", "height"],
            },
        }
    ],
}
ANSWER = {
    "id": "simple_python_0",
    "ground_truth": [{"triangle.area": {"base": [10], "height": [5.0], "unit": ["", "cm"]}}],
}


@pytest.fixture(scope="module")
def task() -> ToolCallBFCLTask:
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip(f"bfcl-eval is not installed ({bfcl.BFCL_INSTALL})")
    return ToolCallBFCLTask()


@pytest.fixture(scope="module")
def by_id(task):
    return {item["id"]: item for item in task.split("test")}


def completion_with(calls: list[dict]) -> str:
    return rewards.render_completion("I call the function.", calls)


def edited_reference(item: dict, **changes) -> str:
    """The item's reference calls with the first call's arguments changed (None removes)."""
    calls = json.loads(json.dumps(item["answer"]["tool_calls"]))
    for name, value in changes.items():
        if value is None:
            calls[0]["parameters"].pop(name)
        else:
            calls[0]["parameters"][name] = value
    return completion_with(calls)


# --------------------------------------------------------------------------- data
@needs_bfcl
def test_default_categories_hold_bfcl_item_counts(task):
    counts = defaultdict(int)
    for item in task.split("test"):
        counts[item["category"]] += 1
    assert dict(counts) == BFCL_COUNTS
    assert task.categories == tuple(BFCL_COUNTS)


@needs_bfcl
def test_train_and_test_splits_are_the_same_evaluation_items(task):
    assert task.split("train") is task.split("test")
    with pytest.raises(ValueError, match="unknown split"):
        task.split("validation")


@needs_bfcl
def test_items_are_plain_json_data_and_prompts_fit_the_observation_space(task):
    items = task.split("test")
    assert json.loads(json.dumps(items)) == items
    assert max(len(task.render_prompt(item)) for item in items) <= task.max_prompt_chars


@needs_bfcl
def test_prompt_is_one_system_message_with_the_tools_then_the_bfcl_turn(task, by_id):
    item = by_id["simple_python_0"]
    messages = task.prompt(item)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert json.dumps(item["tools"][0]) in messages[0]["content"]
    assert "<tool_call>" in messages[0]["content"]
    assert messages[1]["content"].startswith("Find the area of a triangle")
    # an entry with its own system message: appended to ours, so one system message
    turn = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Area?"}]
    item = bfcl.make_item({**ENTRY, "question": [turn]}, ANSWER["ground_truth"], "simple_python")
    assert [m["role"] for m in item["messages"]] == ["system", "user"]
    assert item["messages"][0]["content"].endswith("no function fits.\n\nBe terse.")
    assert all([m["role"] for m in i["messages"]].count("system") == 1 for i in task.split("test"))
    assert "Java 8" in task.prompt(by_id["simple_java_0"])[0]["content"]


# --------------------------------------------------------------------------- the checker
@needs_bfcl
def test_reference_completions_pass_the_official_checker(task):
    items = task.split("test")
    scores = task.score(items, [task.reference(item) for item in items])
    at_max = np.all(scores == task.reward_high, axis=1)
    failed = {item["id"] for item, ok in zip(items, at_max, strict=True) if not ok}
    assert failed == set(KNOWN_UNPASSABLE)
    per_category = defaultdict(list)
    for item, ok in zip(items, at_max, strict=True):
        per_category[item["category"]].append(bool(ok))
    rates = {c: sum(v) / len(v) for c, v in per_category.items()}
    # simple_java: 97/100 (three answers the checker cannot accept); every other >= 99 %
    assert rates["simple_java"] == 0.97
    assert all(rate >= 0.99 for c, rate in rates.items() if c != "simple_java"), rates
    assert at_max.mean() >= 0.99


@needs_bfcl
@pytest.mark.parametrize(
    ("changes", "error_type"),
    [
        ({"base": 11}, "value_error:others"),
        ({"unit": "meters"}, "value_error:string"),
        ({"base": "ten"}, "type_error:simple"),
        ({"height": None}, "simple_function_checker:missing_required"),
        ({"colour": "red"}, "simple_function_checker:unexpected_param"),
    ],
)
def test_wrong_arguments_fail_with_the_checkers_error_type(task, by_id, changes, error_type):
    item = by_id["simple_python_0"]
    completion = edited_reference(item, **changes)
    assert task.score([item], [completion])[0].tolist() == [1.0, -3.0]
    info = task.diagnose(item, completion)
    assert info["bfcl_error_type"] == error_type
    assert info["bfcl_category"] == "simple_python"


@needs_bfcl
def test_wrong_function_name_and_missing_block_fail(task, by_id):
    item = by_id["simple_python_0"]
    renamed = completion_with([{"name": "triangle_area", "parameters": {"base": 10, "height": 5}}])
    assert task.score([item], [renamed])[0, 1] == -3.0
    assert task.diagnose(item, renamed)["bfcl_error_type"] == (
        "simple_function_checker:wrong_func_name"
    )
    no_block = "<think>easy</think>\n<response>The area is 25.</response>"
    assert task.score([item], [no_block])[0, 1] == -3.0
    assert task.diagnose(item, no_block)["bfcl_error_type"] == "ast_decoder:decoder_failed"
    reference = task.reference(item)
    assert task.diagnose(item, reference)["bfcl_error_type"] == ""


@needs_bfcl
def test_optional_parameters_may_be_omitted(task, by_id):
    item = by_id["simple_python_0"]  # unit accepts "units" or omission
    assert task.score([item], [edited_reference(item, unit=None)])[0, 1] == 3.0


@needs_bfcl
def test_parallel_calls_may_come_in_any_order_but_not_fewer(task):
    item = next(
        i
        for i in task.split("test")
        if i["category"] == "parallel" and len(i["answer"]["tool_calls"]) >= 2
    )
    calls = item["answer"]["tool_calls"]
    assert task.score([item], [completion_with(calls[::-1])])[0, 1] == 3.0
    fewer = completion_with(calls[:-1])
    assert task.score([item], [fewer])[0, 1] == -3.0
    assert task.diagnose(item, fewer)["bfcl_error_type"] == (
        "parallel_function_checker_no_order:wrong_count"
    )


@needs_bfcl
def test_irrelevance_rewards_a_response_and_penalises_a_call(task):
    for category in ("irrelevance", "live_irrelevance"):
        item = next(i for i in task.split("test") if i["category"] == category)
        response = "<think>No tool fits.</think>\n<response>I cannot do that.</response>"
        assert task.score([item], [response])[0].tolist() == [1.0, 3.0]
        assert task.diagnose(item, response)["bfcl_error_type"] == ""
        name = item["tools"][0]["name"]
        call = completion_with([{"name": name, "parameters": {}}])
        assert task.score([item], [call])[0, 1] == -3.0
        info = task.diagnose(item, call)
        assert info["bfcl_error_type"] == "irrelevance_error:decoder_success"
        assert info["bfcl_category"] == category


# --------------------------------------------------------------------------- Java / JavaScript
def test_json_values_become_the_source_text_bfcl_converters_read():
    assert bfcl.java_source(True, "boolean") == "true"
    assert bfcl.java_source(42, "long") == "42L"
    assert bfcl.java_source(0.5, "float") == "0.5f"
    assert bfcl.java_source(3, "double") == "3"
    assert bfcl.java_source([101, 202], "ArrayList", "long") == (
        "new ArrayList<>(Arrays.asList(101L, 202L))"
    )
    assert bfcl.java_source(["a", "b"], "ArrayList", "String") == (
        'new ArrayList<>(Arrays.asList("a", "b"))'
    )
    assert bfcl.java_source(["a", "b"], "Array", "String") == "new String[]{a, b}"
    assert bfcl.java_source({"limit": 50}, "HashMap") == (
        'new HashMap<String, Object>() {{ put("limit", 50); }}'
    )
    assert bfcl.java_source("mapController", "any") == "mapController"
    assert bfcl.js_source(123, "Bigint") == "123n"
    assert bfcl.js_source(1e-7, "float") == "0.0000001"
    assert bfcl.js_source(["x", 2, True], "array") == '["x", 2, true]'
    assert bfcl.js_source({"method": "GET"}, "dict") == '{"method": "GET"}'


@needs_bfcl
def test_java_and_javascript_accept_json_values_or_source_strings(task, by_id):
    java = by_id["simple_java_1"]  # useShortName: boolean, params: HashMap
    assert task.score([java], [task.reference(java)])[0, 1] == 3.0
    source = edited_reference(
        java,
        useShortName="true",
        params='new HashMap<>() {{ put("limit", 50); put("schemaFilter", "public"); }}',
    )
    assert task.score([java], [source])[0, 1] == 3.0
    wrong = edited_reference(java, params={"limit": 51, "schemaFilter": "public"})
    assert task.score([java], [wrong])[0, 1] == -3.0
    assert task.diagnose(java, wrong)["bfcl_error_type"] == "value_error:dict_value"
    javascript = by_id["simple_javascript_0"]  # isComplete: Boolean
    assert task.score([javascript], [edited_reference(javascript, isComplete="true")])[0, 1] == 3
    not_boolean = edited_reference(javascript, isComplete="yes")
    assert task.score([javascript], [not_boolean])[0, 1] == -3.0


# --------------------------------------------------------------------------- hostile input
HOSTILE = {
    "empty": "",
    "one_megabyte": "<think>" + "x" * 1_000_000,
    "unclosed": '<think>a</think>\n<tool_call>\n{"name": "f", "parameters": {',
    "deep_json": "<think>a</think>\n<tool_call>\n" + "[" * 50_000 + "]" * 50_000 + "\n</tool_call>",
    "python_power": "<think>a</think>\n<tool_call>\nf(x=9**9**9)\n</tool_call>",
    "huge_float": '<think>a</think>\n<tool_call>\n{"name": "f", "parameters": {"n": 1e999}}'
    "\n</tool_call>",
    "surrogates": "<think>\ud800</think>\n<tool_call>\n\ud800\udfff\n</tool_call>",
}
#: Argument texts that send BFCL's Java/JavaScript regular expressions into long backtracking.
BACKTRACKING_ARGUMENTS = {
    "nested_array": "[[1]" + ",[1]" * 60 + "x",
    "hashmap_whitespace": "new HashMap<>() {{" + " " * 3_000,
    "hashmap_whitespace_short": "new HashMap<>() {{" + " " * 480,
    "hashmap_repeated": "new HashMap<>(){" * 400,
    "arraylist_whitespace": "new ArrayList<>() {{" + " " * 3_000 + "x",
    "object_without_colon": "{" + "a" * 6_000 + "}",
    "object_with_nested_array": '{"k": [[1]' + ",[1]" * 60 + "x]}",
    "huge_number": 10**4000,
    "deep_list": json.loads("[" * 900 + "]" * 900),
    "surrogate": "\ud800",
    "huge_float": 1e308,
}


def hostile_items(task):
    """The first and last item of each category, and for Java and JavaScript the first item
    with a parameter of each collection type (their texts go through BFCL's regexes)."""
    chosen = {}
    for item in task.split("test"):
        chosen.setdefault((item["category"], "first"), item)
        chosen[(item["category"], "last")] = item
        if item["category"] in ("simple_java", "simple_javascript"):
            for schema in item["tools"][0]["parameters"]["properties"].values():
                if schema["type"] in {"Array", "ArrayList", "HashMap", "array", "dict"}:
                    chosen.setdefault((item["category"], schema["type"]), item)
    assert len([key for key in chosen if key[1] not in ("first", "last")]) == 5
    return list(chosen.values())


@needs_bfcl
def test_hostile_completions_stay_in_bounds_quickly(task):
    for item in hostile_items(task):
        completions = list(HOSTILE.values())
        # one argument at a time, the others right: the checker stops at the first wrong one
        first_call = (item["answer"]["tool_calls"] or [{"parameters": {}}])[0]
        for name in first_call["parameters"]:
            for argument in BACKTRACKING_ARGUMENTS.values():
                completions.append(edited_reference(item, **{name: argument}))
        for completion in completions:
            started = time.perf_counter()
            scores = task.score([item], [completion])
            info = task.diagnose(item, task.truncate(completion))
            elapsed = time.perf_counter() - started
            assert elapsed < 1.0, f"{item['id']}: {elapsed:.2f} s on {completion[:80]!r}"
            assert scores.dtype == np.float32 and np.all(np.isfinite(scores))
            assert np.all(scores >= task.reward_low) and np.all(scores <= task.reward_high)
            assert isinstance(info["bfcl_error_type"], str)


@needs_bfcl
def test_backtracking_collection_texts_are_judged_wrong_without_the_checker(task, by_id):
    item = by_id["simple_javascript_5"]  # store: dict, hooks: dict
    completion = edited_reference(item, hooks=BACKTRACKING_ARGUMENTS["nested_array"])
    assert task.diagnose(item, completion)["bfcl_error_type"] == bfcl.UNSAFE_ARGUMENT
    long_text = "{" + "a" * bfcl.MAX_COLLECTION_CHARS + "}"
    assert task.diagnose(item, edited_reference(item, hooks=long_text))["bfcl_error_type"] == (
        bfcl.UNSAFE_ARGUMENT
    )
    assert bfcl.bounded_collection_text("[1,  \n\t 2]") == "[1, 2]"


@needs_bfcl
def test_checker_exceptions_count_as_wrong(task, by_id, monkeypatch):
    item = by_id["simple_python_0"]
    checker = bfcl.load_checker()

    def broken_checker(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(bfcl, "_checker", checker._replace(ast_checker=broken_checker))
    reference = task.reference(item)
    assert task.score([item], [reference])[0, 1] == -3.0
    assert task.diagnose(item, reference)["bfcl_error_type"] == bfcl.CHECKER_EXCEPTION


@needs_bfcl
def test_scoring_imports_neither_model_handlers_nor_folder_creating_modules(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from saw_bench.envs.toolcall.bfcl import ToolCallBFCLTask
        task = ToolCallBFCLTask(categories=["simple_java", "multiple"])
        items = task.split("test")
        scores = task.score(items, [task.reference(item) for item in items])
        assert (scores[:, 1] == 3).mean() > 0.95, scores[:, 1].mean()
        unwanted = ("bfcl_eval.model_handler", "bfcl_eval.utils",
                    "bfcl_eval.constants.model_config", "bfcl_eval.constants.eval_config",
                    "bfcl_eval.eval_checker.eval_runner",
                    "bfcl_eval.eval_checker.ast_eval.ast_checker")
        print(sorted(m for m in sys.modules if m.startswith(unwanted)))
        """
    )
    environment = dict(os.environ, BFCL_PROJECT_ROOT=str(tmp_path))
    finished = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []  # BFCL's eval_config would create result/ score/ here


# --------------------------------------------------------------------------- options and data
@needs_bfcl
def test_unknown_category_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown BFCL category 'multi_turn_base'.*simple_python"):
        ToolCallBFCLTask(categories=["simple_python", "multi_turn_base"])
    with pytest.raises(ValueError, match="valid categories"):
        ToolCallBFCLTask(categories=[])


@needs_bfcl
def test_categories_select_items():
    task = ToolCallBFCLTask(categories="live_parallel")
    assert len(task.split("test")) == 16
    assert {item["category"] for item in task.split("test")} == {"live_parallel"}


def test_missing_package_raises_data_error_with_the_install_command(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "bfcl_eval" else real_find_spec(name, *args),
    )
    with pytest.raises(DataError, match="pip install --no-deps bfcl-eval==2026.3.23"):
        ToolCallBFCLTask(data_dir=tmp_path)


def write_data(directory: Path, entries: list[str], answers: list[str]) -> Path:
    (directory / "possible_answer").mkdir(parents=True, exist_ok=True)
    (directory / "BFCL_v4_simple_python.json").write_text("\n".join(entries), encoding="utf-8")
    (directory / "possible_answer" / "BFCL_v4_simple_python.json").write_text(
        "\n".join(answers), encoding="utf-8"
    )
    return directory


@needs_bfcl
def test_data_dir_reads_another_copy(tmp_path):
    write_data(tmp_path, [json.dumps(ENTRY)], [json.dumps(ANSWER)])
    task = ToolCallBFCLTask(categories=["simple_python"], data_dir=tmp_path)
    (item,) = task.split("test")
    assert item["answer"]["tool_calls"] == [
        {"name": "triangle.area", "parameters": {"base": 10, "height": 5.0, "unit": "cm"}}
    ]
    assert task.score([item], [task.reference(item)])[0].tolist() == [1.0, 3.0]
    # an int for a float parameter passes (BFCL's Python rule); the optional unit may be left out
    as_ints = completion_with([{"name": "triangle.area", "parameters": {"base": 10, "height": 5}}])
    assert task.score([item], [as_ints])[0, 1] == 3.0
    # a dotted name is compared as written (no dot-to-underscore renaming)
    renamed = completion_with([{"name": "triangle_area", "parameters": {"base": 10, "height": 5}}])
    assert task.score([item], [renamed])[0, 1] == -3.0


@needs_bfcl
@pytest.mark.parametrize(
    ("entries", "answers", "where"),
    [
        (
            [json.dumps(ENTRY), "{not json"],
            [json.dumps(ANSWER)],
            "BFCL_v4_simple_python.json, line 2",
        ),
        ([json.dumps(ENTRY)], ["", "[1, 2]"], "possible_answer/BFCL_v4_simple_python.json, line 2"),
        ([json.dumps({**ENTRY, "question": "hi"})], [json.dumps(ANSWER)], "line 1: 'question'"),
        ([json.dumps({**ENTRY, "id": "simple_python_9"})], [json.dumps(ANSWER)], "line 1: entry"),
    ],
)
def test_malformed_rows_raise_data_error_naming_file_and_line(tmp_path, entries, answers, where):
    write_data(tmp_path, entries, answers)
    with pytest.raises(DataError, match=where.replace("(", r"\(")):
        ToolCallBFCLTask(categories=["simple_python"], data_dir=tmp_path)


@needs_bfcl
def test_missing_data_file_raises_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match="BFCL_v4_parallel.json does not exist"):
        ToolCallBFCLTask(categories=["parallel"], data_dir=tmp_path)


# --------------------------------------------------------------------------- aggregation
HAND_MADE = {
    "simple_python": [True, True, True, False],  # 0.75
    "simple_java": [True, False],  # 0.5
    "simple_javascript": [False, False, False, True],  # 0.25
    "multiple": [True],  # 1.0
    "parallel": [True, False],  # 0.5
    "parallel_multiple": [False, False, False, True],  # 0.25
    "live_simple": [True, True, True, False],  # 3 of 4
    "live_multiple": [True, True] + [False] * 6,  # 2 of 8
    "live_parallel": [True],  # 1 of 1
    "live_parallel_multiple": [False],  # 0 of 1
    "irrelevance": [True, True, False, False],  # 0.5
    "live_irrelevance": [True] * 9 + [False],  # 0.9
}


def test_group_accuracies_aggregate_as_bfcl_does():
    accuracy = group_accuracies(HAND_MADE)
    assert accuracy["simple_python"] == 0.75
    assert accuracy["live_irrelevance"] == 0.9
    assert accuracy["simple"] == pytest.approx(0.5)  # (0.75 + 0.5 + 0.25) / 3
    assert accuracy["non_live"] == pytest.approx(0.5625)  # (0.5 + 1 + 0.5 + 0.25) / 4
    assert accuracy["live"] == pytest.approx(6 / 14)  # (3 + 2 + 1 + 0) / (4 + 8 + 1 + 1)
    assert accuracy["irrelevance_detection"] == pytest.approx(0.7)  # (0.5 + 0.9) / 2
    assert accuracy["single_turn"] == pytest.approx((0.5625 + 6 / 14 + 0.7) / 3)
    pairs = [(category, ok) for category, values in HAND_MADE.items() for ok in values]
    assert group_accuracies(pairs) == accuracy


def test_group_accuracies_average_only_the_categories_present():
    accuracy = group_accuracies({"simple_python": [True, False], "parallel": [True]})
    assert accuracy == {
        "simple_python": 0.5,
        "parallel": 1.0,
        "simple": 0.5,
        "non_live": 0.75,
        "single_turn": 0.75,
    }
    with pytest.raises(ValueError, match="unknown BFCL category 'web_search'"):
        group_accuracies({"web_search": [True]})
    with pytest.raises(ValueError, match="no results"):
        group_accuracies({"parallel": []})


@needs_bfcl
def test_evaluate_scores_the_test_split(task):
    items = task.split("test")
    accuracy = evaluate(task, [task.reference(item) for item in items])
    # the known unpassable items: 3 in simple_java, 2 in live_simple, 2 in live_multiple
    assert accuracy["simple_java"] == 0.97
    assert accuracy["simple"] == pytest.approx((1 + 0.97 + 1) / 3)
    assert accuracy["non_live"] == pytest.approx(((1 + 0.97 + 1) / 3 + 3) / 4)
    assert accuracy["live"] == pytest.approx((1351 - 4) / 1351)
    assert accuracy["irrelevance_detection"] == 1.0
    with pytest.raises(ValueError, match="one completion per test item"):
        evaluate(task, ["x"])


@needs_bfcl
def test_scoring_is_fast(task):
    items = task.split("test")
    completions = []
    for index, item in enumerate(items):
        reference = task.reference(item)
        kind = index % 3
        if kind == 0:
            completions.append(reference)
        elif kind == 1:
            completions.append(reference[: len(reference) // 2])  # broken
        else:
            completions.append(reference.replace('"parameters": {', '"parameters": {"x": 1, ', 1))
    task.score(items[:10], completions[:10])
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        task.score(items, completions)
        best = max(best, len(items) / (time.perf_counter() - started))
    assert best >= 5_000, f"{best:.0f} completions/s"
