"""GRPO/GDPO training of a causal LM on a TextTask, with a weighting agent choosing the
objectives' weights at every step.

One step reads top to bottom like the flow on the docs page concepts/training-step.md, one
module per phase::

    items      = sample_items(train items, step)           (a pure function of seed, step)
    rollouts   = generate_rollouts(policy, items)          rollouts.py   -> "generate"
    rewards    = score_rollouts(task, items, completions)  scoring.py    -> "score"
    weights    = weigh(agent, rewards, groups, ...)        weigh.py      -> "weight"
    advantages = estimator(rewards, groups, weights)       estimators.py
    update     = policy_update(model, rollouts, adv.)      update.py     -> "update"
    record     = one metrics.jsonl row                     record.py

plus a held-out evaluation every ``eval_every`` steps (evaluation.py), a checkpoint every
``checkpoint_every`` (checkpoints.py), ``config.json`` (provenance.py) and a clean stop on
Ctrl-C or SIGTERM (stopping.py). Every random choice is a function of (seed, step), so a
resumed run draws the same prompts and samples as an uninterrupted one; with the checkpointed
model, optimizer and RNG states, a resumed run on CPU reproduces the uninterrupted curve
exactly. The run's summary and curves are the harness's (:mod:`saw_bench.harness.run`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any, Self

import torch

from saw_bench.core import registry
from saw_bench.core.components import objective_weights
from saw_bench.core.errors import RunInterrupted, SawBenchError
from saw_bench.core.files import (
    append_jsonl,
    check_rows,
    read_json,
    read_jsonl,
    truncate_jsonl,
    write_json_atomic,
)
from saw_bench.core.options import reading
from saw_bench.core.task import TextTask
from saw_bench.policy import load_policy
from saw_bench.training.checkpoints import load_checkpoint, save_checkpoint
from saw_bench.training.config import TrainConfig
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.training.evaluation import held_out_items, held_out_row
from saw_bench.training.provenance import resolved_config
from saw_bench.training.record import Progress, check_log_every, objective_stats
from saw_bench.training.rollouts import (
    RolloutTensors,
    derive_seed,
    generate_rollouts,
    rollout_items,
    sample_items,
)
from saw_bench.training.scoring import score_rollouts
from saw_bench.training.stopping import StopRequests
from saw_bench.training.threads import RunThreads
from saw_bench.training.trackers import RunTrackers, open_trackers
from saw_bench.training.update import UpdateOptions, policy_update
from saw_bench.training.weigh import weigh
from saw_bench.weighting import WeightingAgent, make_agent


def default_run_dir(config: TrainConfig) -> Path:
    slug = registry.resolve(config.task).removeprefix("saw/").lower()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{slug}-{config.estimator}-{config.weighting}-s{config.seed}-{stamp}"


def new_run_dir(config: TrainConfig, out_dir: str | Path | None) -> Path:
    """The folder of a new run (``out_dir``, or one named after the run under ``runs/``),
    created; refused when it already holds a run."""
    run_dir = Path(out_dir) if out_dir is not None else default_run_dir(config)
    if (run_dir / "config.json").exists():
        raise SawBenchError(
            f"{run_dir} already holds a run; pass resume={str(run_dir)!r} to continue it "
            "or choose another out_dir"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def saved_config(run_dir: Path, steps: int | None = None) -> TrainConfig:
    """The options a run was started with (its config.json), ``steps`` raising the target (a
    lower one is refused)."""
    config_path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise SawBenchError(f"cannot resume {run_dir}: no such folder")
    if not config_path.exists():
        raise SawBenchError(f"cannot resume {run_dir}: it has no config.json")
    recorded = read_json(config_path)
    saved = recorded.get("train")
    if not isinstance(saved, dict):
        raise SawBenchError(f"{config_path} has no 'train' table of training options")
    saved = recorded_task(recorded, saved)
    with reading(str(config_path)):
        config = TrainConfig(**saved)
    if steps is not None and steps < config.steps:
        raise SawBenchError(
            f"cannot resume {run_dir} with steps={steps}: it is a {config.steps}-step run; give "
            f"{config.steps} or more steps to train it further, or none to finish it"
        )
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    return config


def recorded_task(config: dict[str, Any], train: dict[str, Any]) -> dict[str, Any]:
    """A run's ``train`` options with ``task`` set to the id the run resolved it to
    (config.json's ``task_id``): an alias names the task of its day, and a later saw-bench may
    point it at a newer version (``summarize`` went from Summarize-Synth-v0 to -v1)."""
    task_id = config.get("task_id")
    return {**train, "task": task_id} if isinstance(task_id, str) and task_id else train


def task_and_agent(config: TrainConfig) -> tuple[TextTask, WeightingAgent]:
    """The run's task and weighting agent; bad options from a config file are one clear
    error naming the task or agent."""
    try:  # bad task_kwargs from a config file, or priorities not one per objective
        task = registry.load_task(config.task, **config.task_kwargs)
        objective_weights(task, config.priorities)  # checked before any build
    except (TypeError, ValueError) as error:
        raise SawBenchError(f"task {config.task!r}: {error}") from None
    try:
        agent = make_agent(config.weighting, **config.weighting_kwargs)
    except (TypeError, ValueError) as error:
        raise SawBenchError(f"weighting agent {config.weighting!r}: {error}") from None
    return task, agent


class RunTrainer:
    """What every backend's trainer shares: :meth:`create` starts a run folder, :meth:`resume`
    continues one from its last checkpoint (``restore``), :meth:`evaluate` appends a held-out
    evaluation to ``eval.jsonl``. Subclasses set ``config``, ``run_dir``, ``task``, ``policy``,
    ``eval_items``, ``step`` and ``elapsed_seconds`` in ``__init__(config, run_dir, progress,
    log_every)`` and define ``resolved_config``, ``restore`` and ``run``; under several
    processes only the main one writes the run's files."""

    config: TrainConfig
    run_dir: Path
    task: TextTask
    eval_items: list[Any]
    step: int
    elapsed_seconds: float  # training time so far (evaluations excluded)
    tokens_total: int
    agent: WeightingAgent
    is_main_process = True
    trackers: RunTrackers | None = None  # the experiment trackers while run() goes on

    def progress_state(self) -> dict[str, Any]:
        """What a checkpoint keeps beside the weights: the step, time, tokens, how many rows each
        file held, and the weighting agent's state."""
        return {
            "step": self.step,
            "elapsed_seconds": self.elapsed_seconds,
            "tokens_total": self.tokens_total,
            "metrics_rows": len(read_jsonl(self.run_dir / "metrics.jsonl")),
            "eval_rows": len(read_jsonl(self.run_dir / "eval.jsonl")),
            "agent_state": self.agent.state_dict(),
        }

    def restore_progress(self, progress: dict[str, Any] | None) -> None:
        """Continue from a loaded checkpoint's :meth:`progress_state`, dropping rows written
        after it; ``None`` (killed before the first checkpoint): start over."""
        if progress is None:
            for name in ("metrics.jsonl", "eval.jsonl"):
                (self.run_dir / name).unlink(missing_ok=True)
            return
        self.agent.load_state_dict(progress["agent_state"])
        self.step = progress["step"]
        self.elapsed_seconds = progress["elapsed_seconds"]
        self.tokens_total = progress["tokens_total"]
        files = {"metrics.jsonl": progress["metrics_rows"], "eval.jsonl": progress["eval_rows"]}
        for name, rows in files.items():  # both whole before either is cut back
            check_rows(self.run_dir / name, rows)
        for name, rows in files.items():
            truncate_jsonl(self.run_dir / name, rows)

    @classmethod
    def create(
        cls, config: TrainConfig, out_dir: str | Path | None, progress: bool, log_every: int = 1
    ) -> Self:
        existed = out_dir is not None and Path(out_dir).exists()
        run_dir = new_run_dir(config, out_dir)
        try:
            trainer = cls(config, run_dir, progress, log_every)
        except BaseException:
            if not existed:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()  # the folder this call made, while still empty
            raise
        if trainer.is_main_process:
            write_json_atomic(run_dir / "config.json", trainer.resolved_config())
        return trainer

    @classmethod
    def resume(
        cls,
        run_dir: Path,
        steps: int | None,
        progress: bool,
        log_every: int = 1,
        config: TrainConfig | None = None,
    ) -> Self:
        """Continue ``run_dir`` from its last checkpoint; ``config``: its saved options when
        the caller has read them already (:func:`saved_config`), else read here."""
        if config is None:
            config = saved_config(run_dir, steps)
        trainer = cls(config, run_dir, progress, log_every)
        trainer.restore()
        return trainer

    def evaluate(self) -> dict[str, Any] | None:
        """Score the policy on the held-out items now; the row (None on other processes)."""
        if not self.is_main_process:
            return None
        config = self.config
        row = held_out_row(
            self.policy,
            self.task,
            self.eval_items,
            step=self.step,
            wall_seconds=self.elapsed_seconds,
            max_new_tokens=config.max_new_tokens,
            temperature=config.eval_temperature,
            seed=derive_seed(config.seed, "eval", self.step),
            priorities=config.priorities,
        )
        append_jsonl(self.run_dir / "eval.jsonl", row)
        if self.trackers is not None:
            self.trackers.evaluation(row)
        return row

    def open_trackers(self) -> None:
        """Start the run's experiment trackers (``report_to``), or continue them when the run
        is resumed; on the main process only."""
        if self.is_main_process:
            self.trackers = open_trackers(self.config.report_to, self.run_dir, self.step)

    def close_trackers(self) -> None:
        trackers, self.trackers = self.trackers, None
        if trackers is not None:
            trackers.close()


def reference_model(config: TrainConfig, policy_task: str | None) -> torch.nn.Module | None:
    """The KL penalty's frozen starting point (``kl_coef > 0``), loaded again from its source;
    None without the penalty."""
    if config.kl_coef <= 0:
        return None
    policy = load_policy(
        config.model,
        task=policy_task,
        device=config.device,
        dtype=config.dtype,
        progress=False,
    )
    return policy.model.eval().requires_grad_(False)


def update_options(config: TrainConfig, *, fast: bool) -> UpdateOptions:
    """The policy update's options from a run's."""
    return UpdateOptions(
        temperature=config.temperature,
        clip_eps=config.clip_eps,
        kl_coef=config.kl_coef,
        epochs=config.epochs,
        minibatches=config.minibatches,
        max_grad_norm=config.max_grad_norm,
        fast=fast,
    )


class Trainer(RunTrainer):
    """Holds a run's live state; build with :meth:`create` or :meth:`resume`, then :meth:`run`.

    ``progress``: show progress (a bar on a terminal, else a line every ``log_every`` steps).
    """

    def __init__(
        self, config: TrainConfig, run_dir: Path, progress: bool, log_every: int = 1
    ) -> None:
        config.resolve_defaults()
        check_log_every(log_every)  # before minutes of model loading, not after
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        self.log_every = log_every
        self.threads = RunThreads(config.threads, announce=progress)
        self.task, self.agent = task_and_agent(config)
        self.estimate = ESTIMATORS[config.estimator].function
        torch.manual_seed(config.seed)
        # task= picks the tiny policy built for this task; other models ignore the task
        policy_task = registry.resolve(config.task) if config.model == "tiny" else None
        self.policy = load_policy(
            config.model,
            task=policy_task,
            device=config.device,
            dtype=config.dtype,
            gradient_checkpointing=config.gradient_checkpointing,
            progress=progress,
            fast=config.fast_path,
        )
        self.reference_model = reference_model(config, policy_task)
        self.optimizer = torch.optim.AdamW(
            self.policy.model.parameters(),
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        self.update_options = update_options(config, fast=config.fast_path)
        self.step = 0
        self.rollouts: RolloutTensors | None = None
        self.elapsed_seconds = 0.0
        self.tokens_total = 0
        self.train_items = list(self.task.split("train"))
        self.eval_items = held_out_items(self.task, config.eval_items)
        if not self.train_items or not self.eval_items:
            raise SawBenchError(f"task {config.task!r} needs non-empty train and test splits")

    def resolved_config(self) -> dict[str, Any]:
        return resolved_config(self.config, self.task, self.policy, self.agent)

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        """Train up to ``config.steps``. Ctrl-C (SIGINT) or SIGTERM stops after the current
        step, writes a checkpoint and raises :class:`RunInterrupted`; a second Ctrl-C aborts at
        once (the last checkpoint still resumes)."""
        config = self.config
        progress = Progress(
            config.steps,
            self.step,
            self.task.objective_names,
            enabled=self.progress,
            log_every=self.log_every,
        )
        try:
            self.open_trackers()
            with StopRequests() as stop:
                if self.step == 0 and not read_jsonl(self.run_dir / "eval.jsonl"):
                    self.threads.rebalance()
                    progress.evaluation(self.evaluate())
                saved_step = self.step
                while self.step < config.steps and not stop.requested:
                    row = self.train_step()
                    self.step += 1
                    progress.step(row)
                    if self.step % config.eval_every == 0 or self.step == config.steps:
                        progress.evaluation(self.evaluate())
                    if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                        self.save()
                        saved_step = self.step
                if stop.requested:
                    if saved_step != self.step:
                        self.save()
                    raise RunInterrupted(self.run_dir, self.step)
        finally:
            progress.close()
            self.threads.release()
            self.close_trackers()
        return self.run_dir

    def train_step(self) -> dict[str, Any]:
        config, step = self.config, self.step
        threads = self.threads.rebalance()
        started = time.perf_counter()

        items = sample_items(self.train_items, step, config.prompts_per_step, config.seed)
        rollouts = generate_rollouts(
            self.policy,
            self.task,
            items,
            group_size=config.group_size,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            seed=derive_seed(config.seed, "generate", step),
        )
        after_generate = time.perf_counter()

        answered, group_ids = rollout_items(items, rollouts)
        rewards = score_rollouts(self.task, answered, rollouts.texts)
        task_counters = self.task.pop_counters()
        after_score = time.perf_counter()

        tensors = RolloutTensors.from_batch(rollouts, self.policy.device)
        self.rollouts = tensors  # the last step's, for inspection (benchmarks count FLOPs)
        weights = weigh(
            self.agent,
            self.task,
            rewards,
            group_ids,
            step=step,
            priorities=config.priorities,
            model=self.policy.model,
            tensors=tensors,
            temperature=config.temperature,
            fast=config.fast_path,
        )
        after_weight = time.perf_counter()

        advantages = self.estimate(rewards, group_ids, weights)
        update = policy_update(
            self.policy.model,
            self.optimizer,
            tensors,
            torch.as_tensor(advantages, dtype=torch.float32),
            self.update_options,
            reference_model=self.reference_model,
        )
        finished = time.perf_counter()

        tokens = int(rollouts.completion_mask.sum())
        self.tokens_total += tokens
        self.elapsed_seconds += finished - started
        row = {
            "step": step + 1,
            "wall_seconds": round(self.elapsed_seconds, 4),
            "tokens": tokens,
            "tokens_total": self.tokens_total,
            "threads": threads,
            "seconds": {
                "generate": after_generate - started,
                "score": after_score - after_generate,
                "weight": after_weight - after_score,
                "update": finished - after_weight,
                "total": finished - started,
            },
            **update,
            "objectives": objective_stats(
                rewards, group_ids, weights, self.task.objective_names, self.task.reward_low
            ),
        }
        if task_counters:
            row["task_counters"] = task_counters
        append_jsonl(self.run_dir / "metrics.jsonl", row)
        if self.trackers is not None:
            self.trackers.step(row)
        return row

    # ------------------------------------------------------------------ checkpoints
    def save(self) -> None:
        save_checkpoint(
            self.run_dir,
            self.policy,
            self.optimizer,
            self.progress_state(),
        )

    def restore(self) -> None:
        """Continue from the last checkpoint, dropping rows written after it; with none (killed
        before the first), start over."""
        self.restore_progress(load_checkpoint(self.run_dir, self.policy, self.optimizer))
