"""Finished run folders, read for comparison: config, held-out curve and per-step metrics.

A run folder is a folder with ``config.json`` (the docs page concepts/architecture.md, "A run
on disk", gives the layout). Reading checks every field it uses and raises
:class:`SawBenchError` naming the file and the problem; folders of runs that did not finish are
skipped with the reason (:class:`SkippedRun`). The **aggregate** of a run is recomputed here
from its per-objective held-out means and the task's bounds (see
:func:`saw_bench.core.scores.normalised_aggregate`), so every run is judged by one definition.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_json, read_jsonl
from saw_bench.core.scores import normalised_aggregate
from saw_bench.core.task import Objective

#: Sub-folders of a run folder that are never searched for runs (Hugging Face checkpoints hold
#: a ``config.json`` of their own).
_NOT_RUNS = {"checkpoint", "checkpoint.partial", "checkpoint.old"}
AGGREGATE = "aggregate"


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
    backend: str = "saw-bench"  # the training loop (config.json train.backend)

    @property
    def objective_names(self) -> list[str]:
        return [objective.name for objective in self.objectives]

    @property
    def group_key(self) -> tuple[Any, ...]:
        options = json.dumps(self.agent_options, sort_keys=True)
        return (self.task_id, self.estimator, self.agent, options, self.priorities, self.backend)


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
    config = read_json(config_path)
    summary_path = folder / "summary.json"
    summary = read_json(summary_path) if finished or summary_path.exists() else {}
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
        backend=str(train.get("backend", "saw-bench")),
    )


def _unfinished_reason(folder: Path) -> str:
    steps = "no training step recorded"
    try:
        rows = read_jsonl(folder / "metrics.jsonl")
        if rows:
            steps = f"last recorded step {rows[-1].get('step', '?')}"
    except SawBenchError as error:
        steps = str(error)
    return f"unfinished: no summary.json ({steps})"


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
    rows = read_jsonl(path, missing_ok=False) if required or path.exists() else []
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
    table[AGGREGATE] = normalised_aggregate(
        table[names].to_numpy(),
        [o.low for o in objectives],
        [o.high for o in objectives],
        priorities,
    )
    return table.sort_values("step", kind="stable").reset_index(drop=True)


def _metrics_table(
    path: Path, objectives: Sequence[Objective], required: bool = True
) -> pd.DataFrame:
    rows = read_jsonl(path, missing_ok=False) if required or path.exists() else []
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


def no_runs_message(paths: Sequence[str | Path], skipped: Sequence[SkippedRun]) -> str:
    where = ", ".join(str(p) for p in paths)
    if skipped:
        return (
            f"no finished runs under {where}: {len(skipped)} unfinished run(s) skipped "
            f"(first: {skipped[0].path}: {skipped[0].reason})"
        )
    return f"no run folders (folders with config.json) under {where}"
