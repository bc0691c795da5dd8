"""What a run records about itself in ``config.json``: enough to reproduce and to verify it."""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
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
    the saw-bench commit."""
    import transformers

    env_spec = registry.spec(config.task)
    return {
        "train": dataclasses.asdict(config),
        "task_id": env_spec.id,
        "env_spec": json.loads(env_spec.to_json()),
        "objectives": [dataclasses.asdict(o) for o in task.objectives],
        "task_data": task.data_fingerprint(),
        "git_commit": _git_commit(),
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
        },
    }


def fast_path_use(config: TrainConfig, policy: Policy, training: bool) -> dict[str, Any]:
    """``{"used": bool, "why_not": str | None}`` for decoding or training."""
    if not config.fast_path:
        return {"used": False, "why_not": "fast_path = false"}
    reason = unsupported_reason(policy.model, training=training)
    return {"used": reason is None, "why_not": reason}


def _git_commit() -> str | None:
    """The commit of the saw-bench checkout in use (None for an installed wheel or no git)."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None
