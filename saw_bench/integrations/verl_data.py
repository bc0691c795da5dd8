"""Any saw-bench task as verl data and verl's custom reward function (no verl needed here).

:func:`write_parquet` writes a task's prompts in the layout verl's ``RLHFDataset`` reads
(``data_source``, ``prompt``, ``ability``, ``reward_model``, ``extra_info``), and
:func:`compute_score` is verl's ``compute_score(data_source, solution_str, ground_truth,
extra_info)`` for those rows: the task's own scores, as the summed ``score`` plus one key per
objective, so verl's ``algorithm.gdpo_reward_keys`` and saw-bench's estimators in verl
(:mod:`saw_bench.integrations.verl`) read each objective::

    reward.custom_reward_function.path=pkg://saw_bench.integrations.verl_data
    reward.custom_reward_function.name=compute_score
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.task import TextTask


def item_digest(item: Any) -> str:
    """sha256 of an item's canonical JSON (written with each row, checked when scoring)."""
    return hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()


def verl_rows(task: str, split: str = "train", **task_kwargs: Any) -> list[dict[str, Any]]:
    """One row per item of ``task``'s split in verl's RLHFDataset layout: ``data_source`` (the
    task id), ``prompt`` (chat messages), ``ability``, ``reward_model`` (``style`` "rule",
    ``ground_truth`` the task's reference completion) and ``extra_info`` (split, index, the
    task's options as JSON and the item's digest, which :func:`compute_score` reads)."""
    task_id = registry.resolve(task)
    loaded = registry.load_task(task_id, **task_kwargs)
    _check_keys(loaded)
    options = json.dumps(task_kwargs, sort_keys=True, default=str)
    return [
        {
            "data_source": task_id,
            "prompt": [dict(message) for message in loaded.prompt(item)],
            "ability": "saw-bench",
            "reward_model": {"style": "rule", "ground_truth": loaded.reference(item)},
            "extra_info": {
                "split": split,
                "index": index,
                "task_kwargs": options,
                "item_sha256": item_digest(item),
            },
        }
        for index, item in enumerate(loaded.split(split))
    ]


def write_parquet(task: str, path: str | Path, split: str = "train", **task_kwargs: Any) -> Path:
    """Write :func:`verl_rows` to the parquet file ``path`` (``data.train_files`` /
    ``data.val_files``); returns the path."""
    from datasets import Dataset

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset.from_list(verl_rows(task, split, **task_kwargs)).to_parquet(str(path))
    return path


def _check_keys(task: TextTask) -> None:
    if "score" in task.objective_names:
        raise SawBenchError(
            "an objective named 'score' would clash with verl's summed score in compute_score"
        )


@functools.lru_cache(maxsize=8)
def _task(task_id: str, task_kwargs: str) -> TextTask:
    task = registry.load_task(task_id, **json.loads(task_kwargs))
    _check_keys(task)
    return task


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's custom reward function for a row of :func:`write_parquet`: the task's scores of
    ``solution_str`` as ``{"score": sum of the objectives, <objective>: value, ...}``.

    The item is found by ``extra_info`` (split, index, task options) and checked against the
    digest written with the row. ``ground_truth`` is not read: the task scores its own item."""
    info = dict(extra_info) if isinstance(extra_info, Mapping) else {}
    missing = sorted({"split", "index", "task_kwargs", "item_sha256"} - set(info))
    if missing or not isinstance(info["index"], int | np.integer):
        raise SawBenchError(
            f"row of {data_source!r} has no extra_info {missing or ['index (an integer)']}: "
            "write the data with saw_bench.integrations.verl_data.write_parquet"
        )
    task = _task(registry.resolve(data_source), info["task_kwargs"])
    items = task.split(info["split"])
    index = int(info["index"])
    if not 0 <= index < len(items) or item_digest(items[index]) != info["item_sha256"]:
        raise SawBenchError(
            f"row {index} of {data_source!r} split {info['split']!r} is not the task's item "
            "any more (its data changed since the parquet was written): write it again"
        )
    scores = task.score([items[index]], [solution_str])[0].astype(np.float64)
    return {"score": float(scores.sum())} | {
        name: float(value) for name, value in zip(task.objective_names, scores, strict=True)
    }


__all__ = ["compute_score", "item_digest", "verl_rows", "write_parquet"]
