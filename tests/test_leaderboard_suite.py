"""The findings' cross-task verdict (rliable), hypervolumes (moocore) and asynchrony slope:
against hand-worked examples, and against the libraries called directly on arrays built here
from the hand-made runs' known scores."""

from __future__ import annotations

import json
import re
from pathlib import Path

import moocore
import numpy as np
import pytest
from leaderboard_runs import expected_final_normalised, scores, write_protocols, write_run
from scipy import stats
from test_leaderboard_findings import SEEDS, make_leaderboard, rewrite_points

from saw_bench.harness.diagnose import diagnose
from saw_bench.harness.statistics import ols_slope
from saw_bench.leaderboard import build, submit
from saw_bench.leaderboard._pareto import hypervolume, nondominated
from saw_bench.leaderboard._schema import Submission
from saw_bench.leaderboard._suite import (
    RESAMPLES,
    THRESHOLDS,
    rliable_modules,
    seeded_bootstrap,
    suite_estimates,
    suite_verdicts,
    verdict,
)


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    """static, saw (format +0.1 on every seed), mgda (+0.05) and static 4:1 / 1:4, seeds 0-2."""
    return make_leaderboard(tmp_path_factory.mktemp("suite"), sensitive=True)


def data_of(root: Path) -> dict:
    return json.loads((root / "leaderboard.json").read_text())


# ---------------------------------------------------------------------- rliable
def test_iqm_and_probability_of_improvement_of_a_hand_worked_example():
    # 4 runs x 2 tasks: the values 1..8; the IQM drops the lowest and highest two: mean of 3-6
    agent = np.array([[1.0, 5.0], [2.0, 6.0], [3.0, 7.0], [4.0, 8.0]])
    static = np.array([[0.0, 4.0], [1.0, 5.0], [2.0, 9.0], [3.0, 9.0]])
    estimates = suite_estimates(agent, static, resamples=100)
    assert estimates["iqm"]["mean"] == pytest.approx(4.5)
    assert estimates["static_iqm"]["mean"] == pytest.approx((2 + 3 + 4 + 5) / 4)
    # pairs won of 16 per task, a tie counting 1/2. Task 1, agent 1, 2, 3, 4 against static
    # 0, 1, 2, 3: 1.5 + 2.5 + 3.5 + 4 = 11.5; task 2, agent 5, 6, 7, 8 against 4, 5, 9, 9:
    # 1.5 + 2 + 2 + 2 = 7.5
    probability = estimates["probability_of_improvement"]
    assert probability["mean"] == pytest.approx((11.5 / 16 + 7.5 / 16) / 2)
    assert probability["low"] <= probability["mean"] <= probability["high"]


def test_probability_of_two_runs_against_two_is_the_share_of_won_pairs():
    # agent 1 and 3 against static 2 and 0: 1>0, 3>2, 3>0 win, 1<2 loses: 3 of 4 pairs
    estimates = suite_estimates(np.array([[1.0], [3.0]]), np.array([[2.0], [0.0]]), resamples=100)
    assert estimates["probability_of_improvement"]["mean"] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.51, 0.9, "better"),
        (0.1, 0.49, "worse"),
        (0.3, 0.7, "no difference"),
        (0.5, 0.8, "no difference"),
    ],
)
def test_verdict_needs_the_interval_to_exclude_one_half(low, high, expected):
    assert verdict({"mean": (low + high) / 2, "low": low, "high": high}) == expected


@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")
def test_board_verdict_is_rliable_on_the_runs_known_scores(board: Path):
    suite = data_of(board)["findings"]["suite"]
    assert [agent["agent"] for agent in suite["agents"]] == ["mgda", "saw"]
    assert suite["tested"] == 2 and suite["verdict_confidence"] == pytest.approx(0.975)
    library, metrics = rliable_modules()
    static = np.array([[expected_final_normalised("static", seed)] for seed in SEEDS])
    for agent in suite["agents"]:
        name = agent["agent"]
        scores_of = np.array([[expected_final_normalised(name, seed)] for seed in SEEDS])
        assert agent["settings"] == ["saw/ToolCall-Synth-v0 GRPO tiny-toolcall"]
        assert agent["seeds"] == len(SEEDS)
        np.random.seed(0)
        points, bounds = library.get_interval_estimates(
            {"agent": scores_of, "static": static},
            lambda x: np.array([metrics.aggregate_iqm(x)]),
            reps=RESAMPLES,
            random_state=np.random.RandomState(0),
        )
        for side, key in (("agent", "iqm"), ("static", "static_iqm")):
            assert agent[key]["mean"] == pytest.approx(points[side][0], abs=1e-6)
            assert agent[key]["low"] == pytest.approx(bounds[side][0][0], abs=1e-6)
            assert agent[key]["high"] == pytest.approx(bounds[side][1][0], abs=1e-6)
        np.random.seed(0)
        point, bound = library.get_interval_estimates(
            {"pair": (scores_of, static)},
            lambda x, y: np.array([metrics.probability_of_improvement(x, y)]),
            reps=RESAMPLES,
            confidence_interval_size=0.975,
            random_state=np.random.RandomState(0),
        )
        probability = agent["probability_of_improvement"]
        assert probability["mean"] == pytest.approx(point["pair"][0], abs=1e-6)
        assert probability["low"] == pytest.approx(bound["pair"][0][0], abs=1e-6)
        assert probability["high"] == pytest.approx(bound["pair"][1][0], abs=1e-6)
        # and the profile: share of runs above each threshold, computed here
        share = [float(np.mean(scores_of > tau)) for tau in THRESHOLDS]
        assert agent["profile"]["agent"]["share"] == pytest.approx(share, abs=1e-6)
    # SAW's finals 0.8, 0.775, 0.75 against static's 0.75, 0.725, 0.7: 8.5 of 9 pairs won
    saw = suite["agents"][1]
    assert saw["probability_of_improvement"]["mean"] == pytest.approx(8.5 / 9, abs=1e-6)
    assert saw["iqm"]["mean"] == pytest.approx(0.775, abs=1e-6)


def test_agents_estimated_in_parallel_processes_give_the_same_numbers(board: Path):
    """The board's agents (estimated one after the other: it is small) again in two spawned
    processes, each seeding its own bootstraps."""
    submissions = [
        Submission.model_validate_json(path.read_text())
        for path in sorted((board / "submissions").rglob("*.json"))
    ]
    ranked = [s for s in submissions if s.status == "verified"]
    assert suite_verdicts(ranked, workers=2) == data_of(board)["findings"]["suite"]


def test_bootstrap_leaves_numpys_global_generator_as_it_was():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    with seeded_bootstrap():
        np.random.random()
    assert np.random.random() == expected


# ---------------------------------------------------------------------- hypervolume
def test_hypervolume_of_a_staircase_is_its_area_by_hand():
    # boxes from (0, 0) to (1, 3), (2, 2), (3, 1): columns of height 3, 2, 1, each 1 wide
    points = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    assert hypervolume(points, [0.0, 0.0]) == pytest.approx(3 + 2 + 1)
    # a dominated point adds nothing; a point below the reference adds nothing
    assert hypervolume([*points, [1.0, 1.0], [-1.0, 5.0]], [0.0, 0.0]) == pytest.approx(6)
    # one point: the box's volume
    assert hypervolume([[0.5, 0.4, 0.2]], [0.0, 0.0, 0.0]) == pytest.approx(0.04)


def test_hypervolume_matches_moocore_and_a_grid_count():
    rng = np.random.default_rng(7)
    points = rng.random((12, 2))
    ours = hypervolume(points, [0.0, 0.0])
    assert ours == pytest.approx(moocore.hypervolume(-points, ref=[0.0, 0.0]))
    grid = (np.arange(400) + 0.5) / 400  # share of a fine grid of [0, 1]^2 dominated
    x, y = np.meshgrid(grid, grid)
    covered = np.zeros_like(x, dtype=bool)
    for px, py in points:
        covered |= (x <= px) & (y <= py)
    assert ours == pytest.approx(covered.mean(), abs=5e-3)


def test_nondominated_flags_by_hand():
    assert nondominated([[1, 3], [2, 2], [1, 1], [2, 2], [0, 3]]) == [
        True,
        True,
        False,
        True,
        False,
    ]


def test_board_hypervolumes_are_the_products_of_the_normalised_finals(board: Path):
    data = data_of(board)
    (task,) = data["findings"]["pareto"]
    (setting,) = task["settings"]
    points = {point["agent"]: point for point in setting["points"]}
    assert set(points) == {"mgda", "saw", "static", "static p=1:4", "static p=4:1"}

    def volume(agent: str, seed: int) -> float:
        format_score, correctness = scores(agent, seed)[-1]
        return format_score * (correctness + 3) / 6

    saw = points["saw"]
    expected = [volume("saw", s) for s in SEEDS]
    assert saw["hypervolume"]["mean"] == pytest.approx(np.mean(expected), abs=1e-6)
    differences = [volume("saw", s) - volume("static", s) for s in SEEDS]
    test = stats.ttest_1samp(differences, 0.0)
    against = saw["against_static"]
    assert against["difference"]["mean"] == pytest.approx(np.mean(differences), abs=1e-6)
    assert against["p_value"] == pytest.approx(test.pvalue, abs=1e-6)
    assert points["static"]["against_static"] is None
    # saw is above static in format and equal in correctness on every seed: static dominated
    assert saw["nondominated"] and not points["static"]["nondominated"]
    assert data["multiplicity"]["families"]["hypervolume_vs_static"] == 4


# ---------------------------------------------------------------------- asynchrony
def test_ols_slope_matches_linregress_and_polyfit_on_a_hand_example():
    x, y = [0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 5.0]
    fit = ols_slope(x, y)
    # by hand: S_xy = 5.5, S_xx = 5, slope 1.1, intercept 2.75 - 1.1 * 1.5 = 1.1
    assert fit["slope"] == pytest.approx(1.1) and fit["intercept"] == pytest.approx(1.1)
    reference = stats.linregress(x, y)
    assert fit["standard_error"] == pytest.approx(reference.stderr)
    assert fit["p_value"] == pytest.approx(reference.pvalue, abs=1e-9)
    half = stats.t.ppf(0.975, len(x) - 2) * reference.stderr
    assert (fit["low"], fit["high"]) == pytest.approx((1.1 - half, 1.1 + half))
    assert list(np.polyfit(x, y, 1)) == pytest.approx([fit["slope"], fit["intercept"]])


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [([1.0, 2.0], [1.0, 2.0], "at least 3"), ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], "spread")],
)
def test_ols_slope_refuses_what_has_no_interval(x, y, message):
    with pytest.raises(ValueError, match=message):
        ols_slope(x, y)


def test_board_index_is_diagnoses_index_of_statics_runs(board: Path, tmp_path: Path):
    (point,) = data_of(board)["findings"]["asynchrony"]["points"]
    # both objectives reach 90% of their gains at the last evaluation (step 4): index 0
    assert point["indices"] == [0.0, 0.0, 0.0] and point["index"] == 0.0
    folder = write_run(tmp_path / "static", agent="static", seed=1)
    assert diagnose(folder).index == 0.0


def test_an_undefined_index_is_left_out_and_said_so(tmp_path: Path):
    runs = tmp_path / "runs"
    for seed in SEEDS:
        static = write_run(runs / f"static-s{seed}", agent="static", seed=seed)
        # correctness flat at 0: only format is learned, so the index is undefined
        rewrite_points(static, [(0.25, 0.0), (0.5, 0.0), (0.75, 0.0)])
        write_run(runs / f"saw-s{seed}", agent="saw", seed=seed)
    submit([runs], "Flat correctness", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard")
    assert build(tmp_path / "leaderboard") == []
    asynchrony = data_of(tmp_path / "leaderboard")["findings"]["asynchrony"]
    (point,) = asynchrony["points"]
    assert point["index"] is None and point["defined"] == 0 and asynchrony["fit"] is None
    findings = (tmp_path / "leaderboard" / "FINDINGS.md").read_text()
    assert "Left out, index undefined on every seed" in findings
    assert "saw/ToolCall-Synth-v0 GRPO" in findings.split("Left out")[1].split("\n")[0]


# ---------------------------------------------------------------------- the page
def test_findings_lead_with_the_suite_verdict_and_the_asynchrony_plot(board: Path):
    findings = (board / "FINDINGS.md").read_text()
    sections = re.findall(r"^## (.*)$", findings, flags=re.MULTILINE)
    assert sections[:2] == [
        "One verdict across the suite",
        "When does SAW help: the asynchrony index",
    ]
    assert "- saw: " in findings.split("## When does SAW help")[0]
    for figure in (
        "figures/performance-profiles.svg",
        "figures/asynchrony.svg",
        "figures/pareto.svg",
    ):
        assert f"]({figure})" in findings
        assert (board / figure).read_text().startswith("<svg")


def test_leaderboard_page_states_saws_verdict_across_the_suite(board: Path):
    saw = next(a for a in data_of(board)["findings"]["suite"]["agents"] if a["agent"] == "saw")
    probability = saw["probability_of_improvement"]
    expected = (
        f"SAW across the suite (rliable, every setting at once): {saw['verdict']} "
        f"(P(saw > static) {probability['mean']:.3f} [{probability['low']:.3f}, "
        f"{probability['high']:.3f}]"
    )
    assert expected in (board / "LEADERBOARD.md").read_text()


def test_every_interval_header_names_how_it_was_computed(board: Path):
    findings = (board / "FINDINGS.md").read_text()
    headers = [
        line for line in findings.splitlines() if line.startswith("| ") and "---" not in line
    ]
    header_cells = {cell.strip() for line in headers for cell in line.strip("|").split("|")}
    interval_headers = [c for c in header_cells if "IQM" in c or "P(" in c or " - " in c]
    assert interval_headers
    for header in interval_headers:
        if header == "static IQM, same settings":
            continue  # the column beside its named twin
        assert re.search(r"(95%|97\.5%|bootstrap|paired t)", header), header
    assert "P(agent &gt; static) (97.5% stratified bootstrap, Bonferroni over 2 agents)" in findings


def test_family_median_is_the_median_of_the_async_comparisons_and_names_those_above():
    from saw_bench.leaderboard._asynchrony import family_median

    def point(env_id, estimator, index):
        return {"env_id": env_id, "estimator": estimator, "index": index}

    points = [
        point("saw/Async-K2-v0", "grpo", 0.30),
        point("saw/Async-K2-v0", "gdpo", 0.50),
        point("saw/Async-K4-v0", "grpo", 0.40),
        point("saw/Async-K4-v0", "gdpo", 0.60),
        point("saw/Async-K4-Noisy-v0", "gdpo", None),  # undefined: not in the median
        point("saw/Summarize-Synth-v1", "grpo", 0.46),
        point("saw/ToolCall-Synth-v0", "grpo", 0.44),
        point("saw/Summarize-Synth-v0", "grpo", None),
    ]
    # the family's defined indices 0.30, 0.40, 0.50, 0.60: median (0.40 + 0.50) / 2 = 0.45
    assert family_median(points) == {
        "median": 0.45,
        "comparisons": 4,
        "above": ["saw/Summarize-Synth-v1 GRPO"],
    }
    assert family_median(points[5:]) is None
