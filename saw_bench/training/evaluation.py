"""Held-out evaluation of a saved policy: ``python -m saw_bench eval --task ID --model PATH``.

``model`` is ``"tiny"`` (the task's embedded policy), a Hugging Face id, a model folder, or a
run folder (its last checkpoint; the run's task is the default task). The policy answers every
test item (or the first ``items``, evenly strided as in training) once; the result holds the
per-objective means, the normalised aggregate and the task's own headline numbers
(:meth:`saw_bench.core.task.TextTask.benchmark_metrics`, for example BFCL's group accuracies).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_json
from saw_bench.core.scores import normalised_aggregate
from saw_bench.core.task import Item, TextTask
from saw_bench.policy import Policy, answer_items, load_policy
from saw_bench.training.checkpoints import latest_trl_checkpoint
from saw_bench.training.rollouts import generate_rollouts
from saw_bench.training.scoring import check_rewards


def resolve_model(model: str) -> tuple[str, dict[str, Any] | None]:
    """(model to load, the run's saved config or None) for a model argument."""
    folder = Path(model).expanduser()
    config_path = folder / "config.json"
    checkpoint = folder / "checkpoint" / "model"
    if folder.is_dir() and checkpoint.is_dir() and config_path.is_file():
        return str(checkpoint), read_json(config_path)
    trl_checkpoint = latest_trl_checkpoint(folder) if config_path.is_file() else None
    if trl_checkpoint is not None:  # a run of the TRL backend
        return str(trl_checkpoint), read_json(config_path)
    return model, None


def held_out_items(task: TextTask, count: int) -> list[Item]:
    """The first ``count`` test items, evenly strided over the test split (what a run's
    held-out evaluations answer)."""
    test_items = list(task.split("test"))
    stride = max(1, len(test_items) // count)
    return test_items[::stride][:count]


def held_out_row(
    policy: Policy,
    task: TextTask,
    items: Sequence[Item],
    *,
    step: int,
    wall_seconds: float,
    max_new_tokens: int,
    temperature: float,
    seed: int,
    priorities: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The trainer's ``eval.jsonl`` row: one completion per held-out item (one batch, seeded),
    per-objective means and the normalised aggregate."""
    started = time.perf_counter()
    batch = generate_rollouts(
        policy,
        task,
        items,
        group_size=1,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
    )
    row = held_out_scores(
        task, items, batch.texts, step=step, wall_seconds=wall_seconds, priorities=priorities
    )
    return with_temperature(row, temperature, time.perf_counter() - started)


def with_temperature(row: dict[str, Any], temperature: float, seconds: float) -> dict[str, Any]:
    """An ``eval.jsonl`` row from :func:`held_out_scores`, its keys in their usual order."""
    head = {key: row[key] for key in ("step", "wall_seconds", "items")}
    return {**head, "temperature": temperature, **row, "seconds": seconds}


def held_out_scores(
    task: TextTask,
    items: Sequence[Item],
    completions: Sequence[str],
    *,
    step: int,
    wall_seconds: float,
    priorities: Sequence[float] | None = None,
) -> dict[str, Any]:
    """The scores of an ``eval.jsonl`` row (:func:`held_out_row`) for one completion per
    held-out item."""
    rewards = task.score(items, list(completions))
    check_rewards(task, rewards, len(items))
    means = rewards.mean(axis=0)  # in the task's float32, as eval rows have always been
    return {
        "step": step,
        "wall_seconds": round(wall_seconds, 4),
        "items": len(items),
        "objectives": {name: float(means[k]) for k, name in enumerate(task.objective_names)},
        "normalised": normalised_aggregate(means, task.reward_low, task.reward_high, priorities),
    }


def evaluate_policy(
    task: str | None = None,
    model: str = "tiny",
    *,
    items: int | None = None,
    temperature: float = 0.0,
    max_new_tokens: int | None = None,
    batch_size: int = 32,
    device: str = "auto",
    seed: int = 0,
    task_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on the test split of ``task``; returns a JSON-ready dict."""

    if items is not None and (not isinstance(items, int) or items < 1):
        raise SawBenchError(f"items must be a positive integer, but got {items!r}")
    if temperature < 0:
        raise SawBenchError(f"temperature must be >= 0 (0 is greedy), but got {temperature!r}")
    if batch_size < 1:
        raise SawBenchError(f"batch_size must be a positive integer, but got {batch_size!r}")
    path, run_config = resolve_model(model)
    train_options = (run_config or {}).get("train", {})
    if task is None:
        task = train_options.get("task", "toolcall")
        task_kwargs = task_kwargs if task_kwargs is not None else train_options.get("task_kwargs")
    if max_new_tokens is None:
        max_new_tokens = train_options.get("max_new_tokens", 96)
    task_id = registry.resolve(task)
    text_task = registry.load_task(task_id, **(task_kwargs or {}))
    test_items = held_out_items(text_task, items) if items else list(text_task.split("test"))
    if not test_items:
        raise SawBenchError(f"task {task_id} has an empty test split")
    policy = load_policy(
        path,
        task=task_id if path == "tiny" else None,
        device=device,
        fast=train_options.get("fast_path", True),
    )

    completions, tokens, seconds = answer_items(
        policy,
        text_task,
        test_items,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        seed=seed,
    )
    rewards = text_task.score(test_items, completions)
    means = rewards.mean(axis=0)
    return {
        "task_id": task_id,
        "model": policy.name,
        "items": len(test_items),
        "temperature": temperature,
        "objectives": {name: float(means[k]) for k, name in enumerate(text_task.objective_names)},
        "normalised": normalised_aggregate(means, text_task.reward_low, text_task.reward_high),
        "benchmark": text_task.benchmark_metrics(test_items, completions),
        "seconds": seconds,
        "completion_tokens_per_second": tokens / seconds if seconds > 0 else None,
    }


def format_evaluation(result: dict[str, Any]) -> str:
    lines = [
        f"{result['task_id']}  model {result['model']}  {result['items']} test items  "
        f"T={result['temperature']:g}",
        f"{'objective':<24}{'mean':>10}",
    ]
    lines += [f"{name:<24}{value:>10.3f}" for name, value in result["objectives"].items()]
    lines.append(f"{'normalised aggregate':<24}{result['normalised']:>10.3f}")
    if result["benchmark"]:
        lines.append("task metrics:")
        lines += [f"  {name:<22}{value:>10.3f}" for name, value in result["benchmark"].items()]
    return "\n".join(lines)
