"""The asynchrony index on hand-made run folders (objectives a in [0, 1] and b in [0, 10], from
tests/test_analysis.py), with every expected number worked out by hand."""

from __future__ import annotations

import math
import re

import pytest
from test_analysis import write_run

from saw_bench.cli import main
from saw_bench.core.errors import SawBenchError
from saw_bench.harness.diagnose import diagnose

STEPS = [0, 10, 20, 30]


def run_with(tmp_path, a: list[float], b: list[float]):
    curve = [(step, 0.5) for step in STEPS[: len(a)]]
    return write_run(tmp_path / "run", "saw", 0, curve, scores=list(zip(a, b, strict=True)))


def test_the_index_is_the_spread_of_the_steps_to_90_percent_of_each_gain(tmp_path, capsys):
    # a: 0.2 -> 0.9, gain 0.7, 90% at 0.83: first reached at step 20 (0.85)
    # b: 0 -> 9 of 10, normalised 0 -> 0.9, gain 0.9, 90% at 0.81: first reached at step 30
    folder = run_with(tmp_path, [0.2, 0.8, 0.85, 0.9], [0.0, 1.0, 2.0, 9.0])
    diagnosis = diagnose(folder)
    curves = {curve.name: curve for curve in diagnosis.objectives}
    assert curves["a"].gain == pytest.approx(0.7)
    assert curves["b"].gain == pytest.approx(0.9)
    assert (curves["a"].step_to_90, curves["b"].step_to_90) == (20, 30)
    assert diagnosis.index == pytest.approx((30 - 20) / 30)
    assert curves["b"].values == pytest.approx((0.0, 0.1, 0.2, 0.9))
    assert main(["diagnose", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "asynchrony index: 0.333" in printed
    assert re.search(r"^b +\+0\.900 +30$", printed, re.MULTILINE)
    assert re.search(r"^30 +0\.900 +0\.900$", printed, re.MULTILINE)


def test_objectives_learned_together_have_index_zero(tmp_path):
    folder = run_with(tmp_path, [0.1, 0.9, 0.9, 0.9], [1.0, 9.0, 9.0, 9.0])
    assert diagnose(folder).index == 0.0


def test_with_one_learned_objective_the_index_is_undefined_and_says_why(tmp_path):
    folder = run_with(tmp_path, [0.2, 0.5, 0.8, 0.9], [5.0, 5.0, 5.05, 5.0])
    diagnosis = diagnose(folder)
    assert math.isnan(diagnosis.index)
    assert [c.step_to_90 for c in diagnosis.objectives] == [30, None]
    assert "undefined (1 of 2 objectives gained at least 0.01; it needs two)" in diagnosis.text()


def test_a_run_with_one_evaluation_is_a_clear_error(tmp_path, capsys):
    folder = run_with(tmp_path, [0.2], [1.0])
    with pytest.raises(SawBenchError, match="1 held-out evaluation"):
        diagnose(folder)
    assert main(["diagnose", str(folder)]) == 2
    assert "needs at least two" in capsys.readouterr().err
