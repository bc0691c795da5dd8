"""Sweeps: one folder per grid point, an index, parallel workers, skip and resume."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # accelerate's dependency
import pytest
from conftest import comparable, small_grid

from saw_bench.__main__ import main
from saw_bench.core.errors import RunInterrupted, SawBenchError
from saw_bench.core.files import read_jsonl
from saw_bench.harness.sweep import SweepSpec, load_spec, sweep

RUN_IDS = [
    f"toolcall-synth-v0-grpo-{agent}-s{seed}" for agent in ("static", "saw") for seed in (0, 1)
]


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory, small_model) -> Path:
    path = tmp_path_factory.mktemp("grid") / "grid.toml"
    path.write_text(small_grid(small_model, workers=2))
    return path


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory, grid_file) -> Path:
    out = tmp_path_factory.mktemp("sweeps") / "whole"
    assert main(["sweep", "--config", str(grid_file), "--out", str(out)]) == 0
    return out


def test_a_sweep_leaves_one_finished_run_per_grid_point_and_an_index(finished_sweep, capsys):
    index = json.loads((finished_sweep / "sweep.json").read_text())
    assert sorted(entry["id"] for entry in index["runs"]) == sorted(RUN_IDS)
    assert {entry["status"] for entry in index["runs"]} == {"finished"}
    for entry in index["runs"]:
        run = finished_sweep / entry["path"]
        config = json.loads((run / "config.json").read_text())["train"]
        assert (config["weighting"], config["seed"]) == (
            entry["train"]["weighting"],
            entry["train"]["seed"],
        )
        assert [row["step"] for row in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]
        assert json.loads((run / "summary.json").read_text())["steps"] == 3


def test_runs_of_a_sweep_equal_the_same_runs_made_alone(finished_sweep, grid_file, tmp_path):
    spec = load_spec(grid_file)
    options = {**spec.train, "task": spec.tasks[0], "weighting": "saw", "seed": 1}
    assert (
        main(
            [
                "run",
                "--config",
                str(_run_config(tmp_path, options)),
                "--weighting",
                "saw",
                "--seed",
                "1",
                "--out",
                str(tmp_path / "alone"),
            ]
        )
        == 0
    )
    alone = comparable(read_jsonl(tmp_path / "alone" / "metrics.jsonl"))
    in_sweep = finished_sweep / "runs" / "toolcall-synth-v0-grpo-saw-s1" / "metrics.jsonl"
    assert comparable(read_jsonl(in_sweep)) == alone


def test_running_a_finished_sweep_again_trains_nothing(finished_sweep, grid_file, capsys):
    metrics = sorted(finished_sweep.glob("runs/*/metrics.jsonl"))
    before = [path.stat().st_mtime_ns for path in metrics]
    assert main(["sweep", "--config", str(grid_file), "--out", str(finished_sweep)]) == 0
    assert "4 runs, 4 already finished" in capsys.readouterr().out
    assert [path.stat().st_mtime_ns for path in metrics] == before


def start_sweep(grid_file: Path, out: Path, rows: int, *flags: str) -> subprocess.Popen:
    """``sweep`` in a process of its own (its own session), returned once some run of it has
    written ``rows`` metrics rows."""
    command = ["sweep", "--config", str(grid_file), "--out", str(out), *flags]
    process = subprocess.Popen(
        [sys.executable, "-m", "saw_bench", *command],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    try:
        while not any(len(read_jsonl(path)) >= rows for path in out.glob("runs/*/metrics.jsonl")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # no sweep left running behind a failure
        raise
    return process


def assert_resumes_to_the_whole_sweep(grid_file: Path, out: Path, finished_sweep: Path) -> None:
    """The same command again finishes every run of ``out`` as the uninterrupted sweep did."""
    assert main(["sweep", "--config", str(grid_file), "--out", str(out)]) == 0
    for run_id in RUN_IDS:
        resumed = comparable(read_jsonl(out / "runs" / run_id / "metrics.jsonl"))
        whole = comparable(read_jsonl(finished_sweep / "runs" / run_id / "metrics.jsonl"))
        assert resumed == whole, run_id


def test_a_killed_sweep_continues_where_it_stopped(finished_sweep, grid_file, tmp_path):
    out = tmp_path / "killed"
    process = start_sweep(grid_file, out, rows=2)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers, mid-run
    process.wait()
    assert_resumes_to_the_whole_sweep(grid_file, out, finished_sweep)


@pytest.mark.parametrize(
    ("flags", "processes"), [((), 1), (("--no-batch",), 2)], ids=["batched", "separate"]
)
def test_sigterm_stops_the_sweep_and_its_workers_and_the_sweep_resumes(
    finished_sweep, grid_file, tmp_path, flags, processes
):
    """SIGTERM to the sweep alone (``kill``, a scheduler): the workers stop too (the one worker
    training the grid as a batch, or one per run with --no-batch), after their step with a
    checkpoint, instead of training on unrecorded; the index says where each run stopped and
    the same command finishes the grid as one uninterrupted sweep."""
    out = tmp_path / "terminated"
    process = start_sweep(grid_file, out, 1, *flags)
    try:
        workers = [
            child
            for child in psutil.Process(process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(workers) == processes
        process.send_signal(signal.SIGTERM)  # the sweep's own process only
        _, error = process.communicate(timeout=120)
        assert process.returncode == 130, error
        assert "interrupted" in error
        assert not [worker.pid for worker in workers if worker.is_running()]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever a failing check left behind
    index = json.loads((out / "sweep.json").read_text())
    statuses = [entry["status"] for entry in index["runs"]]
    assert set(statuses) <= {"finished", "started", "pending"} and "started" in statuses
    assert_resumes_to_the_whole_sweep(grid_file, out, finished_sweep)


def test_a_sweep_folder_refuses_another_grid(finished_sweep, grid_file, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text(grid_file.read_text().replace("steps = 3", "steps = 4"))
    assert main(["sweep", "--config", str(other), "--out", str(finished_sweep)]) == 2
    assert "another grid" in capsys.readouterr().err


def test_spec_validation_names_the_bad_value():
    with pytest.raises(SawBenchError, match="sweep seeds must be integers >= 0, but got -1"):
        SweepSpec(seeds=[0, -1])
    with pytest.raises(SawBenchError, match="lists a value twice"):
        SweepSpec(weightings=["saw", "saw"])
    with pytest.raises(SawBenchError, match=r"unknown training option\(s\) \['lr'\]"):
        SweepSpec(train={"lr": 1.0})
    with pytest.raises(SawBenchError, match="group_size must be a positive integer"):
        SweepSpec(train={"group_size": 0})


def test_a_spec_is_checked_where_it_is_built_and_where_it_is_changed():
    with pytest.raises(SawBenchError, match=r"sweep tasks must be a non-empty list of strings"):
        SweepSpec(tasks=[])
    with pytest.raises(SawBenchError, match="sweep workers must be an integer >= 0, but got -1"):
        SweepSpec(workers=-1)
    with pytest.raises(SawBenchError, match=r"\[train\] sets \['seed'\], which the grid decides"):
        SweepSpec(train={"seed": 3})
    spec = SweepSpec(estimators=["grpo"], weightings=["static"], seeds=[0])
    with pytest.raises(SawBenchError, match="unknown estimator 'ppo'; choose one of grpo, gdpo"):
        dataclasses.replace(spec, estimators=["grpo", "ppo"])
    # the merged options of a grid point are checked together
    with pytest.raises(
        SawBenchError, match=r"minibatches \(9\) exceeds the rollouts per step \(8\)"
    ):
        dataclasses.replace(spec, train={"prompts_per_step": 2, "group_size": 4, "minibatches": 9})


def _run_config(tmp_path: Path, options: dict) -> Path:
    """The sweep's shared options as a ``run --config`` file."""
    path = tmp_path / "run.toml"
    lines, tables = [], []
    for key, value in options.items():
        if key in ("weighting", "seed"):
            continue
        if isinstance(value, dict):
            tables += [f"[{key}]", *(f"{k} = {json.dumps(v)}" for k, v in value.items())]
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines + tables) + "\n")
    return path


def test_a_sweep_gives_a_comparison_table_csv_and_an_html_report(finished_sweep, tmp_path, capsys):
    csv = tmp_path / "table.csv"
    args = ["--csv", str(csv), "--png", str(tmp_path / "curves.png")]
    assert main(["compare", str(finished_sweep), *args]) == 0
    table = capsys.readouterr().out
    assert "static" in table and "saw" in table
    rows = csv.read_text().splitlines()
    assert len(rows) == 3  # header + one row per agent (2 seeds each)
    html = tmp_path / "report.html"
    assert main(["report", str(finished_sweep), "--html", str(html)]) == 0
    page = html.read_text()
    assert page.count("data:image/png;base64,") >= 2 and "toolcall-synth-v0-grpo-saw-s1" in page


def logged_seconds(text: str) -> float:
    """``12.3 s`` or ``4.5 min`` in seconds."""
    number, unit = text.split()
    return float(number) * (60 if unit == "min" else 1)


def test_the_sweep_log_gives_each_runs_own_duration_not_the_time_since_the_start(
    tmp_path, small_model
):
    # One worker runs the two grid points one after the other (each in a process of its own,
    # not as one batch): the second starts once the first has written its last file, so its own
    # duration is at most the time between the two runs' last writes, whereas the time since
    # the sweep began also holds the first run.
    grid = tmp_path / "grid.toml"
    grid.write_text(
        small_grid(small_model, weightings=("static",), workers=1, batch=False, train_steps=2)
    )
    lines: list[str] = []
    began = time.time()
    sweep(load_spec(grid), tmp_path / "sweep", log=lines.append)
    finished = [line.split() for line in lines if " finished " in line and line.startswith("[")]
    assert [words[0] for words in finished] == ["[1/2]", "[2/2]"]
    previous_end = began
    for words in finished:
        run = tmp_path / "sweep" / "runs" / words[2]
        assert words[3] == "in" and words[6:9] == ["(sweep", "running", "for"], words
        seconds = logged_seconds(" ".join(words[4:6]))
        files = [path.stat().st_mtime for path in run.rglob("*") if path.is_file()]
        run_end = max(files)
        assert seconds >= run_end - (run / "config.json").stat().st_mtime - 0.05
        assert seconds <= run_end - previous_end + 0.5, (words, run_end - previous_end)
        previous_end = run_end
    first, second = (logged_seconds(" ".join(words[9:11]).rstrip(")")) for words in finished)
    assert second > first  # the sweep's elapsed time, labelled apart, does add up


def test_a_stopped_run_travels_back_from_a_worker_process():
    """A worker sends RunInterrupted back pickled; failing to unpickle it broke the sweep's
    process pool, which then killed its workers and could hang on their result queue."""
    stopped = RunInterrupted(Path("runs/a"), 7)
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        error = pool.submit(_raise, stopped).exception(timeout=120)
    assert type(error) is RunInterrupted
    assert (error.run_dir, error.step) == (Path("runs/a"), 7)
    assert str(error) == "run stopped at step 7; continue it with --resume runs/a"


def _raise(error: BaseException) -> None:
    raise error
