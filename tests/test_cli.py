"""The command line: config errors, killed and interrupted runs, the eval verb."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import comparable

import saw_bench
from saw_bench.__main__ import main
from saw_bench.core.files import read_jsonl
from saw_bench.harness.run import train
from saw_bench.policy import load_policy

TASK_KWARGS = {"train_size": 40, "test_size": 12}  # as the small_model fixture's
SMALL = dict(
    prompts_per_step=3,
    group_size=4,
    max_new_tokens=20,
    eval_every=2,
    eval_items=6,
    checkpoint_every=1,
    learning_rate=1e-3,
)


def write_config(path: Path, small_model: str, **extra: object) -> Path:
    lines = [f"model = {json.dumps(small_model)}", "seed = 5"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in {**SMALL, **extra}.items()]
    lines += ["[task_kwargs]", *(f"{k} = {v}" for k, v in TASK_KWARGS.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "saw_bench", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ---------------------------------------------------------------------- config errors
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--task", "toolcal"], "unknown task 'toolcal'"),
        (["run", "--weighting", "sav"], "unknown weighting agent 'sav'; choose one of"),
        (["run", "--estimator", "ppo"], "unknown estimator 'ppo'; choose one of grpo, gdpo"),
        (["run", "--steps", "0"], "steps must be a positive integer, but got 0"),
        (["sweep", "--seeds", "0,x"], "--seeds takes integers, but got 'x'"),
        (["sweep", "--estimator", "grpo,ppo"], "unknown estimator 'ppo'"),
        (["eval", "--task", "nope"], "unknown task 'nope'"),
    ],
)
def test_bad_values_exit_2_with_one_line_naming_value_and_choices(argv, message, capsys, tmp_path):
    code = main([*argv, "--out", str(tmp_path / "x")] if argv[0] != "eval" else argv)
    error = capsys.readouterr().err
    assert code == 2
    assert message in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("stepz = 3\n", "unknown key(s) ['stepz']"),
        ("steps = [\n", "is not valid TOML"),
        ("learning_rate = -1.0\n", "learning_rate must be positive, but got -1.0"),
        ("[task_kwargs]\nno_call_share = 2.0\n", "no_call_share"),
        ("[task_kwargs]\ncolour = 'red'\n", "colour"),
        ("weighting = 'saw'\n[weighting_kwargs]\ntemperatur = 1\n", "temperatur"),
    ],
)
def test_bad_config_files_exit_2_without_traceback(toml, message, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    code = main(["run", "--config", str(config), "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2, error
    assert message in error and "Traceback" not in error


def test_bad_sweep_files_exit_2_naming_the_file(tmp_path, capsys):
    sweep_file = tmp_path / "grid.toml"
    sweep_file.write_text("tasks = ['toolcall']\nweightings = ['static', 'nope']\n")
    assert main(["sweep", "--config", str(sweep_file), "--out", str(tmp_path / "s")]) == 2
    error = capsys.readouterr().err
    assert str(sweep_file) in error and "unknown weighting agent 'nope'" in error
    sweep_file.write_text("tasks = ['toolcall']\n[train]\nseed = 3\n")
    assert main(["sweep", "--config", str(sweep_file), "--out", str(tmp_path / "s")]) == 2
    assert "grid decides" in capsys.readouterr().err


def test_list_names_every_task_estimator_and_agent(capsys):
    from saw_bench.training.estimators import ESTIMATORS
    from saw_bench.weighting import AGENTS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in [*saw_bench.registered_ids(), *ESTIMATORS, *AGENTS]:
        assert name in out


# ---------------------------------------------------------------------- kill and resume
def test_sigkill_at_any_moment_resumes_to_the_uninterrupted_curve(tmp_path, small_model):
    config = write_config(tmp_path / "run.toml", small_model)
    whole = tmp_path / "whole"
    assert main(["run", "--config", str(config), "--steps", "5", "--out", str(whole)]) == 0
    expected = comparable(read_jsonl(whole / "metrics.jsonl"))
    expected_eval = comparable(read_jsonl(whole / "eval.jsonl"))

    killed = tmp_path / "killed"
    # kill three times at different moments: while loading, mid-run, later in the run
    for wait_for_rows in (0, 2, 4):
        args = (
            ["run", "--resume", str(killed)]
            if (killed / "config.json").exists()
            else ["run", "--config", str(config), "--steps", "5", "--out", str(killed)]
        )
        process = cli(*args)
        deadline = time.monotonic() + 120
        while len(read_jsonl(killed / "metrics.jsonl")) < wait_for_rows:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert main(["run", "--resume", str(killed)]) == 0
    assert comparable(read_jsonl(killed / "metrics.jsonl")) == expected
    assert comparable(read_jsonl(killed / "eval.jsonl")) == expected_eval
    assert json.loads((killed / "summary.json").read_text())["steps"] == 5


def test_ctrl_c_stops_after_a_checkpoint_and_resumes_to_the_same_curve(tmp_path, small_model):
    config = write_config(tmp_path / "run.toml", small_model, checkpoint_every=10)
    whole = tmp_path / "whole"
    assert main(["run", "--config", str(config), "--steps", "4", "--out", str(whole)]) == 0

    stopped = tmp_path / "stopped"
    process = cli("run", "--config", str(config), "--steps", "4", "--out", str(stopped))
    while len(read_jsonl(stopped / "metrics.jsonl")) < 1:
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130, error
    assert f"--resume {stopped}" in error and "Traceback" not in error
    # checkpoint_every=10 would not have saved yet: the interrupt wrote this checkpoint
    progress = json.loads((stopped / "checkpoint" / "progress.json").read_text())
    assert progress["step"] == len(read_jsonl(stopped / "metrics.jsonl")) < 4
    assert not (stopped / "summary.json").exists()
    assert main(["run", "--resume", str(stopped)]) == 0
    assert comparable(read_jsonl(stopped / "metrics.jsonl")) == comparable(
        read_jsonl(whole / "metrics.jsonl")
    )


# ---------------------------------------------------------------------- eval
def test_eval_of_a_run_folder_scores_its_checkpoint_greedily(tmp_path, small_model, capsys):
    run_dir = train(
        "saw/ToolCall-Synth-v0",
        steps=2,
        seed=1,
        out_dir=tmp_path / "run",
        model=small_model,
        task_kwargs=TASK_KWARGS,
        **SMALL,
    )
    result_path = tmp_path / "eval.json"
    assert main(["eval", "--model", str(run_dir), "--json", str(result_path)]) == 0
    result = json.loads(result_path.read_text())
    assert "format" in capsys.readouterr().out

    # independently: load the checkpoint, answer every test item greedily, score
    task = saw_bench.load_task("saw/ToolCall-Synth-v0", **TASK_KWARGS)
    policy = load_policy(str(run_dir / "checkpoint" / "model"))
    items = list(task.split("test"))
    batch = policy.generate(
        [policy.render(task.prompt(item)) for item in items], max_new_tokens=20, temperature=0.0
    )
    rewards = task.score(items, batch.texts)
    assert result["items"] == len(items) == 12
    assert result["objectives"]["format"] == pytest.approx(float(rewards[:, 0].mean()))
    assert result["objectives"]["correctness"] == pytest.approx(float(rewards[:, 1].mean()))
    by_hand = (rewards[:, 0].mean() + (rewards[:, 1].mean() + 3) / 6) / 2
    assert result["normalised"] == pytest.approx(float(by_hand))


def test_eval_of_a_missing_model_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["eval", "--model", str(tmp_path / "nothing-here")]) == 2
    assert "neither an existing folder nor a Hugging Face id" in capsys.readouterr().err


def test_help_and_argument_errors_import_no_heavy_library():
    """--help and bad arguments answer before torch, transformers, datasets, pandas or
    matplotlib are imported (each costs seconds); measured by what a fresh process loaded."""
    code = """
import contextlib, io, sys
from saw_bench.cli import main
argvs = (["--help"], ["run", "--help"], ["sweep", "--help"], ["compare", "--help"],
         ["run", "--steps", "abc"], ["run", "--estimator", "ppo"],
         ["run", "--weighting", "nosuch"], ["bogus"])
codes = []
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    for argv in argvs:
        try:
            codes.append(main(argv))
        except SystemExit as error:
            codes.append(error.code)
heavy = ("torch", "transformers", "datasets", "pandas", "matplotlib", "torchjd", "scipy")
print(codes, sorted(name for name in heavy if name in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[0, 0, 0, 0, 2, 2, 2, 2] []", result.stderr
