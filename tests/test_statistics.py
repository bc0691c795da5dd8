"""Multiplicity corrections and the paired t-test's p-value, against statsmodels and scipy and
against examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from saw_bench.harness.statistics import (
    benjamini_hochberg,
    holm,
    paired_t_ci,
    paired_t_p_value,
)

RNG = np.random.default_rng(26)
P_VALUE_SETS = [
    [0.01, 0.04, 0.03, 0.005, 0.5, 0.04],  # ties
    [0.0, 1.0, 0.2],  # the ends of [0, 1]
    [0.03],  # a family of one is not adjusted
    [0.012286, 0.842057, 0.681019, 0.34374, 0.547786, 0.899757],
    RNG.uniform(0, 0.1, size=12).tolist(),
    RNG.uniform(0, 1, size=64).tolist(),
]


@pytest.mark.parametrize("p_values", P_VALUE_SETS)
def test_holm_matches_statsmodels_multipletests(p_values):
    expected = multipletests(p_values, alpha=0.05, method="holm")[1]
    assert holm(p_values) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("p_values", P_VALUE_SETS)
def test_benjamini_hochberg_matches_statsmodels_multipletests(p_values):
    expected = multipletests(p_values, alpha=0.05, method="fdr_bh")[1]
    assert benjamini_hochberg(p_values) == pytest.approx(expected, abs=1e-12)


def test_holm_by_hand_keeps_the_adjusted_values_in_step_down_order():
    """Sorted: 0.001, 0.025, 0.03, 0.5; times 4, 3, 2, 1: 0.004, 0.075, 0.06, 0.5; the running
    maximum lifts 0.06 to 0.075. Returned in the order given."""
    assert holm([0.001, 0.03, 0.025, 0.5]) == pytest.approx([0.004, 0.075, 0.075, 0.5])


def test_benjamini_hochberg_by_hand_takes_the_minimum_from_the_largest_down():
    """Sorted: 0.001, 0.025, 0.03, 0.5; times 4 / rank: 0.004, 0.05, 0.04, 0.5; the running
    minimum from the top lowers 0.05 to 0.04. Returned in the order given."""
    assert benjamini_hochberg([0.001, 0.03, 0.025, 0.5]) == pytest.approx([0.004, 0.04, 0.04, 0.5])


def test_corrections_cap_at_one_take_no_values_and_refuse_values_outside_zero_one():
    assert holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([]) == [] and benjamini_hochberg([]) == []
    for correct in (holm, benjamini_hochberg):
        for bad in ([0.1, 1.2], [-0.1], [math.nan]):
            with pytest.raises(ValueError, match="p-values must lie in \\[0, 1\\]"):
                correct(bad)


@pytest.mark.parametrize(
    "differences",
    [
        [0.05, 0.02, 0.08],
        [0.05, 0.035, 0.065],
        [0.012, -0.001, 0.012, 0.054, -0.003],
        [-0.2, -0.1],
        RNG.normal(0.01, 0.03, size=10).tolist(),
    ],
)
def test_paired_t_p_value_matches_scipys_one_sample_test(differences):
    expected = stats.ttest_1samp(differences, 0.0).pvalue
    assert paired_t_p_value(differences) == pytest.approx(expected, rel=1e-9)


def test_paired_t_p_value_of_two_agents_matches_scipys_paired_test():
    saw = [0.61, 0.58, 0.66, 0.6, 0.63]
    static = [0.6, 0.55, 0.61, 0.61, 0.6]
    differences = [a - b for a, b in zip(saw, static, strict=True)]
    expected = stats.ttest_rel(saw, static).pvalue
    assert paired_t_p_value(differences) == pytest.approx(expected, rel=1e-9)


def test_p_below_five_percent_exactly_when_the_95_percent_interval_excludes_zero():
    for _ in range(200):
        differences = RNG.normal(0.02, 0.03, size=int(RNG.integers(2, 8))).tolist()
        _, low, high = paired_t_ci(differences)
        assert (paired_t_p_value(differences) < 0.05) == (low > 0 or high < 0)


def test_paired_t_p_value_without_spread_or_with_one_value():
    assert paired_t_p_value([0.05, 0.05, 0.05]) == 0.0  # every seed moved the same way
    assert paired_t_p_value([-0.1, -0.1 + 1e-17, -0.1]) == 0.0
    assert paired_t_p_value([0.0, 0.0, 0.0]) == 1.0
    assert math.isnan(paired_t_p_value([0.3]))
    for bad, message in (([], "at least one"), ([0.1, math.inf], "finite")):
        with pytest.raises(ValueError, match=message):
            paired_t_p_value(bad)
