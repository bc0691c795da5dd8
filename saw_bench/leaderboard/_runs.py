"""From finished run folders to the parts of a submission, and the hashes that tie them together.

Runs are read by :func:`saw_bench.harness.runs.load_run`, so the leaderboard and ``compare`` share
one definition of the final scores and of the normalised aggregate. ``submit`` builds the
per-seed results with :func:`seed_result`; ``validate`` calls the same function on the committed
run files of a ``verified`` submission and compares.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.harness.runs import AGGREGATE, Run
from saw_bench.harness.statistics import normalised_auc
from saw_bench.leaderboard._schema import MAX_CURVE_POINTS

#: Size limits: a submission file, and each file of a committed run folder.
MAX_SUBMISSION_BYTES = 1 << 20
MAX_RUN_FILE_BYTES = 16 << 20


def canonical_json(value: Any) -> str:
    """The one JSON spelling that hashes are taken of: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def env_spec_sha256(env_spec: dict[str, Any]) -> str:
    """The hash that says two runs ran the same environment: sha256 of the canonical JSON of
    its id (with the version) and its kwargs, without module paths (the class that implements
    a task, Gymnasium's entry point), so moving code keeps results comparable. The task's data
    is hashed apart (``data_sha256``)."""
    kwargs = env_spec.get("kwargs") or {}
    kwargs = {key: value for key, value in kwargs.items() if key != "task"}
    return sha256_text(canonical_json({"id": env_spec.get("id"), "kwargs": kwargs}))


def slugify(text: str) -> str:
    """Lower-case letters, digits, dots and dashes: ``"My SAW run!"`` -> ``"my-saw-run"``."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")


def task_slug(env_id: str) -> str:
    """Folder name of a task's submissions: ``saw/ToolCall-Synth-v0`` -> ``toolcall-synth-v0``."""
    return slugify(env_id.removeprefix("saw/"))


def config_digest(task: dict[str, Any], model: dict[str, Any], train: dict[str, Any]) -> str:
    """sha256 of the configuration shared by a submission's seeds: the task (id, spec hash,
    data hash), the model (name, revision, parameters) and the training options but the seed."""
    shared_task = {key: task[key] for key in ("env_id", "env_spec_sha256", "data_sha256")}
    return sha256_text(canonical_json({"task": shared_task, "model": model, "train": train}))


def curve_indices(count: int, limit: int = MAX_CURVE_POINTS) -> list[int]:
    """Evenly spread indices of ``count`` eval rows, at most ``limit``, first and last kept."""
    if count <= limit:
        return list(range(count))
    return sorted({i * (count - 1) // (limit - 1) for i in range(limit)})


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def curve_auc(curve: Sequence[dict[str, Any]]) -> float | None:
    """Normalised area under a submitted curve (None for fewer than two points)."""
    steps = [point["step"] for point in curve]
    values = [point["normalised"] for point in curve]
    return _finite_or_none(normalised_auc(steps, values))


def seed_result(run: Run, run_files: dict[str, Any] | None = None) -> dict[str, Any]:
    """The per-seed entry of a submission, computed from a run folder.

    The curve is the held-out eval curve (downsampled to MAX_CURVE_POINTS); ``final`` and
    ``final_normalised`` are its last point, ``normalised_auc`` its area; overheads come from
    the per-step seconds in metrics.jsonl.
    """
    names = run.objective_names
    table = run.evaluations
    curve = []
    for index in curve_indices(len(table)):
        row = table.iloc[index]
        curve.append(
            {
                "step": int(row["step"]),
                "wall_seconds": float(row["wall_seconds"]),
                "objectives": {name: float(row[name]) for name in names},
                "normalised": float(row[AGGREGATE]),
            }
        )
    total = run.metrics["seconds_total"].to_numpy(dtype=float)
    weight = run.metrics["seconds_weight"].to_numpy(dtype=float)
    overhead = {
        "seconds_per_step": float(total.mean()) if total.size else None,
        "weighting_seconds_per_step": float(weight.mean()) if total.size else None,
        "weighting_overhead": float(weight.sum() / total.sum()) if total.sum() > 0 else None,
    }
    config = run.config
    versions = config.get("versions") if isinstance(config.get("versions"), dict) else {}
    hardware = config.get("hardware") if isinstance(config.get("hardware"), dict) else {}
    steps = run.summary.get("steps")
    return {
        "seed": run.seed,
        "steps": steps if isinstance(steps, int) and not isinstance(steps, bool) else -1,
        "config_sha256": sha256_text(canonical_json(config)),
        "final": dict(curve[-1]["objectives"]),
        "final_normalised": curve[-1]["normalised"],
        "normalised_auc": curve_auc(curve),
        "curve": curve,
        "overhead": overhead,
        "hardware": hardware,
        "versions": {key: value for key, value in versions.items() if isinstance(value, str)},
        "run_files": run_files,
    }


def shared_fields(run: Run) -> dict[str, Any]:
    """What every seed of one submission must share, read from a run's config.json."""
    config = run.config
    where = run.path / "config.json"
    env_spec = config.get("env_spec")
    model = config.get("model")
    if not isinstance(env_spec, dict):
        raise SawBenchError(f"{where} has no 'env_spec' object")
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise SawBenchError(f"{where} has no 'model' object with a name")
    versions = config.get("versions")
    version = versions.get("saw_bench") if isinstance(versions, dict) else None
    if not isinstance(version, str):
        raise SawBenchError(f"{where} has no versions.saw_bench")
    # the seed differs by design; the trackers a run was followed in change none of its numbers
    train = {k: v for k, v in config["train"].items() if k not in ("seed", "report_to")}
    return {
        "env_id": run.task_id,
        "env_spec_sha256": env_spec_sha256(env_spec),
        "objectives": [
            {"name": o.name, "low": float(o.low), "high": float(o.high)} for o in run.objectives
        ],
        "model": {
            "name": model["name"],
            "revision": model.get("revision"),
            "parameters": model.get("parameters"),
        },
        "estimator": run.estimator,
        "agent": {
            "name": run.agent,
            "kwargs": run.agent_options,
            "priorities": None if run.priorities is None else list(run.priorities),
        },
        "train": train,
        "saw_bench_version": version,
    }


def incomplete_reason(run: Run) -> str | None:
    """Why a run's files do not hold the whole run (None when they do): every training step
    in metrics.jsonl and an evaluation at the last step."""
    steps = run.summary.get("steps")
    target = run.config["train"].get("steps")
    if not isinstance(steps, int) or isinstance(steps, bool):
        return "summary.json has no integer 'steps'"
    if steps != target:
        return f"summary.json says {steps} steps but config.json asks for {target}"
    recorded = run.metrics["step"].tolist()
    if recorded != list(range(1, steps + 1)):
        return f"metrics.jsonl holds {len(recorded)} rows, not steps 1 to {steps}"
    last = int(run.evaluations["step"].iloc[-1])
    if last != steps:
        return f"the last evaluation is at step {last}, not {steps}"
    return None


def summarise(runs: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """A submission's summary: the mean over seeds of every per-seed number."""

    def mean(values: list[Any]) -> float | None:
        if any(value is None for value in values):
            return None
        return float(np.mean(values))

    overheads = [run["overhead"] for run in runs]
    return {
        "seeds": len(runs),
        "final": {name: float(np.mean([run["final"][name] for run in runs])) for name in names},
        "final_normalised": float(np.mean([run["final_normalised"] for run in runs])),
        "normalised_auc": mean([run["normalised_auc"] for run in runs]),
        "seconds_per_step": mean([entry["seconds_per_step"] for entry in overheads]),
        "weighting_overhead": mean([entry["weighting_overhead"] for entry in overheads]),
    }


def distinct_hardware(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The different hardware descriptions of the seeds, in a fixed order."""
    unique = {canonical_json(run["hardware"]): run["hardware"] for run in runs}
    return [unique[key] for key in sorted(unique)]
