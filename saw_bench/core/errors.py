"""Errors a user can cause. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class SawBenchError(Exception):
    """Base class for every error caused by user input (ids, configs, data files, submissions)."""


class UnknownTaskError(SawBenchError, KeyError):
    """An environment id or alias that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(SawBenchError):
    """A data file that is missing, unreadable or has malformed rows."""


class PromptTooLongError(SawBenchError, ValueError):
    """A prompt longer than the policy takes (``max_prompt_tokens``, the model's context); the
    CLI prints it as one line, where a task's prompts do not fit a model (``eval`` on BFCL)."""


class RunInterrupted(Exception):
    """A run stopped by Ctrl-C or SIGTERM after writing a checkpoint at ``step`` (the CLI exits
    with code 130). Not a user error: the run resumes from that checkpoint."""

    def __init__(self, run_dir: Path, step: int) -> None:
        super().__init__(f"run stopped at step {step}; continue it with --resume {run_dir}")
        self.run_dir, self.step = run_dir, step

    def __reduce__(self) -> tuple[type, tuple[Path, int]]:
        # a sweep's worker sends it back to the sweep pickled; the default would call
        # __init__(message) and fail there, which breaks the sweep's process pool
        return type(self), (self.run_dir, self.step)
