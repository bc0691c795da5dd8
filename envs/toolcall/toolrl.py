"""ToolRL's training data (the SAW paper's tool-calling set), read from a local file.

The SAW paper (arXiv 2606.07705) trains on ToolRL's ``rlla_4k`` (2,000 ToolACE + 1,000 Hammer +
1,000 xLAM items). saw-bench reads it in the verl layout, one row per item::

    prompt            chat messages [{"role": ..., "content": ...}], tools in the system text
    reward_model      {"style": "rule", "ground_truth": "<tool_call>\\n{json}\\n</tool_call>"}
                      (or "<response>...</response>", or both blocks)
    data_source       where the row comes from (kept in the item)
    extra_info        free-form metadata (kept in the item)

``data_path`` is a parquet, JSON or JSON Lines file (the train split), or a folder holding
``train.*`` and ``test.*`` in one of those formats; ``test_path`` names a test file explicitly.
Files are read with the ``datasets`` library. A missing file, an unreadable one or a row that
breaks the layout raises :class:`saw_bench.core.errors.DataError` naming the file and the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saw_bench.core.errors import DataError
from saw_bench.core.task import Item
from saw_bench.envs.toolcall import rewards
from saw_bench.envs.toolcall.task import ToolCallTask

SUFFIXES = (".parquet", ".jsonl", ".json")


class ToolCallToolRLTask(ToolCallTask):
    """Tool calling on ToolRL/verl-layout data; objectives as in the rest of the family."""

    def __init__(
        self,
        *,
        data_path: str | Path | None = None,
        test_path: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if data_path is None:
            raise DataError(
                "saw/ToolCall-ToolRL-v0 needs data_path=...: a parquet/JSON file in the verl "
                "layout (ToolRL's rlla_4k train.parquet), or a folder with train.* and test.*"
            )
        self.paths = _split_paths(Path(data_path), None if test_path is None else Path(test_path))
        self._items: dict[str, list[Item]] = {}

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        if name not in self._items:
            if name not in self.paths:
                raise DataError(
                    f"no {name!r} data: pass test_path=... or put test.parquet (or .json/.jsonl) "
                    f"next to {self.paths['train']}"
                )
            self._items[name] = read_items(self.paths[name], name)
        return self._items[name]

    @classmethod
    def example_kwargs(cls, directory: Path) -> dict[str, Any]:
        return {"data_path": str(write_example_data(directory))}


def _split_paths(data_path: Path, test_path: Path | None) -> dict[str, Path]:
    if data_path.is_dir():
        paths = {}
        for split in ("train", "test"):
            found = [data_path / f"{split}{suffix}" for suffix in SUFFIXES]
            found = [path for path in found if path.is_file()]
            if found:
                paths[split] = found[0]
        if "train" not in paths:
            raise DataError(f"folder {data_path} has no train.parquet, train.jsonl or train.json")
    elif data_path.is_file():
        paths = {"train": data_path}
    else:
        raise DataError(f"data file {data_path} does not exist")
    if test_path is not None:
        if not test_path.is_file():
            raise DataError(f"test file {test_path} does not exist")
        paths["test"] = test_path
    return paths


def read_items(path: Path, split: str) -> list[Item]:
    """Load one verl-layout file with ``datasets`` and turn its rows into items."""
    import datasets  # slow to import: only when data is read

    if path.suffix not in SUFFIXES:
        raise DataError(f"{path}: expected a {', '.join(SUFFIXES)} file")
    try:
        if path.suffix == ".parquet":
            table = datasets.Dataset.from_parquet(str(path), keep_in_memory=True)
        else:
            table = datasets.Dataset.from_json(str(path), keep_in_memory=True)
    except Exception as error:  # datasets/pyarrow raise many types for unreadable files
        raise DataError(f"{path}: cannot read it ({type(error).__name__}: {error})") from error
    missing = {"prompt", "reward_model"} - set(table.column_names)
    if missing:
        raise DataError(
            f"{path}: missing column(s) {sorted(missing)}; the verl layout needs 'prompt' and "
            f"'reward_model' (found {table.column_names})"
        )
    return [_item_from_row(row, path, split, index) for index, row in enumerate(table)]


def _item_from_row(row: dict[str, Any], path: Path, split: str, index: int) -> Item:
    where = f"{path}, row {index}"
    messages = row["prompt"]
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict)
            and isinstance(m.get("role"), str)
            and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
        raise DataError(f"{where}: 'prompt' must be a non-empty list of {{role, content}} messages")
    reward_model = row["reward_model"]
    ground_truth = reward_model.get("ground_truth") if isinstance(reward_model, dict) else None
    if isinstance(ground_truth, list) and len(ground_truth) == 1:
        ground_truth = ground_truth[0]
    if not isinstance(ground_truth, str) or not ground_truth.strip():
        raise DataError(f"{where}: 'reward_model.ground_truth' must be a non-empty string")
    answer = parse_ground_truth(ground_truth, where)
    user_turns = [m["content"] for m in messages if m["role"] == "user"]
    return {
        "id": f"toolrl-{split}-{index:05d}",
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "query": user_turns[-1] if user_turns else "",
        "tools": [],
        "answer": answer,
        "data_source": str(row.get("data_source") or ""),
        "extra_info": json.loads(json.dumps(row.get("extra_info"), default=str)),
    }


def parse_ground_truth(text: str, where: str) -> dict[str, Any]:
    """The answer of one row: the calls of its ``<tool_call>`` block and its response text."""
    calls: list[dict[str, Any]] = []
    if rewards.CALL_OPEN in text:
        parsed = rewards.extract_tool_calls(text)
        if parsed is None:
            raise DataError(
                f"{where}: the ground truth's <tool_call> block is not one JSON object "
                '{"name": ..., "parameters": {...}} per line'
            )
        calls = parsed
    response = None
    start = text.find(rewards.RESPONSE_OPEN)
    if start >= 0:
        end = text.find(rewards.RESPONSE_CLOSE, start)
        if end < 0:
            raise DataError(f"{where}: the ground truth's <response> block is not closed")
        response = text[start + len(rewards.RESPONSE_OPEN) : end]
    if not calls and response is None:
        raise DataError(f"{where}: the ground truth has neither a <tool_call> nor a <response>")
    return {"tool_calls": calls, "response": response}


def write_example_data(directory: str | Path, rows: int = 6) -> Path:
    """Write a small verl-layout ``train.parquet``/``test.parquet`` pair; returns the folder.

    Handy to try the environment without the real data, and used by the registry-driven tests.
    """
    import datasets

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    system = (
        "You are a helpful assistant with these tools:\n"
        '{"name": "get_weather", "parameters": {"city": {"type": "string"}}}\n'
        '{"name": "convert_currency", "parameters": {"amount": {"type": "number"}, '
        '"to": {"type": "string"}}}\n'
        "Reply with <think>...</think> then <tool_call>...</tool_call> and/or "
        "<response>...</response>."
    )
    cities = ["Oslo", "Lima", "Pune", "Kyiv", "Cork", "Hue", "Fez", "Nice"]
    for split, offset in (("train", 0), ("test", rows)):
        records = []
        for index in range(rows):
            city = cities[(offset + index) % len(cities)]
            if index % 3 == 2:
                question, truth = "Tell me a joke.", "<response>I can only use my tools.</response>"
            elif index % 3 == 1:
                amount = 10.0 * (index + 1)
                call = {"name": "convert_currency", "parameters": {"amount": amount, "to": "EUR"}}
                question = f"Convert {amount:g} dollars to EUR."
                truth = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
            else:
                call = {"name": "get_weather", "parameters": {"city": city}}
                question = f"What is the weather in {city}?"
                truth = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
            records.append(
                {
                    "data_source": "saw_bench_example",
                    "prompt": [
                        {"role": "system", "content": system},
                        {"role": "user", "content": question},
                    ],
                    "ability": "tool_calling",
                    "reward_model": {"style": "rule", "ground_truth": truth},
                    "extra_info": {"split": split, "index": index},
                }
            )
        datasets.Dataset.from_list(records).to_parquet(str(directory / f"{split}.parquet"))
    return directory
