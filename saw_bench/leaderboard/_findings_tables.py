"""The findings' tables and sentences, shared by FINDINGS.md and the page: the cross-task
verdict per agent, the asynchrony fit, SAW against static, every other agent against SAW, and
the hypervolumes. Each is ``(title, headers, rows)`` of plain text; every interval's header
names how it was computed and whether it is adjusted for multiplicity."""

from __future__ import annotations

from typing import Any

from saw_bench.leaderboard._findings import CORRECTION_NAMES
from saw_bench.leaderboard._text import SHORT, p_text, signed

Table = tuple[str, list[str], list[list[str]]]
OUTCOME_WORDS = {"saw": "SAW better", "static": "static better", "tie": "tie"}
ABLATION_WORDS = {"better": "better than SAW", "worse": "worse than SAW", "tie": "tie"}
HYPERVOLUME_WORDS = {"better": "larger than static", "worse": "smaller than static", "tie": "tie"}


def interval_text(interval: dict[str, float], digits: int = 3) -> str:
    """``0.737 [0.732, 0.743]``."""
    return (
        f"{interval['mean']:.{digits}f} [{interval['low']:.{digits}f}, "
        f"{interval['high']:.{digits}f}]"
    )


def _level(confidence: float) -> str:
    """A confidence level in percent, as short as it stays exact to a tenth."""
    return f"{100 * confidence:.1f}".rstrip("0").rstrip(".") + "%"


# ---------------------------------------------------------------------- across the suite
def suite_rule(suite: dict[str, Any]) -> str:
    """How the cross-task numbers are computed and what a verdict needs."""
    tested = suite["tested"]
    return (
        "One verdict per agent across the suite, from rliable (Agarwal et al., NeurIPS 2021): "
        "every setting (task, estimator, policy) where the agent and default static both have "
        "verified runs on the task's protocol is one task, its common seeds the runs, and the "
        "score is the final normalised held-out score (0-1). `IQM` is rliable's interquartile "
        "mean over all runs x tasks with a 95% stratified bootstrap interval (seeds resampled "
        "within each setting, percentile method, not adjusted); `P(agent > static)` is "
        "rliable's probability of improvement (per setting the Mann-Whitney U of the agent's "
        "seeds against static's over their product, averaged over settings) with a stratified "
        f"bootstrap interval at {_level(suite['verdict_confidence'])}: 95% Bonferroni-adjusted "
        f"over the {tested} agents tested, so the {tested} verdicts hold together at 95%. "
        "Rule: *better* when that interval lies above 0.5, *worse* when it lies below 0.5, "
        f"*no difference* otherwise. {suite['resamples']:,} bootstrap resamples, numpy seed "
        f"{suite['seed']}. Performance profiles: the share of runs above each score, with 95% "
        "stratified bootstrap bands (not adjusted)."
    )


def suite_lines(suite: dict[str, Any]) -> list[str]:
    """One sentence per agent: better / worse / no difference across the suite."""
    level = _level(suite["verdict_confidence"])
    lines = []
    for agent in suite["agents"]:
        probability = agent["probability_of_improvement"]
        lines.append(
            f"{agent['agent']}: {agent['verdict']} across the suite (P({agent['agent']} > "
            f"static) {interval_text(probability)}, stratified bootstrap {level}, "
            f"Bonferroni-adjusted; IQM {interval_text(agent['iqm'])} vs static "
            f"{interval_text(agent['static_iqm'])}, 95% stratified bootstrap; "
            f"{len(agent['settings'])} settings x {agent['seeds']} seeds)"
        )
    return lines


def suite_table(suite: dict[str, Any]) -> Table:
    level = _level(suite["verdict_confidence"])
    rows = [
        [
            agent["agent"],
            str(len(agent["settings"])),
            str(agent["seeds"]),
            interval_text(agent["iqm"]),
            interval_text(agent["static_iqm"]),
            interval_text(agent["probability_of_improvement"]),
            agent["verdict"],
        ]
        for agent in suite["agents"]
    ]
    headers = [
        "agent",
        "settings",
        "seeds each",
        "IQM (95% stratified bootstrap)",
        "static IQM, same settings",
        f"P(agent > static) ({level} stratified bootstrap, Bonferroni over "
        f"{suite['tested']} agents)",
        "across the suite",
    ]
    return "One verdict across the suite", headers, rows


# ---------------------------------------------------------------------- asynchrony
def asynchrony_text(asynchrony: dict[str, Any]) -> str:
    """The fitted slope in words, and the comparisons left out for an undefined index."""
    points = asynchrony["points"]
    left_out = [p for p in points if p["index"] is None]
    partial = [p for p in points if p["index"] is not None and p["defined"] < p["of"]]
    fit = asynchrony["fit"]
    if fit is None:
        text = (
            f"{len(points) - len(left_out)} comparison(s) have an asynchrony index: too few for "
            "a fitted slope (it needs 3 with different indices)."
        )
    else:
        text = (
            f"SAW minus static against static's asynchrony index, over the {fit['points']} "
            "SAW-versus-static comparisons with an index: ordinary least-squares slope "
            f"{fit['slope']:+.3f} [{fit['low']:+.3f}, {fit['high']:+.3f}] per unit of index "
            f"(95% Student t interval, {fit['points'] - 2} degrees of freedom, one test, not "
            f"adjusted; two-sided p {p_text(fit['p_value'])}), intercept "
            f"{fit['intercept']:+.3f}. A slope whose interval lies above 0 would say SAW gains "
            "more where static learns its objectives less in step. The fit is unweighted (each "
            "comparison counts once, whatever its interval's width) and treats the points as "
            "independent, though the two estimators of one task share its data and policy, so "
            "its interval is if anything too narrow."
        )
    text += (
        " The index of a comparison is the mean over static's seeds of each run's index "
        "(`python -m saw_bench diagnose RUN`: the spread of the objectives' steps to 90% of "
        "their gains over the run's steps); each point's vertical bar is its 95% paired t "
        "interval."
    )
    family = asynchrony.get("family_median")
    if family is not None:
        above = ", ".join(family["above"]) or "none"
        text += (
            f" The asynchrony family's median index (saw/Async-*, {family['comparisons']} "
            f"comparisons): {family['median']:.3f}; other comparisons above it: {above}."
        )
    if left_out:
        names = ", ".join(f"{p['env_id']} {p['estimator'].upper()}" for p in left_out)
        text += (
            f" Left out, index undefined on every seed (fewer than two objectives gained, such "
            f"as a saturated objective): {names}."
        )
    if partial:
        names = ", ".join(
            f"{p['env_id']} {p['estimator'].upper()} ({p['defined']} of {p['of']})" for p in partial
        )
        text += f" Averaged over the seeds with an index only: {names}."
    return text


def asynchrony_table(asynchrony: dict[str, Any]) -> Table:
    rows = [
        [
            point["env_id"],
            point["estimator"].upper(),
            point["model"],
            "undefined" if point["index"] is None else f"{point['index']:.3f}",
            f"{point['defined']}/{point['of']}",
            signed(point["difference"]),
        ]
        for point in asynchrony["points"]
    ]
    headers = [
        "task",
        "estimator",
        "policy",
        "static's asynchrony index",
        "seeds with an index",
        "SAW - static (95% paired t, not adjusted)",
    ]
    return "SAW minus static against the asynchrony index", headers, rows


# ---------------------------------------------------------------------- hypervolume
def hypervolume_table(pareto: list[dict[str, Any]], correction: str) -> Table:
    rows = []
    for task in pareto:
        for setting in task["settings"]:
            for point in setting["points"]:
                against = point["against_static"]
                scores = ", ".join(
                    f"{name} {point['objectives'][name]['mean']:.3f}" for name in task["objectives"]
                )
                rows.append(
                    [
                        task["env_id"],
                        setting["setting"],
                        point["agent"],
                        scores,
                        "yes" if point["nondominated"] else "no",
                        interval_text(point["hypervolume"]),
                        "-" if against is None else signed(against["difference"]),
                        "-"
                        if against is None
                        else f"{p_text(against['p_value'])} / {p_text(against['p_adjusted'])}",
                        "-" if against is None else HYPERVOLUME_WORDS[against["outcome"]],
                    ]
                )
    headers = [
        "task",
        "setting",
        "agent",
        "normalised scores (mean over seeds)",
        "non-dominated",
        "hypervolume (95% bootstrap over seeds)",
        "agent - static (95% paired t, not adjusted)",
        f"p / {SHORT[correction]}",
        "outcome",
    ]
    return "Hypervolume against static", headers, rows


def hypervolume_text(correction: str, family: int) -> str:
    return (
        "Each seed's final scores, normalised by the objectives' bounds to 0-1, are one point; "
        "its hypervolume (moocore) is the volume it dominates above the reference point at the "
        "objectives' lower bounds (0 in normalised units; for one point, the product of its "
        "normalised scores). Per agent: the mean over seeds with a 95% percentile bootstrap "
        "interval; against default static of the same setting: the paired per-seed "
        f"difference with a 95% paired t interval, and its p-value raw and "
        f"{CORRECTION_NAMES[correction]}-adjusted over the {family} hypervolume comparisons "
        "of the board. In the Pareto plots each agent's point is its mean normalised scores "
        "with 95% bootstrap intervals over seeds; filled: no other agent of the setting is at "
        "least as good in every objective and better in one (non-dominated), hollow: dominated."
    )


# ---------------------------------------------------------------------- comparisons
def threshold_text(summary: dict[str, Any]) -> str:
    if summary["steps"] is None:
        return f"never (0/{summary['of']})"
    steps = summary["steps"]
    if steps["low"] is None:
        return f"{steps['mean']:.0f} ({summary['reached']}/{summary['of']})"
    reached = f"{summary['reached']}/{summary['of']}"
    return f"{steps['mean']:.0f} [{steps['low']:.0f}, {steps['high']:.0f}] ({reached})"


def comparison_tables(
    findings: dict[str, Any], correction: str
) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of the findings tables, shared by the Markdown and HTML pages."""
    rows = findings["rows"]
    p_header = f"p / {SHORT[correction]}"
    main = [
        [
            row["env_id"],
            row["settings"],
            row["estimator"].upper(),
            row["model"],
            str(row["steps"]),
            str(len(row["seeds"])),
            signed(row["difference"]),
            f"{p_text(row['p_value'])} / {p_text(row['p_adjusted'])}",
            "-" if row["mde"] is None else f"{row['mde']:.3f}",
            OUTCOME_WORDS[row["outcome"]],
            row["sensitivity"] or "not checked",
            threshold_text(row["steps_to_threshold"]["saw"]),
            threshold_text(row["steps_to_threshold"]["static"]),
        ]
        for row in rows
    ]
    ablations = [
        [
            row["env_id"],
            row["estimator"].upper(),
            row["model"],
            str(row["steps"]),
            ablation["agent"],
            str(len(ablation["seeds"])),
            signed(ablation["difference"]),
            f"{p_text(ablation['p_value'])} / {p_text(ablation['p_adjusted'])}",
            ABLATION_WORDS[ablation["outcome"]],
        ]
        for row in rows
        for ablation in row["ablations"]
    ]
    return [
        (
            "SAW against static weights",
            [
                "task",
                "settings",
                "estimator",
                "policy",
                "steps",
                "seeds",
                "SAW - static (95% paired t, not adjusted)",
                p_header,
                "MDE",
                "outcome",
                "weighting",
                "steps to threshold: SAW",
                "static",
            ],
            main,
        ),
        (
            "Every other agent against SAW",
            [
                "task",
                "estimator",
                "policy",
                "steps",
                "agent",
                "seeds",
                "agent - SAW (95% paired t, not adjusted)",
                p_header,
                "outcome",
            ],
            ablations,
        ),
    ]
