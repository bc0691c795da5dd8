"""The harness: runs on disk, sweeps, comparisons across seeds, plots and reports.

- :mod:`~saw_bench.harness.run`: one run start to finish (``saw_bench.train``), its
  ``summary.json`` and ``curves.png``.
- :mod:`~saw_bench.harness.sweep`: a resumable grid of runs in parallel processes.
- :mod:`~saw_bench.harness.runs`: reading run folders back, checked field by field.
- :mod:`~saw_bench.harness.statistics`: bootstrap intervals, bands, areas under curves,
  minimum detectable effects.
- :mod:`~saw_bench.harness.analysis`: :func:`compare`, agents against static across seeds.
- :mod:`~saw_bench.harness.plots` and :mod:`~saw_bench.harness.report`: PNG figures, the
  ``compare`` outputs and the self-contained HTML report.
"""

from saw_bench.harness.analysis import Comparison, Group, compare
from saw_bench.harness.report import compare_command, report_command, write_report
from saw_bench.harness.run import summary_table, train, write_summary
from saw_bench.harness.runs import AGGREGATE, LoadedRuns, Run, SkippedRun, load_run, load_runs
from saw_bench.harness.statistics import (
    band,
    bootstrap_ci,
    minimum_detectable_effect,
    normalised_auc,
    paired_t_ci,
)
from saw_bench.harness.sweep import SweepSpec, load_spec, run_one

__all__ = [
    "AGGREGATE",
    "Comparison",
    "Group",
    "LoadedRuns",
    "Run",
    "SkippedRun",
    "SweepSpec",
    "band",
    "bootstrap_ci",
    "compare",
    "compare_command",
    "load_run",
    "load_runs",
    "load_spec",
    "minimum_detectable_effect",
    "normalised_auc",
    "paired_t_ci",
    "report_command",
    "run_one",
    "summary_table",
    "train",
    "write_report",
    "write_summary",
]
