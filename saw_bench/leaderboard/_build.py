"""Generating the leaderboard's tables and page from the valid submissions.

``build`` writes ``LEADERBOARD.md``, ``FINDINGS.md`` with its figures (``figures/*.svg``),
``leaderboard.json``, ``leaderboard.csv``, ``index.html`` and ``schema/submission-v2.json``. The
output is a function of the submissions and their run files only (no dates, fixed bootstrap seeds,
sorted everything), so a test can rebuild and compare with the committed files. Every "mean [low,
high]" of a score is the mean over seeds with a 95% percentile-bootstrap interval
(:func:`saw_bench.harness.statistics.bootstrap_ci`); every paired difference (SAW minus static, an
agent minus SAW, the two sides of a sensitivity check) has a 95% paired t interval
(:func:`saw_bench.harness.statistics.paired_t_ci`), the test the minimum detectable effect assumes,
since at a handful of seeds a bootstrap of the differences is too narrow, and a raw two-sided paired
t p-value. Each family of verdicts (SAW versus static; every other agent versus SAW; the
weight-sensitivity checks, each over the whole board) is corrected for multiplicity, by Holm's
method (family-wise error) or, with ``correction="bh"``, Benjamini-Hochberg (false discovery rate);
an outcome counts only when its adjusted p-value is below 0.05, and the sign of the mean difference
gives its direction.

The SAW-versus-static verdict pairs each ``saw`` submission with each ``static`` one (default
options: equal weights) that shares task, estimator, model and every other training option,
and takes the per-seed difference of the final normalised held-out score over the seeds
both have (seeds match the prompts drawn and the starting model, so the pairing is by seed).
Next to each verdict stand its minimum detectable effect and the task's weight-sensitivity
label, and ``FINDINGS.md`` holds the findings page (:mod:`saw_bench.leaderboard._findings`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saw_bench.core.files import write_bytes_atomic
from saw_bench.leaderboard._asynchrony import asynchrony_findings
from saw_bench.leaderboard._findings import (
    ALPHA,
    INSENSITIVE,
    check_correction,
    correct,
    correct_sensitivity,
    correction_rule,
    findings,
    interval,
    is_default_static,
    mde_of,
    paired,
    paired_test,
    raw_counts,
    rounded,
    sensitivity_checks,
    sensitivity_label,
    setting_key,
)
from saw_bench.leaderboard._findings_page import FIGURES, findings_figures, findings_page
from saw_bench.leaderboard._page import csv_table, html_page, markdown_page
from saw_bench.leaderboard._pareto import correct_hypervolumes, pareto_sets
from saw_bench.leaderboard._protocols import off_protocol_reason, read_protocols
from saw_bench.leaderboard._runs import canonical_json
from saw_bench.leaderboard._schema import MIN_SEEDS, SCHEMA_FILE, Submission, json_schema_text
from saw_bench.leaderboard._suite import suite_verdicts
from saw_bench.leaderboard._validate import Problem, check_leaderboard

CONFIDENCE = 0.95
GENERATED = (
    "LEADERBOARD.md",
    "FINDINGS.md",
    "leaderboard.json",
    "leaderboard.csv",
    "index.html",
    SCHEMA_FILE,
    *FIGURES,
)


def build(
    root: str | Path = "leaderboard",
    out_dir: str | Path | None = None,
    correction: str = "holm",
) -> list[Problem]:
    """Validate ``root`` and write the generated files into ``out_dir`` (default ``root``).

    ``correction`` is the multiplicity correction of each verdict family: ``"holm"`` (the
    default, family-wise error) or ``"bh"`` (Benjamini-Hochberg, false discovery rate).
    Returns the problems of ``root``; when there are any, nothing is written.
    """
    check_correction(correction)
    root = Path(root)
    problems, checked = check_leaderboard(root)
    if problems:
        return problems
    out = Path(out_dir) if out_dir is not None else root
    data = leaderboard_data(checked, root, correction)
    files = {
        "leaderboard.json": json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        + "\n",
        "leaderboard.csv": csv_table(data),
        "LEADERBOARD.md": markdown_page(data),
        "FINDINGS.md": findings_page(data),
        "index.html": html_page(data),
        SCHEMA_FILE: json_schema_text(),
        **findings_figures(data),
    }
    for name, text in files.items():
        write_bytes_atomic(out / name, text.encode())
    return []


# ---------------------------------------------------------------------- numbers
def leaderboard_data(
    checked: Sequence[tuple[Path, Submission]], root: Path, correction: str = "holm"
) -> dict[str, Any]:
    """Everything the generated files show, as plain JSON data; every verdict family is
    corrected for multiplicity by ``correction`` (``"holm"`` or ``"bh"``)."""
    by_task: dict[str, list[tuple[Path, Submission]]] = {}
    for path, submission in checked:
        by_task.setdefault(submission.task.env_id, []).append((path, submission))
    protocols = read_protocols(root)
    tasks = []
    ranked_of: dict[str, list[Submission]] = {}
    for env_id in sorted(by_task):
        members = by_task[env_id]
        protocol = protocols.get(env_id)
        reasons = [off_protocol_reason(submission, protocol) for _, submission in members]
        reasons = _superseded(members, reasons)
        ranked = [m for m, reason in zip(members, reasons, strict=True) if reason is None]
        entries = [_entry(path, submission, root) for path, submission in ranked]
        entries.sort(key=lambda entry: (-entry["final_normalised"]["mean"], entry["id"]))
        for rank, entry in enumerate(entries, start=1):
            entry["rank"] = rank
        apart = [
            {**_entry(path, submission, root), "rank": None, "apart": reason}
            for (path, submission), reason in zip(members, reasons, strict=True)
            if reason is not None
        ]
        apart.sort(
            key=lambda entry: (entry["apart"], -entry["final_normalised"]["mean"], entry["id"])
        )
        objectives = members[0][1].task.objectives
        tasks.append(
            {
                "env_id": env_id,
                "objectives": [o.model_dump() for o in objectives],
                "protocol": None if protocol is None else protocol.describe(),
                "entries": entries,
                "apart": apart,
            }
        )
        # only ranked entries (verified, on the task's protocol) enter the verdicts
        ranked_of[env_id] = [submission for _, submission in ranked]
    # the sensitivity checks of the whole board are one family: corrected before their labels
    # stand next to the comparisons
    checks_of = {env_id: sensitivity_checks(ranked_of[env_id]) for env_id in ranked_of}
    every_check = [check for checks in checks_of.values() for check in checks.values()]
    correct_sensitivity(every_check, correction)
    comparisons: list[dict[str, Any]] = []
    every: list[Submission] = []
    for task in tasks:
        env_id = task["env_id"]
        task["sensitivity"] = list(checks_of[env_id].values())
        comparisons += _comparisons(ranked_of[env_id], checks_of[env_id])
        every += ranked_of[env_id]
    correct(comparisons, correction)
    for comparison in comparisons:
        comparison["outcome"] = _SIDES[comparison["outcome"]]
    findings_data = findings(every, comparisons, root, correction)
    # the cross-task verdict, the multi-objective view and the asynchrony plot
    findings_data["suite"] = suite_verdicts(every)
    findings_data["pareto"] = pareto_sets(every)
    hypervolume_family = correct_hypervolumes(findings_data["pareto"], correction)
    by_id = {submission.id: submission for submission in every}
    findings_data["asynchrony"] = asynchrony_findings(comparisons, by_id, root)
    return {
        "schema_version": 1,
        "confidence": CONFIDENCE,
        "multiplicity": {
            "correction": correction,
            "alpha": ALPHA,
            "families": {
                "saw_vs_static": len(comparisons),
                "agent_vs_saw": sum(len(row["ablations"]) for row in findings_data["rows"]),
                "sensitivity": 2 * len(every_check),
                "hypervolume_vs_static": hypervolume_family,
            },
        },
        "submissions": len(checked),
        "tasks": tasks,
        "saw_vs_static": {
            "comparisons": comparisons,
            "verdict": _verdict(comparisons, checked, correction),
        },
        "findings": findings_data,
    }


def _agent_setting(submission: Submission) -> str:
    """What two entries share when they measure the same thing: the agent with its options and
    priorities, and every training option (:func:`setting_key`)."""
    agent = submission.agent
    return canonical_json([setting_key(submission), agent.name, agent.kwargs, agent.priorities])


def _superseded(
    members: Sequence[tuple[Path, Submission]], reasons: Sequence[str | None]
) -> list[str | None]:
    """``reasons`` with the superseded entries' added: of the entries still ranked that share
    agent and setting (:func:`_agent_setting`), the one with the most seeds counts, then the
    lowest id; the others are listed apart. So no setting enters a verdict twice, and which of
    two entries a verdict uses does not depend on the order of the files."""
    kept: dict[str, Submission] = {}
    for (_, submission), reason in zip(members, reasons, strict=True):
        key = _agent_setting(submission)
        best = kept.get(key)
        order = (-len(submission.seeds), submission.id)
        if reason is None and (best is None or order < (-len(best.seeds), best.id)):
            kept[key] = submission
    out: list[str | None] = []
    for (_, submission), reason in zip(members, reasons, strict=True):
        best = kept.get(_agent_setting(submission))
        if reason is None and best is not None and best is not submission:
            reason = (
                f"superseded by {best.id}: the same agent and setting, "
                f"{len(best.seeds)} seeds against {len(submission.seeds)}"
            )
        out.append(reason)
    return out


#: A SAW-versus-static outcome by the side that was better.
_SIDES = {"better": "saw", "worse": "static", "tie": "tie"}


def _ci(values: Sequence[float]) -> dict[str, float]:
    """Mean and interval of at least two values (a submission has at least MIN_SEEDS)."""
    return interval(values)  # type: ignore[return-value]


def _interval(values: Sequence[float | None]) -> dict[str, float] | None:
    """Mean and interval over seeds; None when a seed has no value."""
    if any(value is None for value in values):
        return None
    return _ci([value for value in values if value is not None])


def _entry(path: Path, submission: Submission, root: Path) -> dict[str, Any]:
    runs = submission.runs
    names = [objective.name for objective in submission.task.objectives]
    return {
        "id": submission.id,
        "file": path.relative_to(root).as_posix(),
        "name": submission.name,
        "submitter": submission.submitter,
        "status": submission.status,
        "agent": submission.agent.name,
        "agent_kwargs": submission.agent.kwargs,
        "priorities": submission.agent.priorities,
        "estimator": submission.estimator,
        "backend": submission.train.get("backend", "saw-bench"),
        "model": submission.model.name,
        "model_revision": submission.model.revision,
        "steps": max(run.steps for run in runs),
        "seeds": sorted(submission.seeds),
        "final": {name: _interval([run.final[name] for run in runs]) for name in names},
        "final_normalised": _interval([run.final_normalised for run in runs]),
        "normalised_auc": _interval([run.normalised_auc for run in runs]),
        "seconds_per_step": _optional_round(submission.summary.seconds_per_step),
        "weighting_overhead": _interval([run.overhead.weighting_overhead for run in runs]),
    }


def _optional_round(value: float | None) -> float | None:
    return None if value is None else rounded(value)


def _comparisons(
    submissions: Sequence[Submission], checks: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    saws = [s for s in submissions if s.agent.name == "saw"]
    statics = [s for s in submissions if is_default_static(s)]
    found = []
    for saw in sorted(saws, key=lambda s: s.id):
        for static in sorted(statics, key=lambda s: s.id):
            if setting_key(saw) != setting_key(static):
                continue
            pairs = paired(saw, static, lambda run: run.final_normalised)
            if pairs is None:
                continue
            seeds, differences = pairs
            saw_mean = sum(r.final_normalised for r in saw.runs if r.seed in seeds) / len(seeds)
            static_mean = sum(r.final_normalised for r in static.runs if r.seed in seeds) / len(
                seeds
            )
            found.append(
                {
                    "env_id": saw.task.env_id,
                    "estimator": saw.estimator,
                    "model": saw.model.name,
                    "steps": max(run.steps for run in saw.runs),
                    "seeds": seeds,
                    "saw": saw.id,
                    "static": static.id,
                    "saw_final_normalised": rounded(saw_mean),
                    "static_final_normalised": rounded(static_mean),
                    **paired_test(differences),
                    "mde": mde_of(static, seeds),
                    "sensitivity": sensitivity_label(checks, static),
                    "relative_percent": (
                        rounded(100 * (saw_mean - static_mean) / static_mean)
                        if static_mean > 0
                        else None
                    ),
                }
            )
    return found


def _verdict(
    comparisons: Sequence[dict[str, Any]], checked: Sequence[Any], correction: str = "holm"
) -> str:
    """The answer to "did SAW beat static weights?", in words, from the numbers (the outcomes
    corrected for multiplicity over the comparisons)."""
    if not checked:
        return (
            "No submissions yet, so the leaderboard cannot say whether SAW beats static "
            "weights. Run the reference grid in baselines/ and submit it (baselines/README.md)."
        )
    if not comparisons:
        return (
            "No SAW submission has a static-weights submission with the same task, estimator, "
            f"model and training options and at least {MIN_SEEDS} common seeds yet, so the "
            "leaderboard cannot say whether SAW beats static weights."
        )
    count = len(comparisons)
    wins = sum(c["outcome"] == "saw" for c in comparisons)
    losses = sum(c["outcome"] == "static" for c in comparisons)
    ties = count - wins - losses
    if wins == count:
        lead = "Yes: SAW beat static weights in every comparison"
    elif losses == count:
        lead = "No: static weights beat SAW in every comparison"
    elif wins == 0 and losses == 0:
        lead = "Not clearly: no comparison separates SAW from static weights"
    elif wins == 0:
        lead = "No: SAW never beat static weights (static was better or they tied)"
    elif losses == 0:
        lead = "Partly: SAW beat static weights in some comparisons and was never worse"
    else:
        lead = "Mixed: SAW's advantage depends on the setting"
    mean_difference = sum(c["difference"]["mean"] for c in comparisons) / count
    uncorrected = ""
    if all("p_value" in c for c in comparisons):
        raw_wins, raw_losses = raw_counts(comparisons)
        uncorrected = (
            f" Uncorrected (raw p < {ALPHA:g}) SAW would have been better in {raw_wins} and "
            f"worse in {raw_losses}."
        )
    fewest = min(len(c["seeds"]) for c in comparisons)
    caveat = f" With {fewest} seeds these intervals are rough." if fewest < 10 else ""
    power = ""
    mdes = [c["mde"] for c in comparisons if c.get("mde") is not None]
    if mdes:
        undetectable = sum(
            c["outcome"] == "tie"
            and c["mde"] is not None
            and abs(c["difference"]["mean"]) < c["mde"]
            for c in comparisons
            if c.get("mde") is not None
        )
        power = (
            f" The minimum detectable effect (80% power, from static's seed-to-seed spread) "
            f"ranges from {min(mdes):.3f} to {max(mdes):.3f}; {undetectable} of the {ties} "
            "tie(s) lie below it, so they do not show that the agents are equal."
        )
    insensitive = sum(c.get("sensitivity") == INSENSITIVE for c in comparisons)
    unchecked = sum(c.get("sensitivity") is None for c in comparisons)
    if insensitive:
        power += f" {insensitive} comparison(s) are on settings {INSENSITIVE}."
    if unchecked:
        power += f" {unchecked} comparison(s) have no weight-sensitivity check."
    return (
        f"{lead} at this scale. Over {count} paired comparison(s) of the final normalised "
        f"held-out score (0-1), SAW was better in {wins}, worse in {losses} and not "
        f"distinguishable in {ties} (a comparison counts as a win or a loss only when "
        f"{correction_rule(correction, 'SAW-versus-static comparisons', count)}); the mean "
        f"difference is {mean_difference:+.3f}.{uncorrected}{caveat}{power}"
    )
