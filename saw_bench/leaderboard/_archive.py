"""The committed run files of a ``verified`` submission: one xz-compressed tar per submission.

``runs/<task>/<id>.tar.xz`` holds one folder per seed, ``seed-<n>/``, with the four files of a
run folder (config.json, eval.jsonl, metrics.jsonl, summary.json). A submission names each run
by its folder, ``runs/<task>/<id>/seed-<n>``: member ``seed-<n>/`` of that archive.
``tar xJf <id>.tar.xz`` gives ordinary run folders, which ``compare`` and ``report`` read.

Why a tar of JSON Lines, compressed with xz: the files stay the text a run writes (any tool
reads them after ``tar xJf``; the sha256 in a submission is the sha256 of that text), one file
per submission keeps the leaderboard to a few hundred files written once each, and xz compresses
the repeated keys of a run's rows about tenfold (per-run Parquet tables came out larger than xz:
a run's table has too few rows for a columnar format to pay off). Python's standard library
reads and writes it (:mod:`tarfile`, :mod:`lzma`).

Before packing, :func:`stored_bytes` keeps every metrics.jsonl row but writes its batch
statistics (per objective ``std``, ``cv``, ``advantage_share``; the ``loss``) to 7 significant
digits, the precision of the float32 rewards they are computed from, and the seconds of each
phase to the microsecond. The weights, means, steps, tokens, and the other three files are kept
exactly. The archive is written byte for byte the same for the same files (fixed member order,
times and owners), so submitting the same runs again changes nothing.

An archive is untrusted input (it arrives with a submission): :func:`read_archive` accepts only
regular files named ``seed-<n>/<run file>``, each within :data:`MAX_RUN_FILE_BYTES`, and reads
at most :data:`MAX_ARCHIVE_BYTES` of compressed data.
"""

from __future__ import annotations

import io
import json
import lzma
import re
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory
from typing import Any

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import write_bytes_atomic
from saw_bench.leaderboard._runs import MAX_RUN_FILE_BYTES
from saw_bench.leaderboard._schema import MAX_SEEDS, RUN_FILES

SUFFIX = ".tar.xz"
#: A submission's archive, compressed.
MAX_ARCHIVE_BYTES = 64 << 20
#: Significant digits of the batch statistics in a stored metrics.jsonl row.
STATISTIC_DIGITS = 7
#: Decimal places of the per-phase seconds in a stored metrics.jsonl row (microseconds).
SECONDS_DECIMALS = 6
_ROUNDED_STATISTICS = ("std", "cv", "advantage_share")
_SEED_FOLDER = re.compile(r"^seed-(0|[1-9][0-9]{0,5})$")

#: seed folder -> run file name -> bytes
RunArchive = dict[str, dict[str, bytes]]


def archive_of(run_path: str) -> tuple[str, str]:
    """``runs/<task>/<id>/seed-<n>`` -> (``runs/<task>/<id>.tar.xz``, ``seed-<n>``)."""
    path = PurePosixPath(run_path)
    return f"{path.parent}{SUFFIX}", path.name


def stored_bytes(name: str, data: bytes) -> bytes:
    """A run file as the leaderboard stores it: metrics.jsonl with its statistics rounded (see
    the module docstring), every other file unchanged."""
    if name != "metrics.jsonl":
        return data
    rows = []
    for line in data.decode().splitlines():
        if line.strip():
            rows.append(json.dumps(_rounded_row(json.loads(line)), sort_keys=True) + "\n")
    return "".join(rows).encode()


def _rounded_row(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if isinstance(row.get("loss"), float):
        row["loss"] = _significant(row["loss"])
    if isinstance(row.get("seconds"), dict):
        row["seconds"] = {
            phase: round(value, SECONDS_DECIMALS) if isinstance(value, float) else value
            for phase, value in row["seconds"].items()
        }
    if isinstance(row.get("objectives"), dict):
        row["objectives"] = {
            name: {
                key: _significant(value)
                if key in _ROUNDED_STATISTICS and isinstance(value, float)
                else value
                for key, value in stats.items()
            }
            if isinstance(stats, dict)
            else stats
            for name, stats in row["objectives"].items()
        }
    return row


def _significant(value: float) -> float:
    return float(f"{value:.{STATISTIC_DIGITS}g}")


def write_archive(path: Path, runs: Mapping[str, Mapping[str, bytes]]) -> None:
    """Write ``runs`` (seed folder -> file name -> bytes, already :func:`stored_bytes`) to
    ``path`` atomically; the same runs always give the same bytes."""
    buffer = io.BytesIO()
    # xz level 9 (extreme): the runs of a submission are a few MB, written once
    with tarfile.open(
        fileobj=buffer, mode="w:xz", preset=9 | lzma.PRESET_EXTREME, format=tarfile.USTAR_FORMAT
    ) as tar:
        for folder in sorted(runs, key=_seed_number):
            for name in RUN_FILES:
                data = runs[folder][name]
                info = tarfile.TarInfo(f"{folder}/{name}")
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
    write_bytes_atomic(path, buffer.getvalue())


def read_archive(path: Path) -> RunArchive:
    """Every run of an archive; SawBenchError naming the archive for anything but seed folders
    holding the four run files."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SawBenchError(f"{path} is missing") from None
    if path.is_symlink() or not path.is_file():
        raise SawBenchError(f"{path} is not a file")
    if size > MAX_ARCHIVE_BYTES:
        raise SawBenchError(f"{path} is larger than the limit of {MAX_ARCHIVE_BYTES} bytes")
    runs: RunArchive = {}
    try:
        with tarfile.open(path, mode="r:xz") as tar:
            for info in tar:
                _check_member(info, runs)
                stream = tar.extractfile(info)
                data = stream.read() if stream is not None else b""
                if len(data) != info.size:
                    raise SawBenchError(f"member {info.name} is cut short")
                folder, name = info.name.split("/")
                runs.setdefault(folder, {})[name] = data
    except SawBenchError as error:
        raise SawBenchError(f"{path}: {error}") from None
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as error:
        raise SawBenchError(f"{path} is not a readable .tar.xz archive: {error}") from None
    for folder, files in runs.items():
        missing = [name for name in RUN_FILES if name not in files]
        if missing:
            raise SawBenchError(f"{path}: {folder}/ has no {', '.join(missing)}")
    return runs


def _check_member(info: tarfile.TarInfo, runs: RunArchive) -> None:
    parts = info.name.split("/")
    if (
        len(parts) != 2
        or not _SEED_FOLDER.match(parts[0])
        or parts[1] not in RUN_FILES
        or not info.isfile()
    ):
        raise SawBenchError(
            f"unexpected member {info.name!r}: an archive holds only seed-<n>/ folders of the "
            f"regular files {', '.join(RUN_FILES)}"
        )
    if parts[1] in runs.get(parts[0], {}):
        raise SawBenchError(f"member {info.name} appears twice")
    if parts[0] not in runs and len(runs) >= MAX_SEEDS:
        raise SawBenchError(f"more than {MAX_SEEDS} seed folders")
    if info.size > MAX_RUN_FILE_BYTES:
        raise SawBenchError(
            f"member {info.name} is larger than the limit of {MAX_RUN_FILE_BYTES} bytes"
        )


@contextmanager
def run_folders(runs: Mapping[str, Mapping[str, bytes]]) -> Iterator[Path]:
    """The runs of an archive written out as ordinary run folders in a temporary folder, for
    :func:`saw_bench.harness.runs.load_run`; removed on exit."""
    with TemporaryDirectory(prefix="saw-bench-runs-") as temporary:
        root = Path(temporary)
        for folder, files in runs.items():
            (root / folder).mkdir()
            for name, data in files.items():
                (root / folder / name).write_bytes(data)
        yield root


def _seed_number(folder: str) -> int:
    match = _SEED_FOLDER.match(folder)
    if match is None:
        raise SawBenchError(f"{folder!r} is not a seed folder (seed-<n>)")
    return int(match.group(1))
