"""Several runs in one process: :func:`train_many` (``saw_bench.train_many``).

Runs that share task, model and shapes (they differ only in seed, weighting agent, its
options, estimator or priorities) train as one batched model
(:mod:`saw_bench.training.batched`) where saw-bench's fast path covers the model; the others,
and every run with ``batch=False``, train one after another as :func:`saw_bench.train` trains
them. Either way each run gets an ordinary run folder, with its summary and curves, and a run
folder that exists already is resumed from its last checkpoint.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.plots import plot_run
from saw_bench.harness.run import train, train_config, write_summary
from saw_bench.training import TrainConfig
from saw_bench.training.batch_runs import NotBatchable, batch_key
from saw_bench.training.batched import BatchTrainer
from saw_bench.training.checkpoints import checkpoint_step


def train_many(
    configs: Sequence[TrainConfig | dict[str, Any]],
    out_dirs: Sequence[str | Path | None] | None = None,
    *,
    batch: bool = True,
    progress: bool = False,
    plot: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Train every run of ``configs`` (TrainConfigs, or dicts of their options); returns the
    run folders in the same order.

    ``out_dirs``: each run's folder (None: one named after the run under ``runs/``); a folder
    holding a run already is resumed (its saved options, ``steps`` from ``configs``).
    ``batch``: train the runs that can share a batched model as one (see the module doc);
    runs that cannot are trained one at a time, and ``log`` (default: print) says why.
    """
    configs = [c if isinstance(c, TrainConfig) else TrainConfig(**c) for c in configs]
    folders = list(out_dirs) if out_dirs is not None else [None] * len(configs)
    if len(folders) != len(configs):
        raise SawBenchError(f"need one out_dir per run, but got {len(folders)} for {len(configs)}")
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    done: dict[int, Path] = {}
    groups = batch_groups(configs, folders) if batch else [[i] for i in range(len(configs))]
    for group in groups:
        if len(group) > 1:
            try:
                trainer = BatchTrainer.start(
                    [configs[i] for i in group], [folders[i] for i in group], progress
                )
            except NotBatchable as reason:
                say(f"{len(group)} runs train one at a time, not as one batch: {reason}")
            else:
                trainer.run()
                for index, run in zip(group, trainer.runs, strict=True):
                    write_summary(run)
                    if plot:
                        _plot(run.run_dir)
                    done[index] = run.run_dir
                continue
        for index in group:
            done[index] = train_or_resume(configs[index], folders[index], progress, plot)
    return [done[index] for index in range(len(configs))]


def batch_groups(
    configs: Sequence[TrainConfig], folders: Sequence[str | Path | None]
) -> list[list[int]]:
    """Indices of the runs that can train as one batch: the same shared options
    (:func:`~saw_bench.training.batch_runs.batch_key`) and, for runs being resumed, the same
    checkpoint step. In order of first appearance."""
    groups: dict[tuple[str, int], list[int]] = {}
    for index, (config, folder) in enumerate(zip(configs, folders, strict=True)):
        step = checkpoint_step(Path(folder)) if folder is not None else 0
        groups.setdefault((batch_key(config), step), []).append(index)
    return list(groups.values())


def train_or_resume(
    config: TrainConfig, out_dir: str | Path | None, progress: bool = False, plot: bool = True
) -> Path:
    """:func:`saw_bench.train` of one run, resuming ``out_dir`` when it holds one."""
    if out_dir is not None and (Path(out_dir) / "config.json").exists():
        return train(resume=out_dir, steps=config.steps, progress=progress, plot=plot)
    return train_config(config, out_dir=out_dir, progress=progress, plot=plot)


def _plot(run_dir: Path) -> None:
    try:
        plot_run(run_dir)
    except (SawBenchError, OSError) as error:  # the run itself is complete
        print(f"warning: no curves.png for {run_dir}: {error}", file=sys.stderr)
