"""Which runs can train as one batched model, and a run of a batch.

Runs train as one batch (:mod:`saw_bench.training.batched`) when every option but
:data:`PER_RUN_OPTIONS` is the same (:func:`batch_key`), they use saw-bench's own loop with the
fast path (:func:`batch_refusal`) and the fast path covers their model (:func:`model_refusal`).
A :class:`BatchedRun` holds what is each run's own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.policy import Policy, load_policy, unsupported_reason
from saw_bench.training.config import TrainConfig
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.training.evaluation import held_out_items
from saw_bench.training.provenance import resolved_config
from saw_bench.training.trainer import RunTrainer, task_and_agent

#: The options in which the runs of one batch may differ.
PER_RUN_OPTIONS = ("seed", "weighting", "weighting_kwargs", "estimator", "priorities")


class NotBatchable(SawBenchError):
    """Runs that cannot train as one batch (they differ in shared options, or the fast path
    does not cover their model); the message says why."""


def batch_key(config: TrainConfig) -> str:
    """What runs must share to train as one batch: every option but :data:`PER_RUN_OPTIONS`."""
    options = dataclasses.asdict(config)
    shared = {key: value for key, value in options.items() if key not in PER_RUN_OPTIONS}
    shared["task"] = registry.resolve(config.task)
    return json.dumps(shared, sort_keys=True, default=str)


def batch_refusal(configs: Sequence[TrainConfig]) -> str | None:
    """Why ``configs`` cannot train as one batch (``None``: they can, if the fast path covers
    their model, which only loading it tells)."""
    if not configs:
        return "no runs"
    first = configs[0]
    if first.backend != "saw-bench":
        return f"backend {first.backend!r} (batches train with saw-bench's own loop)"
    if not first.fast_path:
        return "fast_path = false"
    key = batch_key(first)
    for config in configs[1:]:
        if batch_key(config) != key:
            differing = sorted(
                name
                for name, value in dataclasses.asdict(config).items()
                if name not in PER_RUN_OPTIONS and value != getattr(first, name)
            )
            return f"the runs differ in {', '.join(differing) or 'task'}"
    return None


def model_refusal(config: TrainConfig) -> str | None:
    """Why the fast path cannot train ``config``'s model as a batch (None: it can); loads the
    model to look."""
    policy = load_policy(
        config.model,
        task=registry.resolve(config.task) if config.model == "tiny" else None,
        device=config.device,
        dtype=config.dtype,
        gradient_checkpointing=config.gradient_checkpointing,
        progress=False,
    )
    reason = unsupported_reason(policy.model, training=True)
    return None if reason is None else f"the fast path does not cover {policy.name} ({reason})"


class BatchedRun(RunTrainer):
    """One run of a batch: its options, folder, task, agent, estimator, held-out items and
    counters; its policy's model is a view of its slice of the batch's parameters."""

    def __init__(self, config: TrainConfig, run_dir: Path, policy: Policy, runs: int) -> None:
        config.resolve_defaults()
        self.config = config
        self.run_dir = run_dir
        self.policy = policy
        self.runs = runs
        self.task, self.agent = task_and_agent(config)
        self.estimate = ESTIMATORS[config.estimator].function
        self.step = 0
        self.elapsed_seconds = 0.0
        self.tokens_total = 0
        self.train_items = list(self.task.split("train"))
        self.eval_items = held_out_items(self.task, config.eval_items)
        if not self.train_items or not self.eval_items:
            raise SawBenchError(f"task {config.task!r} needs non-empty train and test splits")

    def resolved_config(self) -> dict[str, Any]:
        resolved = resolved_config(self.config, self.task, self.policy, self.agent)
        resolved["batch"] = {"runs": self.runs}  # trained in a batch of this many runs
        return resolved

    def run(self) -> Path:
        raise SawBenchError("a run of a batch trains with its batch (BatchTrainer.run)")

    def restore(self) -> None:
        raise SawBenchError("a run of a batch resumes with its batch (BatchTrainer.resume)")
