"""What a run shows while it trains: on a terminal, the bar and every held-out evaluation."""

from __future__ import annotations

import io

import pytest

from saw_bench.core.files import read_jsonl
from saw_bench.harness.run import train
from saw_bench.training.record import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a TTY does."""

    def isatty(self) -> bool:
        return True


def eval_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("eval @ step ")]


def test_on_a_terminal_each_held_out_evaluation_is_printed_above_the_bar(monkeypatch):
    monkeypatch.setattr("sys.stderr", Terminal())  # where tqdm draws the bar
    stdout = Terminal()
    progress = Progress(4, 0, ["format", "correctness"], enabled=True, stream=stdout)
    assert progress.bar is not None
    progress.step(
        {
            "step": 1,
            "loss": 0.5,
            "seconds": {"total": 1.0},
            "objectives": {name: {"mean": 0.0, "weight": 1.0} for name in progress.names},
        }
    )
    progress.evaluation(
        {"step": 1, "objectives": {"format": 0.75, "correctness": -1.25}, "normalised": 0.4}
    )
    assert progress.bar.n == 1  # the bar stays, one step along
    progress.close()
    assert eval_lines(stdout.getvalue()) == [
        "eval @ step 1: format=0.750 correctness=-1.250 aggregate=0.400"
    ]


def test_a_run_on_a_terminal_shows_its_bar_and_every_held_out_evaluation(
    tmp_path, small_model, monkeypatch
):
    stdout, stderr = Terminal(), Terminal()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    run_dir = train(
        "saw/ToolCall-Synth-v0",
        steps=4,
        out_dir=tmp_path / "run",
        model=small_model,
        task_kwargs={"train_size": 40, "test_size": 12},  # as the small_model fixture's
        prompts_per_step=2,
        group_size=2,
        max_new_tokens=8,
        eval_every=2,
        eval_items=4,
        progress=True,
    )
    evaluations = read_jsonl(run_dir / "eval.jsonl")
    assert [row["step"] for row in evaluations] == [0, 2, 4]
    printed = eval_lines(stdout.getvalue())
    assert [line.split()[3] for line in printed] == ["0:", "2:", "4:"]
    for line, row in zip(printed, evaluations, strict=True):
        assert line.endswith(f"aggregate={row['normalised']:.3f}")
    assert "training" in stderr.getvalue() and "4/4" in stderr.getvalue()  # the bar was drawn
    assert not any(line.startswith("step ") for line in stdout.getvalue().splitlines())


@pytest.mark.parametrize("terminal", [False, True])
def test_disabled_progress_prints_nothing(monkeypatch, terminal):
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    progress = Progress(2, 0, ["a"], enabled=False, stream=stream)
    progress.evaluation({"step": 0, "objectives": {"a": 1.0}, "normalised": 1.0})
    progress.close()
    assert stream.getvalue() == ""
