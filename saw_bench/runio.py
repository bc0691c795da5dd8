"""Files of a run folder: atomic JSON writes and append-only JSON Lines.

A run killed at any moment leaves no torn file: whole files are written to a temporary file in
the same folder and renamed over the target (``os.replace`` is atomic on POSIX), and JSON Lines
files only ever grow by whole lines, flushed and synced one row at a time. On resume,
:func:`truncate_jsonl` cuts a JSON Lines file back to the rows a checkpoint knew about, so no row
is duplicated.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from saw_bench.errors import SawBenchError


def write_json_atomic(path: Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=2, sort_keys=True, default=_jsonable)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    line = json.dumps(row, sort_keys=True, default=_jsonable)
    with open(path, "a") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete row; a torn last line (no newline) is ignored."""
    return list(_rows(Path(path)))


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path) as stream:
        for line in stream:
            if line.endswith("\n"):
                yield json.loads(line)


def truncate_jsonl(path: Path, rows: int) -> None:
    """Keep the first ``rows`` complete rows of a JSON Lines file (atomically)."""
    path = Path(path)
    kept = read_jsonl(path)[:rows]
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w") as stream:
        for row in kept:
            stream.write(json.dumps(row, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def _jsonable(value: Any) -> Any:
    """NumPy scalars and arrays, paths and tuples as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def read_toml(path: Path, kind: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict; a missing or malformed file is a :class:`SawBenchError` that
    names it (``kind`` says what the file is for)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except (FileNotFoundError, IsADirectoryError):
        raise SawBenchError(f"{kind} {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SawBenchError(f"{kind} {path} is not valid TOML: {error}") from None


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file; SawBenchError when not writable."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        reason = error.strerror or str(error)
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = f"{error.filename} is not a folder"
        raise SawBenchError(f"cannot write {path}: {reason}") from None
