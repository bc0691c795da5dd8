"""SAW and its variants against hand-worked numbers and an independent computation of the
formulas (written out with plain Python statistics, not the agents' NumPy code)."""

from __future__ import annotations

import copy
import statistics

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from saw_bench.weighting import ObjectiveBatch, make_agent

LOW, HIGH = [0.0, -3.0], [1.0, 3.0]  # tool calling: format, correctness


def batch(rewards, groups=None, low=LOW, high=HIGH, priorities=None, step=0):
    rewards = np.asarray(rewards, dtype=float)
    groups = np.zeros(len(rewards), int) if groups is None else np.asarray(groups)
    return ObjectiveBatch(rewards, groups, low, high, priorities, step)


def reference_saw(rewards, low, shift=True, delta=1e-8):
    """SAW from the paper's text, one objective at a time with the statistics module."""
    columns = list(zip(*rewards, strict=True))
    cvs = []
    for k, column in enumerate(columns):
        values = [v - low[k] + delta for v in column] if shift else list(column)
        mean = statistics.fmean(values)
        std = statistics.stdev(values)  # unbiased
        cvs.append(std / ((mean if shift else abs(mean)) + delta))
    total = sum(cvs)
    shares = [cv / total for cv in cvs] if total > 1e-8 else [1 / len(cvs)] * len(cvs)
    return [len(cvs) * share for share in shares]


HAND = [[1, -3], [1, 3], [1, 0], [0, 1]]


def test_saw_on_a_hand_worked_batch():
    # format: mean 0.75, unbiased std 0.5 -> CV 2/3.  correctness + 3 = [0, 6, 3, 4]:
    # mean 3.25, std 2.5 -> CV 10/13.  Shares 13/28 and 15/28, times K = 2.
    np.testing.assert_allclose(make_agent("saw").weights(batch(HAND)), [13 / 14, 15 / 14])


def test_nearly_learned_objective_gets_a_smaller_weight():
    # format right in 15 of 16 rollouts: low CV, so its weight falls well below equal
    rng = np.random.default_rng(0)
    rewards = np.column_stack([[1.0] * 15 + [0.0], rng.uniform(-3, 3, 16)])
    weights = make_agent("saw").weights(batch(rewards))
    assert weights[0] < 0.75 < 1.25 < weights[1]
    np.testing.assert_allclose(weights, reference_saw(rewards.tolist(), LOW), rtol=1e-12)


def test_priorities_stay_on_top_of_the_dynamic_weights():
    plain = make_agent("saw").weights(batch(HAND))
    prioritised = make_agent("saw").weights(batch(HAND, priorities=[3.0, 1.0]))
    expected = np.array([13 / 28 * 3, 15 / 28]) * 2 / (13 / 28 * 3 + 15 / 28)
    np.testing.assert_allclose(prioritised, expected)
    assert prioritised[0] / prioritised[1] == pytest.approx(3 * plain[0] / plain[1])


def test_constant_rewards_fall_back_to_equal_weights():
    for name in ("saw", "saw-group", "saw-ema", "saw-noshift", "saw-floor"):
        np.testing.assert_allclose(make_agent(name).weights(batch([[1, 2]] * 4)), [1.0, 1.0])


def test_noshift_uses_the_raw_mean():
    # correctness raw mean 0.25, std 2.5 -> CV 10; format CV 2/3
    weights = make_agent("saw-noshift").weights(batch(HAND))
    np.testing.assert_allclose(weights, reference_saw(HAND, LOW, shift=False))
    np.testing.assert_allclose(weights, np.array([2 / 3, 10]) * 2 / (2 / 3 + 10))


def test_shift_changes_the_weights_but_scale_does_not():
    rewards = np.array(HAND, dtype=float)
    base = make_agent("saw").weights(batch(rewards))
    scaled = make_agent("saw").weights(batch(rewards * [1, 10], low=[0.0, -30.0], high=[1.0, 30.0]))
    np.testing.assert_allclose(scaled, base, rtol=1e-6)
    shifted_bound = make_agent("saw").weights(batch(rewards, low=[0.0, -6.0], high=[1.0, 3.0]))
    assert not np.allclose(shifted_bound, base, rtol=1e-3)


def test_group_variant_averages_within_group_cvs():
    rewards = [[1, -3], [1, 3], [1, 0], [0, 1]]
    groups = [0, 0, 1, 1]
    # group 0: format [1, 1] CV 0; correctness+3 [0, 6] mean 3 std sqrt(18) -> CV sqrt(2)
    # group 1: format [1, 0] mean .5 std sqrt(.5) -> CV sqrt(2); correctness+3 [3, 4]:
    #          mean 3.5, std sqrt(.5) -> CV sqrt(.5) / 3.5
    cv_format = (0 + np.sqrt(2)) / 2
    cv_correctness = (np.sqrt(2) + np.sqrt(0.5) / 3.5) / 2
    expected = np.array([cv_format, cv_correctness]) * 2 / (cv_format + cv_correctness)
    np.testing.assert_allclose(make_agent("saw-group").weights(batch(rewards, groups)), expected)


def test_ema_smooths_across_steps_and_its_state_round_trips():
    first, second = np.array(HAND, float), np.array([[0, -3], [1, -3], [0, 3], [1, 3]], float)
    agent = make_agent("saw-ema", beta=0.75)
    agent.weights(batch(first))
    restored = make_agent("saw-ema")
    restored.load_state_dict(copy.deepcopy(agent.state_dict()))

    def cvs(rows):
        values = rows - np.array(LOW) + 1e-8
        return values.std(axis=0, ddof=1) / (values.mean(axis=0) + 1e-8)

    average = 0.75 * cvs(first) + 0.25 * cvs(second)
    expected = average * 2 / average.sum()
    np.testing.assert_allclose(agent.weights(batch(second)), expected)
    np.testing.assert_allclose(restored.weights(batch(second)), expected)


def test_floor_keeps_every_objective_above_its_share():
    rewards = np.column_stack([[1.0] * 31 + [0.0], np.linspace(-3, 3, 32)])
    plain = make_agent("saw").weights(batch(rewards)) / 2
    floored = make_agent("saw-floor", floor=0.3).weights(batch(rewards)) / 2
    np.testing.assert_allclose(floored, 0.3 + 0.4 * plain)
    assert floored.min() >= 0.3 - 1e-12
    with pytest.raises(ValueError, match="summing to at most 1"):
        make_agent("saw-floor", floor=0.6).weights(batch(rewards))


def test_rlw_is_random_per_step_but_reproducible():
    agent = make_agent("rlw", seed=4)
    draws = [agent.weights(batch(HAND, step=step)) for step in range(5)]
    assert not np.allclose(draws[0], draws[1])
    np.testing.assert_allclose(make_agent("rlw", seed=4).weights(batch(HAND, step=3)), draws[3])
    z = np.random.default_rng([4, 2]).standard_normal(2)
    np.testing.assert_allclose(draws[2], 2 * np.exp(z) / np.exp(z).sum())


reward_matrices = st.integers(1, 6).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.lists(
            st.lists(st.floats(-5, 5, allow_nan=False), min_size=k, max_size=k),
            min_size=2,
            max_size=24,
        ),
    )
)


@pytest.mark.parametrize(
    "name",
    ["saw", "saw-group", "saw-ema", "saw-floor", "saw-noshift", "rlw", "static", "static-range"],
)
@given(data=reward_matrices)
def test_weights_are_finite_non_negative_and_sum_to_k(name, data):
    k, rows = data
    rewards = np.asarray(rows)
    low, high = np.full(k, -5.0), np.full(k, 5.0)
    groups = np.arange(len(rows)) // 2
    agent = make_agent(name, floor=0.5 / k) if name == "saw-floor" else make_agent(name)
    weights = agent.weights(batch(rewards, groups, low, high))
    assert weights.shape == (k,)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    assert weights.sum() == pytest.approx(k)


@given(data=reward_matrices, scale=st.floats(0.1, 100))
def test_saw_is_invariant_to_rescaling_one_objective_with_its_bounds(data, scale):
    k, rows = data
    rewards = np.asarray(rows)
    low, high = np.full(k, -5.0), np.full(k, 5.0)
    assume(np.all(rewards.std(axis=0) > 1e-3))
    base = make_agent("saw").weights(batch(rewards, None, low, high))
    factor = np.ones(k)
    factor[0] = scale
    rescaled = make_agent("saw").weights(batch(rewards * factor, None, low * factor, high * factor))
    np.testing.assert_allclose(rescaled, base, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(base, reference_saw(rewards.tolist(), low), rtol=1e-9, atol=1e-12)
