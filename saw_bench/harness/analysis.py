"""Comparing finished runs: group them by configuration and summarise each group over its seeds
(run folders are read by :mod:`saw_bench.harness.runs`, intervals come from
:mod:`saw_bench.harness.statistics`).

Definitions (the docs page concepts/comparing-runs.md states the same):

- normalised score of objective k: (x_k - low_k) / (high_k - low_k) with the task's bounds from
  ``config.json``; the **aggregate** is the mean over objectives, weighted by the run's
  priorities when it has them: sum_k p_k s_k / sum_k p_k. It is recomputed here from the
  per-objective held-out means in ``eval.jsonl``, so every run is judged by one definition.
- **final** scores: the last row of ``eval.jsonl`` (held-out means, task units per objective).
- every "mean [low, high]" is the mean over seeds with a 95% percentile-bootstrap interval
  (:func:`bootstrap_ci`); one seed gives no interval.
- **threshold**: the ``static`` agent's (default options, same priorities, same task and
  estimator) mean first aggregate plus ``threshold_fraction`` x its mean gain from the first
  evaluation to the final one: with start s and final f, s + 0.9 (f - s) by default. Measuring
  from the start keeps the threshold meaningful when an objective is saturated from step 0 (a
  fraction of the final alone can lie below where every run starts). When static gains nothing,
  the threshold is at or below its start and runs reach it at their first evaluation. An
  absolute threshold given by the caller replaces the rule. **steps to threshold** of a seed:
  the first eval step whose aggregate is >= the threshold; **seconds to threshold**: that eval
  row's ``wall_seconds`` (training time, evaluation excluded). A seed that never gets there is
  *censored*: the mean and interval are over the seeds that reached the threshold only, shown
  with "reached k/n"; censored seeds are never averaged in as if they had hit it.
- **- static**: the per-seed difference of the final aggregate from static's (same task,
  estimator and priorities), paired by seed, with its paired t interval (:func:`paired_t_ci`;
  at a handful of seeds a bootstrap of the differences is too narrow). **MDE**: the minimum
  detectable effect of that paired comparison at its number of common seeds, from static's
  seed-to-seed standard deviation s: (t_{0.975, n-1} + t_{0.8, n-1}) sqrt(2) s / sqrt(n), the true
  difference found with 80% power (:func:`minimum_detectable_effect`); a difference whose
  interval holds 0 and which is below the MDE is a comparison that could not have told.
- **AUC**: trapezoidal area under the aggregate eval curve over steps divided by the step span
  (a value in [0, 1]; a constant curve at c has AUC c).
- **step time x static**: mean seconds per training step / static's (everything the agent
  changes, rollout lengths included). **weighting overhead**:
  1 + (agent's weight-phase seconds per step - static's) / static's seconds per step: the cost of
  computing the weights alone, as a fraction of a step; less noisy than the raw ratio.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import write_bytes_atomic
from saw_bench.core.task import Objective
from saw_bench.harness.runs import (
    AGGREGATE,
    LoadedRuns,
    Run,
    SkippedRun,
)
from saw_bench.harness.statistics import (
    CONFIDENCE,
    band,
    bootstrap_ci,
    first_reaching,
    minimum_detectable_effect,
    normalised_auc,
    paired_t_ci,
)


# ---------------------------------------------------------------------- comparing
@dataclass(eq=False)
class Group:
    """The seeds of one configuration: task, estimator, agent with its options, priorities."""

    task_id: str
    estimator: str
    agent: str
    agent_options: dict[str, Any]
    priorities: tuple[float, ...] | None
    runs: list[Run]
    backend: str = "saw-bench"

    @property
    def label(self) -> str:
        """Agent name, its options and priorities, and the backend when it is not saw-bench's
        own, e.g. ``static{weights=[1, 2]} p=[2, 1]`` or ``saw [trl]``."""
        text = self.agent
        if self.agent_options:
            text += (
                "{"
                + ", ".join(
                    f"{key}={json.dumps(value)}"
                    for key, value in sorted(self.agent_options.items())
                )
                + "}"
            )
        if self.priorities is not None:
            text += " p=[" + ", ".join(f"{p:g}" for p in self.priorities) + "]"
        if self.backend != "saw-bench":
            text += f" [{self.backend}]"
        return text

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.runs[0].objectives

    @property
    def seeds(self) -> list[int]:
        return [run.seed for run in self.runs]

    def curve(self, column: str) -> pd.DataFrame:
        """Held-out ``column`` (an objective or ``aggregate``) per eval step: mean over seeds
        with a 95% bootstrap band (columns step, mean, low, high, seeds)."""
        return _band_frame([run.evaluations.set_index("step")[column] for run in self.runs])

    def weight_curve(self, objective: str) -> pd.DataFrame:
        """The agent's weight on ``objective`` per training step, like :meth:`curve`."""
        return _band_frame(
            [run.metrics.set_index("step")[f"weight:{objective}"] for run in self.runs]
        )


def _band_frame(series: list[pd.Series]) -> pd.DataFrame:
    matrix = pd.concat([s[~s.index.duplicated(keep="last")] for s in series], axis=1).sort_index()
    mean, low, high = band(matrix.to_numpy().T)
    return pd.DataFrame(
        {
            "step": matrix.index.to_numpy(),
            "mean": mean,
            "low": low,
            "high": high,
            "seeds": matrix.notna().sum(axis=1).to_numpy(),
        }
    )


@dataclass
class Comparison:
    """The groups of a set of runs and their summary table (one row per group)."""

    groups: list[Group]
    table: pd.DataFrame
    skipped: list[SkippedRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    threshold_fraction: float = 0.9
    absolute_threshold: float | None = None

    @property
    def runs(self) -> list[Run]:
        return [run for group in self.groups for run in group.runs]

    def panels(self) -> list[tuple[str, str]]:
        """The (task id, estimator) pairs, in table order."""
        return list(dict.fromkeys((g.task_id, g.estimator) for g in self.groups))

    def groups_of(self, task_id: str, estimator: str) -> list[Group]:
        return [g for g in self.groups if (g.task_id, g.estimator) == (task_id, estimator)]

    def group_row(self, group: Group) -> pd.Series:
        """The table row of ``group``."""
        return self.table.iloc[self.groups.index(group)]

    def threshold_text(self, task_id: str, estimator: str) -> str:
        """How the threshold of this task and estimator was set, and its value."""
        rows = self.table[(self.table.task_id == task_id) & (self.table.estimator == estimator)]
        values = sorted({round(float(t), 12) for t in rows.threshold if not math.isnan(t)})
        if self.absolute_threshold is not None:
            return f"absolute threshold {self.absolute_threshold:.3f}"
        if not values:
            return "no threshold: no static run to compare with"
        rule = f"threshold: static's start + {self.threshold_fraction:g} x its mean gain"
        if len(values) == 1 and not rows.threshold.isna().any():
            return f"{rule} = {values[0]:.3f}"
        return f"{rule} (per row: priorities differ)"

    def display_tables(self, task_id: str, estimator: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Two formatted tables for one (task, estimator): final scores, and efficiency."""
        rows = self.table[(self.table.task_id == task_id) & (self.table.estimator == estimator)]
        groups = self.groups_of(task_id, estimator)
        names = [objective.name for objective in groups[0].objectives]
        scores, efficiency = [], []
        for _, row in rows.iterrows():
            score = {"agent": row.agent, "seeds": int(row.seeds)}
            for name in [*names, AGGREGATE]:
                score[name] = _interval(row, f"final_{name}", ".3f")
            score["AUC"] = _interval(row, "auc", ".3f")
            score["- static"] = _interval(row, "vs_static", "+.3f")
            score["MDE"] = _plain(row.mde, ".3f")
            scores.append(score)
            reached = row.threshold_reached
            efficiency.append(
                {
                    "agent": row.agent,
                    "threshold": _plain(row.threshold, ".3f"),
                    "reached": "-" if pd.isna(reached) else f"{int(reached)}/{int(row.seeds)}",
                    "steps to threshold": _interval(row, "steps_to_threshold", ".0f"),
                    "seconds to threshold": _interval(row, "seconds_to_threshold", ".1f"),
                    "s/step": f"{row.seconds_per_step:.3g}",
                    "step time x static": _plain(row.step_time_ratio, ".3f"),
                    "weighting overhead": _plain(row.weighting_overhead, ".4f"),
                }
            )
        return pd.DataFrame(scores), pd.DataFrame(efficiency)

    def format_table(self) -> str:
        """The table for a terminal: one block per task and estimator, "mean [low, high]"."""
        blocks = []
        for task_id, estimator in self.panels():
            scores, efficiency = (
                _left_aligned(frame, "agent") for frame in self.display_tables(task_id, estimator)
            )
            lines = [
                f"{task_id}  {estimator}  ({self.threshold_text(task_id, estimator)})",
                "final held-out scores, mean [95% CI] over seeds:",
                scores.to_string(index=False),
                "efficiency (to threshold: mean over the seeds that reached it):",
                efficiency.to_string(index=False),
            ]
            blocks.append("\n".join(lines))
        for skipped in self.skipped:
            blocks.append(f"skipped {skipped.path}: {skipped.reason}")
        blocks += [f"note: {note}" for note in self.notes]
        return "\n\n".join(blocks)

    def to_csv(self, path: str | Path) -> Path:
        """The full table (every number, one row per group) as CSV, written atomically."""
        path = Path(path)
        write_bytes_atomic(path, self.table.to_csv(index=False).encode())
        return path


def _left_aligned(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with ``column`` (text) padded so that to_string shows it left-aligned."""
    width = max([len(column), *(len(value) for value in frame[column])])
    return frame.assign(**{column: frame[column].str.ljust(width)}).rename(
        columns={column: column.ljust(width)}
    )


def _interval(row: pd.Series, column: str, spec: str) -> str:
    mean, low, high = row[column], row[f"{column}_low"], row[f"{column}_high"]
    if pd.isna(mean):
        return "-"
    if pd.isna(low):
        return format(mean, spec)
    return f"{mean:{spec}} [{low:{spec}}, {high:{spec}}]"


def _plain(value: float, spec: str) -> str:
    return "-" if pd.isna(value) else format(value, spec)


def compare(
    runs: Sequence[Run] | LoadedRuns,
    threshold_fraction: float = 0.9,
    absolute_threshold: float | None = None,
    confidence: float = CONFIDENCE,
    resamples: int = 10_000,
) -> Comparison:
    """Group ``runs`` by configuration and summarise every group over its seeds.

    The threshold is the static group's mean first aggregate plus ``threshold_fraction`` x its
    mean gain to the final one, on the same task and estimator (static with default options and
    the same priorities), or ``absolute_threshold`` for every group when given. See the module
    docstring for the definitions of every column.
    """
    skipped: list[SkippedRun] = []
    if isinstance(runs, LoadedRuns):
        runs, skipped = runs.runs, list(runs.skipped)
    if not (isinstance(threshold_fraction, int | float) and 0 < threshold_fraction <= 1):
        raise SawBenchError(f"threshold fraction must be in (0, 1], but got {threshold_fraction!r}")
    if absolute_threshold is not None and not (
        isinstance(absolute_threshold, int | float) and 0 < absolute_threshold <= 1
    ):
        raise SawBenchError(
            f"absolute threshold must be in (0, 1] (aggregates are normalised), "
            f"but got {absolute_threshold!r}"
        )
    if not runs:
        raise SawBenchError("no finished runs to compare")

    grouped: dict[tuple[Any, ...], list[Run]] = {}
    for run in sorted(runs, key=lambda r: (r.task_id, r.estimator, r.agent, r.seed, str(r.path))):
        grouped.setdefault(run.group_key, []).append(run)
    groups = [
        Group(
            members[0].task_id,
            members[0].estimator,
            members[0].agent,
            members[0].agent_options,
            members[0].priorities,
            members,
            members[0].backend,
        )
        for members in grouped.values()
    ]
    # static first within each (task, estimator), then by label
    groups.sort(key=lambda g: (g.task_id, g.estimator, g.agent != "static", g.label))
    notes = _group_notes(groups)

    def ci(values: Sequence[float]) -> tuple[float, float, float]:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        if not finite:
            return math.nan, math.nan, math.nan
        return bootstrap_ci(finite, confidence=confidence, resamples=resamples)

    finals = {id(g): [run.evaluations.iloc[-1] for run in g.runs] for g in groups}
    rows = []
    for group in groups:
        reference = _reference(group, groups)
        row: dict[str, Any] = {
            "task_id": group.task_id,
            "estimator": group.estimator,
            "agent": group.label,
            "agent_name": group.agent,
            "agent_options": json.dumps(group.agent_options, sort_keys=True),
            "priorities": None if group.priorities is None else json.dumps(group.priorities),
            "seeds": len(group.runs),
            "seed_list": " ".join(str(s) for s in group.seeds),
            "final_step": max(float(final["step"]) for final in finals[id(group)]),
        }
        for name in [*(o.name for o in group.objectives), AGGREGATE]:
            values = [float(final[name]) for final in finals[id(group)]]
            row |= _columns(f"final_{name}", ci(values))
        row |= _columns(
            "auc",
            ci([normalised_auc(r.evaluations.step, r.evaluations[AGGREGATE]) for r in group.runs]),
        )
        row |= _versus_static(group, reference, finals, confidence)

        if absolute_threshold is not None:
            threshold = float(absolute_threshold)
        elif reference is not None:
            static_start = np.mean([r.evaluations[AGGREGATE].iloc[0] for r in reference.runs])
            static_final = np.mean([float(f[AGGREGATE]) for f in finals[id(reference)]])
            threshold = float(static_start + threshold_fraction * (static_final - static_start))
            if group is reference and static_final <= static_start:
                notes.append(
                    f"{group.task_id} {group.estimator}: static's aggregate did not rise "
                    f"({static_start:.3f} -> {static_final:.3f}), so its threshold "
                    f"{threshold:.3f} is reached at the first evaluation"
                )
        else:
            threshold = math.nan
        row["threshold"] = threshold
        steps, seconds = [], []
        if not math.isnan(threshold):
            for run in group.runs:
                hit = first_reaching(run.evaluations[AGGREGATE], threshold)
                if hit is not None:
                    steps.append(float(run.evaluations.step.iloc[hit]))
                    seconds.append(float(run.evaluations.wall_seconds.iloc[hit]))
            row["threshold_reached"] = len(steps)
            row["threshold_censored"] = len(group.runs) - len(steps)
        else:
            row["threshold_reached"] = pd.NA
            row["threshold_censored"] = pd.NA
        row |= _columns("steps_to_threshold", ci(steps))
        row |= _columns("seconds_to_threshold", ci(seconds))

        seconds_per_step = float(np.mean([r.metrics.seconds_total.mean() for r in group.runs]))
        weight_per_step = float(np.mean([r.metrics.seconds_weight.mean() for r in group.runs]))
        row["seconds_per_step"] = seconds_per_step
        row["weight_seconds_per_step"] = weight_per_step
        row["step_time_ratio"] = math.nan
        row["weighting_overhead"] = math.nan
        if reference is not None:
            static_step = float(np.mean([r.metrics.seconds_total.mean() for r in reference.runs]))
            static_weight = float(
                np.mean([r.metrics.seconds_weight.mean() for r in reference.runs])
            )
            if static_step > 0:
                row["step_time_ratio"] = seconds_per_step / static_step
                row["weighting_overhead"] = 1 + (weight_per_step - static_weight) / static_step
        rows.append(row)

    table = pd.DataFrame(rows)
    for column in ("threshold_reached", "threshold_censored"):
        table[column] = table[column].astype("Int64")
    unpaired = [g for g in groups if _reference(g, groups) is None and _statics(g, groups)]
    for group in unpaired:
        static = sorted({name for other in _statics(group, groups) for name in _policies(other)})
        notes.append(
            f"{group.task_id} {group.estimator} {group.label}: trained "
            f"{', '.join(_policies(group))}, static {', '.join(static)}: runs of different "
            "weights cannot pair, so it is not compared with static"
        )
    lacking = dict.fromkeys(
        (g.task_id, g.estimator, g.priorities)
        for g in groups
        if _reference(g, groups) is None and not _statics(g, groups)
    )
    for task_id, estimator, priorities in lacking:
        with_priorities = "" if priorities is None else f" with priorities {list(priorities)}"
        consequence = (
            "no overhead"
            if absolute_threshold is not None
            else (
                "no threshold and no overhead; add static runs, or give an absolute threshold "
                "(compare --absolute-threshold X, compare(absolute_threshold=X) in Python)"
            )
        )
        notes.append(
            f"{task_id} {estimator}: no run of the static agent (default options)"
            f"{with_priorities} to compare with, so {consequence}"
        )
    return Comparison(groups, table, skipped, notes, threshold_fraction, absolute_threshold)


def _versus_static(
    group: Group,
    reference: Group | None,
    finals: dict[int, list[pd.Series]],
    confidence: float,
) -> dict[str, float]:
    """The per-seed difference of the final aggregate from static's (paired by seed, its
    paired t interval) and the minimum detectable effect at the number of paired seeds."""
    columns = _columns("vs_static", (math.nan, math.nan, math.nan))
    columns |= {"paired_seeds": 0, "mde": math.nan}
    if reference is None:
        return columns
    mine = {r.seed: float(f[AGGREGATE]) for r, f in zip(group.runs, finals[id(group)], strict=True)}
    static = {
        r.seed: float(f[AGGREGATE])
        for r, f in zip(reference.runs, finals[id(reference)], strict=True)
    }
    seeds = sorted(set(mine) & set(static))
    columns["paired_seeds"] = len(seeds)
    if not seeds:
        return columns
    columns["mde"] = minimum_detectable_effect(
        [static[seed] for seed in seeds], confidence=confidence
    )
    if group is not reference:
        differences = [mine[seed] - static[seed] for seed in seeds]
        columns |= _columns("vs_static", paired_t_ci(differences, confidence=confidence))
    return columns


def _columns(name: str, interval: tuple[float, float, float]) -> dict[str, float]:
    mean, low, high = interval
    return {name: mean, f"{name}_low": low, f"{name}_high": high}


def _reference(group: Group, groups: Sequence[Group]) -> Group | None:
    """The static group (default options) with the same task, estimator, priorities, backend
    and policy (name and weights revision: runs of other weights do not pair)."""
    for candidate in _statics(group, groups):
        if _policies(candidate) == _policies(group):
            return candidate
    return None


def _statics(group: Group, groups: Sequence[Group]) -> list[Group]:
    """The static groups (default options) of ``group``'s task, estimator, priorities and
    backend, whatever their policy."""
    return [
        candidate
        for candidate in groups
        if candidate.agent == "static"
        and not candidate.agent_options
        and (candidate.task_id, candidate.estimator, candidate.priorities, candidate.backend)
        == (group.task_id, group.estimator, group.priorities, group.backend)
    ]


def _policies(group: Group) -> tuple[str, ...]:
    """The policies a group's runs trained, as ``name (revision r)``."""
    names = set()
    for run in group.runs:
        model = run.config.get("model") or {}
        names.add(f"{model.get('name')} (revision {model.get('revision')})")
    return tuple(sorted(names))


def _group_notes(groups: Sequence[Group]) -> list[str]:
    """Warn when the seeds of a group differ in more than the seed (steps, model, ...)."""
    notes = []
    for group in groups:
        configs = [run.config.get("train", {}) for run in group.runs]
        differing = sorted(
            key
            for key in set().union(*configs)
            if key != "seed" and len({json.dumps(c.get(key), sort_keys=True) for c in configs}) > 1
        )
        if differing:
            notes.append(
                f"{group.task_id} {group.estimator} {group.label}: its runs also differ in "
                f"{', '.join(differing)}"
            )
        if len(_policies(group)) > 1:
            notes.append(
                f"{group.task_id} {group.estimator} {group.label}: its runs trained different "
                f"policies ({'; '.join(_policies(group))}), whose seeds do not pair"
            )
        seeds = group.seeds
        if len(set(seeds)) < len(seeds):
            notes.append(f"{group.task_id} {group.estimator} {group.label}: repeated seeds {seeds}")
    return notes


# ---------------------------------------------------------------------- CLI entry points
