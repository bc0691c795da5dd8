"""Rerunning one seed of a verified submission with today's code: ``leaderboard reproduce``.

The seed's ``config.json`` (from the submission's run archive, :mod:`._archive`) gives the
options, the policy and its weights revision, and the thread count. The policy is rebuilt (a
tiny policy by its recorded name, :func:`saw_bench.policy.recipe_named`); when its revision is
not the recorded one the runs cannot pair and nothing is trained. Otherwise the seed is trained
again in a temporary folder and every recorded number is compared: each metrics row (its
statistics rounded as the archive stores them), each eval row and the summary, to
:data:`TOLERANCE`. Timings and thread counts (:data:`TIMING_FIELDS`) are left out. The first
number that moved is named with its file, step, field and both values.

The recorded CPU kernels (``hardware.cpu_kernels``) are set against this process's: float32
runs on the CPU agree only on the same kernels. The recorded code version (``config.json``'s
``code``: git commit, dirty flag, source sha256) is set against today's
(:func:`saw_bench.training.provenance.code_version`), and the report says when they differ.
Reproducing checks the numbers against a rerun; whether the files still match the submission's
sha256 is ``leaderboard validate``'s check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import torch
from pydantic import ValidationError

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.run import train_config
from saw_bench.leaderboard._archive import archive_of, read_archive, stored_bytes
from saw_bench.leaderboard._schema import Submission
from saw_bench.policy import build_tiny_policy, recipe_named
from saw_bench.policy._hf import weights_revision
from saw_bench.training.config import TrainConfig
from saw_bench.training.provenance import code_version
from saw_bench.training.trainer import recorded_task

#: Two recorded numbers agree when within this, absolute or relative.
TOLERANCE = 1e-6
#: Fields that say how long a step took or how the machine ran it, not what it computed.
TIMING_FIELDS = frozenset(
    (
        "seconds",
        "wall_seconds",
        "seconds_per_step",
        "weighting_seconds_per_step",
        "weighting_overhead",
        "threads",
        "batch",
    )
)
#: The recorded files compared, in this order.
COMPARED_FILES = ("metrics.jsonl", "eval.jsonl", "summary.json")


@dataclass(frozen=True)
class Reproduction:
    """What ``leaderboard reproduce`` found for one seed."""

    submission: str
    seed: int
    code: str  # the recorded and today's code version, in words
    code_differs: bool
    policy: str  # the policy, its recorded revision and the one rebuilt here
    kernels: str  # the recorded CPU kernels and this process's
    paired: bool  # the rebuilt policy has the recorded revision (so the seed was rerun)
    compared: int  # numbers compared
    difference: str | None  # the first number that moved

    @property
    def agrees(self) -> bool:
        return self.paired and self.difference is None

    def report(self) -> str:
        lines = [f"{self.submission}, seed {self.seed}", f"  code: {self.code}"]
        lines.append(f"  policy: {self.policy}")
        lines.append(f"  CPU kernels: {self.kernels}")
        if not self.paired:
            lines.append(
                "  cannot pair: the policy rebuilt here is not the recorded one, so a rerun "
                "would compare runs of different weights; nothing was trained"
            )
        elif self.difference is None:
            lines.append(
                f"  reproduced: all {self.compared} recorded numbers agree to {TOLERANCE:g}"
            )
        else:
            lines.append(f"  does not reproduce: {self.difference}")
        return "\n".join(lines)


def reproduce(
    submission: str | Path,
    seed: int | None = None,
    root: str | Path = "leaderboard",
    progress: bool = False,
) -> Reproduction:
    """Rerun ``seed`` (default: the first) of a verified submission, given as its file or its
    id under ``root/submissions``, and compare its numbers (see the module docstring)."""
    root = Path(root)
    path = _submission_file(submission, root)
    try:
        entry = Submission.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise SawBenchError(f"{path} is not a readable submission: {error}") from None
    if entry.status != "verified":
        raise SawBenchError(f"{path} is self-reported: it has no run files to rerun")
    seeds = [run.seed for run in entry.runs]
    chosen = seeds[0] if seed is None else seed
    if chosen not in seeds:
        raise SawBenchError(f"{entry.id} has no seed {chosen}; its seeds are {seeds}")
    run_files = entry.runs[seeds.index(chosen)].run_files
    assert run_files is not None  # a verified submission lists its runs' files
    archive, folder = archive_of(run_files.path)
    stored = read_archive(root / archive)
    if folder not in stored:
        raise SawBenchError(f"{root / archive} has no run folder {folder}/")
    recorded = stored[folder]
    config = json.loads(recorded["config.json"])
    code, code_differs = _code_versions(config)
    kernels = _kernels(config)
    model = config["model"]
    policy_path, revision = _rebuild(model["name"], progress)
    policy = f"{model['name']}: recorded revision {model['revision']}, rebuilt here {revision}"
    if revision != model["revision"]:
        return Reproduction(entry.id, chosen, code, code_differs, policy, kernels, False, 0, None)
    train = recorded_task(config, dict(config["train"]))
    train["model"] = policy_path
    if train.get("threads") is None:
        train["threads"] = config.get("hardware", {}).get("threads")
    try:
        options = TrainConfig(**train)
    except (TypeError, ValueError) as error:
        raise SawBenchError(
            f"the recorded options cannot run with this saw-bench: {error}"
        ) from None
    with TemporaryDirectory(prefix="saw-bench-reproduce-") as temporary:
        run_dir = train_config(
            options, out_dir=Path(temporary) / "run", progress=progress, plot=False
        )
        rerun = {name: (run_dir / name).read_bytes() for name in COMPARED_FILES}
    compared, difference = compare_run_files(recorded, rerun)
    return Reproduction(
        entry.id, chosen, code, code_differs, policy, kernels, True, compared, difference
    )


def compare_run_files(
    recorded: dict[str, bytes], rerun: dict[str, bytes]
) -> tuple[int, str | None]:
    """(numbers compared, the first difference in words or None) between a recorded run's
    files and a rerun's; the rerun's metrics are rounded as the archive stores them."""
    compared = 0
    for name in COMPARED_FILES:
        old, new = recorded[name], stored_bytes(name, rerun[name])
        if name == "summary.json":
            old_rows, new_rows = [json.loads(old)], [json.loads(new)]
        else:
            old_rows = [json.loads(line) for line in old.decode().splitlines() if line.strip()]
            new_rows = [json.loads(line) for line in new.decode().splitlines() if line.strip()]
        for index, (before, after) in enumerate(zip(old_rows, new_rows, strict=False)):
            where = name if name == "summary.json" else f"{name} step {before.get('step', index)}"
            count, moved = _first_difference(before, after, "")
            compared += count
            if moved is not None:
                return compared, f"{where}: {moved}"
        if len(old_rows) != len(new_rows):
            return compared, f"{name}: {len(old_rows)} rows recorded, {len(new_rows)} rerun"
    return compared, None


def _first_difference(recorded: Any, rerun: Any, field: str) -> tuple[int, str | None]:
    """(numbers compared, the first field that differs in words or None)."""
    if isinstance(recorded, dict) and isinstance(rerun, dict):
        count = 0
        for key in sorted(set(recorded) | set(rerun)):
            if key in TIMING_FIELDS:
                continue
            here = f"{field}.{key}" if field else key
            if key not in recorded or key not in rerun:
                side = "the rerun" if key not in rerun else "the record"
                return count, f"{here} is missing from {side}"
            more, moved = _first_difference(recorded[key], rerun[key], here)
            count += more
            if moved is not None:
                return count, moved
        return count, None
    if isinstance(recorded, list) and isinstance(rerun, list) and len(recorded) == len(rerun):
        count = 0
        for index, (before, after) in enumerate(zip(recorded, rerun, strict=True)):
            more, moved = _first_difference(before, after, f"{field}[{index}]")
            count += more
            if moved is not None:
                return count, moved
        return count, None
    if _is_number(recorded) and _is_number(rerun):
        same = math.isclose(recorded, rerun, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
        return 1, None if same else f"{field} recorded {recorded!r}, rerun {rerun!r}"
    return 0, None if recorded == rerun else f"{field} recorded {recorded!r}, rerun {rerun!r}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _submission_file(submission: str | Path, root: Path) -> Path:
    """A submission file given as a path, or found by its id under ``root/submissions``."""
    path = Path(submission)
    if path.is_file():
        return path
    found = sorted((root / "submissions").glob(f"*/{path.name.removesuffix('.json')}.json"))
    if len(found) == 1:
        return found[0]
    raise SawBenchError(
        f"{str(submission)!r} is neither a submission file nor the id of one under "
        f"{root / 'submissions'}"
    )


def _rebuild(name: str, progress: bool) -> tuple[str, str]:
    """(what to train from, its weights revision) for a recorded policy name: a tiny policy
    rebuilt by its recipe, or a local model folder as it is now."""
    if name.startswith("tiny/"):
        folder = build_tiny_policy(recipe_named(name), progress=progress)
        return name, weights_revision(folder)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise SawBenchError(
            f"the run trained {name!r}, which is not a tiny policy or a folder here; only "
            "those can be checked for their weights revision"
        )
    return name, weights_revision(folder)


def _kernels(config: dict[str, Any]) -> str:
    """The recorded CPU kernels against this process's, in words: float32 runs on the CPU give
    the same numbers only on the same kernels (PyTorch picks them from the CPU, or from
    ``ATEN_CPU_CAPABILITY``)."""
    here = torch.backends.cpu.get_cpu_capability()
    recorded = (config.get("hardware") or {}).get("cpu_kernels")
    if recorded is None:
        return (
            f"not recorded (a run before saw-bench recorded them), here {here}; the training "
            "run's numbers may move on other kernels (ATEN_CPU_CAPABILITY picks them; the "
            "policy's build chooses its own, see the revision above)"
        )
    if recorded == here:
        return f"{here}, as recorded"
    return (
        f"recorded {recorded}, here {here}: numbers may move on other kernels "
        f"(ATEN_CPU_CAPABILITY={recorded.lower()} picks the recorded ones)"
    )


def _code_versions(config: dict[str, Any]) -> tuple[str, bool]:
    """The recorded and today's code version in words, and whether they differ."""
    today = code_version()
    recorded = config.get("code")
    if not isinstance(recorded, dict):
        version = config.get("versions", {}).get("saw_bench", "unknown")
        commit = config.get("git_commit") or "none"
        return (
            f"the run records no exact code version (saw-bench {version}, git commit "
            f"{commit}); rerun with {_describe(today)}",
            True,
        )
    if recorded.get("source_sha256") == today["source_sha256"]:
        return f"the recorded code, {_describe(today)}", False
    return f"differs: recorded {_describe(recorded)}, rerun with {_describe(today)}", True


def _describe(code: dict[str, Any]) -> str:
    source = f"source sha256 {str(code.get('source_sha256'))[:12]}"
    commit = code.get("git_commit")
    if not commit:
        return f"saw-bench {code.get('saw_bench')}, {source}"
    dirty = ", with changes" if code.get("git_dirty") else ""
    return f"commit {commit[:12]}{dirty} ({source})"
