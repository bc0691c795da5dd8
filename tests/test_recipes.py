"""configs/: the SAW paper's tool-calling recipe as a `run --config` file is a valid run config
with the paper's numbers (the verl recipe is checked against verl itself in tests_verl/)."""

from __future__ import annotations

from pathlib import Path

from saw_bench.cli import load_config_file
from saw_bench.training import TrainConfig

RECIPE = Path(__file__).parents[1] / "configs" / "trl" / "toolrl-qwen2.5-1.5b.toml"


def test_trl_recipe_is_a_run_config_with_the_papers_numbers(tmp_path):
    options = load_config_file(RECIPE)
    options["task_kwargs"] = {"data_path": str(tmp_path)}  # what --set task_kwargs=... does
    config = TrainConfig(**options)
    # REFERENCE (SAW paper, tool calling): Qwen2.5-1.5B-Instruct on ToolRL's rlla_4k, 512
    # prompts x 4 rollouts, lr 1e-6, clip 0.2, KL 0.001, temperature 1.0, 1024 new tokens,
    # about 105 steps
    assert (config.task, config.model) == ("saw/ToolCall-ToolRL-v0", "Qwen/Qwen2.5-1.5B-Instruct")
    assert (config.backend, config.weighting, config.estimator) == ("trl", "saw", "grpo")
    assert (config.prompts_per_step, config.group_size, config.steps) == (512, 4, 105)
    assert (config.learning_rate, config.clip_eps, config.kl_coef) == (1e-6, 0.2, 0.001)
    assert (config.temperature, config.max_new_tokens) == (1.0, 1024)
