"""ToolCall-ToolRL: verl-layout files written here by hand, loaded through ``datasets``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import saw_bench
from saw_bench.core.errors import DataError

SYSTEM = "You have get_weather(city) and get_time(zone). Use <think>, <tool_call>, <response>."


def row(question: str, ground_truth, **extra):
    return {
        "data_source": "hand_written",
        "prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
        "reward_model": {"style": "rule", "ground_truth": ground_truth},
        "extra_info": {"note": "test"},
        **extra,
    }


TWO_CALLS = (
    "<tool_call>\n"
    '{"name": "get_weather", "parameters": {"city": "Oslo"}}\n'
    '{"name": "get_time", "parameters": {"zone": "CET"}}\n'
    "</tool_call>"
)
ROWS = [
    row("Weather and time in Oslo?", TWO_CALLS),
    row("Hi there!", "<response>Hello! How can I help?</response>"),
    row(
        "Weather in Lima, and tell me",
        '<tool_call>\n{"name": "get_weather", "parameters": {"city": "Lima"}}\n</tool_call>\n'
        "<response>Checking.</response>",
    ),
]


def write_parquet(path, rows):
    pd.DataFrame(rows).to_parquet(path)
    return path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("writer", [write_parquet, write_jsonl], ids=["parquet", "jsonl"])
def test_rows_become_items_with_parsed_answers(tmp_path, writer):
    suffix = ".parquet" if writer is write_parquet else ".jsonl"
    path = writer(tmp_path / f"train{suffix}", ROWS)
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(path))
    items = task.split("train")
    assert [item["answer"]["tool_calls"] for item in items] == [
        [
            {"name": "get_weather", "parameters": {"city": "Oslo"}},
            {"name": "get_time", "parameters": {"zone": "CET"}},
        ],
        [],
        [{"name": "get_weather", "parameters": {"city": "Lima"}}],
    ]
    assert [item["answer"]["response"] for item in items] == [
        None,
        "Hello! How can I help?",
        "Checking.",
    ]
    assert task.prompt(items[0]) == ROWS[0]["prompt"]


def test_scores_match_the_toolrl_rules_by_hand(tmp_path):
    path = write_parquet(tmp_path / "train.parquet", ROWS)
    env = saw_bench.make("saw/ToolCall-ToolRL-v0", data_path=str(path))
    env.reset(options={"index": 0})
    one_call = (
        '<think>x</think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Oslo"}}'
        "\n</tool_call>"
    )
    # names {weather, time} vs {weather}: 1/2; weather: keys 1 + value 1 -> 2.5 of S_max 5
    reward = env.step(one_call)[1]
    assert reward.tolist() == pytest.approx([1.0, 6 * 2.5 / 5 - 3])
    env.reset(options={"index": 1})
    assert env.step("<think>x</think>\n<response>Hi!</response>")[1].tolist() == [1.0, 3.0]
    env.reset(options={"index": 2})
    # both blocks expected: the tool call alone has the wrong format but the right call
    assert env.step(one_call.replace("Oslo", "Lima"))[1].tolist() == [0.0, 3.0]


def test_folder_with_train_and_test_files(tmp_path):
    write_parquet(tmp_path / "train.parquet", ROWS)
    write_jsonl(tmp_path / "test.jsonl", ROWS[:1])
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(tmp_path))
    assert (len(task.split("train")), len(task.split("test"))) == (3, 1)


def test_missing_data_path_names_the_kwarg():
    with pytest.raises(DataError, match="needs data_path"):
        saw_bench.make("saw/ToolCall-ToolRL-v0")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="nothing.parquet does not exist"):
        saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(tmp_path / "nothing.parquet"))


def test_missing_test_split_says_how_to_add_it(tmp_path):
    path = write_parquet(tmp_path / "train.parquet", ROWS)
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(path))
    with pytest.raises(DataError, match="no 'test' data: pass test_path"):
        task.split("test")


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "train.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(path))
    with pytest.raises(DataError, match=r"train\.parquet: cannot read it"):
        task.split("train")


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (row("q", "<tool_call>\nget_weather(city='Oslo')\n</tool_call>"), "not one JSON object"),
        (row("q", "just text"), "neither a <tool_call> nor a <response>"),
        (row("q", "<response>never closed"), "<response> block is not closed"),
        (row("q", ""), "ground_truth' must be a non-empty string"),
        ({**row("q", TWO_CALLS), "prompt": "not a list"}, "'prompt' must be a non-empty list"),
    ],
)
def test_bad_row_is_named_by_file_and_index(tmp_path, bad_row, message):
    path = write_jsonl(tmp_path / "train.jsonl", [ROWS[0], ROWS[1], bad_row])
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(path))
    with pytest.raises(DataError, match=rf"train\.jsonl, row 2: .*{message}"):
        task.split("train")


def test_missing_column_is_named(tmp_path):
    path = write_jsonl(tmp_path / "train.jsonl", [{"prompt": ROWS[0]["prompt"]}])
    task = saw_bench.load_task("saw/ToolCall-ToolRL-v0", data_path=str(path))
    with pytest.raises(DataError, match=r"missing column\(s\) \['reward_model'\]"):
        task.split("train")
