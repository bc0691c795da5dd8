"""A grid trained as one batched model against the same grid as separate processes.

Run with ``tox -e bench -- benchmarks/test_batched_grid.py`` or ``python -m pytest
benchmarks/test_batched_grid.py --benchmark-enable -s`` on an idle machine. The grid is
static and saw x 5 seeds on ToolCall-Synth, 120 steps (10 runs): ``sweep`` (its runs trained as
one batched model, the default) and then ``sweep --workers 2 --no-batch`` (a process per run,
two at a time), both from the command line, one after the other in this one process, so they
compare like with like on the same machine. The goal: the batched grid's wall time at most a
third of the separate one's.

Printed for both: wall and CPU seconds (the sweep and its workers), completions per second
(training and held-out), and the share of the machine's fp32 matmul peak that the training
steps' useful FLOPs reach (as in ``benchmarks/test_hardware_use.py``: 2 x the linear weights
per token plus attention, one forward for decoding and three for the update; attention from
each step's mean completion length; held-out evaluations are in the wall time but not in the
FLOPs, so the share is a lower bound). The tiny policy is built before the clock starts.

``SAW_BENCH_GRID_STEPS`` (default 120), ``SAW_BENCH_GRID_SEEDS`` (default 5),
``SAW_BENCH_GRID_TASK`` (default toolcall) and ``SAW_BENCH_GRID_MODEL`` (default tiny: the
task's tiny policy; or a model folder) make a shorter or smaller version.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from test_hardware_use import forward_flops, matmul_peak

from saw_bench.core import registry
from saw_bench.core.files import read_jsonl
from saw_bench.policy import load_policy
from saw_bench.training.rollouts import sample_items

STEPS = int(os.environ.get("SAW_BENCH_GRID_STEPS", "120"))
SEEDS = int(os.environ.get("SAW_BENCH_GRID_SEEDS", "5"))
TASK = os.environ.get("SAW_BENCH_GRID_TASK", "toolcall")
MODEL = os.environ.get("SAW_BENCH_GRID_MODEL", "tiny")
THREADS = 2


def grid_file(folder: Path) -> Path:
    path = folder / "grid.toml"
    path.write_text(
        f'tasks = ["{TASK}"]\nestimators = ["grpo"]\nweightings = ["static", "saw"]\n'
        f"seeds = {list(range(SEEDS))}\nworkers = 2\n\n[train]\nsteps = {STEPS}\n"
        f"model = {json.dumps(MODEL)}\n"
    )
    return path


def timed_sweep(grid: Path, out: Path, *flags: str) -> dict[str, float]:
    """Wall and CPU seconds of ``sweep`` (its workers included) from the command line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "saw_bench", "sweep", "--config", str(grid), "--out", str(out)]
        + list(flags),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def grid_work(out: Path) -> dict[str, float]:
    """Completions (training and held-out) and the training steps' useful FLOPs of a sweep."""
    task = registry.load_task(TASK)
    policy = load_policy(MODEL, task=registry.resolve(TASK), progress=False)
    train_items = list(task.split("train"))
    completions, flops = 0, 0.0
    for run in sorted((out / "runs").iterdir()):
        options = json.loads((run / "config.json").read_text())["train"]
        completions += sum(row["items"] for row in read_jsonl(run / "eval.jsonl"))
        for row in read_jsonl(run / "metrics.jsonl"):
            items = sample_items(
                train_items, row["step"] - 1, options["prompts_per_step"], options["seed"]
            )
            prompts = [policy.render(task.prompt(item)) for item in items]
            prompt_lengths = policy.encode_prompts(prompts)["attention_mask"].sum(1).numpy()
            rows = len(items) * options["group_size"]
            completions += rows
            length = row["tokens"] / rows  # the step's mean completion length
            per_prompt = length * prompt_lengths + length * (length + 1) / 2
            queries = np.concatenate([prompt_lengths, [row["tokens"]]])
            completion_keys = options["group_size"] * per_prompt.sum()
            keys = np.concatenate([prompt_lengths * (prompt_lengths + 1) / 2, [completion_keys]])
            flops += 4.0 * forward_flops(policy.model, queries, keys)  # decode + update (3)
    return {"completions": completions, "flops": flops}


@pytest.mark.benchmark(group="batched-grid")
def test_batched_grid_against_separate_processes(tmp_path, benchmark):
    if MODEL == "tiny":
        subprocess.run(
            [sys.executable, "-m", "saw_bench", "prepare", "--task", TASK],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    torch.set_num_threads(THREADS)
    peak = matmul_peak()
    grid = grid_file(tmp_path)
    figures = {}
    figures["batched"] = benchmark.pedantic(
        lambda: timed_sweep(grid, tmp_path / "batched"), rounds=1, iterations=1
    )
    figures["separate"] = timed_sweep(grid, tmp_path / "separate", "--workers", "2", "--no-batch")
    runs = 2 * SEEDS
    print(
        f"\n\n{TASK}: static and saw x {SEEDS} seeds, {STEPS} steps ({runs} runs); "
        f"fp32 matmul peak at {THREADS} threads {peak:.0f} GFLOP/s"
    )
    print("grid | wall s | CPU s | completions/s | training GFLOP/s | share of peak")
    for name, timing in figures.items():
        work = grid_work(tmp_path / name)
        rate = work["flops"] / timing["wall"] / 1e9
        print(
            f"{name} | {timing['wall']:.1f} | {timing['cpu']:.1f} | "
            f"{work['completions'] / timing['wall']:.1f} | {rate:.2f} | {rate / peak:.1%}"
        )
    ratio = figures["batched"]["wall"] / figures["separate"]["wall"]
    print(f"batched wall / separate wall: {ratio:.2f} (goal: at most 0.33)")
    for name in figures:
        statuses = json.loads((tmp_path / name / "sweep.json").read_text())["runs"]
        assert {entry["status"] for entry in statuses} == {"finished"}
