"""Held-out evaluation of a saved policy: ``python -m saw_bench eval --task ID --model PATH``.

``model`` is ``"tiny"`` (the task's embedded policy), a Hugging Face id, a model folder, or a
run folder (its last checkpoint; the run's task is the default task). The policy answers every
test item (or the first ``items``, evenly strided as in training) once; the result holds the
per-objective means, the normalised aggregate and the task's own headline numbers
(:meth:`saw_bench.task.TextTask.benchmark_metrics`, for example BFCL's group accuracies).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saw_bench import registry
from saw_bench.errors import SawBenchError
from saw_bench.task import Item, TextTask

if TYPE_CHECKING:
    from saw_bench.policy import Policy


def resolve_model(model: str) -> tuple[str, dict[str, Any] | None]:
    """(model to load, the run's saved config or None) for a model argument."""
    folder = Path(model).expanduser()
    config_path = folder / "config.json"
    checkpoint = folder / "checkpoint" / "model"
    if folder.is_dir() and checkpoint.is_dir() and config_path.is_file():
        try:
            run_config = json.loads(config_path.read_text())
        except ValueError as error:
            raise SawBenchError(f"{config_path} is not valid JSON: {error}") from None
        return str(checkpoint), run_config
    return model, None


def answer_items(
    policy: Policy,
    task: TextTask,
    items: Sequence[Item],
    *,
    temperature: float,
    max_new_tokens: int,
    batch_size: int = 32,
    seed: int = 0,
) -> tuple[list[str], int, float]:
    """One completion per item, generated in batches: (texts, completion tokens, seconds).
    Batch ``b`` starting at item ``i`` samples with seed ``seed + i``."""
    started = time.perf_counter()
    completions: list[str] = []
    tokens = 0
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        batch = policy.generate(
            [policy.render(task.prompt(item)) for item in chunk],
            max_new_tokens=max_new_tokens, temperature=temperature, seed=seed + start,
        )  # fmt: skip
        completions += batch.texts
        tokens += batch.completion_tokens
    return completions, tokens, time.perf_counter() - started


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
    from saw_bench.policy import load_policy
    from saw_bench.trainer import normalised_score

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
    test_items = list(text_task.split("test"))
    if items is not None and items < len(test_items):
        stride = max(1, len(test_items) // items)
        test_items = test_items[::stride][:items]
    if not test_items:
        raise SawBenchError(f"task {task_id} has an empty test split")
    policy = load_policy(path, task=task_id if path == "tiny" else None, device=device)

    completions, tokens, seconds = answer_items(
        policy, text_task, test_items, temperature=temperature, max_new_tokens=max_new_tokens,
        batch_size=batch_size, seed=seed,
    )  # fmt: skip
    rewards = text_task.score(test_items, completions)
    means = rewards.mean(axis=0)
    return {
        "task_id": task_id,
        "model": policy.name,
        "items": len(test_items),
        "temperature": temperature,
        "objectives": {
            name: float(means[k]) for k, name in enumerate(text_task.objective_names)
        },
        "normalised": normalised_score(means, text_task),
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
