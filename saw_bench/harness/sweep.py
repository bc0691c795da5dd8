"""Sweeps: a grid of runs (tasks x estimators x weighting agents x seeds), on this machine or
on a Ray cluster.

A sweep folder holds ``sweep.json`` (the grid, and each run's id, folder and status) and one run
folder per grid point under ``runs/``. The sweep is resumable: a finished run (its
``summary.json`` reached the target step) is skipped, a started one continues from its last
checkpoint, so a killed sweep started again with the same folder picks up where it stopped.

Two engines run the grid points, both through :func:`run_one` (timed where it runs, so the log
gives each run's own duration), and the index is updated as each run ends:

- locally (the default): ``workers`` parallel processes, each with ``cores / workers`` torch
  threads;
- on Ray (``ray_address``, ``sweep --ray``): one Ray task per unfinished run, reserving
  ``num_cpus`` CPUs (torch threads alike) and ``num_gpus`` GPUs (see
  :class:`~saw_bench.harness._ray.RayExecutor`). The sweep folder must be on a filesystem
  that every node sees at the same path (NFS or similar): the tasks write their run folders
  there, and a run that a node started resumes from that folder on any other node. Every node
  needs saw-bench installed, and a model given as a local path at that path.

The engine is not part of the grid: a sweep started locally may be resumed on Ray, and back.

The tiny embedded policy of each task is built once, on this machine, before the runs start,
instead of by every worker at the same time. On a multi-node cluster each other node builds its
own copy in its cache on first use (concurrent builds are safe); set ``SAW_BENCH_CACHE`` to a
shared folder on every node to build it only once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from saw_bench.core import registry
from saw_bench.core.cpus import available_cpus
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_toml, write_json_atomic
from saw_bench.core.options import NonNegativeInt, OptionError, checked, reading
from saw_bench.harness._ray import RayExecutor, task_resources

INDEX = "sweep.json"
#: Per-run TrainConfig fields that the grid itself sets; not allowed in the ``[train]`` table.
GRID_FIELDS = ("task", "estimator", "weighting", "seed")


def _once_each(values: list[Any], info: ValidationInfo) -> list[Any]:
    if len(set(map(str, values))) != len(values):
        raise OptionError(f"sweep {info.field_name} lists a value twice: {values!r}")
    return values


def _without_grid_fields(train: dict[str, Any]) -> dict[str, Any]:
    grid = sorted(set(train) & set(GRID_FIELDS))
    if grid:
        raise OptionError(
            f"[train] sets {grid}, which the grid decides; use tasks, estimators, "
            "weightings and seeds instead"
        )
    return train


Names = Annotated[list[str], Field(min_length=1), AfterValidator(_once_each)]
Seeds = Annotated[list[NonNegativeInt], Field(min_length=1), AfterValidator(_once_each)]


@checked(noun="sweep option", subject="sweep ")
class SweepSpec:
    """The grid and the training options every run of it shares. Built, it is checked
    (:mod:`saw_bench.core.options`), and so is the TrainConfig of every grid point: a bad
    value stops the sweep before any run starts."""

    tasks: Names = field(default_factory=lambda: ["toolcall"])
    estimators: Names = field(default_factory=lambda: ["grpo"])
    weightings: Names = field(default_factory=lambda: ["static", "saw"])
    seeds: Seeds = field(default_factory=lambda: [0, 1, 2])
    workers: NonNegativeInt = 0  # 0: one worker per two cores, at least one
    #: train the runs that share task, model and shapes as one batched model (one job)
    batch: bool = True
    train: Annotated[dict[str, Any], AfterValidator(_without_grid_fields)] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        from saw_bench.training.config import TrainConfig

        for point in self.runs():  # the merged options of each run, checked where built
            TrainConfig(**point["train"])

    def runs(self) -> list[dict[str, Any]]:
        """One entry per grid point: its id and the full training options."""
        entries = []
        for task in self.tasks:
            slug = registry.resolve(task).removeprefix("saw/").lower()
            for estimator in self.estimators:
                for weighting in self.weightings:
                    for seed in self.seeds:
                        options = {
                            **self.train,
                            "task": task,
                            "estimator": estimator,
                            "weighting": weighting,
                            "seed": seed,
                        }
                        entries.append(
                            {"id": f"{slug}-{estimator}-{weighting}-s{seed}", "train": options}
                        )
        return entries

    def resolved_workers(self) -> int:
        if self.workers:
            return self.workers
        return max(1, available_cpus() // 2)


def load_spec(path: Path) -> SweepSpec:
    """A sweep spec from a TOML file: ``tasks``, ``estimators``, ``weightings``, ``seeds``,
    ``workers`` and a ``[train]`` table of training options shared by every run."""
    path = Path(path)
    data = read_toml(path, "sweep file")
    with reading(f"sweep file {path}"):
        return SweepSpec(**data)


def sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    log: Callable[[str], None] | None = None,
    ray_address: str | None = None,
    ray_resources: dict[str, float] | None = None,
) -> Path:
    """Run every grid point of ``spec`` in ``out_dir`` (resuming a previous sweep there).

    ``ray_address`` runs the grid points as tasks on Ray instead of local processes: "local"
    (a Ray started here for the sweep), "auto" or a cluster's address ("host:port",
    "ray://host:port"); ``ray_resources`` is what each run reserves there (``num_cpus``,
    default 1; ``num_gpus``, default 0).

    Returns the sweep folder. Failed runs are recorded in ``sweep.json`` with their error and do
    not stop the others; :class:`SawBenchError` is raised at the end when any run failed.
    """
    if ray_address is not None:
        task_resources(ray_resources)  # Ray installed and the resources valid, before any file
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
    index = _Index(out_dir, spec, entries, log)
    index.write()

    todo = [entry for entry in entries if entry["status"] != "finished"]
    log(f"sweep {out_dir}: {len(entries)} runs, {len(entries) - len(todo)} already finished")
    if not todo:
        return out_dir
    _prepare_models(todo, log)
    jobs = _batch_jobs(todo, out_dir, log) if spec.batch else [[entry] for entry in todo]
    if ray_address is None:
        pool = _local_pool(spec.resolved_workers(), len(jobs))
    else:
        pool = RayExecutor(ray_address, ray_resources)
        log(f"ray: {len(jobs)} jobs of {len(todo)} runs as tasks on {pool.capacity()}")
    with pool, _sigterm_as_ctrl_c():
        try:
            futures = {_submit(pool, job, out_dir): job for job in jobs}
            index.scheduled(todo)
            for future in concurrent.futures.as_completed(futures):
                error = future.exception()
                for entry in futures[future]:
                    index.record(entry, error, None if error else future.result())
        except KeyboardInterrupt:
            log("interrupted: running runs stop after their current step with a checkpoint")
            pool.shutdown(wait=True, cancel_futures=True)
            index.interrupted()
            raise
    index.raise_failures()
    return out_dir


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM to the sweep (``kill``, a scheduler's preemption) stops it as Ctrl-C does.

    Ctrl-C reaches the sweep and its worker processes alike (the terminal signals the whole
    process group); SIGTERM reaches the sweep alone, which would die and leave its workers
    training on, unrecorded, into folders a resumed sweep then writes as well. So the sweep
    passes a SIGINT on to each worker (a running trainer stops after its step with a
    checkpoint; an idle worker ignores it) and raises KeyboardInterrupt: it waits for the
    workers, records where each run stopped and exits as after Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    def stop(number: int, frame: Any) -> None:
        for worker in multiprocessing.active_children():
            if worker.pid is not None:
                os.kill(worker.pid, signal.SIGINT)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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


def timed_run_one(options: dict[str, Any], run_dir: str) -> float:
    """:func:`run_one`, timed where it runs: the run's own seconds, not the time it waited for a
    worker (what the sweep submits to its engine)."""
    started = time.perf_counter()
    run_one(options, run_dir)
    return time.perf_counter() - started


def run_batch(options: list[dict[str, Any]], run_dirs: list[str]) -> list[str]:
    """Train (or resume) grid points as one batched model (:func:`saw_bench.train_many`)."""
    from saw_bench.harness.batch import train_many

    for run_dir in map(Path, run_dirs):
        if run_dir.exists() and not (run_dir / "config.json").exists():
            shutil.rmtree(run_dir)  # killed before its config was written: nothing to keep
    return [str(path) for path in train_many(options, run_dirs, log=print)]


def timed_run_batch(options: list[dict[str, Any]], run_dirs: list[str]) -> float:
    """:func:`run_batch`, timed where it runs (every run of the batch took this long)."""
    started = time.perf_counter()
    run_batch(options, run_dirs)
    return time.perf_counter() - started


def _submit(
    pool: concurrent.futures.Executor, job: list[dict[str, Any]], out_dir: Path
) -> concurrent.futures.Future:
    if len(job) == 1:
        return pool.submit(timed_run_one, job[0]["train"], str(out_dir / job[0]["path"]))
    options = [entry["train"] for entry in job]
    return pool.submit(timed_run_batch, options, [str(out_dir / entry["path"]) for entry in job])


def _batch_jobs(
    todo: list[dict[str, Any]], out_dir: Path, log: Callable[[str], None]
) -> list[list[dict[str, Any]]]:
    """The runs to train together: those that share task, model and shapes (and, resumed, a
    checkpoint step) as one batched model where the fast path covers the model; each other
    run alone. Says which runs cannot be batched, and why."""
    from saw_bench.harness.batch import batch_groups
    from saw_bench.training.batch_runs import batch_refusal, model_refusal
    from saw_bench.training.config import TrainConfig

    configs = [TrainConfig(**entry["train"]) for entry in todo]
    jobs: list[list[dict[str, Any]]] = []
    for group in batch_groups(configs, [out_dir / entry["path"] for entry in todo]):
        entries = [todo[index] for index in group]
        reason = None
        if len(group) > 1:
            members = [configs[index] for index in group]
            reason = batch_refusal(members) or model_refusal(members[0])
        if len(group) > 1 and reason is None:
            jobs.append(entries)
            log(f"{len(group)} runs train as one batched model ({entries[0]['id']}, ...)")
            continue
        if reason is not None:
            log(f"{len(group)} runs train as separate processes, not one batch: {reason}")
        jobs.extend([entry] for entry in entries)
    return jobs


def _prepare_models(entries: Sequence[dict[str, Any]], log: Callable[[str], None]) -> None:
    from saw_bench.policy import prepare

    tiny = [entry["train"] for entry in entries if entry["train"].get("model", "tiny") == "tiny"]
    tasks = sorted({registry.resolve(options["task"]) for options in tiny})
    for task in tasks:
        log(f"preparing the tiny policy of {task}")
        prepare(task, progress=True)  # a build takes minutes: show it moving


def _local_pool(workers: int, runs: int) -> concurrent.futures.ProcessPoolExecutor:
    """``workers`` processes (at most one per run), sharing this machine's cores as torch
    threads."""
    workers = min(workers, runs)
    threads = max(1, available_cpus() // workers)
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads,),
    )


def _init_worker(threads: int) -> None:
    """Idle workers ignore Ctrl-C; a running trainer installs its own handler, which stops
    after the current step with a checkpoint (see :meth:`saw_bench.training.Trainer.run`)."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)


class _Index:
    """``sweep.json`` and the log kept up to date as runs end, whichever engine runs them."""

    def __init__(
        self,
        out_dir: Path,
        spec: SweepSpec,
        entries: list[dict[str, Any]],
        log: Callable[[str], None],
    ) -> None:
        self.out_dir, self.spec, self.entries, self.log = out_dir, spec, entries, log
        self.path = out_dir / INDEX
        self.ended = sum(entry["status"] == "finished" for entry in entries)
        self.started = time.perf_counter()  # again when the runs are handed to the engine

    def write(self) -> None:
        write_json_atomic(self.path, {"spec": _spec_dict(self.spec), "runs": self.entries})

    def scheduled(self, todo: list[dict[str, Any]]) -> None:
        for entry in todo:
            entry["status"] = "scheduled"  # running or waiting for a worker
        self.started = time.perf_counter()
        self.write()

    def record(
        self, entry: dict[str, Any], error: BaseException | None, seconds: float | None = None
    ) -> None:
        """One run ended: ``finished`` after ``seconds`` of its own, or ``failed`` with
        ``error`` (the others go on). The line gives the run's time and, apart, the sweep's."""
        self.ended += 1
        count = f"[{self.ended}/{len(self.entries)}]"
        if error is None:
            entry["status"] = "finished"
            entry.pop("error", None)
            took = "" if seconds is None else f" in {_duration(seconds)}"
            elapsed = _duration(time.perf_counter() - self.started)
            self.log(f"{count} finished {entry['id']}{took} (sweep running for {elapsed})")
        else:
            entry.update(status="failed", error=f"{type(error).__name__}: {error}")
            self.log(f"{count} FAILED {entry['id']}: {entry['error']}")
        self.write()

    def interrupted(self) -> None:
        """After the engine stopped: each unfinished run as its folder now shows it."""
        for entry in self.entries:
            if entry["status"] == "scheduled":
                entry["status"] = run_status(self.out_dir / entry["path"], entry["train"])
        self.write()

    def raise_failures(self) -> None:
        failed = [entry["id"] for entry in self.entries if entry["status"] == "failed"]
        if failed:
            raise SawBenchError(
                f"{len(failed)} of {len(self.entries)} runs failed ({', '.join(failed)}); see "
                f"{self.path}; run the sweep again to retry them"
            )


def _duration(seconds: float) -> str:
    """``12.3 s`` under two minutes, else ``4.5 min``."""
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _spec_dict(spec: SweepSpec) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(spec), sort_keys=True))


def _grid(spec: dict[str, Any]) -> dict[str, Any]:
    """What decides the runs' results (not the worker count, nor the engine that ran them)."""
    return {key: value for key, value in spec.items() if key not in ("workers", "batch")}
