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
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil  # accelerate's dependency
import pytest

pytest.importorskip("trl")  # the test extra installs it (and accelerate with it)

from saw_bench.core import registry  # noqa: E402
from saw_bench.core.files import read_jsonl  # noqa: E402

PROCESSES, STEPS, PROMPTS, GROUP = 2, 2, 2, 4
TASK = "async-k2"
TASK_KWARGS = "{train_size=40, test_size=12, noise={req1=0.3, req2=0.6}}"
LAUNCH_TIMEOUT_SECONDS = 300


def launch_command(*run_args: str) -> list[str]:
    """``accelerate launch`` of two local processes (no config file, no network), then the
    same ``saw_bench run`` a single process would get."""
    return [
        sys.executable,
        "-m",
        "accelerate.commands.accelerate_cli",
        "launch",
        "--multi_gpu",
        "--num_processes",
        str(PROCESSES),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "0",
        "-m",
        "saw_bench",
        "run",
        *run_args,
    ]


def run_args(model: str, out: Path, steps: int = STEPS) -> list[str]:
    return [
        "--backend",
        "trl",
        "--task",
        TASK,
        "--model",
        model,
        "--device",
        "cpu",
        "--weighting",
        "saw",
        "--steps",
        str(steps),
        "--prompts-per-step",
        str(PROMPTS),
        "--group-size",
        str(GROUP),
        "--max-new-tokens",
        "16",
        "--eval-every",
        str(steps),
        "--eval-items",
        "6",
        "--checkpoint-every",
        str(steps),
        "--set",
        f"task_kwargs={TASK_KWARGS}",
        "--out",
        str(out),
    ]


def launch_env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",  # two processes on a small machine
        "CUDA_VISIBLE_DEVICES": "",  # CPU processes, gloo, wherever the test runs
        "HF_HOME": str(work / "hf"),  # no accelerate config file of the user's is read
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def launch(command: list[str], work: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command,
            cwd=work,
            env=launch_env(work),
            capture_output=True,
            text=True,
            timeout=LAUNCH_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(
            f"accelerate launch ran past {LAUNCH_TIMEOUT_SECONDS} s:\n{expired.stdout}\n"
            f"{expired.stderr}"
        )


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
    finished = launch(launch_command(*run_args(small_model, out)), work)
    assert finished.returncode == 0, (
        f"accelerate launch exited {finished.returncode}:\n{finished.stdout}\n{finished.stderr}"
    )
    (work / "stdout.txt").write_text(finished.stdout)
    return out


def rank_rows(run: Path, rank: int) -> list[dict]:
    return read_jsonl(run / "ranks" / f"rank-{rank}.jsonl", missing_ok=False)


@pytest.mark.slow
def test_the_run_trained_on_two_processes(two_process_run):
    config = json.loads((two_process_run / "config.json").read_text())
    assert config["backend"]["name"] == "trl"
    assert config["backend"]["processes"] == PROCESSES
    assert sorted(p.name for p in (two_process_run / "ranks").iterdir()) == [
        "rank-0.jsonl",
        "rank-1.jsonl",
    ]


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
    halves = [
        saw_weights_by_hand(np.asarray(row["rewards"])[: PROMPTS * GROUP // 2], low)
        for row in rank_rows(two_process_run, 0)
    ]
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


def worker(launcher: subprocess.Popen, rank: int) -> psutil.Process:
    """The ``saw_bench run`` process of ``rank`` under the launcher."""
    deadline = time.monotonic() + LAUNCH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert launcher.poll() is None, launcher.communicate()
        for child in psutil.Process(launcher.pid).children(recursive=True):
            try:
                if "saw_bench" in child.cmdline() and child.environ().get("RANK") == str(rank):
                    return child
            except psutil.Error:  # gone or not yet readable
                continue
        time.sleep(0.05)
    pytest.fail(f"no worker of rank {rank} under the launcher")


@pytest.mark.slow
def test_a_stop_on_one_process_stops_every_process_after_the_same_step(small_model, tmp_path):
    """SIGTERM to rank 1 alone (a scheduler preempting one process): both processes stop after
    the same step with one checkpoint, instead of rank 0 waiting for rank 1 in the next step's
    collectives; the same launch with ``--resume`` finishes the run without a gap or a
    repeated row."""
    steps, out = 30, tmp_path / "run"
    launcher = subprocess.Popen(
        launch_command(*run_args(small_model, out, steps=steps)),
        cwd=tmp_path,
        env=launch_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        second = worker(launcher, rank=1)
        deadline = time.monotonic() + LAUNCH_TIMEOUT_SECONDS
        while not read_jsonl(out / "metrics.jsonl"):
            assert launcher.poll() is None, launcher.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second.send_signal(signal.SIGTERM)
        _, error = launcher.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        for child in psutil.Process(launcher.pid).children(recursive=True):
            child.kill()
        launcher.kill()
        pytest.fail(f"the processes did not stop together:\n{launcher.communicate()[1]}")
    assert f"--resume {out}" in error
    stopped_at = len(rank_rows(out, 0))
    assert 1 <= stopped_at < steps
    assert len(rank_rows(out, 1)) == stopped_at
    metrics = read_jsonl(out / "metrics.jsonl")
    assert [row["step"] for row in metrics] == list(range(1, stopped_at + 1))
    assert [path.name for path in (out / "trl").glob("checkpoint-*")] == [
        f"checkpoint-{stopped_at}"
    ]
    assert not (out / "summary.json").exists()
    for rank in range(PROCESSES):  # a row written after the checkpoint, as a hard kill leaves
        with (out / "ranks" / f"rank-{rank}.jsonl").open("a") as rows:
            rows.write(json.dumps({"step": stopped_at + 1, "weights": [], "rewards": []}) + "\n")

    resumed = launch(launch_command("--resume", str(out)), tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    for rank in range(PROCESSES):
        assert [row["step"] for row in rank_rows(out, rank)] == list(range(1, steps + 1))
    metrics = read_jsonl(out / "metrics.jsonl")
    assert [row["step"] for row in metrics] == list(range(1, steps + 1))
    assert json.loads((out / "summary.json").read_text())["steps"] == steps
