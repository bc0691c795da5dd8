"""One TRL-backend run over two processes: ``accelerate launch -m saw_bench run --backend trl``.

Multi-GPU training of one run is data parallel: each process generates and scores its share of
the step's rollouts, TRL gathers the reward matrix, and every process asks its own copy of the
weighting agent for the weights. The run here is two CPU processes (torch.distributed over
gloo), launched the way a user launches eight GPUs, with ``--multi_gpu`` standing for "one
process per device" (without it, accelerate on a machine with no GPU starts a single process).

The task is Async-K2 with reward noise on both objectives, so that even an untrained policy
gets a reward matrix whose columns vary and whose two halves (one per process) differ: SAW's
weights then depend on which rows they were computed from. Expected weights come from the SAW
formula written out with numpy on the matrix the processes recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")  # the test extra installs it (and accelerate with it)

from saw_bench.core import registry  # noqa: E402

PROCESSES, STEPS, PROMPTS, GROUP = 2, 2, 2, 4
TASK = "async-k2"
TASK_KWARGS = "{train_size=40, test_size=12, noise={req1=0.3, req2=0.6}}"
LAUNCH_TIMEOUT_SECONDS = 300


def launch_command(model: str, out: Path) -> list[str]:
    """``accelerate launch`` of two local processes (no config file, no network), then the
    same ``saw_bench run`` a single process would get."""
    return [
        sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch",
        "--multi_gpu", "--num_processes", str(PROCESSES), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0",
        "-m", "saw_bench", "run", "--backend", "trl", "--task", TASK, "--model", model,
        "--device", "cpu", "--weighting", "saw", "--steps", str(STEPS),
        "--prompts-per-step", str(PROMPTS), "--group-size", str(GROUP),
        "--max-new-tokens", "16", "--eval-every", str(STEPS), "--eval-items", "6",
        "--checkpoint-every", str(STEPS), "--set", f"task_kwargs={TASK_KWARGS}",
        "--out", str(out),
    ]  # fmt: skip


def saw_weights_by_hand(rewards: np.ndarray, low: np.ndarray, delta: float = 1e-8) -> np.ndarray:
    """SAW as the paper states it: shift by the lower bounds, CV_k = unbiased std / mean,
    w_k = K * CV_k / sum_l CV_l (equal priorities)."""
    shifted = rewards - low + delta
    cv = rewards.std(axis=0, ddof=1) / (shifted.mean(axis=0) + delta)
    return len(cv) * cv / cv.sum()


@pytest.fixture(scope="module")
def two_process_run(small_model, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("multiprocess")
    out = work / "run"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",  # two processes on a small machine
        "CUDA_VISIBLE_DEVICES": "",  # CPU processes, gloo, wherever the test runs
        "HF_HOME": str(work / "hf"),  # no accelerate config file of the user's is read
        "HF_HUB_OFFLINE": "1",
    }
    try:
        finished = subprocess.run(
            launch_command(small_model, out), cwd=work, env=env, capture_output=True, text=True,
            timeout=LAUNCH_TIMEOUT_SECONDS,
        )  # fmt: skip
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"accelerate launch ran past {LAUNCH_TIMEOUT_SECONDS} s:\n{expired.stdout}\n"
                    f"{expired.stderr}")  # fmt: skip
    assert finished.returncode == 0, (
        f"accelerate launch exited {finished.returncode}:\n{finished.stdout}\n{finished.stderr}"
    )
    (work / "stdout.txt").write_text(finished.stdout)
    return out


def rank_rows(run: Path, rank: int) -> list[dict]:
    path = run / "ranks" / f"rank-{rank}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_the_run_trained_on_two_processes(two_process_run):
    config = json.loads((two_process_run / "config.json").read_text())
    assert config["backend"]["name"] == "trl"
    assert config["backend"]["processes"] == PROCESSES
    assert sorted(p.name for p in (two_process_run / "ranks").iterdir()) == [
        "rank-0.jsonl", "rank-1.jsonl",
    ]  # fmt: skip


@pytest.mark.slow
def test_every_rank_weighed_the_same_global_matrix_alike(two_process_run):
    first, second = rank_rows(two_process_run, 0), rank_rows(two_process_run, 1)
    assert [row["step"] for row in first] == [row["step"] for row in second] == [1, 2]
    for mine, theirs in zip(first, second, strict=True):
        assert mine["weights"] == theirs["weights"]
        assert mine["rewards"] == theirs["rewards"]
        rewards = np.asarray(mine["rewards"])
        # the whole step's rollouts, both processes' shares: not one process's half
        assert rewards.shape == (PROMPTS * GROUP, 2)
        assert not np.array_equal(rewards[: len(rewards) // 2], rewards[len(rewards) // 2 :])


@pytest.mark.slow
def test_the_weights_are_saws_on_the_gathered_matrix(two_process_run):
    low = registry.load_task(TASK).reward_low.astype(float)
    for row in rank_rows(two_process_run, 0):
        rewards = np.asarray(row["rewards"])
        assert np.allclose(row["weights"], saw_weights_by_hand(rewards, low), rtol=1e-9)
    # the check can tell: weights from one process's half would have been different
    halves = [saw_weights_by_hand(np.asarray(row["rewards"])[: PROMPTS * GROUP // 2], low)
              for row in rank_rows(two_process_run, 0)]  # fmt: skip
    recorded = [row["weights"] for row in rank_rows(two_process_run, 0)]
    assert not np.allclose(halves, recorded, atol=1e-6)


@pytest.mark.slow
def test_the_main_process_alone_wrote_the_run_files(two_process_run):
    metrics = [json.loads(line) for line in (two_process_run / "metrics.jsonl").open()]
    evals = [json.loads(line) for line in (two_process_run / "eval.jsonl").open()]
    assert [row["step"] for row in metrics] == [1, 2]  # once, not once per process
    assert [row["step"] for row in evals] == [0, STEPS]
    for row, weighed in zip(metrics, rank_rows(two_process_run, 0), strict=True):
        assert [row["objectives"][name]["weight"] for name in ("req1", "req2")] == pytest.approx(
            weighed["weights"]
        )
    summary = json.loads((two_process_run / "summary.json").read_text())
    assert summary["steps"] == STEPS
    assert (two_process_run / "curves.png").exists()
    assert (two_process_run / "trl" / f"checkpoint-{STEPS}" / "saw_bench_agent.json").exists()


@pytest.mark.slow
def test_each_process_closed_with_its_own_line(two_process_run):
    """The main process prints the summary table once; the other names itself. Both know
    their rank after the run has ended its process group."""
    printed = (two_process_run.parent / "stdout.txt").read_text().splitlines()
    assert printed.count(f"run folder: {two_process_run}") == 1
    assert printed.count(f"run folder: {two_process_run} (process 1 of a multi-process run)") == 1
    assert sum(line.startswith("normalised aggregate (0-1): ") for line in printed) == 1
