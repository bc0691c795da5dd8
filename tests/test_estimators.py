"""GRPO and GDPO advantages on hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saw_bench.training.estimators import ESTIMATORS, gdpo_advantages, grpo_advantages

# Two prompts, two rollouts each, two binary objectives.
# Prompt 0: (1, 0) and (0, 0).  Prompt 1: (1, 1) and (0, 0).
REWARDS = np.array([[1, 0], [0, 0], [1, 1], [0, 0]], dtype=float)
GROUPS = np.array([0, 0, 1, 1])
EQUAL = np.ones(2)


def test_grpo_collapses_different_reward_combinations():
    # sums: [1, 0] and [2, 0]; unbiased group stds 1/sqrt(2) and sqrt(2)
    # (1 - 0.5) / 0.7071 = 0.7071 and (2 - 1) / 1.4142 = 0.7071: the same advantage for
    # satisfying one objective and for satisfying both.
    advantages = grpo_advantages(REWARDS, GROUPS, EQUAL)
    expected = [
        0.5 / (math.sqrt(0.5) + 1e-4),
        -0.5 / (math.sqrt(0.5) + 1e-4),
        1.0 / (math.sqrt(2) + 1e-4),
        -1.0 / (math.sqrt(2) + 1e-4),
    ]
    np.testing.assert_allclose(advantages, expected, rtol=1e-9)
    assert advantages[0] == pytest.approx(advantages[2], rel=1e-3)


def test_gdpo_keeps_the_combinations_apart():
    # per objective, group-normalised: objective 0 -> [+a, -a, +a, -a] with a = 0.5 / 0.7071;
    # objective 1 -> [0, 0, +a, -a]. Sums: [a, -a, 2a, -2a]; batch mean 0, unbiased std
    # sqrt((a^2 + a^2 + 4a^2 + 4a^2) / 3) = a * sqrt(10 / 3).
    a = 0.5 / (math.sqrt(0.5) + 1e-4)
    sums = np.array([a, -a, 2 * a, -2 * a])
    expected = sums / (a * math.sqrt(10 / 3) + 1e-4)
    np.testing.assert_allclose(gdpo_advantages(REWARDS, GROUPS, EQUAL), expected, rtol=1e-9)
    advantages = gdpo_advantages(REWARDS, GROUPS, EQUAL)
    assert advantages[2] > advantages[0] * 1.9


def test_grpo_weights_apply_at_the_reward_level():
    # weights (2, 0): only objective 0 counts; prompt 1 then looks like prompt 0
    advantages = grpo_advantages(REWARDS, GROUPS, np.array([2.0, 0.0]))
    np.testing.assert_allclose(advantages[:2], advantages[2:], rtol=1e-9)
    # scaling all weights changes nothing but eps effects
    np.testing.assert_allclose(
        grpo_advantages(REWARDS, GROUPS, EQUAL),
        grpo_advantages(REWARDS, GROUPS, 3 * EQUAL),
        rtol=1e-3,
    )


def test_gdpo_weights_apply_at_the_advantage_level():
    # weights (0, 2): objective 1 only; prompt 0 has no variance in it, so its rollouts get 0
    advantages = gdpo_advantages(REWARDS, GROUPS, np.array([0.0, 2.0]))
    assert advantages[0] == pytest.approx(advantages[1]) and advantages[2] > 0 > advantages[3]


def test_constant_group_gets_zero_advantage():
    rewards = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(grpo_advantages(rewards, GROUPS, EQUAL)[:2], [0.0, 0.0])


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="need 2 weights"):
        grpo_advantages(REWARDS, GROUPS, np.ones(3))
    with pytest.raises(ValueError, match="group_ids"):
        gdpo_advantages(REWARDS, GROUPS[:3], EQUAL)


def test_each_estimator_record_holds_its_function_description_and_trl_options():
    """One record per name; the TRL options are TRL 1.16's GRPOConfig names for the same
    aggregation (GRPO: sum the rewards, then normalise; GDPO: normalise each, then sum)."""
    assert list(ESTIMATORS) == ["grpo", "gdpo"]
    grpo, gdpo = ESTIMATORS["grpo"], ESTIMATORS["gdpo"]
    assert (grpo.name, grpo.function, gdpo.name, gdpo.function) == (
        "grpo",
        grpo_advantages,
        "gdpo",
        gdpo_advantages,
    )
    assert "GRPO" in grpo.description and "GDPO" in gdpo.description
    assert grpo.trl_options == {
        "multi_objective_aggregation": "sum_then_normalize",
        "scale_rewards": "group",
    }
    assert gdpo.trl_options == {
        "multi_objective_aggregation": "normalize_then_sum",
        "scale_rewards": "group",
    }
    # the estimators saw_bench.integrations.verl registers (tested with verl in tests_verl/)
    assert grpo.verl_options == {"algorithm.adv_estimator": "saw_bench_grpo"}
    assert gdpo.verl_options == {"algorithm.adv_estimator": "saw_bench_gdpo"}
