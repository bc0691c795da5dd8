"""The weights ``run`` prints at the end: first and last steps' means and a sparkline."""

from __future__ import annotations

import json

import numpy as np

from saw_bench.harness.run import sparkline, summary_table, weight_lines


def write_run(folder, weights):
    """A run folder with one metrics row per step, objectives a and b, and these weights."""
    rows = [
        {"step": step, "objectives": {"a": {"weight": wa}, "b": {"weight": wb}}}
        for step, (wa, wb) in enumerate(weights, start=1)
    ]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    config = {"objectives": [{"name": "a"}, {"name": "b"}]}
    (folder / "config.json").write_text(json.dumps(config))
    summary = {
        "task_id": "saw/X-v0",
        "estimator": "grpo",
        "weighting": "saw",
        "seed": 0,
        "steps": len(rows),
        "initial": {"a": 0.1, "b": 0.2},
        "final": {"a": 0.3, "b": 0.4},
        "final_normalised": 0.5,
    }
    (folder / "summary.json").write_text(json.dumps(summary))


def test_weights_of_the_first_and_last_five_steps(tmp_path):
    # 12 steps: a rises 0.5, 0.6, ..., 1.6 and b = 2 - a
    a = [0.5 + 0.1 * step for step in range(12)]
    write_run(tmp_path, [(wa, 2 - wa) for wa in a])
    lines = weight_lines(tmp_path, ["a", "b"])
    # first five: mean of 0.5..0.9 = 0.7; last five: mean of 1.2..1.6 = 1.4; b = 2 - a
    assert lines[0].split() == ["weight", "steps", "1-5", "steps", "8-12", "every", "step,"] + [
        "0.40",
        "to",
        "1.60",
    ]
    assert lines[1].split()[:3] == ["a", "0.70", "1.40"]
    assert lines[2].split()[:3] == ["b", "1.30", "0.60"]
    # one block per step (12 < 20 bins), on the common scale 0.4 .. 1.6
    assert lines[1].split()[3] == "".join("▁▂▃▄▅▆▇█"[round((w - 0.4) / 1.2 * 7)] for w in a)
    assert lines[1].split()[3][0] == "▂" and lines[1].split()[3][-1] == "█"
    assert lines[2].split()[3][-1] == "▁"
    assert "\n".join(lines) in summary_table(tmp_path)


def test_sparkline_averages_long_runs_into_twenty_bins_and_a_flat_one_is_low():
    values = np.repeat(np.arange(20.0), 3)  # 60 steps, each bin one value
    assert len(sparkline(values, 0.0, 19.0)) == 20
    assert sparkline(values, 0.0, 19.0)[0] == "▁" and sparkline(values, 0.0, 19.0)[-1] == "█"
    assert sparkline(np.ones(7), 1.0, 1.0) == "▁" * 7


def test_no_metrics_no_weight_lines(tmp_path):
    assert weight_lines(tmp_path, ["a"]) == []
