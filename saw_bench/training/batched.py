"""Several runs trained as one batched model, in one process.

Runs that share task, model and shapes (options that differ only in ``seed``, ``weighting``,
``weighting_kwargs``, ``estimator`` and ``priorities``) train as one
:class:`~saw_bench.policy.StackedLlama`: their parameters stacked on a leading run axis, one
batched decode, one batched training forward and backward, one AdamW step. Everything else is
each run's own, as when it trains alone (:class:`~saw_bench.training.Trainer`): its prompts and
samples (its own RNG stream, a function of its seed and step), its task, weighting agent and
estimator, its gradient-norm clipping and optimizer state, its held-out evaluations, checkpoints
and run folder. A step reads as a run's does, one phase at a time::

    items      = each run's sample_items(...)                       rollouts.py
    rollouts   = generate_stacked(policies, network, prompts)       -> "generate", all runs
    rewards    = each run's score_rollouts(...)                     -> "score"
    weights    = each run's weigh(agent, ...)                       -> "weight"
    advantages = each run's estimator(rewards, groups, weights)
    update     = stacked_update(network, optimizer, all rollouts)   -> "update", all runs
    record     = each run's metrics.jsonl row                       record.py

A run's seconds per phase are its share of the batch's shared phases (their time over the
number of runs) plus its own scoring and weighting; its row's ``batch`` gives the number of
runs and the batch step's wall-clock seconds.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saw_bench.core import registry
from saw_bench.core.errors import RunInterrupted, SawBenchError
from saw_bench.core.files import append_jsonl, read_jsonl, write_json_atomic
from saw_bench.policy import GenerationBatch, generate_stacked, load_policy, stack_policies
from saw_bench.training.batch_runs import BatchedRun, NotBatchable, batch_refusal
from saw_bench.training.checkpoints import load_checkpoint, save_checkpoint
from saw_bench.training.config import TrainConfig
from saw_bench.training.evaluation import held_out_scores, with_temperature
from saw_bench.training.record import objective_stats
from saw_bench.training.rollouts import RolloutTensors, derive_seed, rollout_items, sample_items
from saw_bench.training.scoring import score_rollouts
from saw_bench.training.stopping import StopRequests
from saw_bench.training.threads import RunThreads
from saw_bench.training.trainer import new_run_dir, reference_model, saved_config, update_options
from saw_bench.training.update import stacked_update
from saw_bench.training.weigh import weigh


class BatchTrainer:
    """Trains runs as one batched model (see the module doc); build with :meth:`start`, which
    creates new run folders and resumes existing ones, then :meth:`run`."""

    def __init__(
        self, configs: Sequence[TrainConfig], run_dirs: Sequence[Path], progress: bool = False
    ) -> None:
        refusal = batch_refusal(configs)
        if refusal is not None:
            raise NotBatchable(refusal)
        if len(run_dirs) != len(configs):
            raise SawBenchError(
                f"need one folder per run, but got {len(run_dirs)} for {len(configs)}"
            )
        config = configs[0]
        config.resolve_defaults()
        self.progress = progress
        self.threads = RunThreads(config.threads, announce=progress)  # one share: one process
        policy_task = registry.resolve(config.task) if config.model == "tiny" else None
        policies = [
            load_policy(
                config.model,
                task=policy_task,
                device=config.device,
                dtype=config.dtype,
                progress=progress,
                fast=True,
            )
            for _ in configs
        ]
        try:
            self.stack, self.network = stack_policies(policies)
        except ValueError as error:  # the fast path does not cover the model
            raise NotBatchable(str(error)) from None
        self.policies = policies
        self.runs = [
            BatchedRun(run_config, Path(run_dir), policy, len(configs))
            for run_config, run_dir, policy in zip(configs, run_dirs, policies, strict=True)
        ]
        self.reference_model = reference_model(config, policy_task)  # every run's start
        self.optimizer = torch.optim.AdamW(
            list(self.stack.parameters.values()),
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        self.update_options = update_options(config, fast=True)
        self.config = config  # the options every run shares
        self.step = 0
        self.rollouts: list[GenerationBatch] = []  # the last step's, for inspection

    @classmethod
    def start(
        cls,
        configs: Sequence[TrainConfig],
        run_dirs: Sequence[str | Path | None],
        progress: bool = False,
    ) -> BatchTrainer:
        """New runs in ``run_dirs`` (None: a folder named after the run), and runs already
        there (a ``config.json``) resumed from their last checkpoints, which must be at one
        step."""
        folders, fresh, options = [], [], []
        for config, run_dir in zip(configs, run_dirs, strict=True):
            if run_dir is not None and (Path(run_dir) / "config.json").exists():
                folders.append(Path(run_dir))
                fresh.append(False)
                options.append(saved_config(Path(run_dir), config.steps))
            else:
                options.append(config)
                folders.append(new_run_dir(config, run_dir))
                fresh.append(True)
        trainer = cls(options, folders, progress)
        trainer.restore([not new for new in fresh])
        for run, new in zip(trainer.runs, fresh, strict=True):
            if new:
                write_json_atomic(run.run_dir / "config.json", run.resolved_config())
        return trainer

    # ------------------------------------------------------------------ the loop
    def run(self) -> list[Path]:
        """Train every run up to ``steps``; Ctrl-C or SIGTERM stops after the current step with
        a checkpoint of every run and raises :class:`RunInterrupted` (of the first run)."""
        config = self.config
        try:
            with StopRequests() as stop:
                if self.step == 0:
                    self.threads.rebalance()
                    unevaluated = [not read_jsonl(run.run_dir / "eval.jsonl") for run in self.runs]
                    self.evaluate(unevaluated)
                saved_step = self.step
                while self.step < config.steps and not stop.requested:
                    self.train_step()
                    self.step += 1
                    for run in self.runs:
                        run.step = self.step
                    if self.step % config.eval_every == 0 or self.step == config.steps:
                        self.evaluate()
                    if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                        self.save()
                        saved_step = self.step
                if stop.requested:
                    if saved_step != self.step:
                        self.save()
                    raise RunInterrupted(self.runs[0].run_dir, self.step)
        finally:
            self.threads.release()
        return [run.run_dir for run in self.runs]

    def train_step(self) -> list[dict[str, Any]]:
        config, step, runs = self.config, self.step, self.runs
        threads = self.threads.rebalance()
        started = time.perf_counter()

        items = [
            sample_items(run.train_items, step, config.prompts_per_step, run.config.seed)
            for run in runs
        ]
        rollouts = generate_stacked(
            self.policies,
            self.network,
            [
                [run.policy.render(run.task.prompt(item)) for item in own]
                for run, own in zip(runs, items, strict=True)
            ],
            num_samples=config.group_size,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            seeds=[derive_seed(run.config.seed, "generate", step) for run in runs],
        )
        self.rollouts = rollouts
        generate_seconds = time.perf_counter() - started

        rewards, group_ids, task_counters, score_seconds = [], [], [], []
        for run, own_items, batch in zip(runs, items, rollouts, strict=True):
            run_started = time.perf_counter()
            answered, groups = rollout_items(own_items, batch)
            rewards.append(score_rollouts(run.task, answered, batch.texts))
            group_ids.append(groups)
            task_counters.append(run.task.pop_counters())
            score_seconds.append(time.perf_counter() - run_started)

        tensors = [
            RolloutTensors.from_batch(batch, run.policy.device)
            for run, batch in zip(runs, rollouts, strict=True)
        ]
        weights, weight_seconds = [], []
        for run, own_rewards, groups, own_tensors in zip(
            runs, rewards, group_ids, tensors, strict=True
        ):
            run_started = time.perf_counter()
            weights.append(
                weigh(
                    run.agent,
                    run.task,
                    own_rewards,
                    groups,
                    step=step,
                    priorities=run.config.priorities,
                    model=run.policy.model,
                    tensors=own_tensors,
                    temperature=config.temperature,
                )
            )
            weight_seconds.append(time.perf_counter() - run_started)

        update_started = time.perf_counter()
        advantages = [
            run.estimate(own_rewards, groups, own_weights)
            for run, own_rewards, groups, own_weights in zip(
                runs, rewards, group_ids, weights, strict=True
            )
        ]
        updates = stacked_update(
            self.network,
            self.optimizer,
            RolloutTensors.concatenate(tensors),
            torch.as_tensor(np.concatenate(advantages), dtype=torch.float32),
            self.update_options,
            reference_model=self.reference_model,
        )
        finished = time.perf_counter()

        shared_seconds = {
            "generate": generate_seconds / len(runs),
            "update": (finished - update_started) / len(runs),
        }
        rows = []
        for index, run in enumerate(runs):
            seconds = {
                "generate": shared_seconds["generate"],
                "score": score_seconds[index],
                "weight": weight_seconds[index],
                "update": shared_seconds["update"],
            }
            seconds["total"] = sum(seconds.values())
            tokens = int(rollouts[index].completion_mask.sum())
            run.tokens_total += tokens
            run.elapsed_seconds += seconds["total"]
            row = {
                "step": step + 1,
                "wall_seconds": round(run.elapsed_seconds, 4),
                "tokens": tokens,
                "tokens_total": run.tokens_total,
                "threads": threads,
                "seconds": seconds,
                **updates[index],
                "objectives": objective_stats(
                    rewards[index],
                    group_ids[index],
                    weights[index],
                    run.task.objective_names,
                    run.task.reward_low,
                ),
                "batch": {"runs": len(runs), "seconds": finished - started},
            }
            if task_counters[index]:
                row["task_counters"] = task_counters[index]
            append_jsonl(run.run_dir / "metrics.jsonl", row)
            rows.append(row)
        if self.progress:
            print(
                f"step {step + 1}/{config.steps}: {len(runs)} runs in {finished - started:.1f} s",
                flush=True,
            )
        return rows

    def evaluate(self, which: Sequence[bool] | None = None) -> None:
        """A held-out evaluation of every run (``which``: of those marked), decoded as one
        batch: each run answers the held-out items once, under its own seed, as alone."""
        config, runs = self.config, self.runs
        started = time.perf_counter()
        prompts = [
            [run.policy.render(run.task.prompt(item)) for item in run.eval_items] for run in runs
        ]
        batches = generate_stacked(
            self.policies,
            self.network,
            prompts,
            num_samples=1,
            max_new_tokens=config.max_new_tokens,
            temperature=float(config.eval_temperature),  # type: ignore[arg-type]
            seeds=[derive_seed(run.config.seed, "eval", self.step) for run in runs],
        )
        share = (time.perf_counter() - started) / len(runs)
        for index, (run, batch) in enumerate(zip(runs, batches, strict=True)):
            if which is not None and not which[index]:
                continue
            scoring_started = time.perf_counter()
            row = held_out_scores(
                run.task,
                run.eval_items,
                batch.texts,
                step=self.step,
                wall_seconds=run.elapsed_seconds,
                priorities=run.config.priorities,
            )
            seconds = share + time.perf_counter() - scoring_started
            append_jsonl(
                run.run_dir / "eval.jsonl", with_temperature(row, config.eval_temperature, seconds)
            )  # type: ignore[arg-type]
            if self.progress:
                score = row["normalised"]
                print(f"{run.run_dir.name} eval @ step {self.step}: aggregate={score:.3f}")

    # ------------------------------------------------------------------ checkpoints
    def run_optimizer(self, index: int) -> torch.optim.AdamW:
        """An AdamW over run ``index``'s own model holding its slice of the batch's optimizer
        state: the optimizer the run would have alone (what its checkpoint stores)."""
        run = self.runs[index]
        optimizer = torch.optim.AdamW(
            run.policy.model.parameters(),
            lr=run.config.learning_rate,
            weight_decay=run.config.weight_decay,
        )
        for own, stacked in zip(
            run.policy.model.parameters(), self.stack.parameters.values(), strict=True
        ):
            state = self.optimizer.state.get(stacked)
            if state:
                optimizer.state[own] = {
                    key: value.clone() if key == "step" else value[index].clone()
                    for key, value in state.items()
                }
        return optimizer

    def save(self) -> None:
        for index, run in enumerate(self.runs):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(run.config.seed)  # the run's own torch RNG, as alone
                save_checkpoint(
                    run.run_dir, run.policy, self.run_optimizer(index), run.progress_state()
                )

    def restore(self, existing: Sequence[bool]) -> None:
        """Load the checkpoints of the runs marked ``existing`` (all at one step)."""
        steps = set()
        states: list[dict[Any, Any] | None] = []
        for index, (run, exists) in enumerate(zip(self.runs, existing, strict=True)):
            progress, state = None, None
            if exists:
                optimizer = self.run_optimizer(index)
                with torch.random.fork_rng(devices=[]):
                    progress = load_checkpoint(run.run_dir, run.policy, optimizer)
                if progress is not None:
                    state = optimizer.state
            run.restore_progress(progress)
            steps.add(run.step)
            states.append(None if state is None else {p: s for p, s in state.items()})
        if len(steps) > 1:
            raise SawBenchError(
                f"the runs of a batch must resume from one step, but their checkpoints are at "
                f"steps {sorted(steps)}; resume them in batches of one step each"
            )
        self.step = steps.pop()
        if self.step == 0:
            return
        for stacked, *own in zip(
            self.stack.parameters.values(),
            *(run.policy.model.parameters() for run in self.runs),
            strict=True,
        ):
            per_run = [state[parameter] for state, parameter in zip(states, own, strict=True)]  # type: ignore[index]
            self.optimizer.state[stacked] = {
                "step": per_run[0]["step"].clone(),
                **{
                    key: torch.stack([entry[key] for entry in per_run])
                    for key in per_run[0]
                    if key != "step"
                },
            }
