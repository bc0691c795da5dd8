"""Plots of runs and comparisons (matplotlib, PNG) and the self-contained HTML report.

Figures are built on ``matplotlib.figure.Figure`` and rendered by the Agg canvas, never through
pyplot: nothing opens a window and the caller's matplotlib backend is left alone. Curves show the
per-step mean over seeds with a 95% percentile-bootstrap band
(:func:`saw_bench.harness.statistics.band`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from saw_bench.core.files import write_bytes_atomic
from saw_bench.harness.analysis import Comparison, Group
from saw_bench.harness.runs import AGGREGATE, load_run

_COLOURS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_PANEL_INCHES = (4.2, 3.0)


# ---------------------------------------------------------------------- drawing
def _text(value: Any) -> str:
    """Run data as plain matplotlib text ("$" would start mathtext)."""
    return str(value).replace("$", r"\$")


def _draw_band(axes: Axes, frame: Any, colour: str, label: str) -> None:
    axes.plot(frame["step"], frame["mean"], color=colour, label=_text(label), linewidth=1.6)
    known = frame["low"].notna()
    if known.any():
        axes.fill_between(
            frame["step"][known],
            frame["low"][known],
            frame["high"][known],
            color=colour,
            alpha=0.2,
            linewidth=0,
        )


def _draw_groups(axes: Axes, groups: Sequence[Group], column: str, weights: bool) -> None:
    for index, group in enumerate(groups):
        frame = group.weight_curve(column) if weights else group.curve(column)
        _draw_band(axes, frame, _COLOURS[index % len(_COLOURS)], group.label)
    axes.grid(alpha=0.3)
    axes.set_xlabel("training step")


def _objective_axes(axes: Axes, groups: Sequence[Group], index: int) -> None:
    objective = groups[0].objectives[index]
    _draw_groups(axes, groups, objective.name, weights=False)
    axes.set_title(_text(f"{objective.name} (held-out)"))
    axes.set_ylabel(_text(f"score [{objective.low:g}, {objective.high:g}]"))
    _bounded(axes, objective.low, objective.high)


def _aggregate_axes(axes: Axes, groups: Sequence[Group], threshold: float) -> None:
    _draw_groups(axes, groups, AGGREGATE, weights=False)
    if not math.isnan(threshold):
        axes.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    axes.set_title("normalised aggregate (held-out)")
    axes.set_ylabel("aggregate [0, 1]")
    _bounded(axes, 0.0, 1.0)


def _bounded(axes: Axes, low: float, high: float) -> None:
    """A score axis spans the objective's bounds (3% margins), so a move of 0.1 on a scale of
    10 looks like one, not like a crash."""
    margin = 0.03 * (high - low)
    axes.set_ylim(low - margin, high + margin)


def _weight_axes(axes: Axes, groups: Sequence[Group], index: int) -> None:
    objective = groups[0].objectives[index]
    _draw_groups(axes, groups, f"{objective.name}", weights=True)
    axes.set_title(_text(f"weight on {objective.name}"))
    axes.set_ylabel("weight")


def panel_threshold(comparison: Comparison, groups: Sequence[Group]) -> float:
    """The threshold line of a panel: the groups' one threshold, else NaN (none drawn)."""
    values = {float(comparison.group_row(g).threshold) for g in groups}
    values = {v for v in values if not math.isnan(v)}
    return values.pop() if len(values) == 1 else math.nan


def _grid(rows: int, columns: int) -> tuple[Figure, list[list[Axes]]]:
    figure = Figure(
        figsize=(_PANEL_INCHES[0] * columns, _PANEL_INCHES[1] * rows), layout="constrained"
    )
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, [list(row) for row in axes]


def _legend(figure: Figure, axes: Axes) -> None:
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)))


def objective_figure(comparison: Comparison, task_id: str, estimator: str) -> Figure:
    """Held-out score per objective against step, one axes per objective, one band per agent."""
    return _per_objective_figure(
        comparison, task_id, estimator, _objective_axes, "held-out scores per objective"
    )


def _per_objective_figure(
    comparison: Comparison, task_id: str, estimator: str, draw: Any, title: str
) -> Figure:
    """One axes per objective, drawn by ``draw(axes, groups, index)``, with a shared legend."""
    groups = comparison.groups_of(task_id, estimator)
    count = len(groups[0].objectives)
    figure, axes = _grid(1, count)
    for index in range(count):
        draw(axes[0][index], groups, index)
    figure.suptitle(_text(f"{task_id}  {estimator}: {title}"))
    _legend(figure, axes[0][0])
    return figure


def aggregate_figure(comparison: Comparison, task_id: str, estimator: str) -> Figure:
    """The normalised aggregate against step, one band per agent, threshold dashed."""
    groups = comparison.groups_of(task_id, estimator)
    figure, axes = _grid(1, 1)
    _aggregate_axes(axes[0][0], groups, panel_threshold(comparison, groups))
    figure.suptitle(_text(f"{task_id}  {estimator}"))
    _legend(figure, axes[0][0])
    return figure


def weights_figure(comparison: Comparison, task_id: str, estimator: str) -> Figure:
    """Every agent's weight per objective against training step (from metrics.jsonl)."""
    return _per_objective_figure(
        comparison, task_id, estimator, _weight_axes, "weights over training"
    )


def comparison_figure(comparison: Comparison) -> Figure:
    """Everything in one figure: per (task, estimator) a row of score curves (objectives and
    aggregate) and a row of weight curves."""
    panels = comparison.panels()
    columns = max(len(comparison.groups_of(*panel)[0].objectives) for panel in panels) + 1
    figure, axes = _grid(2 * len(panels), columns)
    for number, (task_id, estimator) in enumerate(panels):
        groups = comparison.groups_of(task_id, estimator)
        scores, weights = axes[2 * number], axes[2 * number + 1]
        count = len(groups[0].objectives)
        for index in range(count):
            _objective_axes(scores[index], groups, index)
            _weight_axes(weights[index], groups, index)
        _aggregate_axes(scores[count], groups, panel_threshold(comparison, groups))
        for unused in [*scores[count + 1 :], *weights[count:]]:
            unused.set_axis_off()
        scores[0].annotate(
            _text(f"{task_id}  {estimator}"),
            (0, 1.18),
            xycoords="axes fraction",
            fontsize="large",
            fontweight="bold",
        )
        handles, labels = scores[count].get_legend_handles_labels()
        if handles:  # in the row's empty slot beside the weights, off every line
            weights[count].legend(handles, labels, loc="center", fontsize="small")
    return figure


def plot_comparison(comparison: Comparison, path: str | Path) -> Path:
    """Write :func:`comparison_figure` as a PNG at ``path``."""
    path = Path(path)
    write_bytes_atomic(path, _png(comparison_figure(comparison)))
    return path


def plot_run(run_dir: str | Path) -> Path:
    """Write :func:`run_figure` as ``curves.png`` in the run folder; returns its path."""
    path = Path(run_dir) / "curves.png"
    write_bytes_atomic(path, _png(run_figure(run_dir), dpi=90))
    return path


def run_figure(run_dir: str | Path) -> Figure:
    """One run's curves: held-out normalised score per objective and the aggregate against
    step, and the agent's weights against step, with one legend beside the plots (never on
    the lines). Works on a run in progress (missing or empty files give empty axes)."""
    run = load_run(run_dir, finished=False)
    figure, (row,) = _grid(1, 2)
    scores, weights = row
    evaluations = run.evaluations
    for index, objective in enumerate(run.objectives):
        colour = _COLOURS[index % len(_COLOURS)]
        normalised = (evaluations[objective.name] - objective.low) / (
            objective.high - objective.low
        )
        scores.plot(
            evaluations.step, normalised, marker="o", color=colour, label=_text(objective.name)
        )
        weights.plot(
            run.metrics.step,
            run.metrics[f"weight:{objective.name}"],
            color=colour,
            label=_text(objective.name),
        )
    scores.plot(
        evaluations.step,
        evaluations[AGGREGATE],
        marker="s",
        color="black",
        linewidth=2,
        label=AGGREGATE,
    )
    scores.set_title("held-out score, normalised to [0, 1]")
    scores.set_ylim(-0.03, 1.03)
    weights.set_title("weights")
    for axes in row:
        axes.set_xlabel("training step")
        axes.grid(alpha=0.3)
    handles, labels = scores.get_legend_handles_labels()
    if handles:  # the objectives' colours are the same in both panels
        figure.legend(handles, labels, loc="outside right upper", fontsize="small")
    figure.suptitle(_text(f"{run.task_id}  {run.estimator} + {run.agent}  seed {run.seed}"))
    return figure


def _png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
