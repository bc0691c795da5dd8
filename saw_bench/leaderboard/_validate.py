"""Checking every submission of a leaderboard folder.

A submission is data only: it is read with ``json.loads`` (never executed or unpickled), its
file size is bounded, and every problem becomes a :class:`Problem` naming the file and the
reason. Checks, in order: size, JSON, finite numbers, schema version, seed count, the schema
(:class:`~saw_bench.leaderboard._schema.Submission`), then what the schema cannot say: file name
and folder, the installed task (version, env spec hash, data hash, objectives), the
configuration hash, seeds, scores within the objectives' bounds, the summary numbers
recomputed from the submitted curves, and for ``verified`` the committed run files (present,
unchanged since submit by their sha256, complete, and giving the same numbers when read again
from the submission's archive, ``runs/<task>/<id>.tar.xz``). A verified run that leaves its
curve out (schema version 2) gets the curve its run files give, so the submission returned
holds every curve.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.scores import normalised_aggregate
from saw_bench.harness.runs import load_run
from saw_bench.leaderboard._archive import RunArchive, archive_of, read_archive, run_folders
from saw_bench.leaderboard._installed import installed_task
from saw_bench.leaderboard._protocols import PROTOCOLS_FILE, read_protocols
from saw_bench.leaderboard._runs import (
    MAX_SUBMISSION_BYTES,
    config_digest,
    curve_auc,
    distinct_hardware,
    incomplete_reason,
    seed_result,
    sha256_bytes,
    shared_fields,
    summarise,
    task_slug,
)
from saw_bench.leaderboard._schema import (
    MIN_SEEDS,
    READ_VERSIONS,
    RUN_FILES,
    CurvePoint,
    Submission,
)

#: Deepest nesting of JSON arrays and objects a submission may have.
MAX_DEPTH = 32
#: Schema errors reported per file (the rest are counted).
MAX_SCHEMA_ERRORS = 8
#: Numbers that must agree with a recomputation may differ by this much (relative and absolute).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Problem:
    """Why one file of a leaderboard is rejected."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate(root: str | Path = "leaderboard") -> list[Problem]:
    """Every problem of every submission under ``root/submissions``; empty when all are valid.

    Never raises on the content of a submission: whatever a file holds becomes Problems.
    """
    return check_leaderboard(Path(root))[0]


def check_leaderboard(root: Path) -> tuple[list[Problem], list[tuple[Path, Submission]]]:
    """The problems, and the valid submissions with their files (sorted by path)."""
    if not root.is_dir():
        return [Problem(root, "is not a leaderboard folder (no such folder)")], []
    problems: list[Problem] = []
    valid: list[tuple[Path, Submission]] = []
    owners: dict[str, list[Path]] = {}
    for path in _submission_files(root / "submissions", problems):
        messages, submission = check_file(path, root)
        problems += [Problem(path, message) for message in messages]
        if submission is not None:
            owners.setdefault(submission.id, []).append(path)
            if not messages:
                valid.append((path, submission))
    for submission_id, paths in owners.items():
        for path in paths[1:]:
            problems.append(Problem(path, f"duplicate id {submission_id!r}: {paths[0]} has it"))
    try:
        read_protocols(root)
    except SawBenchError as error:
        problems.append(
            Problem(root / PROTOCOLS_FILE, str(error).removeprefix(f"{root / PROTOCOLS_FILE}: "))
        )
    rejected = {problem.path for problem in problems}
    problems.sort(key=lambda problem: (str(problem.path), problem.message))
    return problems, [(path, s) for path, s in valid if path not in rejected]


def _submission_files(folder: Path, problems: list[Problem]) -> Iterator[Path]:
    """The ``*.json`` files under ``folder`` (sorted), without following symbolic links."""
    if not folder.exists():
        return
    if folder.is_symlink() or not folder.is_dir():
        problems.append(Problem(folder, "should be a folder of submissions"))
        return
    for current, subfolders, files in os.walk(folder):
        here = Path(current)
        for name in sorted(subfolders):
            if (here / name).is_symlink():
                problems.append(Problem(here / name, "symbolic links are not accepted"))
        subfolders[:] = sorted(name for name in subfolders if not (here / name).is_symlink())
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                problems.append(Problem(path, "symbolic links are not accepted"))
            elif not name.endswith(".json"):
                problems.append(
                    Problem(path, "is not a submission (submissions are <task>/<id>.json files)")
                )
            elif not path.is_file():
                problems.append(Problem(path, "is not a regular file"))
            else:
                yield path


def check_file(path: Path, root: Path) -> tuple[list[str], Submission | None]:
    """Messages for one submission file, and the submission when it passes the schema."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as error:
        return [f"cannot be read: {error.strerror or error}"], None
    if len(raw) > MAX_SUBMISSION_BYTES:
        return [f"is larger than the limit of {MAX_SUBMISSION_BYTES} bytes"], None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        return [f"is not UTF-8 text: {error}"], None
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        return [f"is not valid JSON: {error}"], None
    return check_data(data, path, root)


def check_data(data: Any, path: Path, root: Path) -> tuple[list[str], Submission | None]:
    """Messages for the parsed content of a submission file at ``path``."""
    shape = _shape_problem(data)
    if shape is not None:
        return [shape], None
    if not isinstance(data, dict):
        return [f"should hold a JSON object, but holds {_json_type(data)}"], None
    version = data.get("schema_version")
    if type(version) is not int or version not in READ_VERSIONS:
        readable = " and ".join(map(str, READ_VERSIONS))
        return [
            f"unsupported schema_version {version!r}; this saw-bench reads versions {readable}"
        ], None
    messages = []
    seeds = data.get("seeds")
    few_seeds = isinstance(seeds, list) and len(seeds) < MIN_SEEDS
    if few_seeds:
        messages.append(
            f"has {len(seeds)} seed(s) {seeds!r}; a submission needs at least {MIN_SEEDS} seeds"
        )
    try:
        submission = Submission.model_validate(data)
    except ValidationError as error:
        errors = [
            entry
            for entry in error.errors()
            if not (few_seeds and entry["type"] == "too_short" and entry["loc"] in _SEED_LISTS)
            and not (few_seeds and entry["loc"] == ("summary", "seeds"))
        ]
        shown = [f"schema: {_location(e['loc'])}: {e['msg']}" for e in errors[:MAX_SCHEMA_ERRORS]]
        if len(errors) > MAX_SCHEMA_ERRORS:
            shown.append(f"schema: and {len(errors) - MAX_SCHEMA_ERRORS} more error(s)")
        return messages + shown, None
    more, submission = check_submission(submission, path, root)
    return messages + more, submission


_SEED_LISTS = {("seeds",), ("runs",)}


def _shape_problem(data: Any) -> str | None:
    """NaN or infinite numbers, or nesting deeper than MAX_DEPTH (iteratively: no recursion)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return f"{where or 'the file'} is {value!r}: only finite numbers are accepted"
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                return f"{where} is nested deeper than {MAX_DEPTH} levels"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}"
                stack.append((item, child.lstrip("."), depth + 1))
    return None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


#: A curve as the schema gives it: read back from a run's eval.jsonl, it is held to the same.
_CURVE = TypeAdapter(list[CurvePoint])


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


# ---------------------------------------------------------------------- beyond the schema
def check_submission(
    submission: Submission, path: Path, root: Path
) -> tuple[list[str], Submission]:
    """What a schema cannot check (see the module docstring), and the submission with the
    curves its verified runs left out read from their run files."""
    messages = _check_place(submission, path, root)
    messages += _check_task(submission)
    messages += _check_configuration(submission)
    messages += _check_curves_given(submission)
    run_file_messages: list[str] = []
    if submission.status == "verified":
        run_file_messages, curves = _check_run_files(submission, root)
        submission = _with_curves(submission, curves)
    elif any(run.run_files is not None for run in submission.runs):
        run_file_messages.append(
            "a self-reported submission lists run files; only verified ones do"
        )
    messages += _check_results(submission)
    return messages + run_file_messages, submission


def _check_curves_given(submission: Submission) -> list[str]:
    """A curve may be left out only by a verified run with run files, in a version 2 file."""
    messages = []
    for index, run in enumerate(submission.runs):
        if run.curve is not None:
            continue
        where = f"runs[{index}] (seed {run.seed})"
        if submission.schema_version == 1:
            messages.append(f"{where}: curve is null, but schema_version 1 needs every curve")
        elif submission.status != "verified" or run.run_files is None:
            messages.append(
                f"{where}: curve is null, but only a verified run, whose run files hold its "
                "curve, may leave it out"
            )
    return messages


def _with_curves(submission: Submission, curves: dict[int, list[CurvePoint]]) -> Submission:
    """``submission`` with each left-out curve replaced by ``curves[index]``, when known."""
    runs = [
        run.model_copy(update={"curve": curves[index]})
        if run.curve is None and index in curves
        else run
        for index, run in enumerate(submission.runs)
    ]
    return submission.model_copy(update={"runs": runs})


def _check_place(submission: Submission, path: Path, root: Path) -> list[str]:
    slug = task_slug(submission.task.env_id)
    messages = []
    if path.name != f"{submission.id}.json":
        messages.append(f"the file name should be {submission.id}.json (its id)")
    if path.parent != root / "submissions" / slug:
        messages.append(f"should be in submissions/{slug}/, the folder of {submission.task.env_id}")
    return messages


def _check_task(submission: Submission) -> list[str]:
    task = submission.task
    messages = []
    names = [objective.name for objective in task.objectives]
    if len(set(names)) != len(names):
        messages.append(f"task.objectives repeats a name: {names}")
    for objective in task.objectives:
        if not objective.low < objective.high:
            messages.append(f"objective {objective.name!r} needs low < high")
    try:
        installed = installed_task(task.env_id)
    except SawBenchError as error:
        return [*messages, str(error)]
    if task.env_spec_sha256 != installed.env_spec_sha256:
        messages.append(
            f"env spec hash {task.env_spec_sha256[:12]}... does not match the installed "
            f"{task.env_id} ({installed.env_spec_sha256[:12]}...): the environment changed"
        )
    if task.data_sha256 != installed.data_sha256:
        messages.append(
            f"data hash {task.data_sha256[:12]}... does not match the installed {task.env_id}'s "
            f"data_fingerprint() ({installed.data_sha256[:12]}...): the task data changed"
        )
    submitted = tuple((o.name, o.low, o.high) for o in task.objectives)
    if submitted != installed.objectives:
        messages.append(
            f"objectives {_bounds_text(submitted)} do not match the installed task's "
            f"{_bounds_text(installed.objectives)}"
        )
    return messages


def _bounds_text(objectives: tuple[tuple[str, float, float], ...]) -> str:
    return ", ".join(f"{name} [{low:g}, {high:g}]" for name, low, high in objectives)


def _check_configuration(submission: Submission) -> list[str]:
    train, agent = submission.train, submission.agent
    messages = []
    if "seed" in train:
        messages.append("train must not hold a seed (the seeds are listed in 'seeds')")
    if train.get("task_kwargs") not in ({}, None):
        messages.append(
            "train.task_kwargs must be empty: the leaderboard ranks registered ids as they are "
            "(register a variant id for other task options)"
        )
    task_name = train.get("task")
    if task_name not in registry.names_of(submission.task.env_id):
        messages.append(f"train.task {task_name!r} is not the submission's task")
    expected = {
        "estimator": submission.estimator,
        "weighting": agent.name,
        "weighting_kwargs": agent.kwargs,
        "priorities": agent.priorities,
    }
    for key, value in expected.items():
        if train.get(key) != value:
            messages.append(f"train.{key} {train.get(key)!r} does not match {value!r}")
    if agent.priorities is not None:
        count = len(submission.task.objectives)
        if len(agent.priorities) != count or min(agent.priorities) < 0:
            messages.append(f"agent.priorities must be {count} non-negative numbers")
        elif sum(agent.priorities) <= 0:
            messages.append("agent.priorities must have a positive sum")
    digest = config_digest(
        submission.task.model_dump(), submission.model.model_dump(), submission.train
    )
    if digest != submission.config_sha256:
        recomputed = f" (recomputed {digest[:12]}...)" if _reveal(submission) else ""
        messages.append(
            f"config_sha256 does not match the task, model and train fields{recomputed}"
        )
    return messages


def _reveal(submission: Submission) -> bool:
    """Whether messages may print the recomputed value of an inconsistent field: for a
    verified submission (recomputed from its own run files) they may; for a self-reported one
    they name the field only, so they help an honest submitter find a mistake without handing
    a forger the numbers to type in."""
    return submission.status == "verified"


def _check_results(submission: Submission) -> list[str]:
    objectives = submission.task.objectives
    names = [objective.name for objective in objectives]
    low = [objective.low for objective in objectives]
    high = [objective.high for objective in objectives]
    priorities = submission.agent.priorities
    can_aggregate = priorities is None or (
        len(priorities) == len(names) and min(priorities) >= 0 and sum(priorities) > 0
    )
    messages = []
    reveal = _reveal(submission)
    seeds = submission.seeds
    if len(set(seeds)) != len(seeds):
        messages.append(f"seeds {seeds} repeat a seed")
    if sorted(run.seed for run in submission.runs) != sorted(seeds):
        messages.append(
            f"runs hold seeds {sorted(run.seed for run in submission.runs)}, but 'seeds' lists "
            f"{sorted(seeds)}"
        )
    consistent = True
    for index, run in enumerate(submission.runs):
        where = f"runs[{index}] (seed {run.seed})"
        if run.curve is None:  # left out, and its run files could not give it (said elsewhere)
            consistent = False
            continue
        points = [("final", run.final)] + [
            (f"curve[{i}]", point.objectives) for i, point in enumerate(run.curve)
        ]
        for label, scores in points:
            if sorted(scores) != sorted(names):
                messages.append(f"{where} {label} scores {sorted(scores)}, not {names}")
                consistent = False
                continue
            for objective in objectives:
                value = scores[objective.name]
                if not objective.low <= value <= objective.high:
                    messages.append(
                        f"{where} {label}: {objective.name} = {value!r} is outside the "
                        f"objective's bounds [{objective.low:g}, {objective.high:g}]"
                    )
        steps = [point.step for point in run.curve]
        if any(later <= earlier for earlier, later in zip(steps, steps[1:], strict=False)):
            messages.append(f"{where}: curve steps {steps} are not increasing")
        if steps[-1] != run.steps:
            messages.append(f"{where}: the curve ends at step {steps[-1]}, not at {run.steps}")
        overhead = run.overhead
        if (
            overhead.seconds_per_step is not None
            and overhead.weighting_seconds_per_step is not None
            and overhead.weighting_seconds_per_step > overhead.seconds_per_step * (1 + TOLERANCE)
        ):
            messages.append(f"{where}: weighting seconds per step exceed the step's seconds")
        if not consistent:
            continue
        if can_aggregate:
            for i, point in enumerate(run.curve):
                means = [point.objectives[name] for name in names]
                expected = normalised_aggregate(means, low, high, priorities)
                if not _close(point.normalised, expected):
                    messages.append(
                        f"{where} curve[{i}].normalised = {point.normalised!r} does not match "
                        f"{expected!r}, recomputed from its objectives"
                        if reveal
                        else f"{where} curve[{i}].normalised does not match its objectives"
                    )
        last = run.curve[-1]
        for name in names:
            if not _close(run.final[name], last.objectives[name]):
                messages.append(
                    f"{where} final {name} = {run.final[name]!r} does not match the last curve "
                    f"point ({last.objectives[name]!r})"
                    if reveal
                    else f"{where} final {name} does not match the last curve point"
                )
        if not _close(run.final_normalised, last.normalised):
            messages.append(
                f"{where} final_normalised = {run.final_normalised!r} does not match the last "
                f"curve point ({last.normalised!r})"
                if reveal
                else f"{where} final_normalised does not match the last curve point"
            )
        area = curve_auc([point.model_dump() for point in run.curve])
        if not _same(run.normalised_auc, area):
            messages.append(
                f"{where} normalised_auc = {run.normalised_auc!r} does not match {area!r}, "
                "recomputed from its curve"
                if reveal
                else f"{where} normalised_auc does not match the area under its curve"
            )
    if not consistent:
        return messages
    dumped = [run.model_dump() for run in submission.runs]
    recomputed = summarise(dumped, names)
    for difference in _differences(
        submission.summary.model_dump(), recomputed, "summary", reveal=reveal
    ):
        messages.append(f"{difference}, recomputed from the per-seed results (mean over seeds)")
    if submission.hardware != distinct_hardware(dumped):
        messages.append("hardware does not list the runs' hardware (each distinct one once)")
    return messages


def _check_run_files(
    submission: Submission, root: Path
) -> tuple[list[str], dict[int, list[CurvePoint]]]:
    """A verified claim: every run's files are committed, unchanged and give the same numbers.
    Also the curves the run files give, by run index, for the runs that left theirs out."""
    messages = []
    curves: dict[int, list[CurvePoint]] = {}
    runs_root = (root / "runs").resolve()
    expected_shared = {
        "env_id": submission.task.env_id,
        "env_spec_sha256": submission.task.env_spec_sha256,
        "objectives": [o.model_dump() for o in submission.task.objectives],
        "model": submission.model.model_dump(),
        "estimator": submission.estimator,
        "agent": submission.agent.model_dump(),
        "train": submission.train,
        "saw_bench_version": submission.saw_bench.version,
    }
    folders = [run.run_files.path for run in submission.runs if run.run_files is not None]
    if len(set(folders)) != len(folders):
        messages.append("verified runs share a run folder")
    archives: dict[str, RunArchive | str] = {}  # archive path -> its runs, or why unreadable
    for index, run in enumerate(submission.runs):
        where = f"runs[{index}] (seed {run.seed})"
        files = run.run_files
        if files is None:
            messages.append(f"{where}: verified, but lists no run files")
            continue
        missing = sorted(set(RUN_FILES) - set(files.sha256))
        if missing:
            messages.append(f"{where}: verified, but gives no sha256 for {', '.join(missing)}")
            continue
        archive, folder = archive_of(files.path)
        try:
            inside = (root / archive).resolve().is_relative_to(runs_root)
        except (OSError, RuntimeError):  # a symbolic link loop
            inside = False
        if not inside:
            messages.append(f"{where}: {files.path} leads outside the leaderboard's runs/ folder")
            continue
        if archive not in archives:
            try:
                archives[archive] = read_archive(root / archive)
            except SawBenchError as error:
                archives[archive] = str(error)
        stored = archives[archive]
        if isinstance(stored, str):
            messages.append(f"{where}: verified, but its run files cannot be read: {stored}")
            continue
        if folder not in stored:
            messages.append(f"{where}: verified, but {archive} has no run folder {folder}/")
            continue
        mismatched = [
            name for name in RUN_FILES if sha256_bytes(stored[folder][name]) != files.sha256[name]
        ]
        if mismatched:
            messages += [
                f"{where}: {files.path}/{name} does not match its sha256 in the submission "
                "(changed after submit)"
                for name in mismatched
            ]
            continue
        try:
            with run_folders({folder: stored[folder]}) as temporary:
                loaded = load_run(temporary / folder)
                shared = shared_fields(loaded)
                incomplete = incomplete_reason(loaded)
                recomputed = seed_result(loaded, files.model_dump())
        except (
            SawBenchError,
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            RecursionError,
        ) as error:
            messages.append(f"{where}: the run files in {files.path} cannot be read: {error}")
            continue
        if incomplete is not None:
            messages.append(f"{where}: the run files in {files.path} are incomplete: {incomplete}")
        submitted = run.model_dump()
        if run.curve is None:  # the curve the run files give, held to the schema
            try:
                curves[index] = _CURVE.validate_python(recomputed["curve"])
            except ValidationError as error:
                detail = error.errors()[0]
                messages.append(
                    f"{where}: the curve of {files.path}/eval.jsonl is not a valid curve: "
                    f"curve{_location(detail['loc'])}: {detail['msg']}"
                )
                continue
            submitted["curve"] = recomputed["curve"]
        for difference in _differences(submitted, recomputed, where):
            messages.append(f"{difference}, recomputed from {files.path}")
        for difference in _differences(expected_shared, shared, "submission"):
            messages.append(f"{difference}, as read from {files.path}/config.json")
    return messages, curves


# ---------------------------------------------------------------------- comparing numbers
def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _same(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return _close(float(a), float(b))
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _differences(
    submitted: Any, expected: Any, where: str, limit: int = 5, reveal: bool = True
) -> list[str]:
    """Where two JSON values differ (numbers within TOLERANCE), at most ``limit`` places; with
    ``reveal=False`` the places alone, without the values."""
    found: list[str] = []
    stack = [(submitted, expected, where)]
    while stack and len(found) < limit:
        left, right, here = stack.pop()
        if isinstance(left, dict) and isinstance(right, dict):
            if set(left) != set(right):
                found.append(f"{here} has keys {sorted(left)}, expected {sorted(right)}")
                continue
            stack += [(left[key], right[key], f"{here}.{key}") for key in sorted(left)][::-1]
        elif isinstance(left, list) and isinstance(right, list):
            if len(left) != len(right):
                found.append(f"{here} has {len(left)} entries, expected {len(right)}")
                continue
            pairs = enumerate(zip(left, right, strict=True))
            stack += [(a, b, f"{here}[{i}]") for i, (a, b) in pairs][::-1]
        elif not _same(left, right):
            found.append(
                f"{here} = {left!r} does not match {right!r}"
                if reveal
                else f"{here} does not match"
            )
    return found
