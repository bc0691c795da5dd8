"""What a run records about itself in ``config.json``: enough to reproduce and to verify it."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saw_bench.core import VERSION, registry
from saw_bench.core.task import TextTask
from saw_bench.policy import Policy, unsupported_reason
from saw_bench.training.config import TrainConfig
from saw_bench.weighting import WeightingAgent


def resolved_config(
    config: TrainConfig, task: TextTask, policy: Policy, agent: WeightingAgent
) -> dict[str, Any]:
    """``config.json``: the options, the task's spec, objectives and data hash, the model and
    its revision, the agent, whether the fast path runs (and why not), versions, hardware and
    the exact saw-bench code (:func:`code_version`)."""
    import transformers

    env_spec = registry.spec(config.task)
    return {
        "train": dataclasses.asdict(config),
        "task_id": env_spec.id,
        "env_spec": json.loads(env_spec.to_json()),
        "objectives": [dataclasses.asdict(o) for o in task.objectives],
        "task_data": task.data_fingerprint(),
        "git_commit": code_version()["git_commit"],
        "code": code_version(),
        "model": {
            "name": policy.name,
            "revision": policy.revision,
            "parameters": sum(p.numel() for p in policy.model.parameters()),
        },
        "agent": {"name": agent.name, "needs_gramian": agent.needs_gramian},
        # which loop decodes and trains: saw-bench's (FastLlama) or HF's, and why not ours
        "fast_path": {
            phase: fast_path_use(config, policy, training=phase == "train")
            for phase in ("decode", "train")
        },
        "versions": {
            "saw_bench": VERSION,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "hardware": {
            "device": str(policy.device),
            "machine": platform.machine(),
            "threads": torch.get_num_threads(),
            # PyTorch's CPU kernels (AVX512, AVX2, DEFAULT, ...): float32 CPU runs give the
            # same numbers only on the same kernels
            "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
        },
    }


def fast_path_use(config: TrainConfig, policy: Policy, training: bool) -> dict[str, Any]:
    """``{"used": bool, "why_not": str | None}`` for decoding or training."""
    if not config.fast_path:
        return {"used": False, "why_not": "fast_path = false"}
    reason = unsupported_reason(policy.model, training=training)
    return {"used": reason is None, "why_not": reason}


#: The files of the package that make its code: modules and the package data the wheel ships.
SOURCE_SUFFIXES = (".py", ".json", ".jsonl", ".md", ".txt")


@functools.cache
def code_version() -> dict[str, Any]:
    """The exact saw-bench code this process runs.

    ``{"saw_bench": version, "git_commit": sha | None, "git_dirty": bool | None,
    "source_sha256": sha256}``. ``git_commit`` is the commit of the saw-bench checkout the
    package is imported from (None for an installed package, or without git), ``git_dirty``
    whether its ``saw_bench/`` or ``envs/`` differ from that commit (changed or new files).
    ``source_sha256`` (:func:`source_sha256`) names the code either way, so two runs of a
    dirty checkout, or of an installed wheel, can be told apart or matched.
    """
    commit, dirty = git_state(Path(__file__).resolve().parents[2])
    return {
        "saw_bench": VERSION,
        "git_commit": commit,
        "git_dirty": dirty,
        "source_sha256": source_sha256(),
    }


def source_sha256(roots: Mapping[str, Path] | None = None) -> str:
    """sha256 over the package's source files (:data:`SOURCE_SUFFIXES`), in sorted order of
    their names inside the package (``saw_bench/...``, environments ``saw_bench/envs/...``),
    each as ``name NUL length NUL bytes``: the same for a checkout and for the wheel built
    from it. ``roots``: name prefix -> folder (default: this package and its environments);
    files of a later prefix's folder are left out of an earlier one's."""
    if roots is None:
        from saw_bench import envs  # the environment families: envs/ in a checkout

        package = Path(__file__).resolve().parents[1]
        roots = {"saw_bench": package, "saw_bench/envs": Path(envs.__path__[0]).resolve()}
    files: dict[str, Path] = {}
    nested = {
        prefix: [other for other in roots.values() if other != root and other.is_relative_to(root)]
        for prefix, root in roots.items()
    }
    for prefix, root in roots.items():
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            if any(path.is_relative_to(other) for other in nested[prefix]):
                continue  # hashed under its own prefix (installed, envs lies inside the package)
            hidden = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
            if path.is_file() and path.suffix in SOURCE_SUFFIXES and not hidden:
                files[f"{prefix}/{relative.as_posix()}"] = path
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree whose top folder is ``root`` (for saw-bench: the
    folder holding the package); (None, None) when ``root`` is not the top of a work tree (an
    installed package in site-packages) or without git. Dirty: ``saw_bench/`` or ``envs/``
    hold changed or new files."""
    root = Path(root).resolve()
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != root:
        return None, None
    commit = (_git(root, "rev-parse", "HEAD") or "").strip()
    if len(commit) != 40:
        return None, None
    changes = _git(root, "status", "--porcelain", "--", "saw_bench", "envs")
    return commit, None if changes is None else bool(changes.strip())


def _git(root: Path, *args: str) -> str | None:
    """A git command's output in ``root`` (None when git is missing or fails). The checkout may
    belong to another user (a container, a shared machine): it is named a safe directory for
    this command only, so git answers instead of refusing."""
    try:
        completed = subprocess.run(
            ["git", "-c", f"safe.directory={root}", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout
