"""Gradient-based agents (mgda, pcgrad, upgrad, drw-grad) on hand-built Gramians with answers
worked out by hand, and the trainer-side Gramian checked against an independent computation
(separate backward passes of a plainly written policy loss) on a tiny random Llama."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from saw_bench.core.errors import SawBenchError
from saw_bench.policy import completion_logprobs
from saw_bench.weighting import (
    AGENTS,
    ObjectiveBatch,
    gramian_parameters,
    make_agent,
    objective_advantages,
    objective_gramian,
)

GRADIENT_AGENTS = sorted(name for name, agent in AGENTS.items() if agent.needs_gramian)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core machine two threads waiting
    on each other made these tests 100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def batch_for(gradients=None, gramian=None, priorities=None, step=0):
    """An ObjectiveBatch whose Gramian comes from explicit gradient vectors (rows)."""
    if gramian is None:
        matrix = np.asarray(gradients, dtype=float)
        gramian = matrix @ matrix.T
    k = len(gramian)
    rewards = np.arange(4 * k, dtype=float).reshape(4, k)
    return ObjectiveBatch(
        rewards,
        np.zeros(4, int),
        np.zeros(k),
        np.ones(k) * 100,
        priorities,
        step,
        gramian=lambda: np.asarray(gramian, dtype=float),
    )


# ---------------------------------------------------------------------- the agents
def test_gradient_agents_are_registered_with_their_pass_plan():
    assert GRADIENT_AGENTS == ["drw-grad", "mgda", "pcgrad", "upgrad"]
    assert make_agent("drw-grad").separate_passes and make_agent("drw-grad").parameters == "full"
    for name in ("mgda", "pcgrad", "upgrad"):
        agent = make_agent(name)
        assert not agent.separate_passes and agent.parameters == "subset"


def test_mgda_weights_orthogonal_gradients_by_inverse_squared_norm():
    # g1 = (2, 0), g2 = (0, 1): min over a of |a g1 + (1 - a) g2|^2 = 4a^2 + (1 - a)^2,
    # zero derivative 8a - 2(1 - a) = 0 -> a = 1/5, i.e. alpha proportional to 1/|g_k|^2
    # = (1/4, 1). Times K = 2: (0.4, 1.6).
    weights = make_agent("mgda").weights(batch_for([[2.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(weights, [0.4, 1.6], rtol=1e-6)


def test_mgda_three_orthogonal_gradients():
    # norms 1, 2, 4: alpha proportional to (1, 1/4, 1/16) = (16, 4, 1) / 21; times K = 3.
    weights = make_agent("mgda").weights(batch_for(np.diag([1.0, 2.0, 4.0])))
    np.testing.assert_allclose(weights, np.array([16, 4, 1]) * 3 / 21, atol=1e-4)


@pytest.mark.parametrize("name", GRADIENT_AGENTS)
def test_identical_gradients_get_equal_weights(name):
    # every method: nothing to trade off. (MGDA's min-norm point is not unique here; the
    # agent's tie-break picks the uniform one instead of the first objective's vertex.)
    weights = make_agent(name).weights(batch_for([[1.0, -2.0, 0.5], [1.0, -2.0, 0.5]]))
    np.testing.assert_allclose(weights, [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("name", GRADIENT_AGENTS)
def test_a_zero_gramian_gives_equal_weights(name):
    weights = make_agent(name).weights(batch_for(gramian=np.zeros((3, 3))))
    np.testing.assert_allclose(weights, [1.0, 1.0, 1.0])


def test_pcgrad_projects_a_conflicting_pair():
    g1, g2 = np.array([1.0, 0.0]), np.array([-1.0, 1.0])  # g1 . g2 = -1 < 0: they conflict
    projected_1 = g1 - (g1 @ g2) / (g2 @ g2) * g2  # (1, 0) + (-1, 1) / 2 = (0.5, 0.5)
    projected_2 = g2 - (g2 @ g1) / (g1 @ g1) * g1  # (-1, 1) + (1, 0) = (0, 1)
    total = projected_1 + projected_2  # (0.5, 1.5) = 2 g1 + 1.5 g2
    coefficients = np.linalg.solve(np.column_stack([g1, g2]), total)
    np.testing.assert_allclose(coefficients, [2.0, 1.5])
    weights = make_agent("pcgrad").weights(batch_for([g1, g2]))
    np.testing.assert_allclose(weights, coefficients * 2 / coefficients.sum())  # (8/7, 6/7)


@pytest.mark.parametrize("name", ["pcgrad", "upgrad"])
def test_nothing_conflicts_so_the_weights_are_the_mean(name):
    rng = np.random.default_rng(0)
    gradients = rng.uniform(0.1, 3.0, size=(3, 20))  # positive entries: all dot products > 0
    gradients[2] *= 10  # unequal norms do not matter
    weights = make_agent(name).weights(batch_for(gradients))
    np.testing.assert_allclose(weights, [1.0, 1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("name", ["mgda", "upgrad"])
def test_the_combined_direction_conflicts_with_no_objective(name):
    rng = np.random.default_rng(1)
    gradients = rng.normal(size=(4, 6))
    gradients[1] = -0.8 * gradients[0] + 0.3 * rng.normal(size=6)  # a strong conflict
    weights = make_agent(name).weights(batch_for(gradients))
    assert np.all(weights >= 0) and weights.sum() == pytest.approx(4.0)
    direction = weights @ gradients
    assert np.all(gradients @ direction >= -1e-6 * np.linalg.norm(direction))


def test_priorities_stay_on_top_of_gradient_weights():
    weights = make_agent("mgda").weights(batch_for([[2.0, 0.0], [0.0, 1.0]], priorities=[4, 1]))
    # alpha (0.2, 0.8) times priorities (4, 1) = (0.8, 0.8): equal, rescaled to sum 2
    np.testing.assert_allclose(weights, [1.0, 1.0], rtol=1e-6)


def test_drw_grad_follows_its_update_rule_by_hand():
    # g1 = (2, 0), g2 = (-1/2, sqrt(3)/2): |g1|^2 = 4, |g2|^2 = 1, g1 . g2 = -1.
    gramian = [[4.0, -1.0], [-1.0, 1.0]]
    agent = make_agent("drw-grad", learning_rate=1e-7, max_grad_norm=None)
    # G 1 = (3, 0); lr / mu = 1e-7 / 1e-5 = 0.01 -> scores (0.03, 0). From log(1/2) each,
    # w1 = e^0.03 / (e^0.03 + 1) = 1 / (1 + e^-0.03) = 0.50749943755..., times K = 2.
    first = agent.weights(batch_for(gramian=gramian))
    np.testing.assert_allclose(first, [1.0149988751012406, 0.9850011248987594], rtol=1e-12)
    # the state carries over: another (0.03, 0) -> w1 = 1 / (1 + e^-0.06) = 0.51499550...
    second = agent.weights(batch_for(gramian=gramian, step=1))
    np.testing.assert_allclose(second[0], 1.02999100323882, rtol=1e-12)


def test_drw_grad_clips_each_gradient_before_the_gramian():
    # g1 = (3, 0), g2 = (0, 1/2). Unclipped: G 1 = (9, 0.25); lr / mu = 0.1 -> scores
    # (0.9, 0.025). Clipped to norm 1: g1 -> g1 / (3 + 1e-6), g2 unchanged (0.5 < 1), so
    # G 1 = (9 / 3.000001^2, 0.25) ~ (1, 0.25) -> scores (0.1, 0.025): w1 = 1 / (1 + e^-0.075).
    gramian = [[9.0, 0.0], [0.0, 0.25]]
    clipped = make_agent("drw-grad", learning_rate=1e-6).weights(batch_for(gramian=gramian))
    np.testing.assert_allclose(clipped[0], 2 / (1 + math.exp(-0.075)), rtol=1e-6)
    plain = make_agent("drw-grad", learning_rate=1e-6, max_grad_norm=None)
    np.testing.assert_allclose(
        plain.weights(batch_for(gramian=gramian))[0], 2 / (1 + math.exp(-0.875)), rtol=1e-12
    )


def test_drw_grad_state_dict_round_trip_gives_the_same_next_weights():
    gramian = [[4.0, -1.0, 0.5], [-1.0, 1.0, 0.0], [0.5, 0.0, 2.0]]
    agent = make_agent("drw-grad", learning_rate=1e-7)
    for step in range(3):
        agent.weights(batch_for(gramian=gramian, step=step))
    state = agent.state_dict()
    assert isinstance(state["log_weights"], list)
    restored = make_agent("drw-grad", learning_rate=1e-7)
    restored.load_state_dict(state)
    np.testing.assert_array_equal(
        restored.weights(batch_for(gramian=gramian, step=3)),
        agent.weights(batch_for(gramian=gramian, step=3)),
    )


def test_pcgrad_order_is_reproducible_and_leaves_the_global_rng_alone():
    rng = np.random.default_rng(2)
    gradients = rng.normal(size=(4, 5))
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    first = make_agent("pcgrad", seed=5).weights(batch_for(gradients, step=7))
    np.testing.assert_array_equal(torch.rand(3), expected_draw)
    second = make_agent("pcgrad", seed=5).weights(batch_for(gradients, step=7))
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("name", GRADIENT_AGENTS)
def test_without_a_gramian_the_agent_says_the_trainer_supplies_it(name):
    batch = ObjectiveBatch(np.ones((4, 2)), np.zeros(4, int), [0, 0], [1, 1])
    with pytest.raises(SawBenchError, match=f"{name} needs the policy-gradient Gramian"):
        make_agent(name).weights(batch)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("mgda", {"parameters": "last"}, "parameters must be one of 'subset', 'full'"),
        ("upgrad", {"parameters": "all"}, "but got 'all'"),
        ("mgda", {"epsilon": 0}, "epsilon must be positive"),
        ("drw-grad", {"mu": 0.0}, "mu must be a finite positive number"),
        ("drw-grad", {"learning_rate": -1}, "learning_rate must be"),
        ("drw-grad", {"max_grad_norm": 0}, "max_grad_norm must be positive or None"),
    ],
)
def test_bad_options_are_named(name, options, message):
    with pytest.raises(ValueError, match=message):
        make_agent(name, **options)


# ---------------------------------------------------------------------- the Gramian
def tiny_llama(tied: bool = True, layers: int = 2) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=100,
        max_position_embeddings=64,
        tie_word_embeddings=tied,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def rollouts():
    """6 rollouts (2 groups of 3): left-padded prompts of 5, completions of 7 with padding."""
    generator = torch.Generator().manual_seed(1)
    prompt = torch.randint(3, 100, (6, 5), generator=generator)
    completion = torch.randint(3, 100, (6, 7), generator=generator)
    prompt_mask = torch.ones(6, 5, dtype=torch.long)
    prompt_mask[0, :2] = 0
    prompt_mask[3, :1] = 0
    completion_mask = torch.ones(6, 7, dtype=torch.long)
    completion_mask[1, 4:] = 0
    completion_mask[4, 2:] = 0
    rewards = np.random.default_rng(3).normal(size=(6, 3))
    return {
        "sequences": torch.cat([prompt, completion], dim=1),
        "attention": torch.cat([prompt_mask, completion_mask], dim=1),
        "completion_mask": completion_mask.float(),
        "advantages": torch.as_tensor(
            objective_advantages(rewards, [0, 0, 0, 1, 1, 1]), dtype=torch.float32
        ),
    }


def model_logprobs(model, rollouts, temperature=0.7):
    """The Gramian's log-probabilities from the model's own forward (its LM head shareable)."""
    return lambda: completion_logprobs(
        model, rollouts["sequences"], rollouts["attention"], 7, temperature=temperature
    )


def reference_gramian(model, rollouts, names, temperature=1.0) -> np.ndarray:
    """K backward passes of sum_i A_ik mean_t logp_it / n (the same gradient as the policy loss
    at ratio 1), from the full logits, reading .grad of the named parameters."""
    sequences, attention = rollouts["sequences"], rollouts["attention"]
    mask, advantages = rollouts["completion_mask"], rollouts["advantages"]
    length = mask.shape[1]
    parameters = dict(model.named_parameters())
    gradients = []
    model.train()
    for k in range(advantages.shape[1]):
        model.zero_grad(set_to_none=True)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=sequences, attention_mask=attention, position_ids=positions).logits
        logprobs = torch.log_softmax(logits[:, -length - 1 : -1] / temperature, dim=-1)
        taken = logprobs.gather(-1, sequences[:, -length:, None]).squeeze(-1)
        per_sequence = (taken * mask).sum(1) / mask.sum(1)
        loss = -(per_sequence * advantages[:, k]).mean()
        loss.backward()
        gradients.append(torch.cat([parameters[name].grad.reshape(-1).double() for name in names]))
    model.zero_grad(set_to_none=True)
    model.eval()
    stacked = torch.stack(gradients)
    return (stacked @ stacked.T).numpy()


def test_advantages_are_each_objective_normalised_within_its_group():
    rewards = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0], [0.0, 7.0]])
    # group 0: column 0 = (1, 3): mean 2, unbiased std sqrt(2) -> -/+ 1 / (sqrt(2) + 1e-4)
    # (the estimators' eps); column 1 constant -> 0. Group 1 likewise.
    expected = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]]) / (math.sqrt(2) + 1e-4)
    advantages = objective_advantages(rewards, [0, 0, 1, 1])
    np.testing.assert_allclose(advantages, expected, rtol=1e-12)


def test_completion_logprobs_match_the_full_logits(rollouts):
    model = tiny_llama()
    sequences, attention = rollouts["sequences"], rollouts["attention"]
    with torch.no_grad():
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=sequences, attention_mask=attention, position_ids=positions).logits
        full = torch.log_softmax(logits[:, -8:-1] / 0.7, dim=-1)
        expected = full.gather(-1, sequences[:, -7:, None]).squeeze(-1)
        got = completion_logprobs(model, sequences, attention, 7, temperature=0.7)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tied", [True, False])
def test_the_subset_is_the_last_block_and_final_norm_without_embeddings(tied):
    model = tiny_llama(tied=tied)
    subset = [name for name, _ in gramian_parameters(model, "subset")]
    full = [name for name, _ in gramian_parameters(model, "full")]
    assert subset and all(n.startswith("model.layers.1.") for n in subset[:-1])
    assert subset[-1] == "model.norm.weight"
    assert not any("embed" in n or "lm_head" in n for n in subset)
    assert set(subset) < set(full) and "model.embed_tokens.weight" in full
    assert ("lm_head.weight" in full) == (not tied)


def test_without_a_block_list_the_subset_is_the_last_tenth_of_the_weights():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(10, 100), torch.nn.Linear(100, 100), torch.nn.Linear(100, 20)
    )
    subset = [name for name, _ in gramian_parameters(model, "subset")]
    assert subset == ["2.weight", "2.bias"]  # 2,020 of 13,220 weights: the first past 10%


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("parameters", ["subset", "full"])
@pytest.mark.parametrize("separate_passes", [False, True])
def test_gramian_matches_separate_backward_passes(rollouts, tied, parameters, separate_passes):
    # the cheap subset form shares the LM head's backward across objectives; the others do not
    model = tiny_llama(tied=tied)
    names = [name for name, _ in gramian_parameters(model, parameters)]
    expected = reference_gramian(model, rollouts, names, temperature=0.7)
    got = objective_gramian(
        model,
        rollouts["completion_mask"],
        rollouts["advantages"],
        model_logprobs(model, rollouts),
        parameters=parameters,
        separate_passes=separate_passes,
        share_head=True,
    )
    assert got.shape == (3, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(got, got.T, rtol=1e-12)
    assert not model.training  # the caller's mode is restored
    assert all(p.grad is None for p in model.parameters())  # and .grad left alone


@pytest.mark.parametrize("parameters", ["subset", "full"])
@pytest.mark.parametrize("separate_passes", [False, True])
def test_gramian_on_the_fast_path_matches_separate_backward_passes(
    rollouts, parameters, separate_passes
):
    """The trainer's fast log-probabilities (FastLlama) give the same Gramian as the
    reference's K backward passes through the module's own forward."""
    from saw_bench.training.rollouts import RolloutTensors

    model = tiny_llama(tied=False)
    names = [name for name, _ in gramian_parameters(model, parameters)]
    expected = reference_gramian(model, rollouts, names, temperature=0.7)
    tensors = RolloutTensors(
        sequences=rollouts["sequences"],
        attention=rollouts["attention"],
        completion_mask=rollouts["completion_mask"],
        prompts=rollouts["sequences"][:, :5],
        prompts_mask=rollouts["attention"][:, :5],
        prompt_index=torch.arange(6),
    )
    got = objective_gramian(
        model,
        rollouts["completion_mask"],
        rollouts["advantages"],
        lambda: tensors.logprobs(model, 0.7),
        parameters=parameters,
        separate_passes=separate_passes,
    )
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    assert all(p.grad is None for p in model.parameters())


def test_the_full_gramian_sees_more_than_the_subset(rollouts):
    model = tiny_llama()
    args = (
        model,
        rollouts["completion_mask"],
        rollouts["advantages"],
        model_logprobs(model, rollouts, temperature=1.0),
    )
    subset = objective_gramian(*args, parameters="subset")
    full = objective_gramian(*args, parameters="full")
    assert np.all(np.diag(subset) > 0) and np.all(np.diag(full) > np.diag(subset))


def test_gramian_rejects_mismatched_shapes(rollouts):
    model = tiny_llama()
    with pytest.raises(ValueError, match=r"objective_advantages must have shape \(6, K\)"):
        objective_gramian(
            model,
            rollouts["completion_mask"],
            rollouts["advantages"][:4],
            model_logprobs(model, rollouts),
        )
    with pytest.raises(ValueError, match=r"one value per completion token, shape \(6, 5\)"):
        objective_gramian(
            model,
            rollouts["completion_mask"][:, :5],
            rollouts["advantages"],
            model_logprobs(model, rollouts),
        )
