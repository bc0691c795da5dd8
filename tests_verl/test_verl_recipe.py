"""configs/verl: the SAW paper's tool-calling recipe composes with verl 0.9.1's own Hydra config
and passes verl's own config checks, so the shipped overrides cannot rot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import verl
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import validate_config

from saw_bench.integrations.verl import reset_weightings, weighting_for

RECIPE = Path(__file__).parents[1] / "configs" / "verl"
VERL_CONFIG = Path(verl.__file__).parent / "trainer" / "config"


def recipe_overrides() -> list[str]:
    """The overrides as train_toolrl.sh reads them: every line but comments and blank ones."""
    lines = (RECIPE / "toolrl-qwen2.5-1.5b.overrides").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    data = tmp_path_factory.mktemp("data") / "train.parquet"
    overrides = [f"data.train_files={data}", f"data.val_files={data}", *recipe_overrides()]
    with initialize_config_dir(config_dir=str(VERL_CONFIG), version_base=None):
        return compose(config_name="ppo_trainer", overrides=overrides)


def test_recipe_is_the_papers_tool_calling_setup(config):
    # REFERENCE: 512 prompts x 4 rollouts, mini-batch 128, lr 1e-6, clip 0.2, entropy 0.001,
    # KL 0.001 in the reward, temperature 1.0, prompt/response 2048/1024, 15 epochs
    actor, rollout = config.actor_rollout_ref.actor, config.actor_rollout_ref.rollout
    assert config.actor_rollout_ref.model.path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert (config.data.train_batch_size, rollout.n, actor.ppo_mini_batch_size) == (512, 4, 128)
    assert (actor.optim.lr, actor.clip_ratio, actor.entropy_coeff) == (1e-6, 0.2, 0.001)
    assert config.algorithm.use_kl_in_reward and config.algorithm.kl_ctrl.kl_coef == 0.001
    assert (config.data.max_prompt_length, config.data.max_response_length) == (2048, 1024)
    assert (rollout.temperature, config.trainer.total_epochs) == (1.0, 15)
    assert config.trainer.use_v1 is False


def test_recipe_weighs_with_saw_through_saw_bench(config):
    algorithm = config.algorithm
    assert algorithm.adv_estimator == "saw_bench_grpo"
    assert config.reward.custom_reward_function.path == "pkg://saw_bench.integrations.verl_data"
    reset_weightings()
    weighting = weighting_for(algorithm)
    assert weighting.agent.name == "saw" and weighting.keys == ("format", "correctness")
    np.testing.assert_array_equal(weighting.low, [0, -3])
    np.testing.assert_array_equal(weighting.high, [1, 3])


def test_recipe_passes_verls_own_config_checks(config):
    OmegaConf.resolve(config)
    validate_config(
        config=config,
        use_reference_policy=need_reference_policy(config),
        use_critic=need_critic(config),
    )


def test_launch_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(RECIPE / "train_toolrl.sh")], check=True)
