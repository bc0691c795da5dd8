"""When does SAW help: SAW minus static against the static run's asynchrony index, over every
SAW-versus-static comparison on the board.

The index of a comparison is the mean, over static's seeds, of each run's asynchrony index
(:func:`saw_bench.harness.diagnose.diagnose` on the committed run files): the spread of the
objectives' steps to 90% of their gains as a fraction of the run's steps. A run where fewer
than two objectives gain (a saturated objective) has no index; such seeds are left out of the
mean, and a comparison with no seed that has one is left out of the plot and the fit, and
named. The slope of the difference on the index is an ordinary least-squares fit with a 95%
Student t interval (:func:`saw_bench.harness.statistics.ols_slope`), each comparison one point.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.harness.diagnose import diagnose
from saw_bench.harness.runs import load_run
from saw_bench.harness.statistics import ols_slope
from saw_bench.leaderboard._archive import archive_of, read_archive, run_folders
from saw_bench.leaderboard._findings import CONFIDENCE, rounded
from saw_bench.leaderboard._schema import Submission


def asynchrony_indices(submission: Submission, root: Path) -> dict[int, float | None]:
    """Seed -> asynchrony index of each committed run of ``submission`` (None: undefined, or
    no run files)."""
    indices: dict[int, float | None] = {}
    archives: dict[str, Any] = {}
    for run in sorted(submission.runs, key=lambda r: r.seed):
        indices[run.seed] = None
        if run.run_files is None:
            continue
        archive, folder = archive_of(run.run_files.path)
        try:
            if archive not in archives:
                archives[archive] = read_archive(root / archive)
            with run_folders({folder: archives[archive][folder]}) as temporary:
                index = diagnose(load_run(temporary / folder)).index
        except (SawBenchError, KeyError, ValueError):
            continue
        indices[run.seed] = None if math.isnan(index) else rounded(index)
    return indices


def asynchrony_findings(
    comparisons: Sequence[dict[str, Any]], by_id: dict[str, Submission], root: Path
) -> dict[str, Any]:
    """One point per comparison (static's mean index, SAW minus static with its interval), and
    the fitted slope over the points that have an index (None with fewer than 3)."""
    points = []
    for comparison in comparisons:
        static = by_id[comparison["static"]]
        seeds = [seed for seed in comparison["seeds"]]
        indices = asynchrony_indices(static, root)
        defined = [indices[seed] for seed in seeds if indices.get(seed) is not None]
        points.append(
            {
                "env_id": comparison["env_id"],
                "estimator": comparison["estimator"],
                "model": comparison["model"],
                "steps": comparison["steps"],
                "index": rounded(sum(defined) / len(defined)) if defined else None,
                "indices": [indices.get(seed) for seed in seeds],
                "defined": len(defined),
                "of": len(seeds),
                "difference": comparison["difference"],
            }
        )
    usable = [point for point in points if point["index"] is not None]
    fit = None
    if len(usable) >= 3 and len({point["index"] for point in usable}) > 1:
        line = ols_slope(
            [point["index"] for point in usable],
            [point["difference"]["mean"] for point in usable],
            confidence=CONFIDENCE,
        )
        fit = {key: value if key == "points" else rounded(value) for key, value in line.items()}
    return {"points": points, "fit": fit, "family_median": family_median(points)}


#: The task classes of the asynchrony family (``saw/Async-*``): their objectives are learned at
#: dialled speeds, so their median index is the yardstick of a task "learned out of step".
ASYNCHRONY_FAMILY = "saw_bench.envs.asynchrony."


def in_asynchrony_family(env_id: str) -> bool:
    try:
        return registry.registration(env_id).task.startswith(ASYNCHRONY_FAMILY)
    except (KeyError, registry.UnknownTaskError):
        return False


def family_median(points: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The median index of the asynchrony family's comparisons that have one, and the other
    comparisons above it (None when the family has none on the board)."""
    family = [
        p["index"] for p in points if p["index"] is not None and in_asynchrony_family(p["env_id"])
    ]
    if not family:
        return None
    median = statistics.median(family)
    above = [
        f"{p['env_id']} {p['estimator'].upper()}"
        for p in points
        if p["index"] is not None and not in_asynchrony_family(p["env_id"]) and p["index"] > median
    ]
    return {"median": rounded(median), "comparisons": len(family), "above": above}
