"""Comparing runs: bootstrap intervals, loading run folders, and the comparison table, checked on
hand-made run folders whose numbers were worked out by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.analysis import compare
from saw_bench.harness.report import compare_command
from saw_bench.harness.runs import load_runs
from saw_bench.harness.statistics import bootstrap_ci, first_reaching, normalised_auc

OBJECTIVES = [{"name": "a", "low": 0.0, "high": 1.0}, {"name": "b", "low": 0.0, "high": 10.0}]


def write_run(
    folder: Path,
    agent: str,
    seed: int,
    curve: list[tuple[int, float]],
    *,
    scores: list[tuple[float, float]] | None = None,
    seconds_per_eval_step: float = 1.5,
    seconds: tuple[float, float] = (2.0, 0.01),
    weights: dict[str, list[float]] | None = None,
    steps: int = 30,
    finished: bool = True,
    options: dict | None = None,
    priorities: list[float] | None = None,
    task_id: str = "saw/Toy-v0",
    estimator: str = "grpo",
) -> Path:
    """A fake but valid run folder. ``curve`` is (step, aggregate) with both objectives at the
    same normalised score (a = aggregate, b = 10 x aggregate) unless ``scores`` gives (a, b)
    per eval row. ``seconds`` is (total, weight) per training step."""
    folder.mkdir(parents=True)
    config = {
        "train": {
            "task": task_id,
            "estimator": estimator,
            "weighting": agent,
            "weighting_kwargs": options or {},
            "seed": seed,
            "priorities": priorities,
            "steps": steps,
        },
        "task_id": task_id,
        "objectives": [dict(o, description="", direction="maximize") for o in OBJECTIVES],
        "agent": {"name": agent, "needs_gramian": False},
    }
    (folder / "config.json").write_text(json.dumps(config))
    with open(folder / "eval.jsonl", "w") as stream:
        for index, (step, aggregate) in enumerate(curve):
            a, b = scores[index] if scores else (aggregate, 10 * aggregate)
            row = {
                "step": step,
                "wall_seconds": step * seconds_per_eval_step,
                "items": 8,
                "objectives": {"a": a, "b": b},
                "normalised": aggregate,
                "seconds": 0.1,
            }
            stream.write(json.dumps(row) + "\n")
    with open(folder / "metrics.jsonl", "w") as stream:
        total, weight = seconds
        for step in range(1, steps + 1):
            row = {
                "step": step,
                "wall_seconds": step * total,
                "tokens": 100,
                "seconds": {
                    "generate": total - weight,
                    "score": 0.0,
                    "weight": weight,
                    "update": 0.0,
                    "total": total,
                },
                "objectives": {
                    name: {
                        "mean": 0.5,
                        "std": 0.1,
                        "cv": 0.2,
                        "advantage_share": 0.5,
                        "weight": (weights[name][step - 1] if weights else 1.0),
                    }
                    for name in ("a", "b")
                },
            }
            stream.write(json.dumps(row) + "\n")
    if finished:
        (folder / "summary.json").write_text(json.dumps({"steps": steps}))
    return folder


def hand_made_sweep(root: Path) -> Path:
    """Static (2 seeds) and saw (3 seeds, one censored) on one task; worked numbers in the
    tests below."""
    runs = root / "runs"
    write_run(runs / "static-s0", "static", 0, [(0, 0.2), (10, 0.4), (20, 0.5), (30, 0.5)])
    write_run(runs / "static-s1", "static", 1, [(0, 0.2), (10, 0.3), (20, 0.4), (30, 0.5)])
    saw = {"seconds": (2.2, 0.05), "seconds_per_eval_step": 2.0}
    write_run(runs / "saw-s0", "saw", 0, [(0, 0.3), (10, 0.45), (20, 0.6), (30, 0.7)], **saw)
    write_run(runs / "saw-s1", "saw", 1, [(0, 0.3), (10, 0.4), (20, 0.44), (30, 0.449)], **saw)
    write_run(runs / "saw-s2", "saw", 2, [(0, 0.3), (10, 0.4), (20, 0.5), (30, 0.6)], **saw)
    (root / "sweep.json").write_text("{}")
    return root


def row_of(comparison, agent: str) -> pd.Series:
    rows = comparison.table[comparison.table.agent == agent]
    assert len(rows) == 1
    return rows.iloc[0]


# ---------------------------------------------------------------------- bootstrap
def test_bootstrap_of_identical_values_collapses_to_the_value():
    assert bootstrap_ci([0.25, 0.25, 0.25, 0.25]) == (0.25, 0.25, 0.25)


def test_bootstrap_of_one_value_gives_the_value_and_no_interval():
    mean, low, high = bootstrap_ci([0.7])
    assert mean == 0.7 and math.isnan(low) and math.isnan(high)


def test_bootstrap_of_two_values_spans_both_ends():
    # resampled means of [0, 1] are 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the 2.5% and
    # 97.5% percentiles of 10,000 resamples are exactly 0 and 1
    assert bootstrap_ci([0.0, 1.0]) == (0.5, 0.0, 1.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [([], "at least one value"), ([0.1, float("nan")], "finite"), ([float("inf")], "finite")],
)
def test_bootstrap_rejects_empty_and_non_finite_values(values, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ci(values)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"confidence": 1.0}, "confidence must be in"),
        ({"confidence": 0}, "got 0"),
        ({"resamples": 0}, "resamples must be a positive integer, but got 0"),
    ],
)
def test_bootstrap_rejects_bad_confidence_and_resamples(options, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_ci([0.1, 0.2], **options)


def test_bootstrap_equals_numpy_percentiles_of_the_documented_resampling():
    values = np.array([0.31, 0.52, 0.47, 0.60, 0.38])
    draws = np.random.default_rng(7).integers(0, 5, size=(10_000, 5))
    means = values[draws].mean(axis=1)
    expected_low, expected_high = np.percentile(means, [2.5, 97.5])
    mean, low, high = bootstrap_ci(values, seed=7)
    assert mean == pytest.approx(0.456)
    assert (low, high) == (pytest.approx(expected_low), pytest.approx(expected_high))


def test_bootstrap_agrees_with_an_independent_resampler():
    values = [0.31, 0.52, 0.47, 0.60, 0.38, 0.44]
    rng = np.random.default_rng(12345)
    means = [np.mean(rng.choice(values, size=len(values), replace=True)) for _ in range(20_000)]
    expected_low, expected_high = np.percentile(means, [5, 95])
    _, low, high = bootstrap_ci(values, confidence=0.9, resamples=20_000, seed=1)
    # Monte Carlo error of these percentiles is about 0.001
    assert low == pytest.approx(expected_low, abs=0.006)
    assert high == pytest.approx(expected_high, abs=0.006)


def test_bootstrap_is_deterministic_for_a_seed():
    values = [0.1, 0.4, 0.35, 0.8]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)


def test_bootstrap_interval_shrinks_with_more_seeds():
    few = bootstrap_ci([0.2, 0.6] * 2)
    many = bootstrap_ci([0.2, 0.6] * 20)
    assert few[0] == many[0] == pytest.approx(0.4)
    assert many[2] - many[1] < (few[2] - few[1]) / 2


finite_values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=2, max_size=12
)


@given(finite_values, st.integers(0, 2**32 - 1))
def test_bootstrap_interval_holds_the_mean_and_lies_within_the_values(values, seed):
    mean, low, high = bootstrap_ci(values, resamples=500, seed=seed)
    slack = 1e-9 * (1 + max(abs(v) for v in values))
    assert min(values) - slack <= low <= mean + slack
    assert mean - slack <= high <= max(values) + slack
    assert mean == pytest.approx(sum(values) / len(values), abs=slack)


@given(finite_values, st.floats(min_value=-100, max_value=100))
def test_bootstrap_shifts_with_the_values(values, shift):
    base = bootstrap_ci(values, resamples=300)
    moved = bootstrap_ci([v + shift for v in values], resamples=300)
    slack = 1e-8 * (1 + max(abs(v) for v in values) + abs(shift))
    for before, after in zip(base, moved, strict=True):
        assert after == pytest.approx(before + shift, abs=slack)


# ---------------------------------------------------------------------- curves
def test_normalised_auc_of_a_hand_made_trapezoid():
    # area: rise 0 -> 1 over 10 steps (5) + flat at 1 for 10 steps (10) = 15, over a span of 20
    assert normalised_auc([0, 10, 20], [0.0, 1.0, 1.0]) == pytest.approx(0.75)
    # uneven spacing: 2 x (0.2 + 0.6) / 2 + 8 x (0.6 + 0.6) / 2 = 0.8 + 4.8 = 5.6, over 10
    assert normalised_auc([0, 2, 10], [0.2, 0.6, 0.6]) == pytest.approx(0.56)
    assert math.isnan(normalised_auc([5], [0.4]))


@given(
    st.lists(st.floats(0, 1), min_size=2, max_size=20),
    st.lists(st.integers(1, 50), min_size=19, max_size=19),
)
def test_normalised_auc_lies_between_the_lowest_and_highest_point(values, gaps):
    steps = np.concatenate([[0], np.cumsum(gaps[: len(values) - 1])])
    auc = normalised_auc(steps, values)
    assert min(values) - 1e-12 <= auc <= max(values) + 1e-12


@given(st.floats(0, 1), st.integers(2, 10))
def test_normalised_auc_of_a_constant_curve_is_the_constant(value, points):
    assert normalised_auc(list(range(0, 10 * points, 10)), [value] * points) == pytest.approx(value)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20), st.floats(0, 1))
def test_first_reaching_is_the_first_point_at_or_above_the_threshold(values, threshold):
    expected = next((i for i, value in enumerate(values) if value >= threshold), None)
    assert first_reaching(values, threshold) == expected


# ---------------------------------------------------------------------- loading
def test_load_runs_finds_runs_in_a_sweep_and_reports_unfinished_ones(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    write_run(root / "runs" / "saw-s3", "saw", 3, [(0, 0.3)], steps=4, finished=False)
    # a Hugging Face checkpoint inside a run holds a config.json of its own: not a run
    model = root / "runs" / "saw-s0" / "checkpoint" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}')
    loaded = load_runs([root, root / "runs" / "saw-s0"])  # the second path repeats a run
    assert sorted(run.path.name for run in loaded.runs) == [
        "saw-s0",
        "saw-s1",
        "saw-s2",
        "static-s0",
        "static-s1",
    ]
    assert [s.path.name for s in loaded.skipped] == ["saw-s3"]
    assert "no summary.json" in loaded.skipped[0].reason
    assert "last recorded step 4" in loaded.skipped[0].reason


def test_a_run_folder_path_loads_that_run(tmp_path):
    folder = write_run(tmp_path / "one", "static", 4, [(0, 0.1), (10, 0.2)])
    (run,) = load_runs(folder).runs
    assert (run.task_id, run.estimator, run.agent, run.seed) == ("saw/Toy-v0", "grpo", "static", 4)
    assert run.evaluations.step.tolist() == [0, 10]


def test_a_torn_last_line_is_ignored(tmp_path):
    folder = write_run(tmp_path / "run", "static", 0, [(0, 0.1), (10, 0.2)])
    with open(folder / "eval.jsonl", "a") as stream:
        stream.write('{"step": 20, "wall_sec')  # killed mid-write
    with open(folder / "metrics.jsonl", "a") as stream:
        stream.write('{"step": 31, "seco\n')  # torn, then a newline
    (run,) = load_runs(folder).runs
    assert run.evaluations.step.tolist() == [0, 10]
    assert len(run.metrics) == 30


def test_a_corrupt_line_inside_a_jsonl_file_names_the_file_and_line(tmp_path):
    folder = write_run(tmp_path / "run", "static", 0, [(0, 0.1), (10, 0.2), (20, 0.3)])
    lines = (folder / "eval.jsonl").read_text().splitlines()
    lines[1] = "{not json"
    (folder / "eval.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(SawBenchError, match=r"eval\.jsonl line 2 is not valid JSON"):
        load_runs(folder)


def test_a_corrupt_config_names_the_file(tmp_path):
    folder = write_run(tmp_path / "run", "static", 0, [(0, 0.1)])
    (folder / "config.json").write_text('{"train": ')
    with pytest.raises(SawBenchError, match=r"run/config\.json is not readable JSON"):
        load_runs(tmp_path)


def test_a_finished_run_without_eval_rows_names_the_file(tmp_path):
    folder = write_run(tmp_path / "run", "static", 0, [(0, 0.1)])
    (folder / "eval.jsonl").unlink()
    with pytest.raises(SawBenchError, match=r"run/eval\.jsonl is missing"):
        load_runs(folder)
    (folder / "eval.jsonl").write_text("")
    with pytest.raises(SawBenchError, match=r"eval\.jsonl has no evaluation rows"):
        load_runs(folder)


def test_an_eval_row_without_an_objective_names_row_and_objective(tmp_path):
    folder = write_run(tmp_path / "run", "static", 0, [(0, 0.1)])
    (folder / "eval.jsonl").write_text('{"step": 0, "wall_seconds": 0, "objectives": {"a": 1}}\n')
    with pytest.raises(SawBenchError, match=r"eval\.jsonl row 1 has no score for objective 'b'"):
        load_runs(folder)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(SawBenchError, match="nowhere does not exist"):
        load_runs([tmp_path / "nowhere"])


def test_the_aggregate_uses_the_bounds_and_priorities(tmp_path):
    # a = 0.2 on [0, 1] -> 0.2; b = 8 on [0, 10] -> 0.8
    scores = [(0.2, 8.0)]
    plain = write_run(tmp_path / "plain", "static", 0, [(0, 0.0)], scores=scores)
    weighted = write_run(
        tmp_path / "weighted", "static", 0, [(0, 0.0)], scores=scores, priorities=[3, 1]
    )
    runs = {run.path.name: run for run in load_runs(tmp_path).runs}
    assert runs[plain.name].evaluations["aggregate"].tolist() == [pytest.approx(0.5)]
    # (3 x 0.2 + 1 x 0.8) / 4 = 0.35
    assert runs[weighted.name].evaluations["aggregate"].tolist() == [pytest.approx(0.35)]


def test_priorities_of_the_wrong_length_are_named(tmp_path):
    write_run(tmp_path / "run", "static", 0, [(0, 0.1)], priorities=[1, 2, 3])
    with pytest.raises(SawBenchError, match=r"priorities must be 2 non-negative.*\[1, 2, 3\]"):
        load_runs(tmp_path)


# ---------------------------------------------------------------------- comparing
@pytest.fixture
def hand_made(tmp_path):
    return compare(load_runs(hand_made_sweep(tmp_path / "sweep")))


def test_threshold_is_static_start_plus_the_fraction_of_its_gain(hand_made):
    # static starts 0.2 and 0.2, finals 0.5 and 0.5: threshold 0.2 + 0.9 x (0.5 - 0.2) = 0.47
    assert row_of(hand_made, "static").threshold == pytest.approx(0.47)
    assert row_of(hand_made, "saw").threshold == pytest.approx(0.47)


def test_threshold_uses_the_mean_start_and_final_over_static_seeds(tmp_path):
    # starts 0.1 and 0.3 (mean 0.2), finals 0.6 and 0.4 (mean 0.5): 0.2 + 0.5 x 0.3 = 0.35
    write_run(tmp_path / "s0", "static", 0, [(0, 0.1), (10, 0.6)])
    write_run(tmp_path / "s1", "static", 1, [(0, 0.3), (10, 0.4)])
    comparison = compare(load_runs(tmp_path), threshold_fraction=0.5)
    assert row_of(comparison, "static").threshold == pytest.approx(0.35)
    assert not comparison.notes


def test_a_static_run_that_does_not_improve_gets_a_note(tmp_path):
    write_run(tmp_path / "s0", "static", 0, [(0, 0.5), (10, 0.4)])
    comparison = compare(load_runs(tmp_path))
    static = row_of(comparison, "static")
    assert static.threshold == pytest.approx(0.41)  # 0.5 + 0.9 x (0.4 - 0.5)
    assert static.steps_to_threshold == 0.0
    assert any("did not rise (0.500 -> 0.400)" in note for note in comparison.notes)


def test_threshold_stays_above_a_start_that_a_fraction_of_the_final_would_not(tmp_path):
    # start 0.6, final 0.64 (a saturated objective): 0.9 x 0.64 = 0.576 lies below the start;
    # the gain rule gives 0.6 + 0.9 x 0.04 = 0.636, reached at step 20 only
    write_run(tmp_path / "s0", "static", 0, [(0, 0.6), (10, 0.62), (20, 0.64)])
    static = row_of(compare(load_runs(tmp_path)), "static")
    assert static.threshold == pytest.approx(0.636)
    assert static.steps_to_threshold == pytest.approx(20.0)


def test_steps_to_threshold_averages_only_the_seeds_that_reach_it(hand_made):
    saw = row_of(hand_made, "saw")
    # threshold 0.47: seeds 0 and 2 pass it at step 20 (0.6 and 0.5); seed 1 peaks at 0.449
    assert (saw.threshold_reached, saw.threshold_censored) == (2, 1)
    assert saw.steps_to_threshold == pytest.approx(20.0)
    assert (saw.steps_to_threshold_low, saw.steps_to_threshold_high) == (20.0, 20.0)
    # seconds: eval wall_seconds = 2 x step -> 40 and 40
    assert saw.seconds_to_threshold == pytest.approx(40.0)
    static = row_of(hand_made, "static")
    # static passes 0.47 at step 20 (seed 0: 0.5) and step 30 (seed 1); wall_seconds 1.5 x step
    assert (static.threshold_reached, static.threshold_censored) == (2, 0)
    assert static.steps_to_threshold == pytest.approx(25.0)
    assert static.seconds_to_threshold == pytest.approx(37.5)


def test_final_scores_per_objective_and_aggregate(hand_made):
    static = row_of(hand_made, "static")
    assert (static.final_a, static.final_a_low, static.final_a_high) == (0.5, 0.5, 0.5)
    assert static.final_b == pytest.approx(5.0)
    saw = row_of(hand_made, "saw")
    # finals 0.7, 0.449, 0.6
    assert saw.final_aggregate == pytest.approx((0.7 + 0.449 + 0.6) / 3)
    assert saw.final_b == pytest.approx(10 * (0.7 + 0.449 + 0.6) / 3)
    assert 0.449 <= saw.final_aggregate_low < saw.final_aggregate < saw.final_aggregate_high <= 0.7
    assert saw.seeds == 3 and saw.seed_list == "0 1 2"


def test_auc_is_the_mean_over_seeds_of_each_normalised_area(hand_made):
    # static seed 0: (3 + 4.5 + 5) / 30 = 12.5 / 30; seed 1: (2.5 + 3.5 + 4.5) / 30 = 10.5 / 30
    static = row_of(hand_made, "static")
    assert static.auc == pytest.approx((12.5 / 30 + 10.5 / 30) / 2)
    assert static.auc_low == pytest.approx(10.5 / 30)
    assert static.auc_high == pytest.approx(12.5 / 30)


def test_overheads_against_static(hand_made):
    saw = row_of(hand_made, "saw")
    assert saw.seconds_per_step == pytest.approx(2.2)
    assert saw.step_time_ratio == pytest.approx(2.2 / 2.0)
    # 1 + (0.05 - 0.01) / 2.0
    assert saw.weighting_overhead == pytest.approx(1.02)
    static = row_of(hand_made, "static")
    assert (static.step_time_ratio, static.weighting_overhead) == (1.0, 1.0)


def test_without_a_static_run_there_is_no_threshold_and_it_says_so(tmp_path):
    write_run(tmp_path / "saw-s0", "saw", 0, [(0, 0.3), (10, 0.6)])
    comparison = compare(load_runs(tmp_path))
    saw = row_of(comparison, "saw")
    assert math.isnan(saw.threshold) and pd.isna(saw.threshold_reached)
    assert math.isnan(saw.steps_to_threshold) and math.isnan(saw.step_time_ratio)
    assert any("no run of the static agent" in note for note in comparison.notes)
    assert "no threshold" in comparison.format_table()


def test_an_absolute_threshold_needs_no_static_run(tmp_path):
    write_run(tmp_path / "saw-s0", "saw", 0, [(0, 0.3), (10, 0.6), (20, 0.7)])
    write_run(tmp_path / "saw-s1", "saw", 1, [(0, 0.3), (10, 0.5), (20, 0.65)])
    saw = row_of(compare(load_runs(tmp_path), absolute_threshold=0.55), "saw")
    # seed 0 reaches 0.55 at step 10 (0.6), seed 1 at step 20 (0.65)
    assert saw.threshold == 0.55
    assert saw.steps_to_threshold == pytest.approx(15.0)
    assert (saw.threshold_reached, saw.threshold_censored) == (2, 0)


def test_a_never_reached_threshold_is_censored_not_averaged(tmp_path):
    write_run(tmp_path / "static-s0", "static", 0, [(0, 0.2), (10, 0.8)])
    write_run(tmp_path / "low-s0", "rlw", 0, [(0, 0.2), (10, 0.3)])
    write_run(tmp_path / "low-s1", "rlw", 1, [(0, 0.2), (10, 0.4)])
    comparison = compare(load_runs(tmp_path))
    low = row_of(comparison, "rlw")
    assert (low.threshold_reached, low.threshold_censored) == (0, 2)
    assert math.isnan(low.steps_to_threshold) and math.isnan(low.seconds_to_threshold)
    assert "0/2" in comparison.format_table()


def test_runs_group_by_agent_options_and_priorities(tmp_path):
    write_run(tmp_path / "s0", "static", 0, [(0, 0.2), (10, 0.5)])
    write_run(tmp_path / "s1", "static", 1, [(0, 0.2), (10, 0.5)])
    write_run(tmp_path / "w0", "static", 0, [(0, 0.2), (10, 0.6)], options={"weights": [1, 3]})
    write_run(tmp_path / "p0", "static", 0, [(0, 0.2), (10, 0.7)], priorities=[2, 1])
    write_run(tmp_path / "g0", "static", 0, [(0, 0.2), (10, 0.8)], estimator="gdpo")
    comparison = compare(load_runs(tmp_path))
    table = comparison.table.set_index(["estimator", "agent"])
    assert sorted(table.index) == [
        ("gdpo", "static"),
        ("grpo", "static"),
        ("grpo", "static p=[2, 1]"),
        ("grpo", "static{weights=[1, 3]}"),
    ]
    assert table.loc[("grpo", "static"), "seeds"] == 2
    # the weights=[1, 3] group is measured against default static (0.2 + 0.9 x 0.3)
    assert table.loc[("grpo", "static{weights=[1, 3]}"), "threshold"] == pytest.approx(0.47)
    # priorities change the aggregate, so that group is its own reference (0.2 + 0.9 x 0.5)
    assert table.loc[("grpo", "static p=[2, 1]"), "threshold"] == pytest.approx(0.65)
    assert table.loc[("gdpo", "static"), "threshold"] == pytest.approx(0.74)


def test_a_group_mixing_other_settings_gets_a_note(tmp_path):
    write_run(tmp_path / "s0", "static", 0, [(0, 0.2), (10, 0.5)], steps=30)
    write_run(tmp_path / "s1", "static", 1, [(0, 0.2), (10, 0.5)], steps=40)
    notes = compare(load_runs(tmp_path)).notes
    assert any("differ in steps" in note for note in notes)


@pytest.mark.parametrize("fraction", [0, 1.5, -0.2])
def test_threshold_fraction_outside_zero_one_is_rejected(hand_made, fraction):
    with pytest.raises(
        SawBenchError, match=f"threshold fraction must be in \\(0, 1\\], but got {fraction}"
    ):
        compare(hand_made.runs, threshold_fraction=fraction)


def test_format_table_shows_mean_and_interval(hand_made):
    text = hand_made.format_table()
    assert "threshold: static's start + 0.9 x its mean gain = 0.470" in text
    assert "0.500 [0.500, 0.500]" in text  # static's final a and aggregate
    assert "2/3" in text and "20 [20, 20]" in text  # saw: reached, steps to threshold
    assert "1.0200" in text  # saw's weighting overhead


def test_to_csv_writes_every_number(hand_made, tmp_path):
    path = hand_made.to_csv(tmp_path / "out" / "table.csv")
    table = pd.read_csv(path)
    saw = table[table.agent == "saw"].iloc[0]
    assert saw.steps_to_threshold == pytest.approx(20.0)
    assert saw.threshold_censored == 1
    assert saw.weighting_overhead == pytest.approx(1.02)


# ---------------------------------------------------------------------- the CLI's function
def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_compare_command_writes_into_a_new_folder_of_its_own_and_leaves_the_inputs(
    tmp_path, monkeypatch
):
    root = hand_made_sweep(tmp_path / "sweep")
    write_run(tmp_path / "runs" / "one", "static", 0, [(0, 0.2), (10, 0.5)])
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = compare_command([str(root), str(tmp_path / "runs" / "one")])
    second = compare_command([str(root)])
    assert snapshot(root) == {
        k.removeprefix("sweep/"): v for k, v in before.items() if k.startswith("sweep/")
    }
    assert {
        k: v for k, v in snapshot(tmp_path).items() if not k.startswith("comparisons/")
    } == before
    folders = sorted((tmp_path / "comparisons").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("compare-") for f in folders)
    for folder, text in zip(folders, (first, second), strict=True):
        assert sorted(p.name for p in folder.iterdir()) == ["comparison.csv", "comparison.png"]
        assert (folder / "comparison.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert f"table: {Path('comparisons') / folder.name / 'comparison.csv'}" in text
    assert "20 [20, 20]" in second


def test_compare_command_writes_where_out_says(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    before = snapshot(root)
    text = compare_command([str(root)], out=tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == [
        "comparison.csv",
        "comparison.png",
    ]
    assert str(tmp_path / "mine" / "comparison.csv") in text
    assert snapshot(root) == before


def test_compare_command_honours_explicit_paths(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    csv, png = tmp_path / "elsewhere" / "t.csv", tmp_path / "elsewhere" / "c.png"
    compare_command([str(root)], csv=str(csv), png=str(png), threshold=0.5)
    assert pd.read_csv(csv).threshold.tolist() == [pytest.approx(0.35)] * 2  # 0.2 + 0.5 x 0.3
    assert png.is_file()


def test_compare_command_errors_name_the_bad_value(tmp_path):
    root = hand_made_sweep(tmp_path / "sweep")
    with pytest.raises(SawBenchError, match=r"--threshold must be in \(0, 1\], but got 1.2"):
        compare_command([str(root)], None, None, 1.2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SawBenchError, match="no run folders"):
        compare_command([str(tmp_path / "empty")], None, None, 0.9)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SawBenchError, match="cannot write .*a-file/t.csv"):
        compare_command([str(root)], str(blocker / "t.csv"), None, 0.9)


def test_compare_command_with_only_unfinished_runs_says_so(tmp_path):
    write_run(tmp_path / "r", "static", 0, [(0, 0.2)], finished=False)
    with pytest.raises(SawBenchError, match="no finished runs .* 1 unfinished"):
        compare_command([str(tmp_path)], None, None, 0.9)


def test_curve_band_is_the_per_step_mean_with_a_bootstrap_band(tmp_path):
    write_run(tmp_path / "s0", "static", 0, [(0, 0.2), (10, 0.4), (20, 0.5)])
    write_run(tmp_path / "s1", "static", 1, [(0, 0.2), (10, 0.3), (20, 0.4), (30, 0.6)])
    (group,) = compare(load_runs(tmp_path)).groups
    curve = group.curve("aggregate")
    assert curve.step.tolist() == [0, 10, 20, 30]
    assert curve["mean"].tolist() == pytest.approx([0.2, 0.35, 0.45, 0.6])
    # two seeds: resampled means take the lower value, the midpoint and the upper value with
    # probability 1/4, 1/2, 1/4, so the 95% band runs from one seed's value to the other's
    assert curve.low.tolist()[:3] == pytest.approx([0.2, 0.3, 0.4])
    assert curve.high.tolist()[:3] == pytest.approx([0.2, 0.4, 0.5])
    # step 30 has one seed: its value, no band
    assert curve.seeds.tolist() == [2, 2, 2, 1]
    assert math.isnan(curve.low.iloc[3]) and math.isnan(curve.high.iloc[3])
    assert group.curve("b")["mean"].tolist() == pytest.approx([2.0, 3.5, 4.5, 6.0])


def test_weight_curve_comes_from_the_metrics_rows(tmp_path):
    write_run(
        tmp_path / "s0",
        "saw",
        0,
        [(0, 0.2)],
        steps=3,
        weights={"a": [0.5, 0.5, 0.4], "b": [1.5, 1.5, 1.6]},
    )
    write_run(
        tmp_path / "s1",
        "saw",
        1,
        [(0, 0.2)],
        steps=3,
        weights={"a": [1.5, 0.7, 0.6], "b": [0.5, 1.3, 1.4]},
    )
    (group,) = compare(load_runs(tmp_path)).groups
    curve = group.weight_curve("a")
    assert curve.step.tolist() == [1, 2, 3]
    assert curve["mean"].tolist() == pytest.approx([1.0, 0.6, 0.5])
    assert curve.low.tolist() == pytest.approx([0.5, 0.5, 0.4])
    assert curve.high.tolist() == pytest.approx([1.5, 0.7, 0.6])


def test_difference_from_static_is_paired_by_seed_with_its_minimum_detectable_effect(tmp_path):
    """static ends at 0.50, 0.60, 0.70 (seeds 0-2); saw at 0.55, 0.62, 0.78 plus a seed 3 that
    static lacks. Paired differences +0.05, +0.02, +0.08: mean +0.05; the MDE comes from
    static's spread (standard deviation 0.1) at 3 seeds."""
    from scipy import stats

    for seed, final in enumerate((0.5, 0.6, 0.7)):
        write_run(tmp_path / f"static{seed}", "static", seed, [(0, 0.2), (30, final)])
    for seed, final in enumerate((0.55, 0.62, 0.78, 0.9)):
        write_run(tmp_path / f"saw{seed}", "saw", seed, [(0, 0.2), (30, final)])
    table = compare(load_runs([tmp_path])).table.set_index("agent")
    assert table.loc["saw", "vs_static"] == pytest.approx(0.05)
    # the paired t interval: 0.05 -/+ t(0.975, 2) x 0.03 / sqrt(3) (a bootstrap: [0.02, 0.08])
    low, high = stats.t.interval(0.95, 2, loc=0.05, scale=stats.sem([0.05, 0.02, 0.08]))
    assert table.loc["saw", "vs_static_low"] == pytest.approx(low)
    assert table.loc["saw", "vs_static_high"] == pytest.approx(high)
    assert table.loc["saw", "paired_seeds"] == 3
    expected_mde = (stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)) * math.sqrt(2) * 0.1 / math.sqrt(3)
    assert table.loc["saw", "mde"] == pytest.approx(expected_mde)
    assert table.loc["static", "mde"] == pytest.approx(expected_mde)
    assert math.isnan(table.loc["static", "vs_static"])
    text = compare_command([str(tmp_path)], None, None, 0.9)
    assert f"+0.050 [{low:+.3f}, {high:+.3f}]" in text
    assert f"{expected_mde:.3f}" in text


def test_without_static_runs_the_note_names_the_flag_that_gives_a_threshold(tmp_path, capsys):
    from saw_bench.cli import main

    root = hand_made_sweep(tmp_path / "sweep")
    for run in (root / "runs").glob("static-*"):
        for file in run.iterdir():
            file.unlink()
        run.rmdir()
    assert main(["compare", str(root), "--out", str(tmp_path / "c")]) == 0
    assert "compare --absolute-threshold X" in capsys.readouterr().out
    argv = ["compare", str(root), "--out", str(tmp_path / "c"), "--absolute-threshold", "0.45"]
    assert main(argv) == 0
    (saw,) = pd.read_csv(tmp_path / "c" / "comparison.csv").itertuples()
    # seeds reach 0.45 at steps 10 and 20; the third (0.449 at the end) never does
    assert saw.threshold == 0.45
    assert (saw.threshold_reached, saw.threshold_censored) == (2, 1)
    assert saw.steps_to_threshold == pytest.approx(15.0)


def test_runs_of_other_weights_do_not_pair_with_static_and_a_note_says_so(tmp_path):
    """static trained revision aaa, saw revision bbb: the same seeds, but other weights, so no
    difference from static, and the note names both policies."""

    def set_policy(folder: Path, revision: str) -> None:
        config = json.loads((folder / "config.json").read_text())
        config["model"] = {"name": "tiny/toy-v0-0123456789ab", "revision": revision}
        (folder / "config.json").write_text(json.dumps(config))

    for seed in range(3):
        set_policy(
            write_run(tmp_path / f"static{seed}", "static", seed, [(0, 0.2), (30, 0.5)]), "aaa"
        )
        set_policy(write_run(tmp_path / f"saw{seed}", "saw", seed, [(0, 0.2), (30, 0.6)]), "bbb")
    comparison = compare(load_runs([tmp_path]))
    table = comparison.table.set_index("agent")
    assert math.isnan(table.loc["saw", "vs_static"]) and table.loc["saw", "paired_seeds"] == 0
    assert (
        "saw/Toy-v0 grpo saw: trained tiny/toy-v0-0123456789ab (revision bbb), static "
        "tiny/toy-v0-0123456789ab (revision aaa): runs of different weights cannot pair, so it "
        "is not compared with static"
    ) in comparison.notes
    # the same revision pairs again
    for seed in range(3):
        set_policy(tmp_path / f"saw{seed}", "aaa")
    table = compare(load_runs([tmp_path])).table.set_index("agent")
    assert table.loc["saw", "vs_static"] == pytest.approx(0.1)
