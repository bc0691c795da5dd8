"""Static weighting agents and the ObjectiveBatch contract."""

from __future__ import annotations

import numpy as np
import pytest

from saw_bench.core.errors import SawBenchError
from saw_bench.weighting import ObjectiveBatch, make_agent

REWARDS = np.array([[1.0, -3.0], [0.0, 3.0], [1.0, 0.5], [1.0, -1.0]])
BATCH = ObjectiveBatch(REWARDS, np.array([0, 0, 1, 1]), low=[0.0, -3.0], high=[1.0, 3.0])


def test_static_defaults_to_equal_weights():
    np.testing.assert_array_equal(make_agent("static").weights(BATCH), [1.0, 1.0])


def test_static_weights_are_rescaled_to_sum_to_k_and_times_priorities():
    agent = make_agent("static", weights=[3.0, 1.0])
    np.testing.assert_allclose(agent.weights(BATCH), [1.5, 0.5])
    prioritised = ObjectiveBatch(REWARDS, BATCH.group_ids, BATCH.low, BATCH.high, [1.0, 3.0])
    # (3 * 1, 1 * 3) -> equal
    np.testing.assert_allclose(agent.weights(prioritised), [1.0, 1.0])


def test_static_range_divides_by_the_span():
    # spans 1 and 6 -> (1, 1/6) rescaled to sum 2 -> (12/7, 2/7)
    np.testing.assert_allclose(make_agent("static-range").weights(BATCH), [12 / 7, 2 / 7])


def test_bad_agent_name_and_options_are_clear():
    with pytest.raises(SawBenchError, match="unknown weighting agent 'sawx'; choose one of"):
        make_agent("sawx")
    unknown_option = r"'static' has no option\(s\) \['wieghts'\]; its options: weights"
    with pytest.raises(SawBenchError, match=unknown_option):
        make_agent("static", wieghts=[1, 2])
    with pytest.raises(ValueError, match="finite and non-negative"):
        make_agent("static", weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="need 2 values"):
        make_agent("static", weights=[1.0, 1.0, 1.0]).weights(BATCH)


def test_objective_batch_checks_shapes():
    with pytest.raises(ValueError, match="low must have shape"):
        ObjectiveBatch(REWARDS, np.zeros(4), low=[0.0], high=[1.0, 3.0])
    with pytest.raises(ValueError, match="priorities must be 2 finite numbers"):
        ObjectiveBatch(REWARDS, np.zeros(4), [0, 0], [1, 1], priorities=[1.0, -2.0])
