"""Plots of runs and comparisons (matplotlib, PNG) and the self-contained HTML report.

Figures are built on ``matplotlib.figure.Figure`` and rendered by the Agg canvas, never through
pyplot: nothing opens a window and the caller's matplotlib backend is left alone. Curves show the
per-step mean over seeds with a 95% percentile-bootstrap band (:func:`saw_bench.statistics.band`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from saw_bench.analysis import Comparison, Group, compare
from saw_bench.errors import SawBenchError
from saw_bench.runio import write_bytes_atomic
from saw_bench.runs import AGGREGATE, LoadedRuns, Run, load_run, load_runs, no_runs_message

_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
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
            frame["step"][known], frame["low"][known], frame["high"][known],
            color=colour, alpha=0.2, linewidth=0,
        )  # fmt: skip


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


def _aggregate_axes(axes: Axes, groups: Sequence[Group], threshold: float) -> None:
    _draw_groups(axes, groups, AGGREGATE, weights=False)
    if not math.isnan(threshold):
        axes.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    axes.set_title("normalised aggregate (held-out)")
    axes.set_ylabel("aggregate [0, 1]")


def _weight_axes(axes: Axes, groups: Sequence[Group], index: int) -> None:
    objective = groups[0].objectives[index]
    _draw_groups(axes, groups, f"{objective.name}", weights=True)
    axes.set_title(_text(f"weight on {objective.name}"))
    axes.set_ylabel("weight")


def _panel_threshold(comparison: Comparison, groups: Sequence[Group]) -> float:
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
    _aggregate_axes(axes[0][0], groups, _panel_threshold(comparison, groups))
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
        _aggregate_axes(scores[count], groups, _panel_threshold(comparison, groups))
        for unused in [*scores[count + 1 :], *weights[count:]]:
            unused.set_axis_off()
        scores[0].annotate(
            _text(f"{task_id}  {estimator}"), (0, 1.18), xycoords="axes fraction",
            fontsize="large", fontweight="bold",
        )  # fmt: skip
        scores[count].legend(fontsize="small")
    return figure


def plot_comparison(comparison: Comparison, path: str | Path) -> Path:
    """Write :func:`comparison_figure` as a PNG at ``path``."""
    path = Path(path)
    write_bytes_atomic(path, _png(comparison_figure(comparison)))
    return path


def plot_run(run_dir: str | Path) -> Path:
    """Write ``curves.png`` in a run folder: held-out normalised score per objective and the
    aggregate against step, and the agent's weights against step. Works on a run in progress
    (missing or empty files give empty axes); returns the PNG's path."""
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
            run.metrics.step, run.metrics[f"weight:{objective.name}"], color=colour,
            label=_text(objective.name),
        )  # fmt: skip
    scores.plot(
        evaluations.step, evaluations[AGGREGATE], marker="s", color="black", linewidth=2,
        label=AGGREGATE,
    )  # fmt: skip
    scores.set_title("held-out score, normalised to [0, 1]")
    scores.set_ylim(-0.03, 1.03)
    weights.set_title("weights")
    for axes in row:
        axes.set_xlabel("training step")
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="small")
    figure.suptitle(_text(f"{run.task_id}  {run.estimator} + {run.agent}  seed {run.seed}"))
    path = Path(run_dir) / "curves.png"
    write_bytes_atomic(path, _png(figure, dpi=90))
    return path


def _png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# ---------------------------------------------------------------------- HTML
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222;
       padding: 0 1em; line-height: 1.4; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.5em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
img { max-width: 100%; }
figure { margin: 1em 0; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
dt { font-weight: bold; margin-top: 0.5em; }
details { margin: 0.3em 0; }
"""

_DEFINITIONS = [
    ("normalised score", "(x - low) / (high - low) for each objective, with the task's bounds "
     "from config.json: 0 at the lower bound, 1 at the upper bound."),
    ("aggregate", "mean over objectives of the normalised scores, weighted by the run's "
     "priorities when it has them (sum p_k s_k / sum p_k); computed from the held-out "
     "per-objective means in eval.jsonl."),
    ("final", "the last held-out evaluation of each run (task units per objective)."),
    ("mean [low, high]", "mean over seeds with a 95% percentile-bootstrap interval of the mean "
     "(10,000 resamples of the seeds); a single seed shows the value alone. Curve bands are the "
     "same per evaluation step (2,000 resamples)."),
    ("threshold", "the static agent's (default options, same priorities, same task and "
     "estimator) mean first aggregate s plus the threshold fraction r (default 0.9) of its mean "
     "gain to the final aggregate f: s + r (f - s); or an absolute value when one is given. "
     "When static does not improve (f <= s), every run reaches it at its first evaluation. "
     "Without a static run there is no threshold."),
    ("steps to threshold", "per seed, the first evaluation step whose aggregate is at or above "
     "the threshold; seconds to threshold is that evaluation's wall_seconds (training time, "
     "evaluation excluded). A seed that never gets there is censored: the mean and interval are "
     "over the seeds that reached it, and 'reached k/n' says how many did."),
    ("AUC", "trapezoidal area under a run's aggregate evaluation curve over steps, divided by "
     "its step span: a value in [0, 1]; a constant curve at c has AUC c."),
    ("step time x static", "mean seconds per training step divided by the static agent's: "
     "everything the agent changes, including rollout lengths and machine noise."),
    ("weighting overhead", "1 + (weight-phase seconds per step - static's) / static's seconds "
     "per step: the cost of computing the weights alone, as a share of a step."),
]  # fmt: skip


def write_report(
    paths_or_runs: Sequence[str | Path] | Sequence[Run] | LoadedRuns | Comparison,
    html_path: str | Path,
    threshold_fraction: float = 0.9,
    sources: Sequence[str] = (),
) -> Path:
    """Write one self-contained HTML page (inline CSS, PNG plots as data URIs, no external
    resources) comparing the runs: table, curves, weights, configs, skipped runs, definitions.

    ``paths_or_runs``: folders (as for :func:`saw_bench.runs.load_runs`), loaded runs, or a
    ready :class:`~saw_bench.analysis.Comparison`. Every text from run files is HTML-escaped.
    """
    sources = [str(source) for source in sources]
    if isinstance(paths_or_runs, Comparison):
        comparison = paths_or_runs
    elif isinstance(paths_or_runs, LoadedRuns):
        comparison = compare(paths_or_runs, threshold_fraction=threshold_fraction)
    else:
        items = list(paths_or_runs)
        if items and all(isinstance(item, Run) for item in items):
            comparison = compare(items, threshold_fraction=threshold_fraction)
        else:
            sources = [str(item) for item in items]
            loaded = load_runs(items)
            if not loaded.runs:
                raise SawBenchError(no_runs_message(sources, loaded.skipped))
            comparison = compare(loaded, threshold_fraction=threshold_fraction)
    page = render_html(comparison, sources)
    path = Path(html_path)
    write_bytes_atomic(path, page.encode("utf-8"))
    return path


def render_html(comparison: Comparison, sources: Sequence[str] = ()) -> str:
    """The report page as a string (see :func:`write_report`)."""
    e = html.escape
    runs = comparison.runs
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>saw-bench report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>saw-bench report</h1>",
        f'<p class="meta">{len(runs)} finished run(s) in {len(comparison.groups)} group(s); '
        f"{len(comparison.skipped)} skipped. Generated {e(time.strftime('%Y-%m-%d %H:%M:%S'))}."
        + (f" Sources: {e(', '.join(sources))}." if sources else "")
        + "</p>",
        "<h2>Comparison</h2>",
    ]
    for task_id, estimator in comparison.panels():
        scores, efficiency = comparison.display_tables(task_id, estimator)
        parts += [
            f"<h3>{e(task_id)} &middot; {e(estimator)}</h3>",
            f"<p>{e(comparison.threshold_text(task_id, estimator))}</p>",
            "<p>Final held-out scores, mean [95% CI] over seeds:</p>",
            scores.to_html(index=False, escape=True, border=0, classes="scores"),
            "<p>Efficiency (to threshold: mean over the seeds that reached it):</p>",
            efficiency.to_html(index=False, escape=True, border=0, classes="efficiency"),
        ]
    if comparison.notes:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li>{e(note)}</li>" for note in comparison.notes]
        parts.append("</ul>")
    parts.append("<h2>Curves</h2>")
    for task_id, estimator in comparison.panels():
        parts.append(f"<h3>{e(task_id)} &middot; {e(estimator)}</h3>")
        figures = [
            (objective_figure, "Held-out score per objective (mean over seeds, 95% band)"),
            (aggregate_figure, "Normalised aggregate (mean over seeds, 95% band); dashed: "
             "threshold"),
            (weights_figure, "Weights per objective over training (mean over seeds, 95% band)"),
        ]  # fmt: skip
        for build, caption in figures:
            data = base64.b64encode(_png(build(comparison, task_id, estimator))).decode("ascii")
            parts.append(
                f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
    parts.append("<h2>Skipped runs</h2>")
    if comparison.skipped:
        parts.append("<table><tr><th>run folder</th><th>reason</th></tr>")
        parts += [
            f"<tr><td>{e(str(s.path))}</td><td>{e(s.reason)}</td></tr>" for s in comparison.skipped
        ]
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    parts.append("<h2>Definitions</h2><dl>")
    parts += [f"<dt>{e(term)}</dt><dd>{e(text)}</dd>" for term, text in _DEFINITIONS]
    parts.append("</dl>")
    parts.append("<h2>Run configurations</h2>")
    for group in comparison.groups:
        for run in group.runs:
            summary = f"{run.path}: {run.task_id} {run.estimator} {group.label} seed {run.seed}"
            config = json.dumps(run.config, indent=2, sort_keys=True, default=str)
            parts.append(
                f"<details><summary>{e(summary)}</summary><pre>{e(config)}</pre></details>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def report_command(paths: list[str], html: str) -> str:
    """``python -m saw_bench report PATH... --html FILE``: write the report; returns a line."""
    if not paths:
        raise SawBenchError("give at least one run folder, sweep folder or folder of runs")
    if not html:
        raise SawBenchError("give the HTML file to write (--html FILE)")
    loaded = load_runs(paths)
    if not loaded.runs:
        raise SawBenchError(no_runs_message(paths, loaded.skipped))
    comparison = compare(loaded)
    path = write_report(comparison, html, sources=paths)
    return (
        f"report: {path} ({len(comparison.runs)} runs in {len(comparison.groups)} groups, "
        f"{len(comparison.skipped)} skipped)"
    )
