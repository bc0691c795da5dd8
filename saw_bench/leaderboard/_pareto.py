"""The multi-objective view: per task and setting, each agent's final per-objective scores and
its hypervolume against static.

- Scores are normalised by the objectives' bounds, ``(x - low) / (high - low)``, so every
  objective runs from 0 to 1 and is maximised.
- An agent's point is the mean over seeds of each normalised objective (95% percentile
  bootstrap intervals over seeds); a point is *non-dominated* when no other agent of its
  setting is at least as good in every objective and better in one (moocore's
  ``is_nondominated`` on the means).
- **Hypervolume** (Zitzler and Thiele, 1998): the volume of objective space a set of points
  dominates, measured from a reference point; here the reference is the objectives' lower
  bounds (0 in normalised units), computed by moocore (``moocore.hypervolume``, maximising).
  Each seed's final point has one, so an agent's hypervolume is the mean over seeds with a
  bootstrap interval, and its difference to default static (same setting, paired by seed) has
  a 95% paired t interval and a raw p-value, corrected for multiplicity over the board's
  hypervolume comparisons like every other verdict family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard._findings import (
    agent_label,
    correct,
    interval,
    is_default_static,
    paired,
    paired_test,
    setting_key,
)
from saw_bench.leaderboard._schema import Submission


def _moocore() -> Any:
    try:
        import moocore
    except ImportError:
        raise SawBenchError(
            "the leaderboard's hypervolumes need moocore: pip install 'saw-bench[findings]'"
        ) from None
    return moocore


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Hypervolume of ``points`` (rows, every objective maximised) above ``reference``: the
    volume of the union of the boxes from ``reference`` to each point (moocore). Points not
    above the reference in every objective add nothing."""
    array = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if array.ndim != 2 or array.shape[1] != ref.size:
        raise ValueError(
            f"hypervolume needs points of {ref.size} objectives (rows), but got shape {array.shape}"
        )
    if not (np.all(np.isfinite(array)) and np.all(np.isfinite(ref))):
        raise ValueError("hypervolume needs finite points and reference")
    above = array[np.all(array > ref, axis=1)]
    if above.size == 0:
        return 0.0
    return float(_moocore().hypervolume(above, ref=ref, maximise=True))


def nondominated(points: Sequence[Sequence[float]]) -> list[bool]:
    """For each point (every objective maximised): no other point is at least as good in every
    objective and better in one (moocore); equal points are all kept."""
    array = np.asarray(points, dtype=float)
    if array.size == 0:
        return []
    flags = _moocore().is_nondominated(array, maximise=True, keep_weakly=True)
    return [bool(flag) for flag in flags]


def _normalised_point(submission: Submission, run: Any) -> list[float]:
    return [(run.final[o.name] - o.low) / (o.high - o.low) for o in submission.task.objectives]


def _volume_of(submission: Submission, reference: list[float]) -> Any:
    """run -> the hypervolume of its final normalised point."""
    return lambda run: hypervolume([_normalised_point(submission, run)], reference)


def _setting_name(submission: Submission) -> str:
    return f"{submission.estimator.upper()}, {submission.model.name}"


def pareto_sets(submissions: Sequence[Submission]) -> list[dict[str, Any]]:
    """Per task, per setting: every agent's normalised point, whether it is non-dominated, its
    hypervolume and (but static's) the paired hypervolume difference to default static with a
    raw p-value; :func:`correct_hypervolumes` adds the adjusted ones."""
    by_task: dict[str, dict[str, list[Submission]]] = {}
    for submission in sorted(submissions, key=lambda s: s.id):
        key = setting_key(submission, "priorities")
        by_task.setdefault(submission.task.env_id, {}).setdefault(key, []).append(submission)
    tasks = []
    for env_id in sorted(by_task):
        settings = []
        objectives: list[str] = []
        for members in by_task[env_id].values():
            objectives = [o.name for o in members[0].task.objectives]
            reference = [0.0] * len(objectives)
            static = next(
                (s for s in members if is_default_static(s) and s.agent.priorities is None), None
            )
            points = []
            for submission in sorted(members, key=lambda s: (_label(s), s.id)):
                per_seed = {run.seed: _normalised_point(submission, run) for run in submission.runs}
                volumes = {seed: hypervolume([p], reference) for seed, p in per_seed.items()}
                point: dict[str, Any] = {
                    "agent": _label(submission),
                    "id": submission.id,
                    "objectives": {
                        name: interval([p[i] for p in per_seed.values()])
                        for i, name in enumerate(objectives)
                    },
                    "hypervolume": interval(list(volumes.values())),
                    "against_static": None,
                }
                if static is not None and submission is not static:
                    found = paired(submission, static, _volume_of(submission, reference))
                    if found is not None:
                        point["against_static"] = {"seeds": found[0], **paired_test(found[1])}
                points.append(point)
            means = [[p["objectives"][name]["mean"] for name in objectives] for p in points]
            for point, flag in zip(points, nondominated(means), strict=True):
                point["nondominated"] = flag
            first = members[0]
            settings.append(
                {
                    "setting": _setting_name(first),
                    "estimator": first.estimator,
                    "model": first.model.name,
                    "steps": max(run.steps for run in first.runs),
                    "points": points,
                }
            )
        settings.sort(key=lambda s: (s["estimator"], s["model"], s["steps"]))
        tasks.append({"env_id": env_id, "objectives": objectives, "settings": settings})
    return tasks


def _label(submission: Submission) -> str:
    """The agent, with its priorities when static up-weights an objective."""
    label = agent_label(submission)
    if submission.agent.priorities is not None:
        label += " p=" + ":".join(f"{p:g}" for p in submission.agent.priorities)
    return label


def hypervolume_tests(tasks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every hypervolume comparison against static on the board (one family)."""
    return [
        point["against_static"]
        for task in tasks
        for setting in task["settings"]
        for point in setting["points"]
        if point["against_static"] is not None
    ]


def correct_hypervolumes(tasks: Sequence[dict[str, Any]], correction: str) -> int:
    """Adjust the hypervolume comparisons as one family (in place); returns its size."""
    family = hypervolume_tests(tasks)
    correct(family, correction)
    return len(family)
