"""Scoring throughput per task on one core (pytest-benchmark).

Run with ``tox -e bench`` or ``python -m pytest benchmarks --benchmark-enable``. Each benchmark
scores a fixed batch of completions (a mix of correct, partially correct and broken ones) and
records ``completions_per_second`` in the benchmark's extra info, printed at the end.
Targets: ToolCall-Synth >= 20,000/s (format + correctness), ToolCall-BFCL >= 5,000/s.
"""

from __future__ import annotations

import json
import random

import pytest

import saw_bench
from saw_bench.envs.toolcall import rewards

BATCH = 2_000


def mixed_completions(task, items, seed: int = 0) -> list[str]:
    """A third correct, a third with one value or name changed, a third broken."""
    rng = random.Random(seed)
    completions = []
    for index, item in enumerate(items):
        reference = task.reference(item)
        kind = index % 3
        calls = item["answer"]["tool_calls"]
        if kind == 0 or not calls:
            completions.append(reference if kind != 2 else reference[: len(reference) // 2])
        elif kind == 1:
            call = dict(calls[0])
            parameters = dict(call["parameters"])
            if parameters:
                key = rng.choice(sorted(parameters))
                parameters[key] = "wrong"
            else:
                call["name"] += "_x"
            call["parameters"] = parameters
            completions.append(rewards.render_completion("t", [call, *calls[1:]]))
        else:
            body = json.dumps(calls[0])[:-3]
            completions.append(f"<think>t</think>\n<tool_call>\n{body}\n</tool_call>")
    return completions


def batch_of(items, size: int):
    return [items[index % len(items)] for index in range(size)]


@pytest.mark.parametrize("env_id", ["saw/ToolCall-Synth-v0", "saw/ToolCall-BFCL-v0"])
def test_completions_scored_per_second(benchmark, env_id):
    task = saw_bench.load_task(env_id)
    items = batch_of(list(task.split("test")), BATCH)
    completions = mixed_completions(task, items)
    scores = benchmark(task.score, items, completions)
    assert scores.shape == (BATCH, task.reward_dim)
    if benchmark.stats is not None:  # None when benchmarks are disabled (plain test runs)
        mean_seconds = benchmark.stats.stats.mean
        benchmark.extra_info["completions_per_second"] = round(BATCH / mean_seconds)
        print(f"\n{env_id}: {BATCH / mean_seconds:,.0f} completions/s")
