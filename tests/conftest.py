"""Shared test settings."""

import os

import pytest
from hypothesis import settings

from saw_bench.policy import TinyRecipe, build_tiny_policy

# The machines are small and shared: no per-example deadline. In CI the examples are derived
# from the test names, so a failure there reproduces exactly on a developer's machine.
settings.register_profile("saw", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("saw"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "saw")

#: ToolCall-Synth options that keep a test run's data small.
SMALL_TASK_KWARGS = {"train_size": 40, "test_size": 12}


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """A small policy folder (a few SFT steps of our own build) for training tests; loads
    through from_pretrained by path, like any local model."""
    cache = tmp_path_factory.mktemp("cache")
    recipe = TinyRecipe(
        task="saw/ToolCall-Synth-v0", task_kwargs=SMALL_TASK_KWARGS, vocab_size=400,
        hidden_size=32, num_layers=1, num_heads=2, ffn_size=64, max_position=512, sft_steps=4,
        batch_size=8, eval_items=0,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAW_BENCH_CACHE", str(cache))
        return str(build_tiny_policy(recipe, progress=False))
