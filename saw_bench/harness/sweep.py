"""Sweeps: a grid of runs (tasks x estimators x weighting agents x seeds) on one machine.

A sweep folder holds ``sweep.json`` (the grid, and each run's id, folder and status) and one run
folder per grid point under ``runs/``. Runs execute in ``workers`` parallel processes, each with
``cores / workers`` torch threads. The sweep is resumable: a finished run (its ``summary.json``
reached the target step) is skipped, a started one continues from its last checkpoint, so a
killed sweep started again with the same folder picks up where it stopped.

The tiny embedded policy of each task is built once, before the workers start, instead of by
every worker at the same time.

Beyond one machine, run the grid points on a cluster engine (for example Ray) by calling
:func:`run_one` with one entry of :meth:`SweepSpec.runs` per job.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_toml, write_json_atomic

INDEX = "sweep.json"
SPEC_KEYS = ("tasks", "estimators", "weightings", "seeds", "workers", "train")
#: Per-run TrainConfig fields that the grid itself sets; not allowed in the ``[train]`` table.
GRID_FIELDS = ("task", "estimator", "weighting", "seed")


@dataclass
class SweepSpec:
    """The grid and the training options every run of it shares."""

    tasks: list[str] = field(default_factory=lambda: ["toolcall"])
    estimators: list[str] = field(default_factory=lambda: ["grpo"])
    weightings: list[str] = field(default_factory=lambda: ["static", "saw"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    workers: int = 0  # 0: one worker per two cores, at least one
    train: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        from saw_bench.training.config import TrainConfig
        from saw_bench.training.estimators import ESTIMATORS
        from saw_bench.weighting import AGENTS

        for name in ("tasks", "estimators", "weightings", "seeds"):
            values = getattr(self, name)
            if not isinstance(values, list) or not values:
                raise SawBenchError(f"sweep {name} must be a non-empty list, but got {values!r}")
            if len(set(map(str, values))) != len(values):
                raise SawBenchError(f"sweep {name} lists a value twice: {values!r}")
        for task in self.tasks:
            registry.resolve(task)  # UnknownTaskError names the choices
        for estimator in self.estimators:
            if estimator not in ESTIMATORS:
                raise SawBenchError(
                    f"unknown estimator {estimator!r}; choose from {', '.join(ESTIMATORS)}"
                )
        for weighting in self.weightings:
            if weighting not in AGENTS:
                raise SawBenchError(
                    f"unknown weighting agent {weighting!r}; choose from "
                    f"{', '.join(sorted(AGENTS))}"
                )
        for seed in self.seeds:
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise SawBenchError(f"sweep seeds must be integers >= 0, but got {seed!r}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 0:
            raise SawBenchError(f"workers must be an integer >= 0, but got {self.workers!r}")
        if not isinstance(self.train, dict):
            raise SawBenchError(f"sweep [train] must be a table, but got {self.train!r}")
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(self.train) - names)
        if unknown:
            raise SawBenchError(
                f"unknown training option(s) {unknown} in the sweep's [train] table; valid "
                f"options: {', '.join(sorted(names - set(GRID_FIELDS)))}"
            )
        grid = sorted(set(self.train) & set(GRID_FIELDS))
        if grid:
            raise SawBenchError(
                f"[train] sets {grid}, which the grid decides; use tasks, estimators, "
                "weightings and seeds instead"
            )
        for point in self.runs():  # catches bad option values before any run starts
            TrainConfig(**point["train"]).validate()

    def runs(self) -> list[dict[str, Any]]:
        """One entry per grid point: its id and the full training options."""
        entries = []
        for task in self.tasks:
            slug = registry.resolve(task).removeprefix("saw/").lower()
            for estimator in self.estimators:
                for weighting in self.weightings:
                    for seed in self.seeds:
                        options = {**self.train, "task": task, "estimator": estimator,
                                   "weighting": weighting, "seed": seed}  # fmt: skip
                        entries.append({"id": f"{slug}-{estimator}-{weighting}-s{seed}",
                                        "train": options})  # fmt: skip
        return entries

    def resolved_workers(self) -> int:
        if self.workers:
            return self.workers
        return max(1, (os.cpu_count() or 1) // 2)


def load_spec(path: Path) -> SweepSpec:
    """A sweep spec from a TOML file: ``tasks``, ``estimators``, ``weightings``, ``seeds``,
    ``workers`` and a ``[train]`` table of training options shared by every run."""
    path = Path(path)
    data = read_toml(path, "sweep file")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise SawBenchError(
            f"sweep file {path}: unknown key(s) {unknown}; valid keys: {', '.join(SPEC_KEYS)}"
        )
    spec = SweepSpec(**data)
    try:
        spec.validate()
    except SawBenchError as error:
        raise SawBenchError(f"sweep file {path}: {error}") from None
    return spec


def sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    log: Callable[[str], None] | None = None,
    ray_address: str | None = None,
    ray_resources: dict[str, float] | None = None,
) -> Path:
    """Run every grid point of ``spec`` in ``out_dir`` (resuming a previous sweep there).

    Returns the sweep folder. Failed runs are recorded in ``sweep.json`` with their error and do
    not stop the others; :class:`SawBenchError` is raised at the end when any run failed.
    """
    spec.validate()
    out_dir = Path(out_dir)
    log = log or (lambda message: None)
    index_path = out_dir / INDEX
    if index_path.exists():
        try:
            previous = json.loads(index_path.read_text())
        except ValueError as error:
            raise SawBenchError(f"{index_path} is not valid JSON ({error}); move it away") from None
        if _grid(previous.get("spec", {})) != _grid(_spec_dict(spec)):
            raise SawBenchError(
                f"{out_dir} holds a sweep with another grid or options; choose another folder "
                "or run it with the same sweep file"
            )
    entries = spec.runs()
    for entry in entries:
        entry.update(path=f"runs/{entry['id']}", status="pending")
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        entry["status"] = run_status(out_dir / entry["path"], entry["train"])
    _write_index(index_path, spec, entries)

    todo = [entry for entry in entries if entry["status"] != "finished"]
    log(f"sweep {out_dir}: {len(entries)} runs, {len(entries) - len(todo)} already finished")
    if not todo:
        return out_dir
    _prepare_models(todo, log)

    workers = min(spec.resolved_workers(), len(todo))
    threads = max(1, (os.cpu_count() or 1) // workers)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(threads,)
    ) as pool:
        futures = {
            pool.submit(run_one, entry["train"], str(out_dir / entry["path"])): entry
            for entry in todo
        }
        for entry in todo:
            entry["status"] = "scheduled"  # running or waiting for a worker
        _write_index(index_path, spec, entries)
        done = len(entries) - len(todo)
        try:
            for future in concurrent.futures.as_completed(futures):
                entry = futures[future]
                done += 1
                try:
                    future.result()
                except Exception as error:  # noqa: BLE001 - recorded, the other runs go on
                    entry.update(status="failed", error=f"{type(error).__name__}: {error}")
                    log(f"[{done}/{len(entries)}] FAILED {entry['id']}: {entry['error']}")
                else:
                    entry["status"] = "finished"
                    entry.pop("error", None)
                    minutes = (time.perf_counter() - started) / 60
                    log(f"[{done}/{len(entries)}] finished {entry['id']} ({minutes:.1f} min)")
                _write_index(index_path, spec, entries)
        except KeyboardInterrupt:
            log("interrupted: running runs stop after their current step with a checkpoint")
            pool.shutdown(wait=True, cancel_futures=True)
            for entry in entries:
                if entry["status"] == "scheduled":
                    entry["status"] = run_status(out_dir / entry["path"], entry["train"])
            _write_index(index_path, spec, entries)
            raise
    failed = [entry["id"] for entry in entries if entry["status"] == "failed"]
    if failed:
        raise SawBenchError(
            f"{len(failed)} of {len(entries)} runs failed ({', '.join(failed)}); see "
            f"{index_path}; run the sweep again to retry them"
        )
    return out_dir


def run_status(run_dir: Path, options: dict[str, Any]) -> str:
    """``finished`` (summary at the target step), ``started`` (resumable) or ``pending``."""
    from saw_bench.training.config import TrainConfig

    summary = run_dir / "summary.json"
    if summary.exists():
        try:
            target = options.get("steps", TrainConfig.steps)
            if json.loads(summary.read_text()).get("steps") == target:
                return "finished"
        except ValueError:
            pass
    return "started" if (run_dir / "config.json").exists() else "pending"


def run_one(options: dict[str, Any], run_dir: str) -> str:
    """Train (or resume) one grid point into ``run_dir``; what each worker process calls."""
    from saw_bench.harness.run import train

    path = Path(run_dir)
    if (path / "config.json").exists():
        return str(train(resume=path, steps=options.get("steps")))
    if path.exists():  # killed before its config was written: nothing to keep
        shutil.rmtree(path)
    return str(train(out_dir=path, **options))


def _prepare_models(entries: Sequence[dict[str, Any]], log: Callable[[str], None]) -> None:
    from saw_bench.policy import prepare

    tiny = [entry["train"] for entry in entries if entry["train"].get("model", "tiny") == "tiny"]
    tasks = sorted({registry.resolve(options["task"]) for options in tiny})
    for task in tasks:
        log(f"preparing the tiny policy of {task}")
        prepare(task, progress=False)


def _init_worker(threads: int) -> None:
    """Idle workers ignore Ctrl-C; a running trainer installs its own handler, which stops
    after the current step with a checkpoint (see :meth:`saw_bench.training.Trainer.run`)."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


def _spec_dict(spec: SweepSpec) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(spec), sort_keys=True))


def _grid(spec: dict[str, Any]) -> dict[str, Any]:
    """What decides the runs' results (the worker count does not)."""
    return {key: value for key, value in spec.items() if key != "workers"}


def _write_index(path: Path, spec: SweepSpec, entries: list[dict[str, Any]]) -> None:
    write_json_atomic(path, {"spec": _spec_dict(spec), "runs": entries})
