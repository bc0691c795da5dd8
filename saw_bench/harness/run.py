"""One run, start to finish: train it (:mod:`saw_bench.training`), then write what the harness
reads back: ``summary.json`` (final scores, efficiency, the weighting agent's overhead) and
``curves.png``. :func:`train` is ``saw_bench.train``; ``python -m saw_bench run`` calls it and
prints :func:`summary_table`.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_json, read_jsonl, write_json_atomic
from saw_bench.harness.plots import plot_run
from saw_bench.harness.statistics import normalised_auc
from saw_bench.training import TrainConfig, Trainer
from saw_bench.training.trainer import RunTrainer, saved_config


def train(
    task: str = "toolcall",
    weighting: str = "static",
    estimator: str = "grpo",
    steps: int = 40,
    seed: int = 0,
    out_dir: str | Path | None = None,
    model: str = "tiny",
    resume: str | Path | None = None,
    progress: bool = False,
    log_every: int = 1,
    plot: bool = True,
    **options: Any,
) -> Path:
    """Train ``model`` on ``task`` for ``steps`` steps; returns the run folder.

    ``options`` are the other :class:`~saw_bench.training.TrainConfig` fields
    (``python -m saw_bench config`` lists them). ``resume=RUN_DIR`` continues that run (its
    saved config is used; ``steps`` may raise the target; other options are an error).
    ``progress`` shows a bar on a terminal and otherwise prints a line every ``log_every``
    steps; ``plot=False`` skips ``curves.png``.
    """
    if resume is not None:
        if options:  # a resumed run keeps the options it was started with
            raise SawBenchError(
                f"resume continues a run with the options in its config.json; only steps "
                f"applies, but got {', '.join(sorted(options))} (start a new run to change them)"
            )
        config = saved_config(Path(resume), steps)  # runs from before backends: saw-bench
        trainer = trainer_class(config.backend).resume(
            Path(resume), steps=steps, progress=progress, log_every=log_every, config=config
        )
        return finish(trainer, plot)
    config = TrainConfig(
        task=task,
        weighting=weighting,
        estimator=estimator,
        steps=steps,
        seed=seed,
        model=model,
        **options,
    )
    return train_config(config, out_dir=out_dir, progress=progress, log_every=log_every, plot=plot)


def train_config(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    progress: bool = False,
    log_every: int = 1,
    plot: bool = True,
) -> Path:
    """:func:`train` from a ready :class:`~saw_bench.training.TrainConfig` (checked when it was
    built, e.g. by the CLI before it imports torch); returns the run folder."""
    trainer = trainer_class(config.backend).create(
        config, out_dir=out_dir, progress=progress, log_every=log_every
    )
    return finish(trainer, plot)


def finish(trainer: RunTrainer, plot: bool = True) -> Path:
    """Run ``trainer`` to its last step, then write the summary and (``plot``) the curves."""
    run_dir = trainer.run()
    if not trainer.is_main_process:
        return run_dir  # another process of a multi-process TRL run writes the files
    write_summary(trainer)
    if plot:
        try:
            plot_run(run_dir)
        except (SawBenchError, OSError) as error:  # the run itself is complete
            print(f"warning: no curves.png for {run_dir}: {error}", file=sys.stderr)
    return run_dir


def trainer_class(backend: str) -> type[RunTrainer]:
    """The trainer of a backend: saw-bench's own, or TRL's GRPOTrainer with the agent."""
    if backend != "trl":
        return Trainer
    try:
        from saw_bench.integrations.trl_backend import TrlTrainer
    except ImportError as error:
        raise SawBenchError(
            f"backend 'trl' needs TRL 1.16: pip install 'saw-bench[trl]' ({error})"
        ) from None
    return TrlTrainer


def write_summary(trainer: RunTrainer) -> dict[str, Any]:
    """``summary.json`` of a finished run, from its metrics and eval rows."""
    run_dir, config = trainer.run_dir, trainer.config
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    evaluations = read_jsonl(run_dir / "eval.jsonl")
    seconds = np.array([row["seconds"]["total"] for row in metrics])
    weight_seconds = np.array([row["seconds"]["weight"] for row in metrics])
    area = normalised_auc(
        [row["step"] for row in evaluations], [row["normalised"] for row in evaluations]
    )
    summary = {
        "task_id": registry.resolve(config.task),
        "weighting": config.weighting,
        "estimator": config.estimator,
        "seed": config.seed,
        "steps": trainer.step,
        "final": evaluations[-1]["objectives"] if evaluations else {},
        "final_normalised": evaluations[-1]["normalised"] if evaluations else None,
        "initial": evaluations[0]["objectives"] if evaluations else {},
        "normalised_auc": None if math.isnan(area) else area,
        "seconds_per_step": float(seconds.mean()) if len(seconds) else None,
        "weighting_seconds_per_step": float(weight_seconds.mean()) if len(seconds) else None,
        "weighting_overhead": (
            float(weight_seconds.sum() / seconds.sum()) if seconds.sum() > 0 else None
        ),
        "tokens_total": trainer.tokens_total,
        "wall_seconds": trainer.elapsed_seconds,
    }
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def summary_table(run_dir: str | Path) -> str:
    """The table ``run`` prints at the end: start and final held-out score per objective."""
    run_dir = Path(run_dir)
    summary = read_json(run_dir / "summary.json")
    config = read_json(run_dir / "config.json")
    lines = [
        f"{summary['task_id']}  {summary['estimator']} + {summary['weighting']}  "
        f"seed {summary['seed']}  {summary['steps']} steps",
        f"{'objective':<14}{'start':>10}{'final':>10}",
    ]
    for name in [objective["name"] for objective in config["objectives"]]:  # the task's order
        initial = summary["initial"].get(name, float("nan"))
        lines.append(f"{name:<14}{initial:>10.3f}{summary['final'].get(name, float('nan')):>10.3f}")
    lines.append(f"normalised aggregate (0-1): {summary['final_normalised']:.3f}")
    lines += weight_lines(run_dir, [objective["name"] for objective in config["objectives"]])
    if summary.get("normalised_auc") is not None:
        lines.append(f"normalised area under the eval curve: {summary['normalised_auc']:.3f}")
    if summary.get("seconds_per_step") is not None:
        lines.append(
            f"seconds per step: {summary['seconds_per_step']:.2f}; weighting overhead "
            f"{100 * summary['weighting_overhead']:.2f}% of step time"
        )
    lines.append(f"run folder: {run_dir}")
    return "\n".join(lines)


#: Steps averaged at each end of the run for the weights ``run`` prints.
WEIGHT_WINDOW = 5
SPARK = "▁▂▃▄▅▆▇█"
SPARK_BINS = 20


def sparkline(values: np.ndarray, low: float, high: float) -> str:
    """``values`` averaged into at most :data:`SPARK_BINS` bins, one block character each,
    scaled from ``low`` (the lowest block) to ``high`` (the highest)."""
    bins = np.array_split(values, min(SPARK_BINS, len(values)))
    means = np.array([chunk.mean() for chunk in bins])
    if high - low < 1e-12:
        return SPARK[0] * len(means)
    levels = np.round((means - low) / (high - low) * (len(SPARK) - 1)).astype(int)
    return "".join(SPARK[level] for level in levels)


def weight_lines(run_dir: Path, names: list[str]) -> list[str]:
    """How the agent's weights moved: per objective the mean weight of the first and last
    :data:`WEIGHT_WINDOW` steps and a sparkline of the whole run (one scale for all
    objectives). Empty when the run has no metrics rows."""
    path = run_dir / "metrics.jsonl"
    rows = read_jsonl(path) if path.exists() else []
    rows = [row for row in rows if all(name in row.get("objectives", {}) for name in names)]
    if not rows:
        return []
    weights = np.array([[row["objectives"][name]["weight"] for name in names] for row in rows])
    window = min(WEIGHT_WINDOW, len(rows))
    first, last = weights[:window].mean(axis=0), weights[-window:].mean(axis=0)
    low, high = float(weights.min()), float(weights.max())
    start = f"steps {rows[0]['step']}-{rows[window - 1]['step']}"
    end = f"steps {rows[-window]['step']}-{rows[-1]['step']}"
    lines = [f"{'weight':<14}{start:>12}{end:>14}  every step, {low:.2f} to {high:.2f}"]
    for k, name in enumerate(names):
        spark = sparkline(weights[:, k], low, high)
        lines.append(f"{name:<14}{first[k]:>12.2f}{last[k]:>14.2f}  {spark}")
    return lines
