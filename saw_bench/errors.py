"""Errors a user can cause. The CLI prints their message on one line and exits with code 2."""

from __future__ import annotations


class SawBenchError(Exception):
    """Base class for every error caused by user input (ids, configs, data files, submissions)."""


class UnknownTaskError(SawBenchError, KeyError):
    """An environment id or alias that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(SawBenchError):
    """A data file that is missing, unreadable or has malformed rows."""
