"""Comparing finished runs: load run folders, group them by configuration, and summarise each
group over its seeds.

Definitions (the README section "Comparing runs" states the same):

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
- **AUC**: trapezoidal area under the aggregate eval curve over steps divided by the step span
  (a value in [0, 1]; a constant curve at c has AUC c).
- **step time x static**: mean seconds per training step / static's (everything the agent
  changes, rollout lengths included). **weighting overhead**:
  1 + (agent's weight-phase seconds per step - static's) / static's seconds per step: the cost of
  computing the weights alone, as a fraction of a step; less noisy than the raw ratio.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from saw_bench.errors import SawBenchError

CONFIDENCE = 0.95
#: Bootstrap resamples for the per-step bands of the curves (the table uses 10,000).
BAND_RESAMPLES = 2_000
#: Upper bound on the number of values drawn at once by the bootstrap (memory bound).
_CHUNK_VALUES = 4_000_000
#: Sub-folders of a run folder that are never searched for runs (Hugging Face checkpoints hold
#: a ``config.json`` of their own).
_NOT_RUNS = {"checkpoint", "checkpoint.partial", "checkpoint.old"}
AGGREGATE = "aggregate"


# ---------------------------------------------------------------------- bootstrap
def bootstrap_ci(
    values: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` and a percentile-bootstrap confidence interval of that mean.

    Returns ``(mean, low, high)``. ``resamples`` samples of len(values) values are drawn with
    replacement (indices from ``numpy.random.default_rng(seed).integers(0, n, (resamples, n))``);
    low and high are the (1 - confidence) / 2 and (1 + confidence) / 2 percentiles (numpy's
    linear interpolation) of the resampled means. The same inputs always give the same
    interval. One value gives ``(value, nan, nan)``: a single seed says nothing about the spread
    between seeds, so no interval is claimed. Identical values give a zero-width interval.

    Raises ValueError for no values, a NaN or infinite value, confidence outside (0, 1) or
    resamples < 1.
    """
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError("bootstrap_ci needs at least one value, but got none")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"bootstrap_ci needs finite values, but got {array.tolist()}")
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise ValueError(f"confidence must be in (0, 1), but got {confidence!r}")
    if not (isinstance(resamples, int | np.integer) and resamples >= 1):
        raise ValueError(f"resamples must be a positive integer, but got {resamples!r}")
    mean = float(array.mean())
    if array.size == 1:
        return mean, math.nan, math.nan
    means = _resampled_means(array[:, None], int(resamples), seed)[:, 0]
    low, high = np.percentile(means, [50 * (1 - confidence), 50 * (1 + confidence)])
    return mean, float(low), float(high)


def _resampled_means(matrix: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Bootstrap means of the rows of ``matrix`` (seeds x columns): (resamples, columns).

    The same resampled seeds serve every column. NaN entries (a seed without that step) are
    left out of a resample's mean; a resample with none left is NaN.
    """
    rng = np.random.default_rng(seed)
    rows, columns = matrix.shape
    has_nan = bool(np.isnan(matrix).any())
    per_chunk = max(1, _CHUNK_VALUES // (rows * columns))
    means = np.empty((resamples, columns))
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        drawn = matrix[rng.integers(0, rows, size=(stop - start, rows))]
        if has_nan:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples -> NaN
                means[start:stop] = np.nanmean(drawn, axis=1)
        else:
            means[start:stop] = drawn.mean(axis=1)
    return means


def band(
    matrix: np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = BAND_RESAMPLES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean over seeds (rows) with a percentile-bootstrap band; NaN = missing.

    Columns seen by a single seed get the value as mean and NaN as band.
    """
    matrix = np.asarray(matrix, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(matrix, axis=0)
        if matrix.shape[0] < 2:
            nan = np.full(matrix.shape[1], np.nan)
            return mean, nan, nan.copy()
        means = _resampled_means(matrix, resamples, seed)
        low, high = np.nanpercentile(means, [50 * (1 - confidence), 50 * (1 + confidence)], axis=0)
    single = np.sum(~np.isnan(matrix), axis=0) < 2
    low[single] = np.nan
    high[single] = np.nan
    return mean, low, high


def normalised_auc(steps: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoidal area under (steps, values) divided by the step span; NaN for < 2 points."""
    steps_array = np.asarray(steps, dtype=float)
    values_array = np.asarray(values, dtype=float)
    if steps_array.size < 2 or steps_array[-1] == steps_array[0]:
        return math.nan
    return float(np.trapezoid(values_array, steps_array) / (steps_array[-1] - steps_array[0]))


def first_reaching(values: Sequence[float], threshold: float) -> int | None:
    """Index of the first value >= threshold, or None when the curve never gets there."""
    hits = np.flatnonzero(np.asarray(values, dtype=float) >= threshold)
    return int(hits[0]) if hits.size else None


# ---------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Objective:
    name: str
    low: float
    high: float


@dataclass(eq=False)
class Run:
    """One finished run folder, read into tables.

    ``evaluations``: one row per eval.jsonl row with columns step, wall_seconds, one column per
    objective (task units) and ``aggregate``. ``metrics``: one row per step with columns step,
    seconds_total, seconds_weight and ``weight:<objective>``.
    """

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    task_id: str
    estimator: str
    agent: str
    agent_options: dict[str, Any]
    priorities: tuple[float, ...] | None
    seed: int
    objectives: tuple[Objective, ...]
    evaluations: pd.DataFrame
    metrics: pd.DataFrame

    @property
    def objective_names(self) -> list[str]:
        return [objective.name for objective in self.objectives]

    @property
    def group_key(self) -> tuple[Any, ...]:
        options = json.dumps(self.agent_options, sort_keys=True)
        return (self.task_id, self.estimator, self.agent, options, self.priorities)


@dataclass(frozen=True)
class SkippedRun:
    path: Path
    reason: str


class LoadedRuns(NamedTuple):
    runs: list[Run]
    skipped: list[SkippedRun]


def find_run_folders(path: str | Path) -> list[Path]:
    """``path`` itself when it is a run folder (holds config.json), else every run folder below
    it (sorted; checkpoints and hidden folders are not searched)."""
    root = Path(path)
    if not root.exists():
        raise SawBenchError(f"{root} does not exist")
    if not root.is_dir():
        raise SawBenchError(f"{root} is not a folder; give a run folder or a folder of runs")
    if (root / "config.json").is_file():
        return [root]
    found = []
    for folder, subfolders, files in os.walk(root):
        if "config.json" in files:
            found.append(Path(folder))
            subfolders[:] = []
            continue
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in _NOT_RUNS
        )
    return sorted(found)


def load_runs(paths: str | Path | Iterable[str | Path]) -> LoadedRuns:
    """Every run under ``paths`` (run folders, sweep folders or any folders of runs).

    Runs without ``summary.json`` (unfinished or killed) are returned in ``skipped`` with the
    reason. A missing or corrupt file of a finished run raises SawBenchError naming the file.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    runs, skipped, seen = [], [], set()
    for path in paths:
        for folder in find_run_folders(path):
            resolved = folder.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if not (folder / "summary.json").is_file():
                skipped.append(SkippedRun(folder, _unfinished_reason(folder)))
                continue
            runs.append(load_run(folder))
    return LoadedRuns(runs, skipped)


def load_run(folder: str | Path, finished: bool = True) -> Run:
    """One run folder; SawBenchError names any missing or malformed file.

    ``finished=False`` reads a run still in progress: summary.json, eval.jsonl and metrics.jsonl
    may be missing or empty (empty tables then).
    """
    folder = Path(folder)
    config_path = folder / "config.json"
    config = _read_json(config_path)
    summary_path = folder / "summary.json"
    summary = _read_json(summary_path) if finished or summary_path.exists() else {}
    train = _field(config, "train", config_path, dict)
    task_id = _field(config, "task_id", config_path, str)
    objectives = _objectives(config, config_path)
    priorities = train.get("priorities")
    if priorities is not None:
        if not (
            isinstance(priorities, list)
            and len(priorities) == len(objectives)
            and all(isinstance(p, int | float) and math.isfinite(p) and p >= 0 for p in priorities)
            and sum(priorities) > 0
        ):
            raise SawBenchError(
                f"{config_path}: train.priorities must be {len(objectives)} non-negative numbers "
                f"with a positive sum, but got {priorities!r}"
            )
        priorities = tuple(float(p) for p in priorities)
    options = train.get("weighting_kwargs") or {}
    if not isinstance(options, dict):
        raise SawBenchError(f"{config_path}: train.weighting_kwargs must be an object")
    evaluations = _evaluation_table(folder / "eval.jsonl", objectives, priorities, finished)
    metrics = _metrics_table(folder / "metrics.jsonl", objectives, finished)
    return Run(
        path=folder,
        config=config,
        summary=summary,
        task_id=task_id,
        estimator=str(_field(train, "estimator", config_path, str)),
        agent=str(_field(train, "weighting", config_path, str)),
        agent_options=options,
        priorities=priorities,
        seed=int(_field(train, "seed", config_path, int)),
        objectives=objectives,
        evaluations=evaluations,
        metrics=metrics,
    )


def aggregate_score(
    means: np.ndarray, objectives: Sequence[Objective], priorities: Sequence[float] | None
) -> np.ndarray:
    """Normalised aggregate of per-objective means (last axis = objectives)."""
    low = np.array([objective.low for objective in objectives])
    high = np.array([objective.high for objective in objectives])
    scaled = (np.asarray(means, dtype=float) - low) / (high - low)
    weights = np.ones(len(objectives)) if priorities is None else np.asarray(priorities, float)
    return scaled @ weights / weights.sum()


def _unfinished_reason(folder: Path) -> str:
    steps = "no training step recorded"
    try:
        rows = _read_rows(folder / "metrics.jsonl")
        if rows:
            steps = f"last recorded step {rows[-1].get('step', '?')}"
    except SawBenchError as error:
        steps = str(error)
    return f"unfinished: no summary.json ({steps})"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SawBenchError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SawBenchError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(data, dict):
        raise SawBenchError(f"{path} should hold a JSON object, but holds {type(data).__name__}")
    return data


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON Lines file. A torn last line (a run killed mid-write: no newline, or not
    valid JSON) is ignored; a malformed line before it is an error naming file and line."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise SawBenchError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SawBenchError(f"{path} is not readable: {error}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):
                break  # torn last line
            raise SawBenchError(f"{path} line {number} is not valid JSON: {error}") from None
        if not isinstance(row, dict):
            raise SawBenchError(f"{path} line {number} should be a JSON object")
        rows.append(row)
    return rows


def _field(data: dict[str, Any], key: str, path: Path, kind: type) -> Any:
    if key not in data:
        raise SawBenchError(f"{path} has no {key!r} field")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SawBenchError(f"{path}: {key!r} should be a {kind.__name__}, but got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SawBenchError(f"{where} should be a finite number, but got {value!r}")
    return float(value)


def _objectives(config: dict[str, Any], path: Path) -> tuple[Objective, ...]:
    entries = _field(config, "objectives", path, list)
    if not entries:
        raise SawBenchError(f"{path}: 'objectives' is empty")
    objectives = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SawBenchError(f"{path}: every objective needs a name, but got {entry!r}")
        name = entry["name"]
        low = _number(entry.get("low"), f"{path}: objective {name!r} low")
        high = _number(entry.get("high"), f"{path}: objective {name!r} high")
        if not low < high:
            raise SawBenchError(f"{path}: objective {name!r} needs low < high, got [{low}, {high}]")
        objectives.append(Objective(name, low, high))
    return tuple(objectives)


def _evaluation_table(
    path: Path,
    objectives: Sequence[Objective],
    priorities: Sequence[float] | None,
    required: bool = True,
) -> pd.DataFrame:
    names = [objective.name for objective in objectives]
    rows = _read_rows(path) if required or path.exists() else []
    if not rows:
        if required:
            raise SawBenchError(f"{path} has no evaluation rows")
        return pd.DataFrame(columns=["step", "wall_seconds", *names, AGGREGATE], dtype=float)
    records = []
    for number, row in enumerate(rows, start=1):
        where = f"{path} row {number}"
        scores = row.get("objectives")
        if not isinstance(scores, dict):
            raise SawBenchError(f"{where} has no 'objectives' object")
        record = {
            "step": _number(row.get("step"), f"{where} step"),
            "wall_seconds": _number(row.get("wall_seconds"), f"{where} wall_seconds"),
        }
        for objective in objectives:
            if objective.name not in scores:
                raise SawBenchError(f"{where} has no score for objective {objective.name!r}")
            record[objective.name] = _number(scores[objective.name], f"{where} {objective.name}")
        records.append(record)
    table = pd.DataFrame.from_records(records)
    table[AGGREGATE] = aggregate_score(table[names].to_numpy(), objectives, priorities)
    return table.sort_values("step", kind="stable").reset_index(drop=True)


def _metrics_table(
    path: Path, objectives: Sequence[Objective], required: bool = True
) -> pd.DataFrame:
    rows = _read_rows(path) if required or path.exists() else []
    if not rows:
        if required:
            raise SawBenchError(f"{path} has no training-step rows")
        columns = ["step", "seconds_total", "seconds_weight"]
        columns += [f"weight:{objective.name}" for objective in objectives]
        return pd.DataFrame(columns=columns, dtype=float)
    records = []
    for number, row in enumerate(rows, start=1):
        where = f"{path} row {number}"
        seconds = row.get("seconds")
        stats = row.get("objectives")
        if not isinstance(seconds, dict) or not isinstance(stats, dict):
            raise SawBenchError(f"{where} needs 'seconds' and 'objectives' objects")
        record = {
            "step": _number(row.get("step"), f"{where} step"),
            "seconds_total": _number(seconds.get("total"), f"{where} seconds.total"),
            "seconds_weight": _number(seconds.get("weight"), f"{where} seconds.weight"),
        }
        for objective in objectives:
            entry = stats.get(objective.name)
            if not isinstance(entry, dict):
                raise SawBenchError(f"{where} has no statistics for objective {objective.name!r}")
            record[f"weight:{objective.name}"] = _number(
                entry.get("weight"), f"{where} {objective.name}.weight"
            )
        records.append(record)
    return pd.DataFrame.from_records(records)


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

    @property
    def label(self) -> str:
        """Agent name, its options and priorities, e.g. ``static{weights=[1, 2]} p=[2, 1]``."""
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
    lacking = dict.fromkeys(
        (g.task_id, g.estimator, g.priorities) for g in groups if _reference(g, groups) is None
    )
    for task_id, estimator, priorities in lacking:
        with_priorities = "" if priorities is None else f" with priorities {list(priorities)}"
        consequence = (
            "no overhead"
            if absolute_threshold is not None
            else ("no threshold and no overhead; pass an absolute threshold to get a threshold")
        )
        notes.append(
            f"{task_id} {estimator}: no run of the static agent (default options)"
            f"{with_priorities} to compare with, so {consequence}"
        )
    return Comparison(groups, table, skipped, notes, threshold_fraction, absolute_threshold)


def _columns(name: str, interval: tuple[float, float, float]) -> dict[str, float]:
    mean, low, high = interval
    return {name: mean, f"{name}_low": low, f"{name}_high": high}


def _reference(group: Group, groups: Sequence[Group]) -> Group | None:
    """The static group (default options) with the same task, estimator and priorities."""
    for candidate in groups:
        if (
            candidate.agent == "static"
            and not candidate.agent_options
            and (candidate.task_id, candidate.estimator, candidate.priorities)
            == (group.task_id, group.estimator, group.priorities)
        ):
            return candidate
    return None


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
        seeds = group.seeds
        if len(set(seeds)) < len(seeds):
            notes.append(f"{group.task_id} {group.estimator} {group.label}: repeated seeds {seeds}")
    return notes


# ---------------------------------------------------------------------- CLI entry points
def default_output_folder(paths: Sequence[str | Path]) -> Path:
    """Where ``compare`` writes by default: the first path when it is a sweep folder or a folder
    of runs, the folder that holds it when it is a single run folder, else the current folder."""
    if not paths:
        return Path.cwd()
    first = Path(paths[0])
    if (first / "config.json").is_file():
        return first.resolve().parent
    return first if first.is_dir() else Path.cwd()


def compare_command(paths: list[str], csv: str | None, png: str | None, threshold: float) -> str:
    """``python -m saw_bench compare PATH... [--csv FILE] [--png FILE] [--threshold F]``.

    Loads the runs, prints the table, writes the full table as CSV and the curves as PNG
    (defaults: ``comparison.csv`` and ``comparison.png`` in :func:`default_output_folder`).
    ``threshold`` is the fraction of the static agent's gain. Returns the text.
    """
    from saw_bench.report import plot_comparison

    if not (isinstance(threshold, int | float) and 0 < threshold <= 1):
        raise SawBenchError(f"--threshold must be in (0, 1], but got {threshold!r}")
    if not paths:
        raise SawBenchError("give at least one run folder, sweep folder or folder of runs")
    loaded = load_runs(paths)
    if not loaded.runs:
        raise SawBenchError(no_runs_message(paths, loaded.skipped))
    comparison = compare(loaded, threshold_fraction=threshold)
    folder = default_output_folder(paths)
    csv_path = Path(csv) if csv else folder / "comparison.csv"
    png_path = Path(png) if png else folder / "comparison.png"
    comparison.to_csv(csv_path)
    plot_comparison(comparison, png_path)
    return "\n".join(
        [
            comparison.format_table(),
            "",
            f"table: {csv_path}",
            f"curves: {png_path}",
        ]
    )


def no_runs_message(paths: Sequence[str | Path], skipped: Sequence[SkippedRun]) -> str:
    where = ", ".join(str(p) for p in paths)
    if skipped:
        return (
            f"no finished runs under {where}: {len(skipped)} unfinished run(s) skipped "
            f"(first: {skipped[0].path}: {skipped[0].reason})"
        )
    return f"no run folders (folders with config.json) under {where}"


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file; SawBenchError when not writable."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = f"{error.filename} is not a folder"
        raise SawBenchError(f"cannot write {path}: {reason}") from None
