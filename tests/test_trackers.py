"""Runs followed in TensorBoard, trackio and W&B (``report_to``), read back with each tool's own
reader: TensorBoard's EventAccumulator, trackio's SQLite storage, and the records of W&B's
offline run files parsed with W&B's own protobuf schema. The expected values are read from the
run's metrics.jsonl and eval.jsonl here, name by name.

Training runs go through the CLI in a subprocess (trackio reads its data folder once, when it
is imported), offline: ``WANDB_MODE=offline``, trackio's local store, no Hub.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")  # the test extra installs all three
trackio_storage = pytest.importorskip("trackio.sqlite_storage")
wandb_records = pytest.importorskip("wandb.proto.wandb_internal_pb2")

from conftest import SMALL_TASK_KWARGS, small_grid  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from saw_bench.__main__ import main  # noqa: E402
from saw_bench.core.files import read_json, read_jsonl  # noqa: E402
from saw_bench.harness.run import train  # noqa: E402
from saw_bench.training import trackers  # noqa: E402

OPTIONS = dict(
    prompts_per_step=3,
    group_size=4,
    max_new_tokens=16,
    eval_every=2,
    eval_items=6,
    learning_rate=1e-3,
)
APPROX = dict(rel=1e-6, abs=1e-9)  # TensorBoard keeps float32


# ---------------------------------------------------------------------- expected values
def expected_step(row: dict) -> dict[str, float]:
    """The names a metrics.jsonl row is logged under, written out one by one."""
    values = {name: row[name] for name in ("loss", "kl", "clip_fraction", "tokens")}
    values.update({name: row[name] for name in ("tokens_total", "wall_seconds")})
    values.update({f"seconds/{phase}": seconds for phase, seconds in row["seconds"].items()})
    for objective, stats in row["objectives"].items():
        values[f"rewards/{objective}/mean"] = stats["mean"]
        values[f"rewards/{objective}/std"] = stats["std"]
        values[f"weights/{objective}"] = stats["weight"]
        values[f"cv/{objective}"] = stats["cv"]
        values[f"advantage_share/{objective}"] = stats["advantage_share"]
    return values


def expected_eval(row: dict) -> dict[str, float]:
    values = {f"eval/{objective}": mean for objective, mean in row["objectives"].items()}
    values["eval/normalised"] = row["normalised"]
    values["eval/wall_seconds"] = row["wall_seconds"]
    return values


def check_logged(logged: dict[int, dict[str, float]], run_dir: Path) -> None:
    """``logged`` (step -> name -> value, from a tool) holds every row of the run's files."""
    metrics, evaluations = read_jsonl(run_dir / "metrics.jsonl"), read_jsonl(run_dir / "eval.jsonl")
    assert [row["step"] for row in metrics] == list(range(1, len(metrics) + 1))
    assert sorted(logged) == sorted({row["step"] for row in metrics + evaluations})
    for row in metrics:
        for name, value in expected_step(row).items():
            assert logged[row["step"]][name] == pytest.approx(value, **APPROX), name
    for row in evaluations:
        for name, value in expected_eval(row).items():
            assert logged[row["step"]][name] == pytest.approx(value, **APPROX), name


# ---------------------------------------------------------------------- the tools' readers
def tensorboard_steps(run_dir: Path) -> dict[int, dict[str, float]]:
    """step -> tag -> value from the run's event files; a tag logged twice at one step fails."""
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    steps: dict[int, dict[str, float]] = {}
    for tag in events.Tags()["scalars"]:
        for event in events.Scalars(tag):
            assert tag not in steps.setdefault(event.step, {}), (tag, event.step)
            steps[event.step][tag] = event.value
    return steps


def tensorboard_hparams(run_dir: Path) -> dict[str, object]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {name: getattr(value, value.WhichOneof("kind")) for name, value in start.hparams.items()}


def wandb_file_records(path: Path):
    """The records of a ``.wandb`` file: W&B's leveldb-style log (a 7-byte header, 32 KiB
    blocks of chunks with a 7-byte header: CRC, length, FULL/FIRST/MIDDLE/LAST), each record a
    ``wandb_internal_pb2.Record``."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, parts = 32768, 7, []
    while position + 7 <= len(data):
        left = block - position % block
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if left < 7 or (kind == 0 and length == 0):  # the block's padding
            position += left
            continue
        parts.append(data[position + 7 : position + 7 + length])
        position += 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            yield wandb_records.Record.FromString(b"".join(parts))
            parts = []


def wandb_steps(wandb_dir: Path) -> tuple[dict[int, dict[str, float]], list, dict]:
    """step -> name -> value over every offline run file, the runs' ids, and the config."""
    steps: dict[int, dict[str, float]] = {}
    ids, config = [], {}
    for path in sorted(wandb_dir.glob("wandb/offline-run-*/run-*.wandb")):
        for record in wandb_file_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                ids.append(record.run.run_id)
                config.update({u.key: json.loads(u.value_json) for u in record.run.config.update})
            elif kind == "history":
                items = {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
                step = steps.setdefault(record.history.step.num, {})
                names = {name for name in items if not name.startswith("_")}
                assert not names & set(step), (record.history.step.num, names & set(step))
                step.update({name: items[name] for name in names})
    return steps, ids, config


def trackio_steps(trackio_dir: Path, monkeypatch) -> tuple[str, dict[int, dict[str, float]]]:
    """The project's one run name and its step -> name -> value (a step twice fails)."""
    monkeypatch.setattr(trackio_storage, "TRACKIO_DIR", trackio_dir)  # read at import
    storage = trackio_storage.SQLiteStorage
    (name,) = storage.get_runs("saw-bench")
    steps: dict[int, dict[str, float]] = {}
    for log in storage.get_logs("saw-bench", name):
        values = {key: value for key, value in log.items() if key not in ("step", "timestamp")}
        step = steps.setdefault(log["step"], {})
        assert not set(values) & set(step), (log["step"], set(values) & set(step))
        step.update(values)
    return name, steps


# ---------------------------------------------------------------------- runs through the CLI
def run_config(tmp_path: Path, model: str, checkpoint_every: int) -> Path:
    lines = [f"model = {json.dumps(model)}", 'task = "saw/ToolCall-Synth-v0"', "seed = 2"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in OPTIONS.items()]
    lines.append(f"checkpoint_every = {checkpoint_every}")
    lines += ["[task_kwargs]", *(f"{k} = {v}" for k, v in SMALL_TASK_KWARGS.items())]
    path = tmp_path / f"run-{checkpoint_every}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def offline_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path / "wandb-files"),
        "WANDB_SILENT": "true",
        "TRACKIO_DIR": str(tmp_path / "trackio"),
    }


def start_and_stop(arguments: list[str], env: dict, run_dir: Path, rows: int, stop: int):
    """Start ``run`` in a subprocess and send it ``stop`` once ``rows`` metrics rows exist."""
    process = subprocess.Popen(
        [sys.executable, "-m", "saw_bench", "run", *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while len(read_jsonl(run_dir / "metrics.jsonl")) < rows:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(stop)
    _, error = process.communicate(timeout=300)
    return process.returncode, error


def resume(run_dir: Path, env: dict) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "saw_bench", "run", "--resume", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr


@pytest.fixture(scope="module")
def tracked_run(small_model, tmp_path_factory):
    """A 4-step run logged to all three trackers, stopped with Ctrl-C after a step or two and
    resumed to its end: (run folder, the environment's root)."""
    root = tmp_path_factory.mktemp("tracked")
    run_dir, env = root / "run", offline_env(root)
    arguments = ["--config", str(run_config(root, small_model, checkpoint_every=10))]
    arguments += ["--steps", "4", "--out", str(run_dir)]
    arguments += ["--report-to", "tensorboard,trackio,wandb"]
    code, error = start_and_stop(arguments, env, run_dir, rows=1, stop=signal.SIGINT)
    assert code == 130, error
    stopped_at = len(read_jsonl(run_dir / "metrics.jsonl"))
    assert 1 <= stopped_at < 4
    resume(run_dir, env)
    return run_dir, root


@pytest.mark.slow
def test_tensorboard_holds_every_row_once_under_grouped_names_and_the_config(tracked_run):
    run_dir, _ = tracked_run
    check_logged(tensorboard_steps(run_dir), run_dir)
    config = read_json(run_dir / "config.json")
    hparams = tensorboard_hparams(run_dir)
    assert hparams["train/steps"] == 4  # the saved target; the resumed run reached it
    assert hparams["train/report_to"] == '["tensorboard", "trackio", "wandb"]'
    assert hparams["task_id"] == config["task_id"] == "saw/ToolCall-Synth-v0"
    assert hparams["model/name"] == config["model"]["name"]


@pytest.mark.slow
def test_trackio_holds_every_row_once_in_one_run_with_the_config(tracked_run, monkeypatch):
    run_dir, root = tracked_run
    name, steps = trackio_steps(root / "trackio", monkeypatch)
    assert name.startswith(f"{run_dir.name}-")  # one trackio run, continued by the resume
    check_logged(steps, run_dir)
    stored = trackio_storage.SQLiteStorage.get_run_config("saw-bench", name)
    assert stored["train"] == read_json(run_dir / "config.json")["train"]


@pytest.mark.slow
def test_wandb_offline_files_hold_every_row_once_in_one_run_with_the_config(tracked_run):
    run_dir, root = tracked_run
    steps, ids, config = wandb_steps(root / "wandb-files")
    assert len(ids) == 2 and len(set(ids)) == 1  # the resumed process continued the same run
    check_logged(steps, run_dir)
    assert config["train"] == read_json(run_dir / "config.json")["train"]


@pytest.mark.slow
def test_a_run_killed_after_its_checkpoint_rewrites_the_lost_steps_in_tensorboard_once(
    small_model, tmp_path
):
    """SIGKILL with steps logged after the last checkpoint: the resumed run logs them again,
    and TensorBoard's reader keeps only the new ones (purge_step), equal to metrics.jsonl."""
    run_dir, env = tmp_path / "run", offline_env(tmp_path)
    arguments = ["--config", str(run_config(tmp_path, small_model, checkpoint_every=2))]
    arguments += ["--steps", "6", "--out", str(run_dir), "--report-to", "tensorboard"]
    process = subprocess.Popen(
        [sys.executable, "-m", "saw_bench", "run", *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while True:  # frozen while looked at: kill once a step past the checkpoint is logged
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        process.send_signal(signal.SIGSTOP)
        progress = run_dir / "checkpoint" / "progress.json"
        checkpoint_step = read_json(progress)["step"] if progress.exists() else None
        logged = tensorboard_steps(run_dir) if (run_dir / "tensorboard").exists() else {}
        if checkpoint_step is not None and max(logged, default=0) > checkpoint_step:
            break
        process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    process.kill()
    process.communicate(timeout=60)
    assert checkpoint_step < 6
    resume(run_dir, env)
    steps = tensorboard_steps(run_dir)
    assert max(steps) == 6
    check_logged(steps, run_dir)


def test_the_trl_backend_logs_its_rows_and_trls_own_numbers(small_model, tmp_path):
    run_dir = train(
        task="saw/ToolCall-Synth-v0",
        weighting="saw",
        steps=2,
        model=small_model,
        out_dir=tmp_path / "trl",
        backend="trl",
        report_to=["tensorboard"],
        task_kwargs=SMALL_TASK_KWARGS,
        checkpoint_every=2,
        **OPTIONS,
    )
    steps = tensorboard_steps(run_dir)
    check_logged(steps, run_dir)
    for row in read_jsonl(run_dir / "metrics.jsonl"):
        logged = steps[row["step"]]
        assert logged["trl/loss"] == pytest.approx(row["loss"], **APPROX)
        for objective, stats in row["objectives"].items():  # TRL's mean of its reward call
            assert logged[f"trl/rewards/{objective}/mean"] == pytest.approx(stats["mean"], 1e-5)


@pytest.mark.slow
def test_sweep_report_to_logs_every_run_of_the_grid(small_model, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(small_grid(small_model, weightings=("saw",), seeds=(0,), train_steps=2))
    out = tmp_path / "sweep"
    arguments = ["sweep", "--config", str(grid), "--report-to", "tensorboard", "--out", str(out)]
    assert main(arguments) == 0
    (run_dir,) = (out / "runs").iterdir()
    assert read_json(run_dir / "config.json")["train"]["report_to"] == ["tensorboard"]
    check_logged(tensorboard_steps(run_dir), run_dir)


def test_a_tracker_that_is_not_installed_is_one_line_naming_its_extra(
    tmp_path, capsys, monkeypatch
):
    """The check looks each tracker's module up in TRACKERS: here W&B's entry names a module
    that no environment has, through the same CLI path, which stops before any run folder."""
    absent = trackers.Tracker(module="saw_bench_absent_tracker_module", extra="wandb")
    monkeypatch.setitem(trackers.TRACKERS, "wandb", absent)
    assert main(["run", "--report-to", "tensorboard,wandb", "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert 'pip install "saw-bench[wandb]"' in error and "report_to 'wandb'" in error
    assert not (tmp_path / "r").exists()


def test_a_tracker_that_cannot_start_its_run_is_one_line_and_the_folder_is_kept(
    small_model, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("TRACKIO_PROJECT", "registry-runs")  # a name trackio reserves
    run_dir = tmp_path / "run"
    arguments = ["run", "--config", str(run_config(tmp_path, small_model, 10)), "--steps", "1"]
    assert main([*arguments, "--report-to", "trackio", "--out", str(run_dir)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "report_to 'trackio' could not start its run" in error
    assert "'registry-runs' is not allowed" in error and f"--resume {run_dir}" in error
    assert (run_dir / "config.json").exists() and not (run_dir / "metrics.jsonl").exists()


def test_bad_report_to_values_are_clear_errors(tmp_path, capsys):
    assert main(["run", "--report-to", "tensorboard,mlflow", "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err
    assert "unknown tracker 'mlflow'; choose one of tensorboard, trackio, wandb" in error
    assert main(["run", "--resume", str(tmp_path / "r"), "--report-to", "wandb"]) == 2
    assert "--report-to" in capsys.readouterr().err
    assert main(["sweep", "--report-to", "wandb,neptune", "--out", str(tmp_path / "s")]) == 2
    assert "unknown tracker 'neptune'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


def test_hyperparameters_flatten_the_config_by_hand():
    config = {"train": {"steps": 4, "report_to": ["wandb"], "priorities": None}, "seed": 1}
    config["model"] = {"name": "tiny", "fast": {"used": True}}
    assert trackers.hyperparameters(config) == {
        "train/steps": 4,
        "train/report_to": '["wandb"]',
        "seed": 1,
        "model/name": "tiny",
        "model/fast/used": True,
    }
