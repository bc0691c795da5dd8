"""Seconds to draw a run's curves (``curves.png``), which every run pays when it ends.

Run with ``tox -e bench`` or ``python -m pytest benchmarks/test_plot_speed.py
--benchmark-enable -s``. The run folder is a real 2-step Summarize-Synth run of the tiny policy,
its metrics and evaluation rows then repeated out to 400 steps (an evaluation every 10), the
length of a long run. The aim is well under a second on 2 cores.
"""

from __future__ import annotations

import json

import saw_bench
from saw_bench.harness.plots import plot_run

STEPS = 400


def long_run(tmp_path):
    folder = saw_bench.train(
        "summarize",
        steps=2,
        prompts_per_step=2,
        group_size=2,
        max_new_tokens=16,
        eval_every=1,
        eval_items=4,
        out_dir=tmp_path / "run",
        plot=False,
    )
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    evals = [json.loads(line) for line in (folder / "eval.jsonl").read_text().splitlines()]
    with open(folder / "metrics.jsonl", "w") as stream:
        for step in range(1, STEPS + 1):
            row = dict(metrics[step % len(metrics)], step=step, wall_seconds=step * 0.7)
            stream.write(json.dumps(row) + "\n")
    with open(folder / "eval.jsonl", "w") as stream:
        for step in range(0, STEPS + 1, 10):
            row = dict(evals[(step // 10) % len(evals)], step=step, wall_seconds=step * 0.7)
            stream.write(json.dumps(row) + "\n")
    return folder


def test_plot_run_seconds(benchmark, tmp_path):
    folder = long_run(tmp_path)
    plot_run(folder)  # the first call pays for importing matplotlib's fonts
    path = benchmark.pedantic(plot_run, args=(folder,), rounds=5, iterations=1)
    print(f"\nplot_run, {STEPS} steps: {benchmark.stats.stats.median:.3f} s (median of 5)")
    assert path.stat().st_size > 0
