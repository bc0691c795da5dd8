"""Cold start: the two main commands on a fresh cache, tiny policy build included.

``python -m saw_bench run --task {summarize,toolcall} --weighting saw`` with an empty
``$SAW_BENCH_CACHE``: the tiny policy is built from nothing (tokenizer, warm start, its held-out
figures), then 40 training steps with their evaluations. The target is at most 2 minutes wall
each on 2 idle cores. Run with ``tox -e bench`` or ``python -m pytest benchmarks/test_cold_start.py
--benchmark-enable -s`` (several minutes). Printed per task: wall and CPU seconds of the command,
the build's phases (tokenizer, warm start, build-time evaluation, from the policy's
figures.json), the run's training seconds (summary.json), and the held-out scores at step 0 and
after the last step, so a faster recipe can be checked for scores that are no worse.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: The cold-start target, seconds wall per main command on 2 idle cores.
TARGET_SECONDS = 120
COLD: dict[str, dict[str, object]] = {}


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("task", ["summarize", "toolcall"])
def test_cold_start(benchmark, tmp_path, task):
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    env = {**os.environ, "SAW_BENCH_CACHE": str(cache)}
    command = [sys.executable, "-m", "saw_bench", "run", "--task", task, "--weighting", "saw"]
    command += ["--out", str(run_dir)]

    def run() -> float:
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - started

    cpu_before = _children_cpu_seconds()
    wall = benchmark.pedantic(run, rounds=1, iterations=1)
    cpu = _children_cpu_seconds() - cpu_before
    (policy,) = (cache / "tiny").iterdir()
    figures = json.loads((policy / "figures.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    COLD[task] = {
        "wall": wall,
        "cpu": cpu,
        "policy": policy.name,
        "build": figures["build_seconds"],
        "tokenizer": figures["tokenizer_seconds"],
        "sft": figures["sft_seconds"],
        "sft_steps": figures["sft_steps"],
        "build_eval": figures.get("eval_seconds", 0.0),
        "training": summary["wall_seconds"],
        "initial": summary["initial"],
        "final": summary["final"],
        "final_normalised": summary["final_normalised"],
    }
    assert summary["steps"] == 40


def teardown_module() -> None:
    for task, cold in COLD.items():
        verdict = "within" if cold["wall"] <= TARGET_SECONDS else "over"
        scores = ", ".join(
            f"{name} {cold['initial'][name]:.3f} -> {cold['final'][name]:.3f}"
            for name in cold["final"]
        )
        print(
            f"\ncold start, run --task {task} --weighting saw ({cold['policy']}): "
            f"{cold['wall']:.0f} s wall ({verdict} the {TARGET_SECONDS} s target), "
            f"{cold['cpu']:.0f} s CPU; build {cold['build']:.0f} s (tokenizer "
            f"{cold['tokenizer']:.1f} s, warm start {cold['sft']:.0f} s for {cold['sft_steps']} "
            f"steps, its evaluation {cold['build_eval']:.0f} s), training and evaluations "
            f"{cold['training']:.0f} s; held-out {scores}, normalised "
            f"{cold['final_normalised']:.3f}"
        )
    if COLD:
        print(f"(machine: {os.cpu_count()} CPUs; {Path.cwd()})")
