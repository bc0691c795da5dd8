"""saw-bench's weighting agents inside verl 0.9's advantage step, against verl's own functions.

Runs in the verl virtual environment (``tox -e verl``; verl pins transformers < 5.11). Every
call goes through verl's ``ray_trainer.compute_advantage``, as the legacy trainer makes it, on
a DataProto laid out as at the trainer's advantage step: prompts, responses, attention and
response masks, the summed score on each response's last token, a ``uid`` per prompt and one
``non_tensor_batch`` column per objective (what ``compute_score``'s keys become). The step
metrics go through ``ray_trainer.compute_data_metrics`` on that batch, as ``fit`` collects them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from verl import DataProto
from verl.trainer.ppo import core_algos, ray_trainer

from saw_bench.core.errors import SawBenchError
from saw_bench.integrations.verl import (
    METRICS_KEY,
    batch_agents,
    reset_weightings,
    weighting_for,
)
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.weighting import AGENTS, ObjectiveBatch, make_agent

KEYS = ["format", "correctness"]
LOW, HIGH = np.array([0.0, -3.0]), np.array([1.0, 3.0])
PROMPT_TOKENS, RESPONSE_TOKENS = 5, 7


def reward_batch(seed: int, groups: int = 16, group_size: int = 8, equal_lengths=False):
    """A random (n, 2) reward matrix (format in {0, 1}, mostly 1, correctness on a grid in
    [-3, 3], so groups have ties and some a zero spread) as verl's DataProto, and the matrix."""
    rng = np.random.default_rng(seed)
    n = groups * group_size
    rewards = np.stack(
        [
            (rng.random(n) < 0.9).astype(np.float32),  # nearly learned: SAW weighs it less
            rng.choice(np.linspace(-3, 3, 13), n).astype(np.float32),
        ],
        axis=1,
    )
    prompt_ids = [str(uuid.UUID(int=int(rng.integers(2**63)))) for _ in range(groups)]
    uids = np.repeat(prompt_ids, group_size)
    lengths = np.ones(n, int) if equal_lengths else rng.integers(1, RESPONSE_TOKENS + 1, n)
    response_mask = torch.as_tensor(np.arange(RESPONSE_TOKENS)[None, :] < lengths[:, None]).long()
    attention_mask = torch.cat([torch.ones(n, PROMPT_TOKENS, dtype=torch.long), response_mask], 1)
    scores = torch.zeros(n, RESPONSE_TOKENS)
    scores[torch.arange(n), torch.as_tensor(lengths - 1)] = torch.as_tensor(rewards.sum(1))
    data = DataProto.from_dict(
        tensors={
            "prompts": torch.ones(n, PROMPT_TOKENS, dtype=torch.long),
            "responses": torch.ones(n, RESPONSE_TOKENS, dtype=torch.long),
            "attention_mask": attention_mask,
            "response_mask": response_mask,
            "token_level_scores": scores,
            "token_level_rewards": scores.clone(),
        },
        non_tensors={"uid": uids.astype(object), KEYS[0]: rewards[:, 0], KEYS[1]: rewards[:, 1]},
    )
    return data, rewards.astype(np.float64), np.unique(uids, return_inverse=True)[1]


def advantages(data: DataProto, estimator: str, **algorithm) -> torch.Tensor:
    config = OmegaConf.create({"adv_estimator": estimator, **algorithm})
    out = ray_trainer.compute_advantage(data, adv_estimator=estimator, config=config)
    return out.batch["advantages"]


def options(weighting: str, **more):
    return {"gdpo_reward_keys": KEYS, "saw_bench": {"weighting": weighting, **more}}


TASK = {"task": "saw/ToolCall-Synth-v0"}


@pytest.fixture(autouse=True)
def fresh_agents():
    reset_weightings()


def last_token(values: torch.Tensor, data: DataProto) -> np.ndarray:
    lengths = data.batch["response_mask"].sum(-1)
    return values[torch.arange(len(values)), lengths - 1].double().numpy()


def test_the_estimators_are_registered_by_importing_verl():
    # nothing here imports saw_bench.integrations.verl_plugin: verl's entry points did
    assert core_algos.get_adv_estimator_fn("saw_bench_grpo").__name__ == "saw_bench_grpo_advantage"
    assert core_algos.get_adv_estimator_fn("saw_bench_gdpo").__name__ == "saw_bench_gdpo_advantage"
    assert hasattr(ray_trainer.compute_advantage, "saw_bench_original")
    assert hasattr(ray_trainer.compute_data_metrics, "saw_bench_original")


@pytest.mark.parametrize("seed", range(5))
def test_static_gdpo_equals_verls_gdpo(seed):
    ours = advantages(reward_batch(seed)[0], "saw_bench_gdpo", **options("static", **TASK))
    verls = advantages(reward_batch(seed)[0], "gdpo", gdpo_reward_keys=KEYS)
    assert ours.shape == verls.shape
    torch.testing.assert_close(ours, verls, atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", range(5))
def test_static_grpo_equals_verls_grpo(seed):
    ours = advantages(reward_batch(seed)[0], "saw_bench_grpo", **options("static", **TASK))
    verls = advantages(reward_batch(seed)[0], "grpo")
    torch.testing.assert_close(ours, verls, atol=1e-6, rtol=0)


def test_in_reward_kl_penalty_reaches_saw_bench_grpo_as_verls_grpo():
    data, _, _ = reward_batch(7)
    penalty = 0.01 * torch.randn_like(data.batch["token_level_scores"])
    penalty = penalty * data.batch["response_mask"]
    data.batch["token_level_rewards"] = data.batch["token_level_scores"] - penalty
    reference = DataProto.from_dict(
        tensors=dict(data.batch.items()), non_tensors=dict(data.non_tensor_batch.items())
    )
    ours = advantages(data, "saw_bench_grpo", **options("static", **TASK))
    torch.testing.assert_close(ours, advantages(reference, "grpo"), atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", range(3))
def test_saw_grpo_equals_saw_bench_agent_and_estimator(seed):
    data, rewards, groups = reward_batch(seed)
    bounds = {"reward_bounds": np.stack([LOW, HIGH], 1).tolist()}
    grpo = ESTIMATORS["grpo"]
    verl_name = grpo.verl_options["algorithm.adv_estimator"]
    ours = last_token(advantages(data, verl_name, **options("saw", **bounds)), data)
    weights = make_agent("saw").weights(ObjectiveBatch(rewards, groups, LOW, HIGH))
    assert not np.allclose(weights, 1.0, atol=0.05)  # SAW moves them off equal weights
    # verl's group epsilon is 1e-6 (saw-bench's default is 1e-4); every group has 8 rollouts
    # (verl keeps a lone rollout's raw reward, saw-bench gives it 0)
    np.testing.assert_allclose(ours, grpo.function(rewards, groups, weights, eps=1e-6), atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_saw_gdpo_equals_saw_bench_agent_and_estimator(seed):
    # Apples to apples: one response token per row, so verl's whitening over tokens is the
    # per-sequence batch normalisation (the same Bessel-corrected variance over n values) and
    # eps 1e-6 is verl's group epsilon. Left: verl divides by sqrt(var + 1e-8), saw-bench by
    # std + eps, a relative difference below 1.01e-6 / std: under 1e-5 for these |A| < 5.
    data, rewards, groups = reward_batch(seed, equal_lengths=True)
    gdpo = ESTIMATORS["gdpo"]
    verl_name = gdpo.verl_options["algorithm.adv_estimator"]
    ours = last_token(advantages(data, verl_name, **options("saw", **TASK)), data)
    weights = make_agent("saw").weights(ObjectiveBatch(rewards, groups, LOW, HIGH))
    expected = gdpo.function(rewards, groups, weights, eps=1e-6)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    equal = gdpo.function(rewards, groups, np.ones(2), eps=1e-6)
    assert np.abs(expected - equal).max() > 1e-2  # the weights change the advantages


def test_priorities_from_gdpo_reward_weights_stay_on_top_of_saw():
    data, rewards, groups = reward_batch(11)
    config = OmegaConf.create({**options("saw", **TASK), "gdpo_reward_weights": [3.0, 1.0]})
    advantages(data, "saw_bench_grpo", **config)
    expected = make_agent("saw").weights(ObjectiveBatch(rewards, groups, LOW, HIGH, [3.0, 1.0]))
    np.testing.assert_allclose(weighting_for(config).history[-1][1], expected, rtol=1e-12)


def test_every_batch_agent_weighs_inside_verl_and_keeps_its_state():
    names = batch_agents()
    assert set(names) == {n for n, agent in AGENTS.items() if not agent.needs_gramian}
    for name in names:
        config = OmegaConf.create(options(name, **TASK))
        for step in range(2):
            data, rewards, groups = reward_batch(20 + step)
            advantages(data, "saw_bench_gdpo", **config)
        history = weighting_for(config).history
        assert [step for step, _ in history[-2:]] == [0, 1]
        assert np.isclose(history[-1][1].sum(), 2.0)
    # saw-ema's second step averages both steps' CVs: not SAW's weights on the second batch
    ema = weighting_for(OmegaConf.create(options("saw-ema", **TASK))).history[-1][1]
    saw = weighting_for(OmegaConf.create(options("saw", **TASK))).history[-1][1]
    assert not np.allclose(ema, saw)


def step_metrics(data: DataProto) -> dict[str, float]:
    """The legacy trainer's data metrics for the batch, as it collects them after the update."""
    return ray_trainer.compute_data_metrics(batch=data, use_critic=False)


@pytest.mark.parametrize("estimator", ["grpo", "gdpo"])
@pytest.mark.parametrize("weighting", ["saw", "saw-ema", "rlw"])
def test_each_steps_weights_reach_verls_step_metrics(estimator, weighting):
    verl_name = ESTIMATORS[estimator].verl_options["algorithm.adv_estimator"]
    agent = make_agent(weighting)  # saw-bench's own agent, fed the same matrices
    for step in range(2):
        data, rewards, groups = reward_batch(30 + step)
        advantages(data, verl_name, **options(weighting, **TASK))
        expected = agent.weights(ObjectiveBatch(rewards, groups, LOW, HIGH, step=step))
        metrics = step_metrics(data)
        ours = {name: value for name, value in metrics.items() if name.startswith("saw_bench/")}
        names = [f"saw_bench/weights/{key}" for key in KEYS]
        assert ours == pytest.approx(dict(zip(names, expected, strict=True)), rel=1e-12)
        # verl's own metrics are there, unchanged
        verls = ray_trainer.compute_data_metrics.saw_bench_original(batch=data, use_critic=False)
        assert {name: metrics[name] for name in verls} == verls


@pytest.mark.parametrize("estimator", ["grpo", "gdpo", "rloo"])
def test_verls_own_estimators_add_no_saw_bench_metrics(estimator):
    data, _, _ = reward_batch(4)
    advantages(data, estimator, gdpo_reward_keys=KEYS)
    assert METRICS_KEY not in data.meta_info
    metrics = step_metrics(data)
    assert "critic/advantages/mean" in metrics
    assert not [name for name in metrics if name.startswith("saw_bench")]


def test_the_weights_in_meta_info_travel_to_the_workers():
    # the trainer sends the batch, meta_info included, to the actor update as a TensorDict
    data, _, _ = reward_batch(2)
    advantages(data, "saw_bench_gdpo", **options("saw", **TASK))
    sent = data.to_tensordict().chunk(2)[1]
    assert sent[METRICS_KEY] == data.meta_info[METRICS_KEY]
    assert len(data.meta_info[METRICS_KEY]) == len(KEYS)


@pytest.mark.parametrize(
    ("algorithm", "message"),
    [
        (options("mgda", **TASK), "needs one policy gradient per objective"),
        (options("saw"), "give the rewards' bounds"),
        (options("saw", reward_bounds=[[0, 1]]), "need as many algorithm.gdpo_reward_keys"),
        (options("saw", reward_bounds=[[0, 1], [3, -3]]), "low < high"),
        (options("saw", task="saw/ToolCall-Synth-v0", colour="red"), "no option(s) ['colour']"),
        ({**options("saw", **TASK), "gdpo_reward_keys": ["format", "speed"]}, "not objectives"),
        (options("nonesuch", **TASK), "unknown weighting agent 'nonesuch'"),
    ],
)
def test_bad_options_are_one_clear_error(algorithm, message):
    with pytest.raises(SawBenchError) as caught:
        advantages(reward_batch(0)[0], "saw_bench_gdpo", **algorithm)
    assert message in str(caught.value)


def test_missing_components_name_the_keys_and_the_v1_trainer():
    data, _, _ = reward_batch(0)
    data.non_tensor_batch.pop("correctness")
    with pytest.raises(SawBenchError, match=r"reward key\(s\) \['correctness'\]"):
        advantages(data, "saw_bench_gdpo", **options("saw", **TASK))
    # verl's v1 trainer calls the estimator without the components
    data, _, _ = reward_batch(0)
    with pytest.raises(SawBenchError, match="trainer.use_v1=False"):
        core_algos.get_adv_estimator_fn("saw_bench_grpo")(
            token_level_rewards=data.batch["token_level_rewards"],
            response_mask=data.batch["response_mask"],
            index=data.non_tensor_batch["uid"],
            config=OmegaConf.create(options("saw", **TASK)),
        )


def test_other_estimators_go_through_verls_function_unchanged():
    data, _, _ = reward_batch(3)
    original = ray_trainer.compute_advantage.saw_bench_original
    reference = DataProto.from_dict(
        tensors=dict(data.batch.items()), non_tensors=dict(data.non_tensor_batch.items())
    )
    config = OmegaConf.create({"adv_estimator": "rloo"})
    ours = ray_trainer.compute_advantage(data, adv_estimator="rloo", config=config)
    verls = original(reference, adv_estimator="rloo", config=config)
    torch.testing.assert_close(ours.batch["advantages"], verls.batch["advantages"])


def test_without_the_entry_point_verl_use_external_modules_registers_them():
    check = (
        "import verl\n"
        "from verl.trainer.ppo import core_algos\n"
        "print(sorted(n for n in core_algos.ADV_ESTIMATOR_REGISTRY if n.startswith('saw')))\n"
    )
    plain = {**os.environ, "VERL_USE_EXTERNAL_PLUGINS": "none"}
    plain.pop("VERL_USE_EXTERNAL_MODULES", None)
    explicit = {**plain, "VERL_USE_EXTERNAL_MODULES": "saw_bench.integrations.verl_plugin"}
    found = [
        subprocess.run(
            [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for env in (plain, explicit)
    ]
    assert found == ["[]", "['saw_bench_gdpo', 'saw_bench_grpo']"]
