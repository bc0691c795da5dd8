"""saw-bench tasks as verl data and verl's custom reward function
(saw_bench.integrations.verl_data; needs no verl, so it runs in the main test environment).

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info)`` for each row
of the parquet file; the rows here come from ``write_parquet`` read back with pandas, as verl's
RLHFDataset reads them. The scores must be the task's own, for every registered task, on the
reference completion and on hostile completions.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_env_registry import ENV_IDS, HOSTILE_COMPLETIONS

import saw_bench
from saw_bench.core.errors import SawBenchError
from saw_bench.core.registry import import_object, registration
from saw_bench.integrations.verl_data import compute_score, verl_rows, write_parquet

SMALL = {"train_size": 12, "test_size": 4}  # ToolCall-Synth options that keep the data small


def example_kwargs(env_id, directory):
    return import_object(registration(env_id).task).example_kwargs(directory)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_compute_score_is_the_tasks_score_for_reference_and_hostile_completions(env_id, tmp_path):
    kwargs = example_kwargs(env_id, tmp_path)
    path = write_parquet(env_id, tmp_path / "verl" / "train.parquet", **kwargs)
    row = pd.read_parquet(path).iloc[0]
    task = saw_bench.load_task(env_id, **kwargs)
    item = task.split("train")[0]
    completions = [task.reference(item), *HOSTILE_COMPLETIONS.values(), None, 12345]
    expected = task.score([item] * len(completions), completions).astype(np.float64)
    for completion, scores in zip(completions, expected, strict=True):
        result = compute_score(
            row["data_source"], completion, row["reward_model"]["ground_truth"], row["extra_info"]
        )
        assert list(result) == ["score", *task.objective_names]
        assert [result[name] for name in task.objective_names] == scores.tolist()
        assert result["score"] == pytest.approx(scores.sum(), abs=1e-9)


def test_rows_hold_the_tasks_prompts_in_verls_columns(tmp_path):
    path = write_parquet(
        "saw/ToolCall-Synth-v0", tmp_path / "data" / "test.parquet", split="test", **SMALL
    )
    table = pd.read_parquet(path)
    task = saw_bench.load_task("saw/ToolCall-Synth-v0", **SMALL)
    items = task.split("test")
    assert list(table.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert len(table) == len(items) == SMALL["test_size"]
    assert set(table["data_source"]) == {"saw/ToolCall-Synth-v0"}  # the id, not the alias
    for (_, row), item in zip(table.iterrows(), items, strict=True):
        assert [dict(message) for message in row["prompt"]] == task.prompt(item)
        assert row["reward_model"]["style"] == "rule"
        assert row["reward_model"]["ground_truth"] == task.reference(item)
        assert row["extra_info"]["split"] == "test"
        assert json.loads(row["extra_info"]["task_kwargs"]) == SMALL


def test_rows_written_elsewhere_or_from_changed_data_are_one_clear_error():
    row = verl_rows("saw/ToolCall-Synth-v0", **SMALL)[3]
    with pytest.raises(SawBenchError, match=r"no extra_info \['index', 'item_sha256'"):
        compute_score(row["data_source"], "x", None, {"split": "train", "task_kwargs": "{}"})
    for broken in (None, "index=3", {**row["extra_info"], "index": "3"}):
        with pytest.raises(SawBenchError, match="write the data with"):
            compute_score(row["data_source"], "x", None, broken)
    changed = {**row["extra_info"], "task_kwargs": json.dumps({**SMALL, "seed": 7})}
    with pytest.raises(SawBenchError, match="row 3 of 'saw/ToolCall-Synth-v0'.*write it again"):
        compute_score(row["data_source"], "x", None, changed)
    with pytest.raises(SawBenchError, match="unknown task 'saw/Nonesuch-v0'"):
        compute_score("saw/Nonesuch-v0", "x", None, row["extra_info"])
