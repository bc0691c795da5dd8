"""Two default runs on one machine: each takes its share of the CPUs, not every core.

Run with ``tox -e bench -- benchmarks/test_machine_sharing.py`` or ``python -m pytest
benchmarks/test_machine_sharing.py --benchmark-enable -s`` on an idle machine. It times the main
command alone, then two of it started together (different seeds, separate output folders), and
prints each one's wall time and the ratio to the run alone. Without shares, two such runs on two
cores took about ten times as long as one; the goal is at most 2.5 times. The tiny policy is
built before the clock starts. ``SAW_BENCH_SHARING_STEPS`` (default 40) and
``SAW_BENCH_SHARING_TASK`` (default summarize) pick the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

STEPS = os.environ.get("SAW_BENCH_SHARING_STEPS", "40")
TASK = os.environ.get("SAW_BENCH_SHARING_TASK", "summarize")


def command(out, seed):
    return [
        sys.executable,
        "-m",
        "saw_bench",
        "run",
        "--task",
        TASK,
        "--weighting",
        "saw",
        "--steps",
        STEPS,
        "--seed",
        str(seed),
        "--out",
        str(out),
    ]


def timed(*commands):
    """Start ``commands`` together; each one's wall seconds."""
    started = time.perf_counter()
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in commands]
    seconds = []
    for process in processes:
        assert process.wait() == 0
        seconds.append(time.perf_counter() - started)
    return seconds


@pytest.mark.benchmark(group="sharing")
def test_two_default_runs_started_together(tmp_path, benchmark):
    subprocess.run(
        [sys.executable, "-m", "saw_bench", "prepare", "--task", TASK],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    alone = timed(command(tmp_path / "alone", 0))[0]
    together = timed(command(tmp_path / "a", 1), command(tmp_path / "b", 2))
    benchmark.extra_info.update(alone=alone, together=together)
    benchmark.pedantic(lambda: None, rounds=1)
    print(
        f"\n{TASK}, {STEPS} steps: alone {alone:.1f} s; two together "
        f"{together[0]:.1f} s and {together[1]:.1f} s "
        f"({max(together) / alone:.2f}x the run alone; goal <= 2.5x)"
    )
