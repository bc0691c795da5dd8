"""``backend = "trl"``: a saw-bench run trained by TRL's ``GRPOTrainer`` with the agent plugged in.

``saw_bench.train(backend="trl", ...)``, ``python -m saw_bench run --backend trl`` and
``sweep --backend trl`` train the same task, agent and estimator as saw-bench's own loop, and
write the same run folder (``config.json``, ``metrics.jsonl``, ``eval.jsonl``, then the
harness's ``summary.json`` and ``curves.png``), so ``compare``, ``report``, ``eval`` and the
leaderboard read TRL runs unchanged. ``config.json`` says which backend ran (``train.backend``,
and ``backend`` with TRL's version and the number of processes).

How the options map onto ``GRPOConfig``: ``prompts_per_step`` x ``group_size`` rollouts per
step (``per_device_train_batch_size`` = that / processes, ``num_generations`` =
``group_size``), ``max_new_tokens``, ``temperature`` (pure sampling: ``top_k=0``,
``top_p=1``), ``learning_rate`` (constant, AdamW), ``weight_decay``, ``max_grad_norm``,
``clip_eps`` (``epsilon``), ``kl_coef`` (``beta``), ``gradient_checkpointing``, ``seed``,
``checkpoint_every`` (``save_steps``); ``loss_type="grpo"`` (each completion's token mean,
then the batch mean: saw-bench's loss); the estimator through
:func:`~saw_bench.integrations.trl.trl_aggregation`. One optimizer step per generation
(``epochs`` and ``minibatches`` > 1 are refused). TRL draws its own prompts (its seeded
sampler), generates with ``model.generate`` and trains through the model's own forward; the
held-out evaluations are saw-bench's (the same items, sampling and scoring as the default
backend).

A metrics row holds what saw-bench's trainer records: per objective mean, std, CV, weight and
advantage share (from the gathered reward matrix and the agent's weights), TRL's loss, KL and
clipped share, and seconds per phase: ``generate`` (TRL's generation call), ``score`` (the
reward functions and the gather), ``weight`` (the agent) and ``update`` (the rest of the step:
log-probabilities, advantages, loss, backward, optimizer).

Under ``accelerate launch`` with several processes, the main process writes the run files and
every process appends its step's weights and the gathered reward matrix to
``ranks/rank-<i>.jsonl``, so a run can show that every rank weighed alike.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from saw_bench.core import registry
from saw_bench.core.errors import RunInterrupted, SawBenchError
from saw_bench.core.files import (
    append_jsonl,
    read_json,
    read_jsonl,
    truncate_jsonl,
    write_json_atomic,
)
from saw_bench.integrations.trl import (
    SawGRPOTrainer,
    WeighedPass,
    check_batch_agent,
    task_dataset,
    task_reward_functions,
    trl_aggregation,
)
from saw_bench.policy import load_policy
from saw_bench.policy._hf import quiet_transformers
from saw_bench.training.checkpoints import latest_trl_checkpoint
from saw_bench.training.config import TrainConfig
from saw_bench.training.evaluation import held_out_items
from saw_bench.training.provenance import resolved_config
from saw_bench.training.record import Progress, check_log_every, objective_stats
from saw_bench.training.stopping import StopRequests
from saw_bench.training.threads import RunThreads
from saw_bench.training.trainer import RunTrainer, task_and_agent

#: Written into each TRL checkpoint beside the agent's state: what resuming the run needs.
PROGRESS_FILE = "saw_bench_progress.json"


class TrlTrainer(RunTrainer):
    """A run on TRL's GRPOTrainer with the surface of :class:`saw_bench.training.Trainer`
    (``create``, ``resume``, ``run``, ``step``, ``tokens_total``, ``elapsed_seconds``)."""

    def __init__(
        self, config: TrainConfig, run_dir: Path, progress: bool, log_every: int = 1
    ) -> None:
        import trl
        from accelerate import PartialState
        from transformers import PrinterCallback, ProgressCallback

        config.resolve_defaults()
        check_log_every(log_every)
        if config.epochs != 1 or config.minibatches != 1:
            raise SawBenchError(
                "backend trl runs one optimizer step per generation; epochs and minibatches "
                f"must be 1, but got epochs={config.epochs}, minibatches={config.minibatches} "
                "(use backend 'saw-bench' for several)"
            )
        self.config, self.run_dir, self.log_every = config, run_dir, log_every
        # on CPU, accelerate forms the gloo group of a multi-process launch only when asked
        # (as TrainingArguments(use_cpu=True) does); unasked, every process is the main one
        state = PartialState(cpu=config.device == "cpu" or not torch.cuda.is_available())
        self.process_index, self.processes = state.process_index, state.num_processes
        self.is_main_process = state.is_main_process
        rollouts = config.prompts_per_step * config.group_size
        if rollouts % self.processes:
            raise SawBenchError(
                f"prompts_per_step x group_size = {rollouts} rollouts do not split evenly over "
                f"{self.processes} processes"
            )
        self.progress = progress and self.is_main_process
        self.threads = RunThreads(config.threads, announce=self.progress)
        self.task, self.agent = task_and_agent(config)
        check_batch_agent(self.agent)
        torch.manual_seed(config.seed)
        policy_task = registry.resolve(config.task) if config.model == "tiny" else None
        device = config.device
        if device in ("auto", "cuda") and state.device.type == "cuda":
            device = str(state.device)  # under accelerate launch: this process's own GPU
        self.policy = load_policy(
            config.model,
            task=policy_task,
            device=device,
            dtype=config.dtype,
            gradient_checkpointing=config.gradient_checkpointing,
            progress=self.progress,
            fast=config.fast_path,
        )
        self.eval_items = held_out_items(self.task, config.eval_items)
        if not self.task.split("train") or not self.eval_items:
            raise SawBenchError(f"task {config.task!r} needs non-empty train and test splits")
        self.step = 0
        self.elapsed_seconds = 0.0
        self.tokens_total = 0
        self.metrics_rows = 0
        self.eval_rows = 0
        self._timing: dict[str, float] = {}
        self._passes: dict[int, WeighedPass] = {}
        self._progress: Progress | None = None
        self._stop: StopRequests | None = None
        self.checkpoint: str | None = None  # the TRL checkpoint to resume from (resume sets it)

        dtype = str(self.policy.model.dtype).removeprefix("torch.")
        with warnings.catch_warnings():  # TrainingArguments' renamed-option notices
            warnings.simplefilter("ignore", FutureWarning)
            args = trl.GRPOConfig(
                output_dir=str(run_dir / "trl"),
                per_device_train_batch_size=rollouts // self.processes,
                num_generations=config.group_size,
                max_completion_length=config.max_new_tokens,
                temperature=config.temperature,
                top_k=0,
                top_p=1.0,
                learning_rate=config.learning_rate,
                lr_scheduler_type="constant",
                warmup_steps=0,
                weight_decay=config.weight_decay,
                max_grad_norm=config.max_grad_norm,
                epsilon=config.clip_eps,
                beta=config.kl_coef,
                num_iterations=1,
                steps_per_generation=1,
                gradient_accumulation_steps=1,
                loss_type="grpo",
                **trl_aggregation(config.estimator),
                gradient_checkpointing=config.gradient_checkpointing,
                max_steps=config.steps,
                logging_steps=1,
                report_to="none",
                save_strategy="steps",
                save_steps=config.checkpoint_every,
                save_total_limit=1,
                use_cpu=self.policy.device.type == "cpu",
                bf16=dtype == "bfloat16",
                fp16=dtype == "float16",
                seed=config.seed,
                data_seed=config.seed,
                dataloader_num_workers=0,
                disable_tqdm=True,
            )
        self.trainer = _RecordingTrainer(
            self,
            model=self.policy.model,
            reward_funcs=task_reward_functions(self.task),
            args=args,
            train_dataset=task_dataset(self.task),
            processing_class=self.policy.tokenizer,
            weighting=self.agent,
            task=self.task,
            priorities=config.priorities,
            on_weights=self._on_weights,
        )
        for callback in (PrinterCallback, ProgressCallback):  # our Progress prints instead
            self.trainer.remove_callback(callback)
        self.trainer.add_callback(_StepRecorder(self))

    def resolved_config(self) -> dict[str, Any]:
        import trl

        resolved = resolved_config(self.config, self.task, self.policy, self.agent)
        # TRL generates the rollouts and trains through the model's forward; saw-bench's
        # decoding answers the held-out evaluations only
        resolved["fast_path"]["decode"]["scope"] = "held-out evaluation"
        resolved["fast_path"]["train"] = {
            "used": False,
            "why_not": "backend trl: TRL's generation and the model's forward",
        }
        resolved["backend"] = {"name": "trl", "trl": trl.__version__, "processes": self.processes}
        return resolved

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        """Train up to ``config.steps`` with TRL; Ctrl-C or SIGTERM stops after the current
        step with a checkpoint and raises :class:`RunInterrupted`."""
        self._progress = Progress(
            self.config.steps,
            self.step,
            self.task.objective_names,
            enabled=self.progress,
            log_every=self.log_every,
        )
        try:
            self.open_trackers()
            with StopRequests() as stop:
                self._stop = stop
                if self.step == 0 and not read_jsonl(self.run_dir / "eval.jsonl"):
                    self.evaluate()
                if self.step < self.config.steps:
                    with quiet_transformers(), warnings.catch_warnings():
                        warnings.simplefilter("ignore", FutureWarning)  # renamed HF options
                        self.trainer.train(resume_from_checkpoint=self.checkpoint)
                self._leave_process_group()
                if stop.requested and self.step < self.config.steps:
                    raise RunInterrupted(self.run_dir, self.step)
        finally:
            self._progress.close()
            self.threads.release()
            self.close_trackers()
        return self.run_dir

    def stop_requested(self) -> bool:
        """Whether to stop after the step just taken: Ctrl-C or SIGTERM reached this process
        or, in a multi-process run, any process. Every process asks after every step
        (accelerate's trigger: one reduce of a one-element tensor), so all of them stop after
        the same step and write the same checkpoint; one process stopping alone would leave
        the others waiting in the next step's collectives."""
        accelerator, stop = self.trainer.accelerator, self._stop
        if stop is not None and stop.requested:
            accelerator.set_trigger()
        if not accelerator.check_trigger():
            return False
        if stop is not None:
            stop.requested = True  # asked on another process: this one stops as well
        return True

    def _leave_process_group(self) -> None:
        """End a multi-process run's torch.distributed group, all processes together.

        The main process evaluates after the last step while the others are done; a process
        that exits with its gloo group still alive can abort in the group's teardown
        ("terminate called without an active exception"), failing the launch. So every process
        waits for the others here, then ends the group (accelerate's ``end_training``) before
        the interpreter exits.
        """
        accelerator = self.trainer.accelerator
        accelerator.wait_for_everyone()
        accelerator.end_training()

    def evaluate(self) -> dict[str, Any] | None:
        row = super().evaluate()
        if row is not None:
            self.eval_rows += 1
            self._progress.evaluation(row)
        return row

    @property
    def rank_file(self) -> Path:
        """This process's rows of a multi-process run: per step, its weights and the gathered
        reward matrix they were computed from."""
        return self.run_dir / "ranks" / f"rank-{self.process_index}.jsonl"

    def _on_weights(self, weighed: WeighedPass) -> None:
        self._passes[weighed.step] = weighed
        if self.processes > 1:
            self.rank_file.parent.mkdir(exist_ok=True)
            append_jsonl(
                self.rank_file,
                {
                    "step": weighed.step + 1,
                    "weights": weighed.weights.tolist(),
                    "rewards": weighed.rewards.tolist(),
                },
            )

    def record_step(self, logs: dict[str, float]) -> None:
        """The metrics row of the step TRL just logged (main process), then evaluation."""
        weighed = self._passes.pop(self.step - 1)
        timing = self._timing
        total = timing["end"] - timing["begin"]
        generate = timing.get("generate", 0.0)
        update = max(0.0, total - generate - weighed.score_seconds - weighed.weight_seconds)
        tokens = int(round(logs.get("completions/mean_length", 0.0) * len(weighed.rewards)))
        self.tokens_total += tokens
        self.elapsed_seconds += total
        row = {
            "step": self.step,
            "wall_seconds": round(self.elapsed_seconds, 4),
            "tokens": tokens,
            "tokens_total": self.tokens_total,
            "threads": timing["threads"],
            "seconds": {
                "generate": generate,
                "score": weighed.score_seconds,
                "weight": weighed.weight_seconds,
                "update": update,
                "total": total,
            },
            "loss": float(logs.get("loss", 0.0)),
            "kl": float(logs.get("kl", 0.0)),
            "clip_fraction": float(logs.get("clip_ratio/region_mean", 0.0)),
            "objectives": objective_stats(
                weighed.rewards,
                weighed.group_ids,
                weighed.weights,
                self.task.objective_names,
                self.task.reward_low,
            ),
        }
        if self.is_main_process:
            append_jsonl(self.run_dir / "metrics.jsonl", row)
            self.metrics_rows += 1
            self._progress.step(row)
            if self.trackers is not None:  # with TRL's own numbers of the step, as trl/...
                self.trackers.step(row, {f"trl/{name}": value for name, value in logs.items()})
        if self.step % self.config.eval_every == 0 or self.step == self.config.steps:
            self.evaluate()

    # ------------------------------------------------------------------ checkpoints
    def progress_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "elapsed_seconds": self.elapsed_seconds,
            "tokens_total": self.tokens_total,
            "metrics_rows": self.metrics_rows,
            "eval_rows": self.eval_rows,
        }

    def restore(self) -> None:
        """Resume from the newest TRL checkpoint (``self.checkpoint``), with the run's rows cut
        back to it; with none (killed before the first), start over."""
        latest = latest_trl_checkpoint(self.run_dir)
        if latest is None:
            if self.is_main_process:
                for name in ("metrics.jsonl", "eval.jsonl"):
                    (self.run_dir / name).unlink(missing_ok=True)
            self.rank_file.unlink(missing_ok=True)
            return
        saved = read_json(latest / PROGRESS_FILE)
        self.step = saved["step"]
        self.elapsed_seconds = saved["elapsed_seconds"]
        self.tokens_total = saved["tokens_total"]
        self.metrics_rows, self.eval_rows = saved["metrics_rows"], saved["eval_rows"]
        if self.is_main_process:
            truncate_jsonl(self.run_dir / "metrics.jsonl", self.metrics_rows)
            truncate_jsonl(self.run_dir / "eval.jsonl", self.eval_rows)
        if self.rank_file.exists():  # one row per step
            truncate_jsonl(self.rank_file, self.step)
        self.checkpoint = str(latest)


def _checkpoint_folder(trainer: Any, trial: Any) -> str:
    return os.path.join(
        trainer._get_output_dir(trial=trial), f"checkpoint-{trainer.state.global_step}"
    )


class _RecordingTrainer(SawGRPOTrainer):
    """SawGRPOTrainer that times TRL's generation call and saves the run's progress with
    every checkpoint."""

    def __init__(self, run: TrlTrainer, *args: Any, **kwargs: Any) -> None:
        self.saw_run = run
        super().__init__(*args, **kwargs)

    def _generate(self, prompts):
        started = time.perf_counter()
        try:
            return super()._generate(prompts)
        finally:
            self.saw_run._timing["generate"] = time.perf_counter() - started

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            write_json_atomic(
                Path(_checkpoint_folder(self, trial)) / PROGRESS_FILE,
                self.saw_run.progress_state(),
            )


class _StepRecorder(TrainerCallback):
    """Times each optimizer step and turns TRL's log of it into a metrics row; stops the
    run after the current step on Ctrl-C or SIGTERM (with a checkpoint)."""

    def __init__(self, run: TrlTrainer) -> None:
        self.run = run

    def on_step_begin(self, args, state, control, **kwargs):
        threads = self.run.threads.rebalance()
        self.run._timing = {"begin": time.perf_counter(), "threads": threads}

    def on_step_end(self, args, state, control, **kwargs):
        self.run._timing["end"] = time.perf_counter()
        self.run.step = state.global_step
        if self.run.stop_requested():
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs and state.global_step == self.run.step:
            self.run.record_step(logs)
