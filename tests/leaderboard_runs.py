"""Hand-made run folders for the leaderboard tests, with their expected numbers worked out here.

The runs are on saw/ToolCall-Synth-v0 (objectives format [0, 1] and correctness [-3, 3]) and
have 4 training steps, evaluated at steps 0, 2 and 4. Every number the tests expect is computed
in this file with plain arithmetic, not by saw-bench:

    normalised = (format - 0) / 1 / 2 + (correctness + 3) / 6 / 2
    AUC over eval steps 0, 2, 4 = (n0 + 2 n1 + n2) / 4       (trapezoids, divided by the span 4)
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from saw_bench.core import registry

TASK_ID = "saw/ToolCall-Synth-v0"
STEPS = 4
EVAL_STEPS = (0, 2, 4)
STEP_SECONDS = 1.0
WEIGHT_SECONDS = 0.01
#: SAW's format is this much above static's at every evaluation, for every seed.
SAW_FORMAT_GAIN = 0.1
#: Format above static's, per agent (static and agents not listed: 0).
FORMAT_GAINS = {"saw": SAW_FORMAT_GAIN, "mgda": 0.05}


def scores(agent: str, seed: int) -> list[tuple[float, float]]:
    """(format, correctness) at eval steps 0, 2, 4 for one hand-made run."""
    gain = FORMAT_GAINS.get(agent, 0.0)
    formats = [0.25 + gain, 0.5 + gain, 0.75 + gain]
    corrections = [-1.5, 0.0, 1.5 - 0.3 * seed]
    return list(zip(formats, corrections, strict=True))


def normalised(format_score: float, correctness: float) -> float:
    return (format_score / 1.0 + (correctness + 3.0) / 6.0) / 2.0


def hand_curve(agent: str, seed: int) -> list[dict[str, Any]]:
    """The held-out curve of one hand-made run, as a submission's ``curve`` spells it."""
    return [
        {
            "step": step,
            "wall_seconds": step * STEP_SECONDS,
            "objectives": {"format": format_score, "correctness": correctness},
            "normalised": normalised(format_score, correctness),
        }
        for step, (format_score, correctness) in zip(EVAL_STEPS, scores(agent, seed), strict=True)
    ]


def expected_final_normalised(agent: str, seed: int) -> float:
    return normalised(*scores(agent, seed)[-1])


def expected_auc(agent: str, seed: int) -> float:
    n0, n1, n2 = (normalised(*point) for point in scores(agent, seed))
    return (n0 + 2 * n1 + n2) / 4


def write_run(
    folder: Path,
    agent: str = "static",
    seed: int = 0,
    estimator: str = "grpo",
    train_changes: dict[str, Any] | None = None,
    metrics_rows: int = STEPS,
    model: str = "tiny-toolcall",
) -> Path:
    """A finished run folder like the trainer writes (config, metrics, eval, summary), of the
    policy named ``model``."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = registry.spec(TASK_ID)
    train = {
        "task": "toolcall",
        "task_kwargs": {},
        "weighting": agent,
        "weighting_kwargs": {},
        "priorities": None,
        "estimator": estimator,
        "steps": STEPS,
        "seed": seed,
        "model": "tiny",
        "device": "cpu",
        "prompts_per_step": 4,
        "group_size": 2,
        "eval_every": 2,
        **(train_changes or {}),
    }
    config = {
        "train": train,
        "task_id": TASK_ID,
        "env_spec": json.loads(spec.to_json()),
        "objectives": [
            {"name": "format", "low": 0.0, "high": 1.0, "description": "", "direction": "maximize"},
            {
                "name": "correctness",
                "low": -3.0,
                "high": 3.0,
                "description": "",
                "direction": "maximize",
            },
        ],
        "model": {"name": model, "revision": "0123456789ab", "parameters": 1000},
        "agent": {"name": agent, "needs_gramian": False},
        "versions": {"saw_bench": "0.1.0", "torch": "2.13.0", "python": "3.11.7"},
        "hardware": {"device": "cpu", "machine": "x86_64", "threads": 2},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    with open(folder / "metrics.jsonl", "w") as stream:
        for step in range(1, metrics_rows + 1):
            row = {
                "step": step,
                "wall_seconds": step * STEP_SECONDS,
                "seconds": {
                    "generate": 0.6,
                    "score": 0.2,
                    "weight": WEIGHT_SECONDS,
                    "update": STEP_SECONDS - 0.8 - WEIGHT_SECONDS,
                    "total": STEP_SECONDS,
                },
                "loss": 0.0,
                "objectives": {
                    name: {
                        "mean": 0.0,
                        "std": 0.1,
                        "cv": 0.1,
                        "weight": 1.0,
                        "advantage_share": 0.5,
                    }
                    for name in ("format", "correctness")
                },
            }
            stream.write(json.dumps(row) + "\n")
    points = scores(agent, seed)
    with open(folder / "eval.jsonl", "w") as stream:
        for point in hand_curve(agent, seed):  # the eval rows: the curve, with an item count
            stream.write(json.dumps({**point, "items": 8}) + "\n")
    summary = {
        "task_id": TASK_ID,
        "weighting": agent,
        "estimator": estimator,
        "seed": seed,
        "steps": STEPS,
        "final": {"format": points[-1][0], "correctness": points[-1][1]},
        "final_normalised": normalised(*points[-1]),
        "normalised_auc": expected_auc(agent, seed),
        "seconds_per_step": STEP_SECONDS,
        "weighting_seconds_per_step": WEIGHT_SECONDS,
        "weighting_overhead": WEIGHT_SECONDS / STEP_SECONDS,
        "wall_seconds": STEPS * STEP_SECONDS,
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return folder


def write_sweep(folder: Path, agents: tuple[str, ...] = ("static", "saw"), seeds=(0, 1, 2)) -> Path:
    """A sweep folder: sweep.json and one run folder per (agent, seed) under runs/."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for agent in agents:
        for seed in seeds:
            run_id = f"toolcall-synth-v0-grpo-{agent}-s{seed}"
            write_run(folder / "runs" / run_id, agent=agent, seed=seed)
            entries.append({"id": run_id, "folder": f"runs/{run_id}", "status": "finished"})
    (folder / "sweep.json").write_text(json.dumps({"runs": entries}, indent=2))
    return folder


# ---------------------------------------------------------------------- committed run archives
def archive_path(leaderboard: Path, run_path: str) -> Path:
    """``runs/<task>/<id>/seed-<n>`` -> the submission's archive ``runs/<task>/<id>.tar.xz``."""
    folder = (leaderboard / run_path).parent
    return folder.with_name(folder.name + ".tar.xz")


def archive_members(archive: Path) -> dict[str, bytes]:
    """Every member of an archive by name, read with the standard library alone."""
    with tarfile.open(archive, "r:xz") as tar:
        return {info.name: tar.extractfile(info).read() for info in tar if info.isfile()}


def write_members(archive: Path, members: dict[str, bytes]) -> None:
    """An archive of ``members`` (name -> bytes), as a submitter could write one by hand."""
    with tarfile.open(archive, "w:xz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def write_protocols(leaderboard: Path, model: str | None = "tiny-toolcall", **train: Any) -> Path:
    """``protocols.toml`` for TASK_ID with the settings write_run uses (``train`` overrides
    them; ``model=None`` leaves the policy open)."""
    settings = {"steps": STEPS, "prompts_per_step": 4, "group_size": 2, **train}
    table = ", ".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    lines = [f'["{TASK_ID}"]', f"train = {{ {table} }}"]
    if model is not None:
        lines.append(f'model = {{ name = "{model}", revision = "0123456789ab" }}')
    leaderboard.mkdir(parents=True, exist_ok=True)
    path = leaderboard / "protocols.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
