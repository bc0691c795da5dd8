"""What the leaderboard can and cannot resolve, and when SAW helps: power, weight sensitivity and
the findings page, from the valid submissions.

- **Minimum detectable effect** of a SAW-versus-static comparison: the smallest true
  difference of the final normalised aggregate that a paired comparison at its number of seeds
  detects with 80% power at the 5% level, from the seed-to-seed spread of static
  (:func:`saw_bench.harness.statistics.minimum_detectable_effect`:
  ``(t_{0.975, n-1} + t_{0.8, n-1}) * sqrt(2) * s_static / sqrt(n)``).
- **Weight sensitivity**: static with one objective up-weighted (priorities such as 4:1 and 1:4,
  or one objective at 4 and the rest at 1) against static with another one up-weighted, same
  task, estimator, model, options and seeds. For each of the two up-weighted objectives, the
  per-seed difference of its final normalised score (its own weighting minus the other) gets a
  paired t interval and p-value. A task where no such difference has an adjusted p-value below
  0.05 is *insensitive to weighting at this scale*: no weighting agent can be told apart there,
  whatever it does.
- **Multiplicity**: each family of verdicts over the whole board (SAW versus static, every other
  agent versus SAW, the sensitivity tests) has its raw p-values adjusted by Holm (1979) or
  Benjamini and Hochberg (1995) (:func:`correct`); an outcome counts only when its adjusted
  p-value is below :data:`ALPHA`.
- **Findings**: per task, estimator and model, SAW minus static with its interval and
  minimum detectable effect, steps to static's threshold (its first score plus 90% of its gain,
  on the submissions' curves), every other agent against SAW, the task's settings (the
  registered kwargs, such as asynchrony and noise), and the per-objective weights of SAW and
  static over training for one seed (from the committed run files).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.harness.statistics import (
    POWER,
    benjamini_hochberg,
    bootstrap_ci,
    first_reaching,
    holm,
    minimum_detectable_effect,
    paired_t_ci,
    paired_t_p_value,
)
from saw_bench.leaderboard._archive import archive_of, read_archive
from saw_bench.leaderboard._runs import canonical_json
from saw_bench.leaderboard._schema import MIN_SEEDS, Submission

CONFIDENCE = 0.95
#: Level of every verdict: an outcome counts when its adjusted p-value is below it.
ALPHA = 0.05
#: The multiplicity corrections a build can apply to each family of verdicts, by name.
CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg}
#: How the texts name each correction.
CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
#: What each correction controls over a family.
CORRECTION_CONTROLS = {"holm": "family-wise error rate", "bh": "false discovery rate"}
THRESHOLD_FRACTION = 0.9
INSENSITIVE = "insensitive to weighting at this scale"
SENSITIVE = "sensitive to weighting"
#: Training options that differ between the agents compared on one task (and ``priorities``
#: between the sides of a sensitivity check).
AGENT_OPTIONS = ("weighting", "weighting_kwargs", "device")
#: Points kept of a weight curve (first and last always kept).
MAX_WEIGHT_POINTS = 41


def interval(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and 95% bootstrap interval; one value has no interval (low and high None)."""
    return _as_interval(*bootstrap_ci(values, confidence=CONFIDENCE))


def paired_interval(differences: Sequence[float]) -> dict[str, float | None]:
    """Mean of per-seed paired differences and their 95% paired t interval (at a handful of
    seeds a bootstrap of the differences is too narrow: :func:`paired_t_ci`)."""
    return _as_interval(*paired_t_ci(differences, confidence=CONFIDENCE))


def _as_interval(mean: float, low: float, high: float) -> dict[str, float | None]:
    """The leaderboard's form of ``(mean, low, high)``: rounded; NaN bounds (one seed) None."""
    if math.isnan(low):
        return {"mean": rounded(mean), "low": None, "high": None}
    return {"mean": rounded(mean), "low": rounded(low), "high": rounded(high)}


def outcome(mean: float, p_adjusted: float) -> str:
    """``"better"``, ``"worse"`` or ``"tie"``: a difference counts only when its adjusted
    p-value is below :data:`ALPHA`, and its sign says which way."""
    if p_adjusted < ALPHA and mean > 0:
        return "better"
    if p_adjusted < ALPHA and mean < 0:
        return "worse"
    return "tie"


def check_correction(correction: str) -> str:
    """``correction`` when it names one of :data:`CORRECTIONS`, else ValueError."""
    if correction not in CORRECTIONS:
        raise ValueError(
            f"correction must be one of {', '.join(sorted(CORRECTIONS))}, but got {correction!r}"
        )
    return correction


def paired_test(differences: Sequence[float]) -> dict[str, Any]:
    """A paired difference as the leaderboard stores it: its interval and its raw two-sided
    paired t p-value (:func:`paired_t_p_value`); ``p_adjusted`` and the outcome come from
    :func:`correct` over its family."""
    return {
        "difference": paired_interval(differences),
        "p_value": rounded(paired_t_p_value(differences)),
    }


def correct(family: Sequence[dict[str, Any]], correction: str) -> None:
    """Adjust the raw ``p_value`` of every test of one ``family`` by ``correction`` (Holm or
    Benjamini-Hochberg, :data:`CORRECTIONS`) and set each test's ``p_adjusted`` and
    ``outcome`` (better / worse / tie, :func:`outcome`), in place."""
    adjusted = CORRECTIONS[check_correction(correction)]([test["p_value"] for test in family])
    for test, p_adjusted in zip(family, adjusted, strict=True):
        test["p_adjusted"] = rounded(p_adjusted)
        test["outcome"] = outcome(test["difference"]["mean"], p_adjusted)


def rounded(value: float) -> float:
    """6 decimals, and -0.0 as 0.0: every number the leaderboard files show."""
    return round(float(value), 6) + 0.0


def setting_key(submission: Submission, *ignored: str) -> str:
    """Everything that must match for two submissions to be compared, except ``ignored``
    training options and the agent's own."""
    drop = set(AGENT_OPTIONS) | set(ignored)
    train = {k: v for k, v in submission.train.items() if k not in drop}
    if "backend" not in drop:  # runs from before backends were trained by saw-bench's loop
        train.setdefault("backend", "saw-bench")
    return canonical_json(
        [submission.task.env_id, submission.estimator, submission.model.model_dump(), train]
    )


def is_default_static(submission: Submission) -> bool:
    return submission.agent.name == "static" and not submission.agent.kwargs


def paired(
    first: Submission, second: Submission, value: Any
) -> tuple[list[int], list[float]] | None:
    """Seeds both submissions ran and the per-seed ``value(first run) - value(second run)``;
    None with fewer than :data:`MIN_SEEDS` common seeds."""
    first_runs = {run.seed: run for run in first.runs}
    second_runs = {run.seed: run for run in second.runs}
    seeds = sorted(set(first_runs) & set(second_runs))
    if len(seeds) < MIN_SEEDS:
        return None
    return seeds, [value(first_runs[seed]) - value(second_runs[seed]) for seed in seeds]


def mde_of(static: Submission, seeds: Sequence[int]) -> float | None:
    """Minimum detectable effect at ``len(seeds)`` seeds from static's spread on those seeds."""
    values = [run.final_normalised for run in static.runs if run.seed in set(seeds)]
    mde = minimum_detectable_effect(values, seeds=len(seeds), confidence=CONFIDENCE, power=POWER)
    return None if math.isnan(mde) else rounded(mde)


# ---------------------------------------------------------------------- sensitivity
def _up_weighted(priorities: Sequence[float] | None) -> int | None:
    """Index of the one objective whose priority is above all others (which are equal)."""
    if not priorities or len(priorities) < 2:
        return None
    top = max(priorities)
    rest = [p for p in priorities if p != top]
    if len(rest) != len(priorities) - 1 or len(set(rest)) != 1:
        return None
    return list(priorities).index(top)


def _normalised_objective(submission: Submission, index: int) -> Any:
    objective = submission.task.objectives[index]
    span = objective.high - objective.low
    return lambda run: (run.final[objective.name] - objective.low) / span


def sensitivity_checks(submissions: Sequence[Submission]) -> dict[str, dict[str, Any]]:
    """One check per setting with static submissions up-weighting two different objectives:
    the two extremes (the lowest and the highest up-weighted objective index); keyed by the
    setting (``setting_key`` without the priorities), in key order. Each up-weighted objective
    carries its difference and raw p-value; :func:`correct_sensitivity` over the board's checks
    adds the adjusted p-values and the label."""
    by_setting: dict[str, dict[int, Submission]] = {}
    for submission in sorted(submissions, key=lambda s: s.id):
        index = _up_weighted(submission.agent.priorities)
        if is_default_static(submission) and index is not None:
            by_setting.setdefault(setting_key(submission, "priorities"), {}).setdefault(
                index, submission
            )
    checks: dict[str, dict[str, Any]] = {}
    for key in sorted(by_setting):
        sides = by_setting[key]
        if len(sides) < 2:
            continue
        first_index, second_index = min(sides), max(sides)
        first, second = sides[first_index], sides[second_index]
        objectives = []
        seeds: list[int] = []
        for index, favoured, other in (
            (first_index, first, second),
            (second_index, second, first),
        ):
            found = paired(favoured, other, _normalised_objective(favoured, index))
            if found is None:
                break
            seeds, differences = found
            objectives.append(
                {
                    "name": favoured.task.objectives[index].name,
                    "up_weighted": favoured.id,
                    "other": other.id,
                    **paired_test(differences),
                }
            )
        if len(objectives) < 2:
            continue
        checks[key] = {
            "env_id": first.task.env_id,
            "estimator": first.estimator,
            "model": first.model.name,
            "steps": max(run.steps for run in first.runs),
            "seeds": seeds,
            "priorities": [first.agent.priorities, second.agent.priorities],
            "objectives": objectives,
        }
    return checks


def correct_sensitivity(checks: Sequence[dict[str, Any]], correction: str) -> None:
    """Correct the tests of every check (two per check: one per up-weighted objective) as one
    family, and label each check: *sensitive* when any of its adjusted outcomes is not a tie
    (in place)."""
    correct([o for check in checks for o in check["objectives"]], correction)
    for check in checks:
        check["sensitive"] = any(o["outcome"] != "tie" for o in check["objectives"])
        check["label"] = SENSITIVE if check["sensitive"] else INSENSITIVE


def sensitivity_label(checks: Mapping[str, dict[str, Any]], submission: Submission) -> str | None:
    """The sensitivity label of ``submission``'s setting, or None when it was not checked."""
    check = checks.get(setting_key(submission, "priorities"))
    return None if check is None else check["label"]


# ---------------------------------------------------------------------- findings
def task_settings(env_id: str) -> str:
    """The registered kwargs of ``env_id`` (without the task class), as ``k=v`` pairs."""
    try:
        kwargs = dict(registry.spec(env_id).kwargs)
    except Exception:  # noqa: BLE001 - a task no longer installed: say so instead of failing
        return "(not installed)"
    kwargs.pop("task", None)
    if not kwargs:
        return "defaults"
    return ", ".join(f"{key}={canonical_json(kwargs[key])}" for key in sorted(kwargs))


def _steps_to_threshold(submission: Submission, threshold: float) -> dict[str, Any]:
    steps = []
    for run in submission.runs:
        hit = first_reaching([point.normalised for point in run.curve], threshold)
        if hit is not None:
            steps.append(float(run.curve[hit].step))
    summary: dict[str, Any] = {"reached": len(steps), "of": len(submission.runs)}
    summary["steps"] = interval(steps) if steps else None
    return summary


def _weight_curves(submission: Submission, seed: int, root: Path) -> dict[str, Any] | None:
    """Per-objective weights over training of one seed, from the committed metrics.jsonl."""
    run = next((r for r in submission.runs if r.seed == seed), None)
    if run is None or run.run_files is None:
        return None
    archive, folder = archive_of(run.run_files.path)
    try:
        lines = read_archive(root / archive)[folder]["metrics.jsonl"].decode().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        names = [objective.name for objective in submission.task.objectives]
        steps = [int(row["step"]) for row in rows]
        weights = {
            name: [float(row["objectives"][name]["weight"]) for row in rows] for name in names
        }
    except (SawBenchError, ValueError, KeyError, TypeError):
        return None
    keep = (
        sorted(
            {
                round(i * (len(steps) - 1) / (MAX_WEIGHT_POINTS - 1))
                for i in range(MAX_WEIGHT_POINTS)
            }
        )
        if len(steps) > MAX_WEIGHT_POINTS
        else list(range(len(steps)))
    )
    return {
        "steps": [steps[i] for i in keep],
        "weights": {name: [rounded(values[i]) for i in keep] for name, values in weights.items()},
    }


def agent_label(submission: Submission) -> str:
    """An agent as the pages name it: its name, then its options (``saw-floor {"floor":0.1}``)."""
    text = submission.agent.name
    if submission.agent.kwargs:
        text += " " + canonical_json(submission.agent.kwargs)
    return text


def findings(
    submissions: Sequence[Submission],
    comparisons: Sequence[dict[str, Any]],
    root: Path,
    correction: str = "holm",
) -> dict[str, Any]:
    """The findings page's data: one row per SAW-versus-static comparison (whose outcomes are
    already corrected), and a summary. The ablations (every other agent against SAW, over all
    rows) are one family, corrected by ``correction``."""
    by_id = {submission.id: submission for submission in submissions}
    rows = []
    for comparison in comparisons:
        saw, static = by_id[comparison["saw"]], by_id[comparison["static"]]
        key = setting_key(saw)
        first = sum(run.curve[0].normalised for run in static.runs) / len(static.runs)
        final = sum(run.final_normalised for run in static.runs) / len(static.runs)
        threshold = first + THRESHOLD_FRACTION * (final - first)
        ablations = []
        for other in sorted(submissions, key=lambda s: (s.agent.name, s.id)):
            if other.id in (saw.id, static.id) or setting_key(other) != key:
                continue
            found = paired(other, saw, lambda run: run.final_normalised)
            if found is None:
                continue
            ablations.append(
                {
                    "agent": agent_label(other),
                    "id": other.id,
                    "seeds": found[0],
                    **paired_test(found[1]),
                }
            )
        seed = comparison["seeds"][0]
        rows.append(
            {
                "env_id": comparison["env_id"],
                "settings": task_settings(comparison["env_id"]),
                "estimator": comparison["estimator"],
                "model": comparison["model"],
                "steps": comparison["steps"],
                "seeds": comparison["seeds"],
                "difference": comparison["difference"],
                "p_value": comparison["p_value"],
                "p_adjusted": comparison["p_adjusted"],
                "mde": comparison["mde"],
                "outcome": comparison["outcome"],
                "sensitivity": comparison["sensitivity"],
                "threshold": rounded(threshold),
                "steps_to_threshold": {
                    "saw": _steps_to_threshold(saw, threshold),
                    "static": _steps_to_threshold(static, threshold),
                },
                "ablations": ablations,
                "weight_curves": {
                    "seed": seed,
                    "saw": _weight_curves(saw, seed, root),
                    "static": _weight_curves(static, seed, root),
                },
            }
        )
    correct([ablation for row in rows for ablation in row["ablations"]], correction)
    env_ids = sorted({row["env_id"] for row in rows})
    return {
        "rows": rows,
        "summary": findings_summary(rows, correction),
        "tasks": [task_description(env_id) for env_id in env_ids],
    }


def task_description(env_id: str) -> dict[str, Any]:
    """A task's registered settings and its objectives as the installed task describes them."""
    try:
        registered = registry.spec(env_id).kwargs
        task_class = registry.import_object(registered["task"])
        kwargs = {k: v for k, v in registered.items() if k != "task"}
        objectives = [
            {"name": o.name, "low": o.low, "high": o.high, "description": o.description}
            for o in task_class.objectives_for(**kwargs)
        ]
    except Exception:  # noqa: BLE001 - a task no longer installed: say so instead of failing
        objectives = []
    return {"env_id": env_id, "settings": task_settings(env_id), "objectives": objectives}


def correction_rule(correction: str, family: str, size: int) -> str:
    """How an outcome of ``family`` is decided: "[counts only when] its ... is below 0.05"."""
    return (
        f"its {CORRECTION_NAMES[correction]}-adjusted p-value (two-sided paired t-test; "
        f"{CORRECTION_CONTROLS[correction]} over the family of {size} {family}) is below "
        f"{ALPHA:g}"
    )


def raw_counts(tests: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(wins, losses) the tests would count at raw p < :data:`ALPHA`, uncorrected."""
    wins = sum(t["p_value"] < ALPHA and t["difference"]["mean"] > 0 for t in tests)
    losses = sum(t["p_value"] < ALPHA and t["difference"]["mean"] < 0 for t in tests)
    return wins, losses


def findings_summary(rows: Sequence[dict[str, Any]], correction: str = "holm") -> str:
    """Where SAW won, tied and lost (adjusted outcomes), in words that follow the numbers."""
    if not rows:
        return (
            "No SAW submission has a matching static one with enough common seeds yet, so "
            "there are no findings."
        )
    groups: dict[str, list[str]] = {"saw": [], "tie": [], "static": []}
    names = [f"{row['env_id']} {row['estimator'].upper()} {row['steps']} steps" for row in rows]
    shared = Counter(names)
    for row, name in zip(rows, names, strict=True):
        if shared[name] > 1:  # one setting on several policies: told apart by the policy
            name += f" {row['model']}"
        groups[row["outcome"]].append(name)
    parts = []
    for key, verb in (("saw", "won"), ("tie", "tied"), ("static", "lost")):
        names = groups[key]
        parts.append(f"{verb} in {len(names)}" + (f" ({', '.join(names)})" if names else ""))
    resolved = [r for r in rows if r["mde"] is not None]
    ties = [r for r in resolved if r["outcome"] == "tie"]
    below = [r for r in ties if abs(r["difference"]["mean"]) < r["mde"]]
    insensitive = [r for r in rows if r["sensitivity"] == INSENSITIVE]
    text = (
        f"Over {len(rows)} paired comparison(s) of the final normalised held-out score, SAW "
        + "; ".join(parts)
        + " against static weights (a win or a loss counts only when "
        + correction_rule(correction, "SAW-versus-static comparisons", len(rows))
        + ")."
    )
    raw_wins, raw_losses = raw_counts(rows)
    text += (
        f" Uncorrected (raw p < {ALPHA:g}), SAW would have won {raw_wins} and lost {raw_losses}."
    )
    if ties:
        text += (
            f" In {len(below)} of the {len(ties)} tie(s) the observed difference is smaller than "
            "the minimum detectable effect (80% power), so such a tie does not show the agents "
            "are equal."
        )
    if insensitive:
        text += (
            f" {len(insensitive)} comparison(s) are on settings {INSENSITIVE}: up-weighting one "
            "objective 4:1 moved no objective's score at an adjusted p-value below "
            f"{ALPHA:g}."
        )
    return text
