"""What the ``compare`` and ``report`` verbs write: the comparison table as text and CSV with its
curves as PNG, and one self-contained HTML page (inline CSS, PNG plots as data URIs).
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import write_bytes_atomic
from saw_bench.harness.analysis import Comparison, compare
from saw_bench.harness.plots import (
    _png,
    aggregate_figure,
    objective_figure,
    panel_threshold,
    plot_comparison,
    weights_figure,
)
from saw_bench.harness.runs import LoadedRuns, Run, load_runs, no_runs_message

# ---------------------------------------------------------------------- compare
#: verb -> the folder that holds its outputs, one new folder per call
OUTPUT_FOLDERS = {"compare": "comparisons", "report": "reports"}


def new_output_folder(verb: str, parent: str | Path = ".") -> Path:
    """A new folder of a verb's own, e.g. ``comparisons/compare-<time>`` (with ``-2``, ``-3``,
    ... when one exists already): where ``compare`` and ``report`` write without ``--out``,
    never into the folders they read."""
    base = Path(parent) / OUTPUT_FOLDERS[verb] / time.strftime(f"{verb}-%Y%m%d-%H%M%S")
    folder, number = base, 1
    while folder.exists():
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    return folder


def compare_command(
    paths: list[str],
    csv: str | None = None,
    png: str | None = None,
    threshold: float = 0.9,
    out: str | Path | None = None,
    absolute_threshold: float | None = None,
) -> str:
    """``python -m saw_bench compare PATH... [--out FOLDER] [--csv FILE] [--png FILE]``.

    Loads the runs, prints the table, writes the full table as CSV and the curves as PNG:
    ``comparison.csv`` and ``comparison.png`` in ``out`` (default: a new folder from
    :func:`new_output_folder`), or the files ``csv`` and ``png`` name. Nothing is written into
    the folders read. ``threshold`` is the fraction of the static agent's gain;
    ``absolute_threshold`` (a normalised aggregate) replaces that rule. Returns the text.
    """
    if not (isinstance(threshold, int | float) and 0 < threshold <= 1):
        raise SawBenchError(f"--threshold must be in (0, 1], but got {threshold!r}")
    if not paths:
        raise SawBenchError("give at least one run folder, sweep folder or folder of runs")
    loaded = load_runs(paths)
    if not loaded.runs:
        raise SawBenchError(no_runs_message(paths, loaded.skipped))
    comparison = compare(
        loaded, threshold_fraction=threshold, absolute_threshold=absolute_threshold
    )
    folder = Path(out) if out else new_output_folder("compare")
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
    (
        "normalised score",
        "(x - low) / (high - low) for each objective, with the task's bounds "
        "from config.json: 0 at the lower bound, 1 at the upper bound.",
    ),
    (
        "aggregate",
        "mean over objectives of the normalised scores, weighted by the run's "
        "priorities when it has them (sum p_k s_k / sum p_k); computed from the held-out "
        "per-objective means in eval.jsonl.",
    ),
    ("final", "the last held-out evaluation of each run (task units per objective)."),
    (
        "mean [low, high]",
        "mean over seeds with a 95% percentile-bootstrap interval of the mean "
        "(10,000 resamples of the seeds); a single seed shows the value alone. Curve bands are the "
        "same per evaluation step (2,000 resamples).",
    ),
    (
        "threshold",
        "the static agent's (default options, same priorities, same task and "
        "estimator) mean first aggregate s plus the threshold fraction r (default 0.9) of its mean "
        "gain to the final aggregate f: s + r (f - s); or an absolute value when one is given. "
        "When static does not improve (f <= s), every run reaches it at its first evaluation. "
        "Without a static run there is no threshold.",
    ),
    (
        "steps to threshold",
        "per seed, the first evaluation step whose aggregate is at or above "
        "the threshold; seconds to threshold is that evaluation's wall_seconds (training time, "
        "evaluation excluded). A seed that never gets there is censored: the mean and interval are "
        "over the seeds that reached it, and 'reached k/n' says how many did.",
    ),
    (
        "- static",
        "per seed, the final aggregate minus the static agent's (same task, estimator "
        "and priorities) on the same seed, averaged over the common seeds, with its 95% paired "
        "t interval, mean -/+ t(0.975, n-1) x s_d / sqrt(n) with s_d the standard deviation of "
        "the n per-seed differences: the paired t-test the MDE assumes (a bootstrap of a handful "
        "of differences is narrower than its nominal 95%). A difference counts only when its "
        "interval excludes 0.",
    ),
    (
        "MDE",
        "minimum detectable effect of that paired comparison: (t(0.975, n-1) + t(0.8, n-1)) "
        "x sqrt(2) x s / sqrt(n) for n common seeds and s the sample standard deviation of "
        "static's final aggregate over them: the true difference the comparison finds with 80% "
        "power at the 5% level. An interval that holds 0 with a difference below the MDE could "
        "not have told the agents apart.",
    ),
    (
        "AUC",
        "trapezoidal area under a run's aggregate evaluation curve over steps, divided by "
        "its step span: a value in [0, 1]; a constant curve at c has AUC c.",
    ),
    (
        "step time x static",
        "mean seconds per training step divided by the static agent's: "
        "everything the agent changes, including rollout lengths and machine noise.",
    ),
    (
        "weighting overhead",
        "1 + (weight-phase seconds per step - static's) / static's seconds "
        "per step: the cost of computing the weights alone, as a share of a step.",
    ),
]


def write_report(
    paths_or_runs: Sequence[str | Path] | Sequence[Run] | LoadedRuns | Comparison,
    html_path: str | Path,
    threshold_fraction: float = 0.9,
    sources: Sequence[str] = (),
) -> Path:
    """Write one self-contained HTML page (inline CSS, PNG plots as data URIs, no external
    resources) comparing the runs: table, curves, weights, configs, skipped runs, definitions.

    ``paths_or_runs``: folders (as for :func:`~saw_bench.harness.runs.load_runs`), loaded runs,
    or a ready :class:`~saw_bench.harness.analysis.Comparison`. Every text from run files is
    HTML-escaped.
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
        threshold = panel_threshold(comparison, comparison.groups_of(task_id, estimator))
        aggregate = "Normalised aggregate (mean over seeds, 95% band)"
        if not math.isnan(threshold):
            aggregate += f"; dashed: threshold {threshold:.3f}"
        figures = [
            (objective_figure, "Held-out score per objective (mean over seeds, 95% band)"),
            (aggregate_figure, aggregate),
            (weights_figure, "Weights per objective over training (mean over seeds, 95% band)"),
        ]
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


def report_command(
    paths: list[str], html: str | Path | None = None, out: str | Path | None = None
) -> str:
    """``python -m saw_bench report PATH... [--out FOLDER] [--html FILE]``: write the report,
    ``report.html`` in ``out`` (default: a new folder from :func:`new_output_folder`) or the file
    ``html`` names; returns a line."""
    if not paths:
        raise SawBenchError("give at least one run folder, sweep folder or folder of runs")
    if not html:
        html = (Path(out) if out else new_output_folder("report")) / "report.html"
    loaded = load_runs(paths)
    if not loaded.runs:
        raise SawBenchError(no_runs_message(paths, loaded.skipped))
    comparison = compare(loaded)
    path = write_report(comparison, html, sources=paths)
    return (
        f"report: {path} ({len(comparison.runs)} runs in {len(comparison.groups)} groups, "
        f"{len(comparison.skipped)} skipped)"
    )
