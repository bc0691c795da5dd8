"""Building submissions from finished runs on disk.

Runs are grouped by configuration (task, estimator, agent with its options and priorities,
model, training backend); each group becomes one submission and needs at least MIN_SEEDS seeds
whose other training options are identical. A submission is ``verified`` when every run folder
is complete (all four run files, every step, a final evaluation): its run files are then packed
into ``<leaderboard>/runs/<task>/<id>.tar.xz`` (see :mod:`saw_bench.leaderboard._archive`), their
sha256 recorded and every number computed from the packed files, so ``validate`` can recompute
every number from them. Otherwise, or with ``copy_runs=False``, it is
``self-reported``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import write_bytes_atomic
from saw_bench.harness.runs import Run, SkippedRun, load_run, load_runs, no_runs_message
from saw_bench.leaderboard._archive import (
    SUFFIX,
    RunArchive,
    run_folders,
    stored_bytes,
    write_archive,
)
from saw_bench.leaderboard._installed import installed_task
from saw_bench.leaderboard._runs import (
    canonical_json,
    config_digest,
    distinct_hardware,
    incomplete_reason,
    seed_result,
    sha256_bytes,
    sha256_text,
    shared_fields,
    slugify,
    summarise,
    task_slug,
)
from saw_bench.leaderboard._schema import MIN_SEEDS, RUN_FILES, SCHEMA_VERSION
from saw_bench.leaderboard._validate import check_data, check_file

MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Written:
    """One submission written by :func:`submit_runs`."""

    path: Path
    status: str
    seeds: list[int]
    reason: str | None  # why it is self-reported


def submit(
    paths: str | Path | Sequence[str | Path],
    name: str,
    submitter: str,
    out_root: str | Path = "leaderboard/submissions",
    *,
    copy_runs: bool = True,
) -> list[Path]:
    """Write one submission per configuration found under ``paths`` (run folders, sweep
    folders or any folders holding them); returns the written files,
    ``<out_root>/<task-slug>/<id>.json``.

    ``name`` is the display name of the entry, ``submitter`` who submits it. Complete runs are
    packed into ``<out_root>/../runs/<task>/<id>.tar.xz`` and the submission is ``verified``;
    ``copy_runs=False`` packs nothing and marks it ``self-reported``. Nothing is written unless
    every configuration passes validation. Raises SawBenchError naming the bad value or file.
    """
    submitted = submit_runs(paths, name, submitter, out_root, copy_runs)
    return [written.path for written in submitted.written]


class Submitted(NamedTuple):
    """What :func:`submit_runs` wrote, and the run folders it left out (unfinished) with why."""

    written: list[Written]
    skipped: list[SkippedRun]


def submit_runs(
    paths: str | Path | Sequence[str | Path],
    name: str,
    submitter: str,
    out_root: str | Path = "leaderboard/submissions",
    copy_runs: bool = True,
) -> Submitted:
    """:func:`submit`, with the status of each written submission, why it is not verified, and
    the unfinished run folders left out."""
    name = _check_text("name", name)
    submitter = _check_text("submitter", submitter)
    if not slugify(name):
        raise SawBenchError(f"name must contain a letter or a digit, but got {name!r}")
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise SawBenchError("give at least one run folder or sweep folder to submit")
    out_root = Path(out_root)
    if out_root.name != "submissions":
        raise SawBenchError(
            f"out_root must be the submissions folder of a leaderboard (<leaderboard>/"
            f"submissions), but got {str(out_root)!r}"
        )
    root = out_root.parent
    loaded = load_runs(paths)
    if not loaded.runs:
        raise SawBenchError(no_runs_message(paths, loaded.skipped))
    groups: dict[str, list[Run]] = {}
    for run in sorted(loaded.runs, key=lambda r: (r.seed, str(r.path))):
        groups.setdefault(_group_key(run), []).append(run)
    git_commit = _git_commit()
    plans = [
        _plan(groups[key], name, submitter, out_root, copy_runs, git_commit)
        for key in sorted(groups)
    ]
    ids = [plan["submission"]["id"] for plan in plans]
    if len(set(ids)) != len(ids):  # only when two configurations hash alike: never expected
        raise SawBenchError(f"two configurations got the same submission id: {ids}")
    written = []
    for plan in plans:
        submission = plan["submission"]
        path = out_root / task_slug(submission["task"]["env_id"]) / f"{submission['id']}.json"
        if plan["archive"] is not None:
            write_archive(root / plan["archive"]["path"], plan["archive"]["runs"])
        # one line, the canonical spelling: a submission is data, read back with json.loads
        write_bytes_atomic(path, (canonical_json(_stored(submission)) + "\n").encode())
        messages, _ = check_file(path, root)
        if messages:  # a bug if it happens: everything was checked before writing
            raise SawBenchError(f"{path} was written but does not validate: {'; '.join(messages)}")
        written.append(
            Written(path, submission["status"], list(submission["seeds"]), plan["reason"])
        )
    return Submitted(written, list(loaded.skipped))


def _stored(submission: dict[str, Any]) -> dict[str, Any]:
    """A submission as it is written: a verified run's curve is left out, as its run files
    hold it (schema version 2); validate reads it back from them."""
    runs = [
        {**run, "curve": None} if run["run_files"] is not None else run
        for run in submission["runs"]
    ]
    return {**submission, "runs": runs}


def _check_text(label: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SawBenchError(f"{label} must be a non-empty string, but got {value!r}")
    if len(value.strip()) > MAX_NAME_CHARS:
        raise SawBenchError(f"{label} must be at most {MAX_NAME_CHARS} characters long")
    return value.strip()


def _group_key(run: Run) -> str:
    model = run.config.get("model") if isinstance(run.config.get("model"), dict) else {}
    return canonical_json(
        [
            run.task_id,
            run.estimator,
            run.agent,
            run.agent_options,
            run.priorities,
            model.get("name"),
            model.get("revision"),
            run.backend,
        ]
    )


def _describe(run: Run) -> str:
    options = f" {canonical_json(run.agent_options)}" if run.agent_options else ""
    engine = f" [{run.backend}]" if run.backend != "saw-bench" else ""
    return f"{run.task_id} {run.estimator} {run.agent}{options}{engine}"


def _plan(
    runs: list[Run],
    name: str,
    submitter: str,
    out_root: Path,
    copy_runs: bool,
    git_commit: str | None,
) -> dict[str, Any]:
    """The submission of one configuration, checked, and the archive of its run files."""
    label = _describe(runs[0])
    seeds = [run.seed for run in runs]
    if len(set(seeds)) != len(seeds):
        repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        folders = [str(run.path) for run in runs if run.seed in repeated]
        raise SawBenchError(f"{label}: seed(s) {repeated} appear more than once: {folders}")
    if len(runs) < MIN_SEEDS:
        raise SawBenchError(
            f"{label}: {len(runs)} seed(s) {seeds} found; a submission needs at least "
            f"{MIN_SEEDS} seeds of each configuration (run more seeds, or leave these runs out)"
        )
    for run in runs:
        steps = run.summary.get("steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise SawBenchError(f"{run.path / 'summary.json'}: 'steps' should be an integer >= 0")
    shared = [shared_fields(run) for run in runs]
    for run, fields in zip(runs[1:], shared[1:], strict=True):
        differing = sorted(
            key
            for key in set(fields["train"]) | set(shared[0]["train"])
            if fields["train"].get(key) != shared[0]["train"].get(key)
        )
        differing += [k for k in fields if k != "train" and fields[k] != shared[0][k]]
        if differing:
            raise SawBenchError(
                f"{label}: the runs {runs[0].path} and {run.path} differ in {differing}; the "
                "seeds of one submission may differ in the seed only"
            )
    first = shared[0]
    task_kwargs = first["train"].get("task_kwargs")
    if task_kwargs:
        raise SawBenchError(
            f"{label}: runs with task options {task_kwargs} cannot be submitted; the leaderboard "
            "ranks registered ids as they are (register a variant id for these options)"
        )
    installed = installed_task(first["env_id"])
    reasons = [f"{run.path}: {r}" for run in runs if (r := incomplete_reason(run)) is not None]
    verified = copy_runs and not reasons
    reason = None if verified else ("copy_runs=False" if not copy_runs else "; ".join(reasons))

    task = {
        "env_id": first["env_id"],
        "env_spec_sha256": first["env_spec_sha256"],
        "data_sha256": installed.data_sha256,
        "objectives": first["objectives"],
    }
    digest = config_digest(task, first["model"], first["train"])
    estimator, agent = first["estimator"], first["agent"]["name"]
    run_digests = sorted(sha256_text(canonical_json(run.config)) for run in runs)
    identity = sha256_text(canonical_json([digest, run_digests, name, submitter]))
    submission_id = f"{slugify(name)[:48].strip('-.')}-{estimator}-{agent}-{identity[:10]}"
    slug = task_slug(task["env_id"])

    archive: dict[str, Any] | None = None
    if verified:
        archive = {"path": f"runs/{slug}/{submission_id}{SUFFIX}", "runs": _stored_runs(runs)}
        results = _verified_results(runs, archive["runs"], f"runs/{slug}/{submission_id}")
    else:
        results = [seed_result(run) for run in runs]
    names = [objective["name"] for objective in first["objectives"]]
    submission = {
        "schema_version": SCHEMA_VERSION,
        "id": submission_id,
        "name": name,
        "submitter": submitter,
        "status": "verified" if verified else "self-reported",
        "task": task,
        "saw_bench": {"version": first["saw_bench_version"], "git_commit": git_commit},
        "model": first["model"],
        "estimator": estimator,
        "agent": first["agent"],
        "train": first["train"],
        "config_sha256": digest,
        "seeds": seeds,
        "runs": results,
        "summary": summarise(results, names),
        "hardware": distinct_hardware(results),
    }
    # Everything but the run files (packed only once every configuration passes).
    path = out_root / slug / f"{submission_id}.json"
    as_self_reported = {
        **submission,
        "status": "self-reported",
        "runs": [{**result, "run_files": None} for result in results],
    }
    messages, _ = check_data(as_self_reported, path, out_root.parent)
    if messages:
        raise SawBenchError(f"{label}: cannot submit: {'; '.join(messages)}")
    return {"submission": submission, "archive": archive, "reason": reason}


def _stored_runs(runs: list[Run]) -> RunArchive:
    """Each run's files as the leaderboard stores them, by seed folder."""
    return {
        f"seed-{run.seed}": {
            name: stored_bytes(name, (run.path / name).read_bytes()) for name in RUN_FILES
        }
        for run in runs
    }


def _verified_results(runs: list[Run], stored: RunArchive, folder: str) -> list[dict[str, Any]]:
    """The per-seed results, computed from the stored files (what ``validate`` reads back)."""
    results = []
    with run_folders(stored) as root:
        for run in runs:
            files = stored[f"seed-{run.seed}"]
            run_files = {
                "path": f"{folder}/seed-{run.seed}",
                "sha256": {name: sha256_bytes(data) for name, data in files.items()},
            }
            results.append(seed_result(load_run(root / f"seed-{run.seed}"), run_files))
    return results


def _git_commit() -> str | None:
    """The commit of the saw-bench checkout this code runs from, when it is one."""
    package = Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != package:
        return None
    commit = lines[1]
    return commit if len(commit) == 40 and all(c in "0123456789abcdef" for c in commit) else None
