"""Experiment trackers: a run's rows in TensorBoard, trackio and Weights & Biases
(``report_to``, ``run --report-to tensorboard,trackio,wandb``).

Every ``metrics.jsonl`` row is logged at its step under grouped names (:func:`step_values`):
``rewards/<objective>/mean`` and ``/std``, ``weights/<objective>``, ``cv/<objective>``,
``advantage_share/<objective>``, ``loss``, ``kl``, ``clip_fraction``, ``tokens``,
``seconds/<phase>``; every ``eval.jsonl`` row under ``eval/`` (:func:`eval_values`), and the
run's ``config.json`` as the tracker run's hyperparameters.

Each tool is one :class:`Sink` class that imports the tool when the run opens it; which tool
comes from which package is the table :data:`TRACKERS`, and :func:`require_trackers` checks
that each one asked for is installed (``importlib.util.find_spec``, nothing imported) when the
run's options are built, before any model loads.

A resumed run continues the same tracker run: its folder keeps ``trackers.json`` (the tracker
run's id, and the last step each kind of row was logged at). TensorBoard writes into
``<run>/tensorboard`` and purges, on resume, what a killed run wrote after its last checkpoint
(``purge_step``), so the rewritten steps replace the lost ones. trackio and W&B cannot take a
step back: there a step already logged is not logged again. So every step appears once in
every tool.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_json, write_json_atomic

#: What a run keeps about its tracker runs, in its own folder.
STATE_FILE = "trackers.json"
#: The project trackio and W&B file runs under (``WANDB_PROJECT`` / ``TRACKIO_PROJECT`` win).
PROJECT = "saw-bench"


@dataclasses.dataclass(frozen=True)
class Tracker:
    """One tool: the module it is imported as and the saw-bench extra that installs it."""

    module: str
    extra: str


#: The trackers ``report_to`` takes.
TRACKERS = {
    "tensorboard": Tracker(module="tensorboard", extra="tensorboard"),
    "trackio": Tracker(module="trackio", extra="trackio"),
    "wandb": Tracker(module="wandb", extra="wandb"),
}


def require_trackers(names: Sequence[str]) -> list[str]:
    """``names``, once each; a tracker that is not installed is one error naming its extra."""
    from saw_bench.core.options import OptionError

    unique = list(dict.fromkeys(names))
    for name in unique:
        tracker = TRACKERS[name]
        if importlib.util.find_spec(tracker.module) is None:
            raise OptionError(
                f"report_to {name!r} needs the {tracker.module} package: "
                f'pip install "saw-bench[{tracker.extra}]"'
            )
    return unique


# ---------------------------------------------------------------------- rows as named values
def step_values(row: dict[str, Any]) -> dict[str, float]:
    """A ``metrics.jsonl`` row as tracker values under grouped names (its step left out)."""
    values: dict[str, float] = {}
    for key, value in row.items():
        if key == "objectives":
            for objective, stats in value.items():
                for stat, number in stats.items():
                    values[_objective_name(stat, objective)] = number
        elif isinstance(value, dict):  # seconds per phase, a task's counters
            values.update({f"{key}/{name}": number for name, number in value.items()})
        elif key != "step":
            values[key] = value
    return _numbers(values)


def eval_values(row: dict[str, Any]) -> dict[str, float]:
    """An ``eval.jsonl`` row under ``eval/``: ``eval/<objective>``, ``eval/normalised``, ..."""
    values: dict[str, float] = {}
    for key, value in row.items():
        if key == "objectives":
            values.update({f"eval/{name}": number for name, number in value.items()})
        elif key != "step":
            values[f"eval/{key}"] = value
    return _numbers(values)


def _objective_name(stat: str, objective: str) -> str:
    if stat in ("mean", "std"):
        return f"rewards/{objective}/{stat}"
    if stat == "weight":
        return f"weights/{objective}"
    return f"{stat}/{objective}"  # cv/<objective>, advantage_share/<objective>


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def hyperparameters(config: dict[str, Any]) -> dict[str, str | float | bool]:
    """``config.json`` flattened to ``train/steps``, ``model/name``, ...: plain values for the
    tools that take only those (TensorBoard's hparams); lists and tables as JSON text."""
    flat: dict[str, str | float | bool] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                visit(f"{prefix}/{key}" if prefix else str(key), inner)
        elif isinstance(value, bool | int | float | str):
            flat[prefix] = value
        elif value is not None:
            flat[prefix] = json.dumps(value, sort_keys=True)

    visit("", config)
    return flat


# ---------------------------------------------------------------------- the sinks
class Sink(Protocol):
    """Where one tool's values go, built with ``(run_dir, config, run_id, resumed_step)``:
    ``resumed_step`` is None for a new tracker run, else the step the run continues after (0:
    it starts over, killed before its first checkpoint). ``rewinds``: whether a step logged
    again replaces the first one (then a resumed run logs again every step after its
    checkpoint)."""

    rewinds: bool

    def log(self, values: dict[str, float], step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardSink:
    """TensorBoard event files in ``<run>/tensorboard`` (torch's ``SummaryWriter``); the
    config as hparams and as text. ``purge_step``: readers drop the steps from there on that
    earlier files hold (a resumed run's lost steps)."""

    rewinds = True

    def __init__(
        self, run_dir: Path, config: dict[str, Any], run_id: str, resumed_step: int | None
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        purge = None if resumed_step is None else (resumed_step + 1 if resumed_step else 0)
        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=purge)
        if not resumed_step:  # a new run, or one started over
            for summary in hparams(hyperparameters(config), {}):
                self.writer.file_writer.add_summary(summary)
            self.writer.add_text("config", f"```json\n{json.dumps(config, indent=2)}\n```")

    def log(self, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class TrackioSink:
    """A trackio run (local unless ``TRACKIO_SPACE_ID`` or ``TRACKIO_SERVER_URL`` says
    otherwise) named ``<run folder>-<id>``, resumed by that name."""

    rewinds = False

    def __init__(
        self, run_dir: Path, config: dict[str, Any], run_id: str, resumed_step: int | None
    ) -> None:
        import trackio

        self.run = trackio.init(
            project=os.environ.get("TRACKIO_PROJECT", PROJECT),
            name=f"{run_dir.name}-{run_id}",
            config=config,
            resume="allow",
        )

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


class WandbSink:
    """A W&B run with the id kept in the run folder, resumed with ``resume="allow"``; its files
    go under ``<run>/wandb`` unless ``WANDB_DIR`` is set (``WANDB_MODE=offline``: no network)."""

    rewinds = False

    def __init__(
        self, run_dir: Path, config: dict[str, Any], run_id: str, resumed_step: int | None
    ) -> None:
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", PROJECT),
            id=run_id,
            name=run_dir.name,
            resume="allow",
            config=config,
            dir=None if os.environ.get("WANDB_DIR") else str(run_dir),
        )

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self) -> None:
        self.run.finish()


SINKS: dict[str, type[TensorBoardSink | TrackioSink | WandbSink]] = {
    "tensorboard": TensorBoardSink,
    "trackio": TrackioSink,
    "wandb": WandbSink,
}


class RunTrackers:
    """The tracker runs of one saw-bench run: :meth:`step` and :meth:`evaluation` log its rows
    to every sink; :meth:`close` ends them. Built by :func:`open_trackers`."""

    def __init__(self, run_dir: Path, sinks: dict[str, Sink], state: dict[str, Any]) -> None:
        self.run_dir, self.sinks, self.state = run_dir, sinks, state

    def step(self, row: dict[str, Any], extra: dict[str, float] | None = None) -> None:
        """A metrics row; ``extra``: more values of the same step (the TRL backend's own)."""
        self._log("train", {**step_values(row), **_numbers(extra or {})}, row["step"])

    def evaluation(self, row: dict[str, Any]) -> None:
        self._log("eval", eval_values(row), row["step"])

    def _log(self, kind: str, values: dict[str, float], step: int) -> None:
        logged = self.state["logged"].get(kind, -1)
        for sink in self.sinks.values():
            if sink.rewinds or step > logged:
                sink.log(values, step)
        if step > logged:
            self.state["logged"][kind] = step
            write_json_atomic(self.run_dir / STATE_FILE, self.state)

    def close(self) -> None:
        """End every tracker run; one that fails to end is a warning (the run's own files are
        complete, and an error here would hide the one that ended the run)."""
        for name, sink in self.sinks.items():
            try:
                sink.close()
            except Exception as error:  # noqa: BLE001 - any tool's failure, reported alike
                print(f"warning: closing the {name} run failed: {error}", file=sys.stderr)


def open_trackers(names: Iterable[str], run_dir: Path, resumed_step: int) -> RunTrackers | None:
    """The tracker runs of ``run_dir`` (None for no ``names``): new ones for a new run, the
    same ones for a resumed run (``resumed_step`` > 0: its last checkpoint's step)."""
    names = list(names)
    if not names:
        return None
    require_trackers(names)
    state_path = run_dir / STATE_FILE
    continued: int | None = resumed_step
    if state_path.exists():
        state = read_json(state_path)
    else:
        state, continued = {"run_id": secrets.token_hex(4), "logged": {}}, None
    config = read_json(run_dir / "config.json")
    sinks: dict[str, Sink] = {}
    for name in names:
        try:
            sinks[name] = SINKS[name](run_dir, config, state["run_id"], continued)
        except Exception as error:  # the tool's own error: no account, a bad project name, ...
            RunTrackers(run_dir, sinks, state).close()
            raise SawBenchError(
                f"report_to {name!r} could not start its run: {error}; the run folder is kept, "
                f"continue it with --resume {run_dir} once that is fixed"
                + (" (WANDB_MODE=offline logs without an account)" if name == "wandb" else "")
            ) from None
    write_json_atomic(state_path, state)
    return RunTrackers(run_dir, sinks, state)
