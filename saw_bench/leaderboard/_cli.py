"""The text the CLI verbs ``submit`` and ``leaderboard validate|build`` print."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard._build import GENERATED, build
from saw_bench.leaderboard._reproduce import reproduce
from saw_bench.leaderboard._submit import submit_runs
from saw_bench.leaderboard._validate import check_leaderboard


def submit_command(
    paths: Sequence[str | Path],
    name: str,
    submitter: str,
    out_root: str | Path = "leaderboard/submissions",
) -> str:
    """``python -m saw_bench submit RUN_OR_SWEEP_DIR... --name NAME``: what was written."""
    written, skipped = submit_runs(paths, name, submitter, out_root)
    lines = [f"wrote {len(written)} submission(s):"]
    for entry in written:
        seeds = ", ".join(str(seed) for seed in entry.seeds)
        lines.append(f"  {entry.path}  ({entry.status}, seeds {seeds})")
        if entry.reason:
            lines.append(f"    self-reported because: {entry.reason}")
    if skipped:
        lines.append(f"left out {len(skipped)} run folder(s):")
        lines += [f"  {run.path}: {run.reason}" for run in skipped]
    lines.append(
        "check them with `python -m saw_bench leaderboard validate` and regenerate the tables "
        "with `python -m saw_bench leaderboard build`"
    )
    return "\n".join(lines)


def leaderboard_validate_command(root: str | Path = "leaderboard") -> tuple[str, int]:
    """``python -m saw_bench leaderboard validate``: the report and the exit code (1 when any
    submission has a problem)."""
    problems, valid = check_leaderboard(Path(root))
    if not problems:
        return f"{root}: {len(valid)} submission(s), all valid", 0
    files = len({problem.path for problem in problems})
    lines = [f"{root}: {len(problems)} problem(s) in {files} file(s):"]
    lines += [f"  {problem}" for problem in problems]
    return "\n".join(lines), 1


def leaderboard_build_command(root: str | Path = "leaderboard", correction: str = "holm") -> str:
    """``python -m saw_bench leaderboard build [--correction holm|bh]``: writes the generated
    files, or raises SawBenchError listing the problems (nothing is written then)."""
    problems = build(root, correction=correction)
    if problems:
        listing = "\n".join(f"  {problem}" for problem in problems)
        raise SawBenchError(
            f"{root} has {len(problems)} problem(s); nothing was written:\n{listing}"
        )
    written = ", ".join(str(Path(root) / name) for name in GENERATED)
    return f"wrote {written}"


def leaderboard_reproduce_command(
    submission: str | Path, seed: int | None = None, root: str | Path = "leaderboard"
) -> tuple[str, int]:
    """``python -m saw_bench leaderboard reproduce SUBMISSION [--seed N]``: the report and the
    exit code (1 when the seed cannot pair with its record or a number moved)."""
    found = reproduce(submission, seed=seed, root=root, progress=True)
    return found.report(), 0 if found.agrees else 1
