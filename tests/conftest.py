"""Shared test settings and helpers."""

import json
import os

import pytest
import torch
from hypothesis import settings

from saw_bench.core import cpus
from saw_bench.policy import TinyRecipe, build_tiny_policy

# The machines are small and shared: no per-example deadline. In CI the examples are derived
# from the test names, so a failure there reproduces exactly on a developer's machine.
settings.register_profile("saw", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("saw"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "saw")

# Runs trained inside the test process keep torch's thread count whatever else runs on the
# machine (a share would change their numbers between two runs a test compares); runs in
# subprocesses share the CPUs as users' runs do (tests/test_cpus.py unpins to test shares).
cpus.pin(torch.get_num_threads())

#: Fields of a metrics row that describe how its step ran, not what it computed (``batch``:
#: the size and seconds of the batch a batched run trained in).
EXECUTION_FIELDS = ("seconds", "wall_seconds", "threads", "batch")

#: ToolCall-Synth options that keep a test run's data small.
SMALL_TASK_KWARGS = {"train_size": 40, "test_size": 12}


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """A small policy folder (a few SFT steps of our own build) for training tests; loads
    through from_pretrained by path, like any local model."""
    cache = tmp_path_factory.mktemp("cache")
    recipe = TinyRecipe(
        task="saw/ToolCall-Synth-v0",
        task_kwargs=SMALL_TASK_KWARGS,
        vocab_size=400,
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        ffn_size=64,
        max_position=512,
        sft_steps=4,
        batch_size=8,
        eval_items=0,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAW_BENCH_CACHE", str(cache))
        return str(build_tiny_policy(recipe, progress=False))


def comparable(rows):
    """Metrics or eval rows without their timings and thread counts: what two runs of one seed
    must share."""
    return [{k: v for k, v in row.items() if k not in EXECUTION_FIELDS} for row in rows]


def small_grid(model: str, weightings=("static", "saw"), seeds=(0, 1), **options) -> str:
    """A sweep file of ToolCall-Synth x GRPO runs of 3 small steps on ``model``; ``options``
    add top-level keys (``workers``) or, as ``train_<name>``, training options."""
    top = {k: v for k, v in options.items() if not k.startswith("train_")}
    train = {k.removeprefix("train_"): v for k, v in options.items() if k.startswith("train_")}
    train = {
        "model": model,
        "steps": 3,
        "prompts_per_step": 3,
        "group_size": 4,
        "max_new_tokens": 16,
        "eval_every": 1,
        "eval_items": 6,
        "checkpoint_every": 1,
        "learning_rate": 1e-3,
        **train,
    }
    lines = ['tasks = ["saw/ToolCall-Synth-v0"]', 'estimators = ["grpo"]']
    lines.append(f"weightings = {json.dumps(list(weightings))}")
    lines.append(f"seeds = {json.dumps(list(seeds))}")
    lines += [f"{key} = {json.dumps(value)}" for key, value in top.items()]
    lines += ["", "[train]", *(f"{key} = {json.dumps(value)}" for key, value in train.items())]
    kwargs = ", ".join(f"{key} = {value}" for key, value in SMALL_TASK_KWARGS.items())
    lines.append(f"task_kwargs = {{ {kwargs} }}")
    return "\n".join(lines) + "\n"
