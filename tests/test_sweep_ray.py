"""Sweeps on Ray: grid points as tasks on a local Ray, killed half way and resumed, and the
errors a user can cause with ``sweep --ray``."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import comparable, small_grid

from saw_bench.__main__ import main
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_jsonl
from saw_bench.harness.sweep import SweepSpec, load_spec, sweep

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is not installed (the test extra has it)"
)
CORES = os.cpu_count() or 1
STEPS = 3
WEIGHTINGS = ("static", "saw")


@pytest.fixture
def ray_env(tmp_path, monkeypatch):
    """A fresh Ray home for each test (Ray's sockets need a short path), no cluster to find."""
    home = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", home)
    monkeypatch.setenv("RAY_DISABLE_USAGE_STATS", "1")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def grid_file(tmp_path, small_model) -> Path:
    path = tmp_path / "grid.toml"
    # two grid points, on the CPU whichever engine runs them (a Ray task reserving no GPU sees none)
    path.write_text(
        small_grid(small_model, WEIGHTINGS, seeds=[0], train_steps=STEPS, train_device="cpu")
    )
    return path


def sweep_args(grid_file: Path, out: Path) -> list[str]:
    return ["sweep", "--config", str(grid_file), "--out", str(out)]


def start_sweep(args: list[str]) -> subprocess.Popen:
    """``python -m saw_bench`` in its own session, so that killing the session kills the sweep
    and the local Ray it started."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "saw_bench", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def live_processes_of_session(session: int) -> list[str]:
    """Processes (not zombies) of ``session``, as 'pid command'."""
    found = []
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rpartition(")")[2].split()  # state, ppid, pgrp, session, ...
        if name.isdigit() and int(fields[3]) == session and fields[0] != "Z":
            found.append(f"{name} {stat.partition(' ')[2].partition(')')[0]})")
    return found


def kill_session(session: int) -> None:
    """SIGKILL every process of ``session`` at once: the sweep, the local Ray and the worker
    running a task (Ray starts some of its processes in process groups of their own)."""
    for entry in live_processes_of_session(session):
        with contextlib.suppress(ProcessLookupError):  # ended since it was listed
            os.kill(int(entry.split()[0]), signal.SIGKILL)


def assert_session_ends(session: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while live_processes_of_session(session):
        assert time.monotonic() < deadline, live_processes_of_session(session)
        time.sleep(0.2)


def step_rows(run: Path) -> int:
    return len(read_jsonl(run / "metrics.jsonl")) if (run / "metrics.jsonl").exists() else 0


@needs_ray
@pytest.mark.slow
def test_a_killed_ray_sweep_resumes_without_rerunning_its_finished_runs(
    grid_file, ray_env, tmp_path
):
    out = tmp_path / "sweep"
    runs = {
        weighting: out / "runs" / f"toolcall-synth-v0-grpo-{weighting}-s0"
        for weighting in WEIGHTINGS
    }
    # Each run reserves every core, so the runs go one after the other and the kill can
    # fall between them: one run finished, the other started (as separate tasks, not a batch).
    args = [*sweep_args(grid_file, out), "--ray", "local", "--ray-cpus", str(CORES), "--no-batch"]
    process = start_sweep(args)
    deadline = time.monotonic() + 300
    while True:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline
        rows = {weighting: step_rows(run) for weighting, run in runs.items()}
        finished = [w for w, run in runs.items() if (run / "summary.json").exists()]
        if finished and rows[other(finished[0])] == 1:  # two steps to go: well before its end
            break
        time.sleep(0.02)
    kill_session(process.pid)  # the sweep, the local Ray and its tasks, mid-run
    process.communicate()
    assert_session_ends(process.pid)

    done, resumed = finished[0], other(finished[0])
    summary = runs[done] / "summary.json"
    before = (summary.stat().st_mtime_ns, (runs[done] / "metrics.jsonl").read_bytes())
    statuses = {entry["id"]: entry["status"] for entry in read_index(out)["runs"]}
    assert statuses[runs[resumed].name] == "scheduled"  # the kill left it half done

    process = start_sweep(args)
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    assert "2 runs, 1 already finished" in output
    assert_session_ends(process.pid)

    assert {entry["status"] for entry in read_index(out)["runs"]} == {"finished"}
    for run in runs.values():
        assert json.loads((run / "summary.json").read_text())["steps"] == STEPS
    assert (summary.stat().st_mtime_ns, (runs[done] / "metrics.jsonl").read_bytes()) == before

    # The same grid point without interruption, in a local process pool of one worker
    # (torch threads: every core, like the Ray task).
    alone = tmp_path / "alone"
    spec = load_spec(grid_file)
    spec.weightings, spec.workers = [resumed], 1
    sweep(spec, alone)
    whole = read_jsonl(alone / "runs" / runs[resumed].name / "metrics.jsonl")
    assert comparable(read_jsonl(runs[resumed] / "metrics.jsonl")) == comparable(whole)

    # The engine is not part of the grid: the local pool takes the Ray sweep's folder as its own.
    assert main(sweep_args(grid_file, out)) == 0


@needs_ray
def test_a_run_failing_on_ray_is_recorded_with_its_own_error(ray_env, tmp_path):
    import ray

    spec = SweepSpec(
        weightings=["static"], seeds=[0], train={"model": str(tmp_path / "no-model"), "steps": 1}
    )
    sigterm_handler = signal.getsignal(signal.SIGTERM)
    ray.init(num_cpus=2, include_dashboard=False)  # sweep uses this connection and keeps it
    try:
        with pytest.raises(SawBenchError, match="1 of 1 runs failed"):
            sweep(spec, tmp_path / "sweep", ray_address="auto")
        assert ray.is_initialized()
    finally:
        ray.shutdown()
        signal.signal(signal.SIGTERM, sigterm_handler)  # Ray's driver handler stays otherwise
    (entry,) = read_index(tmp_path / "sweep")["runs"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith(f"SawBenchError: model '{tmp_path / 'no-model'}' is neither")


def read_index(out: Path) -> dict:
    return json.loads((out / "sweep.json").read_text())


def other(weighting: str) -> str:
    return next(name for name in WEIGHTINGS if name != weighting)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli_error(args: list[str], capsys) -> str:
    """The one-line error of a CLI call that must fail with exit code 2."""
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@needs_ray
def test_an_address_where_no_ray_listens_is_a_one_line_error(grid_file, ray_env, tmp_path, capsys):
    address = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    err = cli_error([*sweep_args(grid_file, tmp_path / "s"), "--ray", address], capsys)
    assert f"cannot reach the Ray cluster at '{address}'" in err
    assert time.monotonic() - started < 30  # Ray alone would wait for minutes


@needs_ray
def test_auto_without_a_running_cluster_is_a_one_line_error(grid_file, ray_env, tmp_path, capsys):
    err = cli_error([*sweep_args(grid_file, tmp_path / "s"), "--ray", "auto"], capsys)
    assert "cannot connect to the Ray cluster at 'auto'" in err


@needs_ray
def test_a_malformed_address_is_a_one_line_error(grid_file, ray_env, tmp_path, capsys):
    err = cli_error([*sweep_args(grid_file, tmp_path / "s"), "--ray", "no-port-here"], capsys)
    assert "cannot connect to the Ray cluster at 'no-port-here'" in err


@needs_ray
@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--ray-cpus", "0", "num_cpus (--ray-cpus) must be positive, but got 0"),
        ("--ray-cpus", "-1", "num_cpus (--ray-cpus) must be a finite number >= 0, but got -1.0"),
        ("--ray-gpus", "-0.5", "num_gpus (--ray-gpus) must be a finite number >= 0, but got -0.5"),
        ("--ray-gpus", "inf", "num_gpus (--ray-gpus) must be a finite number >= 0, but got inf"),
    ],
)
def test_bad_ray_resources_are_refused_before_anything_is_written(
    flag, value, message, grid_file, tmp_path, capsys
):
    out = tmp_path / "s"
    err = cli_error([*sweep_args(grid_file, out), "--ray", "local", flag, value], capsys)
    assert message in err
    assert not out.exists()


def test_without_ray_installed_the_error_says_how_to_install_it(
    grid_file, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ray", None)  # ``import ray`` raises ImportError
    out = tmp_path / "s"
    err = cli_error([*sweep_args(grid_file, out), "--ray", "local"], capsys)
    assert err == "error: sweep --ray needs Ray: pip install 'saw-bench[ray]'"
    assert not out.exists()
