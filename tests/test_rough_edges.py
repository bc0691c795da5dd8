"""What a new user runs into first: bad files on resume, runs logged to a file, options only a
TOML file could reach, argument errors, a curve of few points, the template's alias."""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import sys
import tomllib
from pathlib import Path

import matplotlib
import pytest

import saw_bench
from saw_bench.__main__ import main
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_jsonl
from saw_bench.harness.run import train
from saw_bench.training import TrainConfig
from saw_bench.training.record import Progress

TASK_KWARGS = {"train_size": 40, "test_size": 12}  # as the small_model fixture's
SMALL = dict(
    prompts_per_step=2,
    group_size=2,
    max_new_tokens=8,
    eval_every=2,
    eval_items=4,
    checkpoint_every=1,
)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    error = capsys.readouterr().err
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1, error
    return error


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, small_model: str) -> Path:
    folder = tmp_path_factory.mktemp("runs") / "run"
    return train(
        "saw/ToolCall-Synth-v0",
        steps=2,
        seed=3,
        out_dir=folder,
        model=small_model,
        task_kwargs=TASK_KWARGS,
        plot=False,
        **SMALL,
    )


def copy_run(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


# ---------------------------------------------------------------------- bad files
def test_read_jsonl_drops_a_torn_last_line_and_names_file_and_line_of_any_other(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"step": 2}\n\x00\x00\x00\n')  # zero-filled after power loss
    assert read_jsonl(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    with pytest.raises(SawBenchError, match=r"metrics.jsonl line 2 is not valid JSON"):
        read_jsonl(path)
    path.write_text('{"step": 1}\n[1, 2]\n{"step": 3}\n')
    with pytest.raises(SawBenchError, match=r"metrics.jsonl line 2 should be a JSON object"):
        read_jsonl(path)


@pytest.mark.parametrize("name", ["metrics.jsonl", "eval.jsonl"])
def test_resume_with_a_corrupt_row_exits_2_naming_file_and_line(
    name, finished_run, tmp_path, capsys
):
    run = copy_run(finished_run, tmp_path / "run")
    rows = (run / name).read_text().splitlines()
    rows[0] = rows[0][: len(rows[0]) // 2]  # a damaged first row, complete rows after it
    (run / name).write_text("\n".join(rows) + "\n")
    assert main(["run", "--resume", str(run), "--steps", "3"]) == 2
    assert f"{name} line 1 is not valid JSON" in one_line_error(capsys)


def test_resume_after_a_torn_last_row_continues_from_the_checkpoint(finished_run, tmp_path, capsys):
    run = copy_run(finished_run, tmp_path / "run")
    with (run / "metrics.jsonl").open("a") as stream:
        stream.write('{"step": 3, "tok')  # killed while appending step 3
    assert main(["run", "--resume", str(run), "--steps", "3", "--log-every", "1"]) == 0
    assert [row["step"] for row in read_jsonl(run / "metrics.jsonl")] == [1, 2, 3]


def _cut_in_the_middle(text: str) -> str:
    return text[: len(text.splitlines()[0]) // 2]  # row 1 torn, row 2 gone


def _without_last_line(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines()[:-1])


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("metrics.jsonl", _cut_in_the_middle, "holds 0 whole row(s), but the checkpoint was "),
        ("metrics.jsonl", _without_last_line, "holds 1 whole row(s), but the checkpoint was "),
        ("eval.jsonl", _without_last_line, "rows 2 to 2 are missing"),
    ],
)
def test_resume_refuses_files_that_lost_rows_the_checkpoint_recorded(
    name, damage, message, finished_run, tmp_path, capsys
):
    """The checkpoint at step 2 counted 2 metrics rows and 2 evaluations (steps 0 and 2)."""
    run = copy_run(finished_run, tmp_path / "run")
    (run / name).write_text(damage((run / name).read_text()))
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["run", "--resume", str(run), "--steps", "3"]) == 2
    error = one_line_error(capsys)
    assert name in error and message in error and "restore the file" in error
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_resume_drops_a_whole_row_past_the_checkpoint_and_writes_the_step_again(
    finished_run, tmp_path, capsys
):
    run = copy_run(finished_run, tmp_path / "run")
    rows = read_jsonl(run / "metrics.jsonl")
    with (run / "metrics.jsonl").open("a") as stream:  # written after the last checkpoint
        stream.write(json.dumps({**rows[-1], "step": 3, "stray": True}) + "\n")
    assert main(["run", "--resume", str(run), "--steps", "3"]) == 0
    resumed = read_jsonl(run / "metrics.jsonl")
    assert [row["step"] for row in resumed] == [1, 2, 3]
    assert resumed[:2] == rows and "stray" not in resumed[2]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--weighting", "nosuchagent"], "unknown weighting agent 'nosuchagent'"),
        (["--set", "task_kwargs={train_size = 0}"], "train_size"),
    ],
)
def test_a_run_with_bad_options_leaves_no_run_folder(options, message, tmp_path, capsys):
    out = tmp_path / "runs" / "new"
    assert main(["run", "--steps", "2", "--out", str(out), *options]) == 2
    assert message in one_line_error(capsys)
    assert not out.exists()


def test_resume_names_a_missing_folder_and_refuses_fewer_steps(finished_run, tmp_path, capsys):
    assert main(["run", "--resume", str(tmp_path / "nowhere")]) == 2
    assert f"cannot resume {tmp_path / 'nowhere'}: no such folder" in one_line_error(capsys)
    run = copy_run(finished_run, tmp_path / "run")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["run", "--resume", str(run), "--steps", "1"]) == 2
    assert "with steps=1: it is a 2-step run; give 2 or more steps" in one_line_error(capsys)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_single_process_run_prints_its_table_whatever_rank_the_environment_holds(
    finished_run, tmp_path, capsys, monkeypatch
):
    """RANK alone (left over in a shell, a job script) is not a multi-process launch: only
    with WORLD_SIZE > 1 does a process other than rank 0 print a line instead of the table."""
    run = copy_run(finished_run, tmp_path / "run")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["run", "--resume", str(run), "--steps", "3"]) == 0
    printed = capsys.readouterr().out
    assert "normalised aggregate (0-1)" in printed and "multi-process" not in printed


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        ("config.json", "{not json", "config.json is not readable JSON"),
        ("config.json", "[1, 2]", "config.json should hold a JSON object"),
        ("config.json", '{"train": {"stepz": 3}}', "unknown key(s) ['stepz']"),
        ("checkpoint/progress.json", '{"step": ', "progress.json is not readable JSON"),
    ],
)
def test_resume_with_a_damaged_json_file_exits_2_naming_it(
    relative, content, message, finished_run, tmp_path, capsys
):
    run = copy_run(finished_run, tmp_path / "run")
    (run / relative).write_text(content)
    assert main(["run", "--resume", str(run), "--steps", "3"]) == 2
    assert message in one_line_error(capsys)


def test_compare_report_and_submit_name_the_file_and_line_of_a_corrupt_row(
    finished_run, tmp_path, capsys
):
    run = copy_run(finished_run, tmp_path / "runs" / "run")
    rows = (run / "eval.jsonl").read_text().splitlines()
    (run / "eval.jsonl").write_text("\n".join(["{oops", *rows[1:]]) + "\n")
    for argv in (
        ["compare", str(run)],
        ["report", str(run), "--html", str(tmp_path / "r.html")],
        ["submit", str(run), "--name", "x"],
    ):
        assert main(argv) == 2, argv
        assert "eval.jsonl line 1 is not valid JSON" in one_line_error(capsys)


def test_eval_of_a_run_with_a_corrupt_config_exits_2_naming_it(finished_run, tmp_path, capsys):
    run = copy_run(finished_run, tmp_path / "run")
    (run / "config.json").write_text("{")
    assert main(["eval", "--model", str(run)]) == 2
    assert "config.json is not readable JSON" in one_line_error(capsys)


# ---------------------------------------------------------------------- progress without a TTY
def test_without_a_terminal_a_run_prints_a_line_every_n_steps_and_each_evaluation(
    tmp_path, small_model, capsys
):
    code = main(
        [
            "run",
            "--model",
            small_model,
            "--steps",
            "4",
            "--log-every",
            "3",
            "--out",
            str(tmp_path / "run"),
            "--set",
            "task_kwargs={train_size = 40, test_size = 12}",
            *[f"--set={key}={value}" for key, value in SMALL.items()],
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    steps = [line.split()[1] for line in lines if line.startswith("step ")]
    assert steps == ["3/4", "4/4"]  # every 3rd step and the last
    evaluations = [line for line in lines if line.startswith("eval @ step")]
    assert [line.split()[3].rstrip(":") for line in evaluations] == ["0", "2", "4"]
    metrics = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert (
        f"format={metrics[2]['objectives']['format']['mean']:.2f}"
        in lines[[i for i, line in enumerate(lines) if line.startswith("step 3/4")][0]]
    )


def test_progress_draws_a_bar_only_when_stdout_and_stderr_are_terminals(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    row = {
        "step": 1,
        "loss": 0.5,
        "seconds": {"total": 1.0},
        "objectives": {"a": {"mean": 1.0, "weight": 1.0}},
    }
    piped = io.StringIO()
    Progress(2, 0, ["a"], enabled=True, stream=piped).step(row)
    assert piped.getvalue() == "step 1/2 a=1.00(w1.00) loss 0.5000 1.0 s/step\n"
    monkeypatch.setattr("sys.stderr", Terminal())
    terminal = Terminal()
    progress = Progress(2, 0, ["a"], enabled=True, stream=terminal)
    progress.step(row)
    progress.close()
    assert progress.bar is not None and terminal.getvalue() == ""
    with pytest.raises(SawBenchError, match="log_every must be a positive integer, but got 0"):
        Progress(2, 0, ["a"], enabled=True, log_every=0)


# ---------------------------------------------------------------------- options as flags
def test_config_verb_and_run_help_list_every_training_option_with_its_default(capsys):
    assert main(["config"]) == 0
    listing = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    for entry in dataclasses.fields(TrainConfig):
        default = (
            entry.default_factory()
            if entry.default_factory is not dataclasses.MISSING
            else entry.default
        )
        for text in (listing, help_text):
            (line,) = [line for line in text.splitlines() if line.startswith(f"  {entry.name} ")]
            shown = line.split()[1]
            if default is None:
                assert shown == "unset"
            else:  # the listing spells defaults as TOML values
                assert tomllib.loads(f"value = {shown}")["value"] == default, line


def test_flags_and_set_reach_the_saved_config_and_flags_win(tmp_path, small_model):
    run = tmp_path / "run"
    code = main(
        [
            "run",
            "--task",
            "saw/ToolCall-Synth-v0",
            "--model",
            small_model,
            "--steps",
            "1",
            "--eval-every",
            "1",
            "--checkpoint-every",
            "1",
            "--threads",
            "1",
            "--group-size",
            "2",
            "--prompts-per-step",
            "2",
            "--max-new-tokens",
            "8",
            "--eval-items",
            "2",
            "--set",
            "kl_coef=0.05",
            "--set",
            "priorities=[2, 1]",
            "--set",
            "eval_every=7",
            "--set",
            "task_kwargs={train_size = 40, test_size = 12}",
            "--out",
            str(run),
        ]
    )
    assert code == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["train"]["kl_coef"] == 0.05 and saved["train"]["priorities"] == [2, 1]
    assert saved["train"]["eval_every"] == 1  # the flag over --set
    assert saved["train"]["threads"] == 1 and saved["hardware"]["threads"] == 1
    assert saved["train"]["task_kwargs"] == {"train_size": 40, "test_size": 12}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--steps", "abc"], "argument --steps: invalid int value: 'abc'"),
        (["run", "--learning-rate", "fast"], "argument --learning-rate: invalid float value"),
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
        (["sweep", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["run", "--set", "stepz=3"], "unknown key(s) ['stepz']"),
        (["run", "--set", "steps"], "--set takes key=value, but got 'steps'"),
        (["run", "--log-every", "0"], "log_every must be a positive integer, but got 0"),
        (["run", "--set", "learning_rate=fast"], "learning_rate must be a number, but got 'fast'"),
        (["run", "--set", "steps=2.5"], "steps must be an integer, but got 2.5"),
        (["run", "--set", "priorities=[1, 'a']"], "must be a list of numbers (or unset)"),
        (
            ["run", "--set", "priorities=[2, 1]"],  # toolcall (ToolCall-Synth-v2) has four
            "priorities must be 4 finite numbers >= 0 with a positive sum (one per objective: "
            "format, correctness, think_brevity, brevity), but got [2, 1]",
        ),
        (["sweep", "--set", "lr=1"], "unknown key(s) ['lr']"),
        (
            ["run", "--resume", "runs/x", "--seed", "3", "--set", "kl_coef=0.1"],
            "only --steps and --log-every apply, but got --seed, --set, --out",
        ),
    ],
)
def test_argument_errors_are_one_line_and_exit_2(argv, message, capsys, tmp_path):
    try:
        code = main([*argv, "--out", str(tmp_path / "x")])
    except SystemExit as exit_:  # argparse's own exits
        code = exit_.code
    assert code == 2
    assert message in one_line_error(capsys)


# ---------------------------------------------------------------------- the default curve
def test_the_default_run_evaluates_often_enough_for_a_readable_curve():
    config = TrainConfig()
    points = 1 + config.steps // config.eval_every + (config.steps % config.eval_every > 0)
    assert points >= 9


def _legend_overlaps_axes(figure: matplotlib.figure.Figure) -> list[str]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # layout happens at draw time
    renderer = canvas.get_renderer()
    legends = list(figure.legends) + [axes.get_legend() for axes in figure.axes]
    overlaps = []
    for legend in [legend for legend in legends if legend is not None]:
        box = legend.get_window_extent(renderer)
        for axes in figure.axes:
            if axes.axison and axes.get_lines() and box.overlaps(axes.get_window_extent(renderer)):
                overlaps.append(axes.get_title())
    return overlaps


def test_run_curves_keep_the_legend_off_the_plotted_lines(finished_run):
    from saw_bench.harness.plots import run_figure

    figure = run_figure(finished_run)
    assert figure.legends or any(axes.get_legend() for axes in figure.axes)
    assert _legend_overlaps_axes(figure) == []


def test_comparison_curves_keep_the_legend_off_the_plotted_lines(finished_run):
    from saw_bench.harness.analysis import compare
    from saw_bench.harness.plots import comparison_figure
    from saw_bench.harness.runs import load_runs

    figure = comparison_figure(compare(load_runs([finished_run])))
    assert figure.legends or any(axes.get_legend() for axes in figure.axes)
    assert _legend_overlaps_axes(figure) == []


# ---------------------------------------------------------------------- the template
def test_the_template_registers_the_alias_the_tutorial_shows():
    from saw_bench.core.registry import unregister

    root = Path(__file__).resolve().parents[1]
    tutorial = (root / "docs/tutorials/add-an-environment.md").read_text()
    template = (root / "envs/_template/__init__.py").read_text()
    assert "alias=" in template and 'alias="mytask"' in tutorial
    unregister("saw/Template-Echo-v0")
    name = "saw_bench.envs._template"
    try:  # registered now, whether or not an earlier test imported the template
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)
        assert saw_bench.resolve("template-echo") == "saw/Template-Echo-v0"
        assert saw_bench.load_task("template-echo").objective_names == ("exact", "brevity")
    finally:
        unregister("saw/Template-Echo-v0")


def test_resuming_with_other_options_is_an_error_not_a_silent_drop(tmp_path):
    with pytest.raises(SawBenchError, match="only steps applies, but got learning_rate"):
        saw_bench.train(resume=tmp_path, learning_rate=1e-3)
