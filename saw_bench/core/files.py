"""Files of a run folder: atomic JSON writes, append-only JSON Lines, and reading both back
(and TOML) with one clear error per bad file, naming it and the line.

A run killed at any moment leaves no torn file: whole files are written to a temporary file in
the same folder and renamed over the target (``os.replace`` is atomic on POSIX), and JSON Lines
files only ever grow by whole lines, flushed and synced one row at a time. On resume,
:func:`truncate_jsonl` cuts a JSON Lines file back to the rows a checkpoint knew about, so no row
is duplicated, and refuses a file that holds fewer, so no row is lost silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from saw_bench.core.errors import SawBenchError


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


def read_json(path: Path, kind: type = dict) -> Any:
    """A JSON file holding a ``kind`` (an object by default). A missing, unreadable or
    malformed file, or one holding something else, is a :class:`SawBenchError` naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SawBenchError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SawBenchError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(data, kind):
        raise SawBenchError(
            f"{path} should hold a JSON {_JSON_KINDS.get(kind, kind.__name__)}, but holds "
            f"{type(data).__name__}"
        )
    return data


_JSON_KINDS = {dict: "object", list: "array"}


def read_jsonl(path: Path, missing_ok: bool = True) -> list[dict[str, Any]]:
    """Every row of a JSON Lines file, each a JSON object.

    The last line is *torn* when a run was killed while appending it: it is not valid JSON
    (cut short, or zero-filled after a power loss). A torn last line is dropped (a resumed run
    continues from its checkpoint, before that row). Any other bad line is a
    :class:`SawBenchError` naming the file and the line. A missing file is no rows (or an
    error with ``missing_ok=False``).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        if missing_ok:
            return []
        raise SawBenchError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SawBenchError(f"{path} is not readable: {error}") from None
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):
                break  # torn last line
            raise SawBenchError(f"{path} line {number} is not valid JSON: {error}") from None
        if not isinstance(row, dict):
            raise SawBenchError(
                f"{path} line {number} should be a JSON object, but is {type(row).__name__}"
            )
        rows.append(row)
    return rows


def check_rows(path: Path, rows: int) -> list[dict[str, Any]]:
    """The whole rows of a JSON Lines file a checkpoint counted ``rows`` of; a file holding
    fewer lost rows after the checkpoint was written (cut, or edited): a SawBenchError that
    says which rows are missing, and the file is left as it is."""
    path = Path(path)
    kept = read_jsonl(path)
    if len(kept) < rows:
        raise SawBenchError(
            f"{path} holds {len(kept)} whole row(s), but the checkpoint was saved after "
            f"{rows}: rows {len(kept) + 1} to {rows} are missing (the file was cut or edited); "
            "nothing was resumed: restore the file from a copy, or start the run again"
        )
    return kept


def truncate_jsonl(path: Path, rows: int) -> None:
    """Keep the first ``rows`` complete rows of a JSON Lines file (atomically); a file with
    fewer is refused by :func:`check_rows`, never continued from silently."""
    path = Path(path)
    kept = check_rows(path, rows)[:rows]
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
