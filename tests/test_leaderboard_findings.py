"""Power, weight sensitivity and the findings page of the leaderboard, on hand-made runs.

The runs come from tests/leaderboard_runs.py (saw/ToolCall-Synth-v0: format [0, 1], correctness
[-3, 3], eval steps 0, 2, 4); the expected numbers are worked out here by hand or with scipy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from leaderboard_runs import (
    EVAL_STEPS,
    STEPS,
    expected_final_normalised,
    scores,
    write_protocols,
    write_run,
)
from scipy import stats

from saw_bench.cli import main
from saw_bench.harness.statistics import (
    minimum_detectable_effect,
    paired_t_ci,
    student_t_quantile,
)
from saw_bench.leaderboard import build, submit
from saw_bench.leaderboard._findings import INSENSITIVE, SENSITIVE

SEEDS = (0, 1, 2)


# ---------------------------------------------------------------------- statistics
@pytest.mark.parametrize("df", [1, 2, 4, 9, 30])
@pytest.mark.parametrize("probability", [0.6, 0.8, 0.9, 0.975, 0.995, 0.1])
def test_student_t_quantile_matches_scipy(probability, df):
    assert student_t_quantile(probability, df) == pytest.approx(
        stats.t.ppf(probability, df), rel=1e-9, abs=1e-12
    )


def test_minimum_detectable_effect_is_the_paired_t_formula():
    values = [0.61, 0.58, 0.66, 0.6, 0.63]
    n, s = len(values), stats.tstd(values)
    expected = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * math.sqrt(2) * s / n**0.5
    assert minimum_detectable_effect(values) == pytest.approx(expected, rel=1e-9)
    # more seeds, same spread: smaller
    assert minimum_detectable_effect(values, seeds=10) < minimum_detectable_effect(values)
    assert math.isnan(minimum_detectable_effect([0.5]))
    with pytest.raises(ValueError, match="probability"):
        student_t_quantile(1.0, 3)


@pytest.mark.parametrize(
    "differences", [[0.05, 0.02, 0.08], [0.012, -0.001, 0.012, 0.054, -0.003], [-0.2, -0.1]]
)
def test_paired_t_ci_is_the_paired_t_tests_interval(differences):
    mean, low, high = paired_t_ci(differences)
    n = len(differences)
    expected = stats.t.interval(0.95, n - 1, loc=np.mean(differences), scale=stats.sem(differences))
    assert mean == pytest.approx(np.mean(differences), rel=1e-12)
    assert (low, high) == pytest.approx(expected, rel=1e-9)
    _, low90, high90 = paired_t_ci(differences, confidence=0.9)
    assert low < low90 < high90 < high


def test_paired_t_ci_of_one_value_claims_no_interval_and_rejects_bad_input():
    mean, low, high = paired_t_ci([0.3])
    assert mean == 0.3 and math.isnan(low) and math.isnan(high)
    assert paired_t_ci([0.1, 0.1, 0.1]) == pytest.approx((0.1, 0.1, 0.1))
    for bad, message in (([], "at least one"), ([0.1, math.nan], "finite")):
        with pytest.raises(ValueError, match=message):
            paired_t_ci(bad)
    with pytest.raises(ValueError, match="confidence"):
        paired_t_ci([0.1, 0.2], confidence=1.5)


# ---------------------------------------------------------------------- hand-made runs
def normalised(format_score: float, correctness: float, priorities=None) -> float:
    p = priorities or [1.0, 1.0]
    return (p[0] * format_score + p[1] * (correctness + 3) / 6) / sum(p)


def rewrite_points(folder: Path, points, priorities=None, weights=None) -> None:
    """Replace a run's eval curve (and summary) by ``points`` [(format, correctness)] at the
    eval steps, and its per-step format weight by ``weights`` when given."""
    values = [normalised(f, c, priorities) for f, c in points]
    rows = [
        {
            "step": step,
            "wall_seconds": float(step),
            "items": 8,
            "objectives": {"format": f, "correctness": c},
            "normalised": value,
        }
        for step, (f, c), value in zip(EVAL_STEPS, points, values, strict=True)
    ]
    (folder / "eval.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    summary = json.loads((folder / "summary.json").read_text())
    summary["final"] = {"format": points[-1][0], "correctness": points[-1][1]}
    summary["final_normalised"] = values[-1]
    summary["normalised_auc"] = (values[0] + 2 * values[1] + values[2]) / 4
    (folder / "summary.json").write_text(json.dumps(summary))
    if weights is not None:
        lines = (folder / "metrics.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        for row, weight in zip(rows, weights, strict=True):
            row["objectives"]["format"]["weight"] = weight
            row["objectives"]["correctness"]["weight"] = 2 - weight
        (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def static_points(seed: int, format_gain: float = 0.0, correctness_gain: float = 0.0):
    return [(f + format_gain, c + correctness_gain) for f, c in scores("static", seed)]


def make_leaderboard(tmp_path: Path, sensitive: bool) -> Path:
    """static, saw and mgda with equal weights (saw with varying weights), and static with
    priorities [4, 1] and [1, 4]; when ``sensitive`` each up-weighted objective is higher
    on every seed (format +0.1, correctness +0.6, i.e. +0.1 normalised), else nothing moves."""
    runs = tmp_path / "runs"
    for seed in SEEDS:
        write_run(runs / f"static-s{seed}", agent="static", seed=seed)
        saw = write_run(runs / f"saw-s{seed}", agent="saw", seed=seed)
        rewrite_points(saw, scores("saw", seed), weights=[0.4, 0.6, 0.8, 1.0])
        write_run(runs / f"mgda-s{seed}", agent="mgda", seed=seed)
        gain = (0.1, 0.6) if sensitive else (0.0, 0.0)
        for priorities, changes in (([4.0, 1.0], (gain[0], 0.0)), ([1.0, 4.0], (0.0, gain[1]))):
            folder = write_run(
                runs / f"static-p{int(priorities[0])}{int(priorities[1])}-s{seed}",
                agent="static",
                seed=seed,
                train_changes={"priorities": priorities},
            )
            rewrite_points(folder, static_points(seed, *changes), priorities)
    submit([runs], "Hand-made grid", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard")
    root = tmp_path / "leaderboard"
    assert build(root) == []
    return root


@pytest.fixture(scope="module")
def sensitive_board(tmp_path_factory) -> Path:
    return make_leaderboard(tmp_path_factory.mktemp("sensitive"), sensitive=True)


def data_of(root: Path) -> dict:
    return json.loads((root / "leaderboard.json").read_text())


def test_sensitivity_check_pairs_the_extremes_and_finds_the_hand_made_gain(sensitive_board):
    (task,) = data_of(sensitive_board)["tasks"]
    (check,) = task["sensitivity"]
    assert check["priorities"] == [[4.0, 1.0], [1.0, 4.0]]
    assert check["seeds"] == list(SEEDS)
    by_name = {o["name"]: o["difference"] for o in check["objectives"]}
    # format: +0.1 on every seed; correctness +0.6 of a span of 6: +0.1 normalised
    assert by_name["format"] == pytest.approx({"mean": 0.1, "low": 0.1, "high": 0.1})
    assert by_name["correctness"] == pytest.approx({"mean": 0.1, "low": 0.1, "high": 0.1})
    assert check["label"] == SENSITIVE
    markdown = (sensitive_board / "LEADERBOARD.md").read_text()
    assert "format +0.100 [+0.100, +0.100] when up-weighted" in markdown
    assert "sensitive to weighting" in markdown


def test_a_task_whose_extremes_do_not_move_is_labelled_insensitive(tmp_path):
    root = make_leaderboard(tmp_path, sensitive=False)
    (task,) = data_of(root)["tasks"]
    assert task["sensitivity"][0]["label"] == INSENSITIVE
    (comparison,) = data_of(root)["saw_vs_static"]["comparisons"]
    assert comparison["sensitivity"] == INSENSITIVE
    markdown = (root / "LEADERBOARD.md").read_text()
    assert f"task {INSENSITIVE}" in markdown
    assert f"1 comparison(s) are on settings {INSENSITIVE}" in markdown
    assert INSENSITIVE in (root / "FINDINGS.md").read_text()


def test_each_verdict_shows_the_minimum_detectable_effect_from_statics_spread(sensitive_board):
    (comparison,) = data_of(sensitive_board)["saw_vs_static"]["comparisons"]
    static = [expected_final_normalised("static", seed) for seed in SEEDS]
    s, n = stats.tstd(static), len(SEEDS)
    expected = (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * math.sqrt(2) * s / n**0.5
    assert comparison["mde"] == pytest.approx(expected, abs=1e-6)
    assert comparison["sensitivity"] == SENSITIVE
    markdown = (sensitive_board / "LEADERBOARD.md").read_text()
    assert f"minimum detectable effect {expected:.3f}" in markdown


def test_findings_row_has_difference_thresholds_ablations_and_weights(sensitive_board):
    findings = data_of(sensitive_board)["findings"]
    (row,) = findings["rows"]
    assert row["env_id"] == "saw/ToolCall-Synth-v0" and row["settings"] == "defaults"
    assert row["difference"] == pytest.approx({"mean": 0.05, "low": 0.05, "high": 0.05})
    assert row["outcome"] == "saw"
    # static's normalised curve: 0.25 at step 0 on every seed, finals 0.75, 0.725, 0.70:
    # threshold 0.25 + 0.9 * (0.725 - 0.25) = 0.6775; at step 2 static has 0.5 and saw 0.55
    assert row["threshold"] == pytest.approx(0.6775)
    for agent in ("saw", "static"):
        reached = row["steps_to_threshold"][agent]
        assert (reached["reached"], reached["of"]) == (3, 3)
        assert reached["steps"] == {"mean": 4.0, "low": 4.0, "high": 4.0}
    (ablation,) = row["ablations"]  # the priority runs are another setting, not an ablation
    assert ablation["agent"] == "mgda"
    # mgda's format gain 0.05 against saw's 0.1: -0.025 normalised on every seed
    assert ablation["difference"] == pytest.approx({"mean": -0.025, "low": -0.025, "high": -0.025})
    assert ablation["outcome"] == "worse"
    curves = row["weight_curves"]
    assert curves["seed"] == 0
    assert curves["saw"] == {
        "steps": [1, 2, 3, 4],
        "weights": {"format": [0.4, 0.6, 0.8, 1.0], "correctness": [1.6, 1.4, 1.2, 1.0]},
    }
    assert curves["static"]["weights"]["format"] == [1.0] * 4
    assert f"won in 1 (saw/ToolCall-Synth-v0 GRPO {STEPS} steps)" in findings["summary"]
    page = (sensitive_board / "FINDINGS.md").read_text()
    assert (
        f"| saw/ToolCall-Synth-v0 | GRPO | tiny-toolcall | {STEPS} | mgda | 3 | "
        "-0.025 [-0.025, -0.025] | &lt;0.001 / &lt;0.001 | worse than SAW |" in page
    )
    assert "| saw | format | 1: 0.40, 2: 0.60, 3: 0.80, 4: 1.00 |" in page
    html = (sensitive_board / "index.html").read_text()
    assert 'id="findings"' in html and "per-objective weights of SAW" in html


def test_findings_of_two_policies_at_one_setting_name_the_policy(tmp_path):
    """The same task, estimator and steps on two policies are two comparisons: the summary,
    the tables and the weight curves say which policy each is."""
    runs = tmp_path / "runs"
    for model in ("policy-a", "policy-b"):
        for seed in SEEDS:
            for agent in ("static", "saw"):
                write_run(runs / f"{model}-{agent}-s{seed}", agent=agent, seed=seed, model=model)
    submit([runs], "Two policies", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard", model=None)  # any policy is on protocol
    root = tmp_path / "leaderboard"
    assert build(root) == []
    findings = data_of(root)["findings"]
    assert sorted(row["model"] for row in findings["rows"]) == ["policy-a", "policy-b"]
    for model in ("policy-a", "policy-b"):
        assert f"saw/ToolCall-Synth-v0 GRPO {STEPS} steps {model}" in findings["summary"]
    page = (root / "FINDINGS.md").read_text()
    for model in ("policy-a", "policy-b"):
        assert f"| saw/ToolCall-Synth-v0 | defaults | GRPO | {model} | {STEPS} | 3 |" in page
        title = f"saw/ToolCall-Synth-v0, GRPO, {model}, {STEPS} steps, seed 0 (step: weight):"
        assert title in page


def test_an_empty_leaderboard_has_empty_findings(tmp_path):
    root = tmp_path / "leaderboard"
    root.mkdir()
    assert build(root) == []
    assert "there are no findings" in (root / "FINDINGS.md").read_text()


def test_runs_from_before_the_backend_option_pair_with_saw_bench_backend_runs(tmp_path):
    """A config.json without train.backend was trained by saw-bench's own loop: its static
    runs are the reference of a saw submission whose runs name the backend."""
    from saw_bench.leaderboard import build, submit

    for seed in (0, 1, 2):
        write_run(tmp_path / "runs" / f"static-{seed}", agent="static", seed=seed)
        write_run(
            tmp_path / "runs" / f"saw-{seed}",
            agent="saw",
            seed=seed,
            train_changes={"backend": "saw-bench"},
        )
    submit(tmp_path / "runs", "Mixed ages", "tests", out_root=tmp_path / "lb/submissions")
    write_protocols(tmp_path / "lb")
    assert build(tmp_path / "lb") == []
    data = json.loads((tmp_path / "lb/leaderboard.json").read_text())
    assert len(data["saw_vs_static"]["comparisons"]) == 1


def test_a_verdict_needs_the_paired_t_interval_to_exclude_zero(tmp_path):
    """SAW's format is +0.10, +0.04, +0.16 above static's on seeds 0-2: normalised +0.05,
    +0.02, +0.08. Every difference is positive (a bootstrap of them stays within [0.02, 0.08]),
    but the paired t interval, 0.05 -/+ t(0.975, 2) * 0.03 / sqrt(3), holds 0: a tie."""
    runs = tmp_path / "runs"
    for seed, gain in zip(SEEDS, (0.10, 0.04, 0.16), strict=True):
        write_run(runs / f"static-s{seed}", agent="static", seed=seed)
        saw = write_run(runs / f"saw-s{seed}", agent="saw", seed=seed)
        rewrite_points(saw, static_points(seed, format_gain=gain))
    submit([runs], "Close call", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard")
    root = tmp_path / "leaderboard"
    assert build(root) == []
    (comparison,) = data_of(root)["saw_vs_static"]["comparisons"]
    differences = [0.05, 0.02, 0.08]
    low, high = stats.t.interval(0.95, 2, loc=0.05, scale=stats.sem(differences))
    assert comparison["difference"] == pytest.approx(
        {"mean": 0.05, "low": low, "high": high}, abs=1e-6
    )
    assert low < 0 < high
    assert comparison["p_value"] == pytest.approx(
        stats.ttest_1samp(differences, 0).pvalue, abs=1e-6
    )
    assert comparison["p_adjusted"] == comparison["p_value"]  # a family of one
    assert comparison["outcome"] == "tie"
    (row,) = data_of(root)["findings"]["rows"]
    assert row["outcome"] == "tie"
    assert f"+0.050 [{low:+.3f}, {high:+.3f}] | 0." in (root / "FINDINGS.md").read_text()


# ---------------------------------------------------------------------- multiplicity
#: SAW's format gain over static per seed on policy-a: normalised +0.05, +0.035, +0.065
#: (mean 0.05, s 0.015, t = 5.77 on 2 df, raw p = 0.029); on policy-b and policy-c SAW equals
#: static (p = 1).
CLOSE_GAINS = (0.10, 0.07, 0.13)


def three_policy_board(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    for model in ("policy-a", "policy-b", "policy-c"):
        for seed, gain in zip(SEEDS, CLOSE_GAINS, strict=True):
            write_run(runs / f"{model}-static-s{seed}", agent="static", seed=seed, model=model)
            saw = write_run(runs / f"{model}-saw-s{seed}", agent="saw", seed=seed, model=model)
            rewrite_points(saw, static_points(seed, format_gain=gain if model == "policy-a" else 0))
    submit([runs], "Three policies", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard", model=None)
    return tmp_path / "leaderboard"


def test_a_raw_win_becomes_a_tie_after_holm_over_the_family(tmp_path):
    """policy-a's comparison is a win at raw p = 0.029 (its 95% interval excludes 0), but Holm
    over the family of three comparisons multiplies the smallest p by 3: 0.086, a tie; the
    verdict and the findings count it as a tie and say it would be a win uncorrected."""
    root = three_policy_board(tmp_path)
    assert build(root) == []
    data = data_of(root)
    assert data["multiplicity"]["correction"] == "holm"
    assert data["multiplicity"]["families"]["saw_vs_static"] == 3
    by_model = {c["model"]: c for c in data["saw_vs_static"]["comparisons"]}
    differences = [gain / 2 for gain in CLOSE_GAINS]
    raw = stats.ttest_1samp(differences, 0.0).pvalue
    assert 0.02 < raw < 0.05  # a win without the correction
    win = by_model["policy-a"]
    assert win["difference"]["low"] > 0  # the unadjusted interval excludes 0
    assert win["p_value"] == pytest.approx(raw, abs=1e-6)
    assert win["p_adjusted"] == pytest.approx(3 * raw, abs=1e-6)  # Holm: m * smallest p
    assert win["outcome"] == "tie"
    for model in ("policy-b", "policy-c"):
        assert (by_model[model]["p_value"], by_model[model]["p_adjusted"]) == (1.0, 1.0)
        assert by_model[model]["outcome"] == "tie"
    verdict = data["saw_vs_static"]["verdict"]
    assert "better in 0, worse in 0 and not distinguishable in 3" in verdict
    assert "Holm-adjusted p-value" in verdict and "family of 3 SAW-versus-static" in verdict
    assert "Uncorrected (raw p < 0.05) SAW would have been better in 1 and worse in 0" in verdict
    summary = data["findings"]["summary"]
    assert "SAW won in 0; tied in 3" in summary and "SAW would have won 1 and lost 0" in summary
    assert [row["outcome"] for row in data["findings"]["rows"]] == ["tie"] * 3
    markdown = (root / "LEADERBOARD.md").read_text()
    assert f"p {raw:.3f}, Holm-adjusted {3 * raw:.3f}: no clear difference" in markdown
    assert "corrected by Holm's method (family-wise error rate at 0.05)" in markdown
    findings_page = (root / "FINDINGS.md").read_text()
    assert f"| {raw:.3f} / {3 * raw:.3f} | " in findings_page
    assert "| p / Holm |" in findings_page
    assert f"{raw:.3f}, Holm-adjusted {3 * raw:.3f}" in (root / "index.html").read_text()


def test_benjamini_hochberg_is_a_build_option_and_a_cli_flag(tmp_path):
    """``--correction bh`` adjusts the same raw p-values by Benjamini-Hochberg (statsmodels'
    fdr_bh on them) and names it in the texts."""
    from statsmodels.stats.multitest import multipletests

    root = three_policy_board(tmp_path)
    assert main(["leaderboard", "build", "--root", str(root), "--correction", "bh"]) == 0
    data = data_of(root)
    assert data["multiplicity"]["correction"] == "bh"
    comparisons = data["saw_vs_static"]["comparisons"]
    raw = [c["p_value"] for c in comparisons]
    expected = multipletests(raw, method="fdr_bh")[1]
    assert [c["p_adjusted"] for c in comparisons] == pytest.approx(expected, abs=1e-6)
    assert "Benjamini-Hochberg-adjusted p-value" in data["saw_vs_static"]["verdict"]
    assert "false discovery rate" in (root / "LEADERBOARD.md").read_text()
    assert "| p / BH |" in (root / "FINDINGS.md").read_text()
    with pytest.raises(ValueError, match="correction must be one of bh, holm, but got 'bonf'"):
        build(root, tmp_path / "out", correction="bonf")


def test_ablations_and_sensitivity_checks_are_each_one_corrected_family(sensitive_board):
    """The sensitive board's tests all have zero spread (p 0), so Holm keeps them: mgda is
    worse than SAW and both sensitivity tests are significant; the families are counted."""
    data = data_of(sensitive_board)
    assert data["multiplicity"]["families"] == {
        "saw_vs_static": 1,
        "agent_vs_saw": 1,
        "sensitivity": 2,
        "hypervolume_vs_static": 4,  # mgda, saw and the two up-weighted statics
    }
    (row,) = data["findings"]["rows"]
    (ablation,) = row["ablations"]
    assert (ablation["p_value"], ablation["p_adjusted"], ablation["outcome"]) == (0.0, 0.0, "worse")
    (task,) = data["tasks"]
    (check,) = task["sensitivity"]
    assert [o["p_adjusted"] for o in check["objectives"]] == [0.0, 0.0]
    assert [o["outcome"] for o in check["objectives"]] == ["better", "better"]
    markdown = (sensitive_board / "LEADERBOARD.md").read_text()
    assert "when up-weighted (p <0.001, Holm-adjusted <0.001)" in markdown


def test_a_sensitivity_test_significant_alone_is_not_after_holm_over_the_board(tmp_path):
    """Up-weighting format raises it by +0.10, +0.07, +0.13 (raw p = 0.029) and correctness
    not at all (p = 1): alone the check would be sensitive; Holm over its 2 tests makes the
    format test 0.057, so the task is insensitive."""
    runs = tmp_path / "runs"
    for seed, gain in zip(SEEDS, CLOSE_GAINS, strict=True):
        write_run(runs / f"static-s{seed}", agent="static", seed=seed)
        write_run(runs / f"saw-s{seed}", agent="saw", seed=seed)
        for priorities, format_gain in (([4.0, 1.0], gain), ([1.0, 4.0], 0.0)):
            folder = write_run(
                runs / f"static-p{int(priorities[0])}{int(priorities[1])}-s{seed}",
                agent="static",
                seed=seed,
                train_changes={"priorities": priorities},
            )
            rewrite_points(folder, static_points(seed, format_gain), priorities)
    submit([runs], "Close check", "tests", out_root=tmp_path / "leaderboard" / "submissions")
    write_protocols(tmp_path / "leaderboard")
    root = tmp_path / "leaderboard"
    assert build(root) == []
    (task,) = data_of(root)["tasks"]
    (check,) = task["sensitivity"]
    by_name = {o["name"]: o for o in check["objectives"]}
    raw = stats.ttest_1samp(CLOSE_GAINS, 0.0).pvalue  # format's own [0, 1] units
    assert by_name["format"]["p_value"] == pytest.approx(raw, abs=1e-6) and raw < 0.05
    assert by_name["format"]["p_adjusted"] == pytest.approx(2 * raw, abs=1e-6)
    assert by_name["correctness"]["p_value"] == 1.0
    assert check["label"] == INSENSITIVE
