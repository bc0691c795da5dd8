"""GRPO/GDPO training of a causal LM on a TextTask, with a weighting agent choosing the
objectives' weights at every step.

One step reads top to bottom like the flow in ARCHITECTURE.md::

    items      = sample prompts_per_step training items           (a pure function of seed, step)
    rollouts   = policy.generate(prompts, group_size samples each)            -> "generate"
    rewards    = task.score(items, completions)          (n, K)               -> "score"
    weights    = agent.weights(ObjectiveBatch(rewards, groups, bounds, ...)) -> "weight"
    advantages = estimator(rewards, groups, weights)      (n,)
    update     = clipped surrogate on token ratios, optional KL, AdamW        -> "update"
    record     = one metrics.jsonl row; eval.jsonl every eval_every steps; checkpoint

Policy loss (PPO-style, per token t of completion i, ratio against the rollout policy)::

    rho_it = exp(log pi(y_it) - log pi_rollout(y_it))
    l_it   = -min(rho_it * A_i, clip(rho_it, 1 - clip_eps, 1 + clip_eps) * A_i)
             + kl_coef * (exp(r_it) - r_it - 1),  r_it = log pi_ref(y_it) - log pi(y_it)
    loss   = mean over completions of (mean over their tokens of l_it)

With one epoch and one mini-batch the ratio is always 1 and clipping is inert; ``minibatches``
and ``epochs`` > 1 make it act. Every random choice is a function of (seed, step), so a resumed
run draws the same prompts and samples as an uninterrupted one; together with the checkpointed
model, optimizer and RNG states, a resumed run on CPU reproduces the uninterrupted curve exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import platform
import random
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saw_bench import registry
from saw_bench.errors import RunInterrupted, SawBenchError
from saw_bench.estimators import ESTIMATORS, group_normalise
from saw_bench.runio import append_jsonl, read_jsonl, truncate_jsonl, write_json_atomic
from saw_bench.statistics import normalised_auc as area_over_span
from saw_bench.task import TextTask
from saw_bench.weighting import (
    ObjectiveBatch,
    WeightingAgent,
    coefficient_of_variation,
    completion_logprobs,
    make_agent,
)


@dataclass(frozen=True)
class RolloutTensors:
    """One step's rollouts as the update needs them: prompt + completion token ids."""

    sequences: torch.Tensor  # (n, P + T)
    attention: torch.Tensor  # (n, P + T)
    completion_mask: torch.Tensor  # (n, T) float, 1 up to and including EOS

    @property
    def completion_length(self) -> int:
        return self.completion_mask.shape[1]


@dataclass
class TrainConfig:
    """Everything a run depends on; written to ``config.json`` fully resolved."""

    task: str = "toolcall"
    task_kwargs: dict[str, Any] = field(default_factory=dict)
    weighting: str = "static"
    weighting_kwargs: dict[str, Any] = field(default_factory=dict)
    priorities: list[float] | None = None
    estimator: str = "grpo"
    steps: int = 40
    seed: int = 0
    model: str = "tiny"
    device: str = "auto"
    dtype: str = "auto"
    gradient_checkpointing: bool = False
    # rollouts
    prompts_per_step: int = 16
    group_size: int = 8
    max_new_tokens: int = 96
    temperature: float = 1.0
    # optimisation
    learning_rate: float = 3e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    clip_eps: float = 0.2
    kl_coef: float = 0.0
    epochs: int = 1
    minibatches: int = 1
    # bookkeeping
    eval_every: int = 10
    # Held-out evaluation samples at the training temperature by default: it measures the
    # policy being trained (greedy decoding hides how RL sharpens the distribution). Set
    # eval_temperature = 0 for greedy.
    eval_items: int = 128
    eval_temperature: float | None = None  # None: the rollout temperature
    checkpoint_every: int = 10

    def resolve_defaults(self) -> None:
        """Fill the options whose default depends on others (called before training)."""
        if self.eval_temperature is None:
            self.eval_temperature = self.temperature

    def validate(self) -> None:
        positive = (
            "steps", "prompts_per_step", "group_size", "max_new_tokens", "epochs", "minibatches",
            "eval_every", "eval_items", "checkpoint_every",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise SawBenchError(f"{name} must be a positive integer, but got {value!r}")
        for name in ("learning_rate", "max_grad_norm", "clip_eps"):
            if not getattr(self, name) > 0:
                raise SawBenchError(f"{name} must be positive, but got {getattr(self, name)!r}")
        for name in ("temperature", "eval_temperature", "kl_coef", "weight_decay"):
            value = getattr(self, name)
            if value is None and name == "eval_temperature":
                continue
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise SawBenchError(f"{name} must be a finite number >= 0, but got {value!r}")
        if self.temperature == 0:
            raise SawBenchError("temperature must be > 0 for training rollouts (0 is greedy)")
        registry.resolve(self.task)  # UnknownTaskError names the registered ids
        if self.estimator not in ESTIMATORS:
            raise SawBenchError(
                f"unknown estimator {self.estimator!r}; choose one of {', '.join(ESTIMATORS)}"
            )
        if self.minibatches > self.prompts_per_step * self.group_size:
            raise SawBenchError(
                f"minibatches ({self.minibatches}) exceeds the rollouts per step "
                f"({self.prompts_per_step * self.group_size})"
            )


def train(
    task: str = "toolcall",
    weighting: str = "static",
    estimator: str = "grpo",
    steps: int = 40,
    seed: int = 0,
    out_dir: str | Path | None = None,
    model: str = "tiny",
    resume: str | Path | None = None,
    progress: bool = False,
    **options: Any,
) -> Path:
    """Train ``model`` on ``task`` for ``steps`` steps; returns the run folder.

    ``options`` are the other :class:`TrainConfig` fields. ``resume=RUN_DIR`` continues that run
    (its saved config is used; ``steps`` may raise the target).
    """
    if resume is not None:
        trainer = Trainer.resume(Path(resume), steps=steps, progress=progress)
    else:
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise SawBenchError(
                f"unknown training option(s) {unknown}; valid options: {', '.join(sorted(names))}"
            )
        config = TrainConfig(
            task=task, weighting=weighting, estimator=estimator, steps=steps, seed=seed,
            model=model, **options,
        )
        trainer = Trainer.create(config, out_dir=out_dir, progress=progress)
    return trainer.run()


def default_run_dir(config: TrainConfig) -> Path:
    slug = registry.resolve(config.task).removeprefix("saw/").lower()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{slug}-{config.estimator}-{config.weighting}-s{config.seed}-{stamp}"


class Trainer:
    """Holds a run's live state; build with :meth:`create` or :meth:`resume`."""

    #: Write ``curves.png`` into the run folder when a run finishes.
    plot = True

    def __init__(self, config: TrainConfig, run_dir: Path, progress: bool) -> None:
        from saw_bench.policy import load_policy  # torch/transformers only when training

        config.validate()
        config.resolve_defaults()
        self.config = config
        self.run_dir = run_dir
        self.progress = progress
        try:
            self.task: TextTask = registry.load_task(config.task, **config.task_kwargs)
        except (TypeError, ValueError) as error:  # bad task_kwargs from a config file
            raise SawBenchError(f"task {config.task!r}: {error}") from None
        try:
            self.agent: WeightingAgent = make_agent(config.weighting, **config.weighting_kwargs)
        except (TypeError, ValueError) as error:
            raise SawBenchError(f"weighting agent {config.weighting!r}: {error}") from None
        self.estimate = ESTIMATORS[config.estimator][0]
        torch.manual_seed(config.seed)
        # task= picks the tiny policy built for this task; other models ignore the task
        policy_task = registry.resolve(config.task) if config.model == "tiny" else None
        self.policy = load_policy(
            config.model, task=policy_task, device=config.device, dtype=config.dtype,
            gradient_checkpointing=config.gradient_checkpointing, progress=progress,
        )
        self.reference_model = None
        if config.kl_coef > 0:  # the frozen starting point, loaded again from its source
            self.reference_model = load_policy(
                config.model, task=policy_task, device=config.device, dtype=config.dtype,
                progress=False,
            ).model.eval().requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            self.policy.model.parameters(), lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
        self.step = 0
        self.elapsed_seconds = 0.0
        self.tokens_total = 0
        self.train_items = list(self.task.split("train"))
        test_items = list(self.task.split("test"))
        stride = max(1, len(test_items) // config.eval_items)
        self.eval_items = test_items[::stride][: config.eval_items]
        if not self.train_items or not self.eval_items:
            raise SawBenchError(f"task {config.task!r} needs non-empty train and test splits")

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, config: TrainConfig, out_dir: str | Path | None, progress: bool) -> Trainer:
        config.validate()
        run_dir = Path(out_dir) if out_dir is not None else default_run_dir(config)
        if (run_dir / "config.json").exists():
            raise SawBenchError(
                f"{run_dir} already holds a run; pass resume={str(run_dir)!r} to continue it "
                "or choose another out_dir"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        trainer = cls(config, run_dir, progress)
        write_json_atomic(run_dir / "config.json", trainer.resolved_config())
        return trainer

    @classmethod
    def resume(cls, run_dir: Path, steps: int | None, progress: bool) -> Trainer:
        config_path = run_dir / "config.json"
        if not config_path.exists():
            raise SawBenchError(f"cannot resume {run_dir}: it has no config.json")
        saved = json.loads(config_path.read_text())["train"]
        config = TrainConfig(**saved)
        if steps is not None:
            config.steps = max(config.steps, steps)
        trainer = cls(config, run_dir, progress)
        trainer.load_checkpoint()
        return trainer

    def resolved_config(self) -> dict[str, Any]:
        import transformers

        import saw_bench

        env_spec = registry.spec(self.config.task)
        return {
            "train": dataclasses.asdict(self.config),
            "task_id": env_spec.id,
            "env_spec": json.loads(env_spec.to_json()),
            "objectives": [dataclasses.asdict(o) for o in self.task.objectives],
            "task_data": self.task.data_fingerprint(),
            "git_commit": _git_commit(),
            "model": {"name": self.policy.name, "revision": self.policy.revision,
                      "parameters": sum(p.numel() for p in self.policy.model.parameters())},
            "agent": {"name": self.agent.name, "needs_gramian": self.agent.needs_gramian},
            "versions": {
                "saw_bench": saw_bench.__version__, "torch": torch.__version__,
                "transformers": transformers.__version__, "numpy": np.__version__,
                "python": platform.python_version(),
            },
            "hardware": {"device": str(self.policy.device), "machine": platform.machine(),
                         "threads": torch.get_num_threads()},
        }

    # ------------------------------------------------------------------ the loop
    def run(self) -> Path:
        """Train up to ``config.steps``. Ctrl-C (SIGINT) or SIGTERM stops after the current
        step, writes a checkpoint and raises :class:`RunInterrupted`; a second Ctrl-C aborts at
        once (the last checkpoint still resumes)."""
        config = self.config
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=config.steps, initial=self.step, desc="training", unit="step")
        with _StopRequests() as stop:
            if self.step == 0 and not read_jsonl(self.run_dir / "eval.jsonl"):
                self.evaluate()
            saved_step = self.step
            while self.step < config.steps and not stop.requested:
                row = self.train_step()
                self.step += 1
                if self.step % config.eval_every == 0 or self.step == config.steps:
                    self.evaluate()
                if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                    self.save_checkpoint()
                    saved_step = self.step
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(_progress_text(row, self.task.objective_names))
            if bar is not None:
                bar.close()
            if stop.requested:
                if saved_step != self.step:
                    self.save_checkpoint()
                raise RunInterrupted(self.run_dir, self.step)
        self.write_summary()
        if self.plot:
            from saw_bench.report import plot_run

            try:
                plot_run(self.run_dir)
            except (SawBenchError, OSError) as error:  # the run itself is complete
                print(f"warning: no curves.png for {self.run_dir}: {error}", file=sys.stderr)
        return self.run_dir

    def train_step(self) -> dict[str, Any]:
        config, step = self.config, self.step
        started = time.perf_counter()

        # generate
        items = self.sample_items(step)
        prompts = [self.policy.render(self.task.prompt(item)) for item in items]
        rollouts = self.policy.generate(
            prompts, num_samples=config.group_size, max_new_tokens=config.max_new_tokens,
            temperature=config.temperature, seed=_derive_seed(config.seed, "generate", step),
        )
        after_generate = time.perf_counter()

        # score
        group_ids = rollouts.prompt_index.cpu().numpy()
        rollout_items = [items[index] for index in group_ids]
        rewards = self.task.score(rollout_items, rollouts.texts).astype(np.float64)
        task_counters = self.task.pop_counters()
        after_score = time.perf_counter()

        # weigh (gradient-based agents also get the per-objective policy-gradient Gramian)
        tensors = self.rollout_tensors(rollouts)
        batch = ObjectiveBatch(
            rewards=rewards, group_ids=group_ids, low=self.task.reward_low,
            high=self.task.reward_high, priorities=config.priorities, step=step,
            gramian=self.gramian_callable(tensors, rewards, group_ids),
        )
        weights = np.asarray(self.agent.weights(batch), dtype=np.float64)
        after_weight = time.perf_counter()

        # estimate + update
        advantages = self.estimate(rewards, group_ids, weights)
        update = self.update(tensors, torch.as_tensor(advantages, dtype=torch.float32))
        finished = time.perf_counter()

        tokens = int(rollouts.completion_mask.sum())
        self.tokens_total += tokens
        self.elapsed_seconds += finished - started
        row = {
            "step": step + 1,
            "wall_seconds": round(self.elapsed_seconds, 4),
            "tokens": tokens,
            "tokens_total": self.tokens_total,
            "seconds": {
                "generate": after_generate - started, "score": after_score - after_generate,
                "weight": after_weight - after_score, "update": finished - after_weight,
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
        return row

    def gramian_callable(
        self, tensors: RolloutTensors, rewards: np.ndarray, group_ids: np.ndarray
    ) -> Callable[[], np.ndarray] | None:
        """For agents that ask: the K x K Gramian of per-objective policy gradients, computed
        when the agent calls it (one forward pass, K backward passes on a parameter subset, or
        the agent's own choice of parameters and passes)."""
        if not self.agent.needs_gramian:
            return None
        from saw_bench.weighting._gramian import objective_advantages, objective_gramian

        def gramian() -> np.ndarray:
            return objective_gramian(
                self.policy.model, tensors.sequences, tensors.attention, tensors.completion_mask,
                tensors.completion_length,
                torch.as_tensor(objective_advantages(rewards, group_ids), dtype=torch.float32),
                temperature=self.config.temperature,
                parameters=getattr(self.agent, "parameters", "subset"),
                separate_passes=getattr(self.agent, "separate_passes", False),
            )

        return gramian

    def sample_items(self, step: int) -> list[dict[str, Any]]:
        """prompts_per_step items: epochs over shuffled training items, a function of step."""
        per_step = self.config.prompts_per_step
        total = len(self.train_items)
        start = step * per_step
        orders: dict[int, np.ndarray] = {}  # one shuffle per epoch this step touches
        chosen = []
        for position in range(start, start + per_step):
            epoch, offset = divmod(position, total)
            if epoch not in orders:
                rng = np.random.default_rng([self.config.seed, 7919, epoch])
                orders[epoch] = rng.permutation(total)
            chosen.append(self.train_items[orders[epoch][offset]])
        return chosen

    def rollout_tensors(self, rollouts: Any) -> RolloutTensors:
        device = self.policy.device
        return RolloutTensors(
            sequences=torch.cat([rollouts.prompt_ids, rollouts.completion_ids], dim=1).to(device),
            attention=torch.cat([rollouts.prompt_mask, rollouts.completion_mask], dim=1).to(device),
            completion_mask=rollouts.completion_mask.to(device).float(),
        )

    def update(self, rollouts: RolloutTensors, advantages: torch.Tensor) -> dict[str, float]:
        config = self.config
        model = self.policy.model
        sequences, attention = rollouts.sequences, rollouts.attention
        completion_mask = rollouts.completion_mask
        advantages = advantages.to(self.policy.device)
        rows = sequences.shape[0]
        length = rollouts.completion_length

        needs_old = config.epochs > 1 or config.minibatches > 1
        with torch.no_grad():
            old_logprobs = None
            if needs_old:
                old_logprobs = completion_logprobs(
                    model, sequences, attention, length, config.temperature
                )
            reference_logprobs = (
                completion_logprobs(
                    self.reference_model, sequences, attention, length, config.temperature
                )
                if self.reference_model is not None else None
            )

        model.train()
        losses, kls, clipped = [], [], []
        chunks = np.array_split(np.arange(rows), config.minibatches)
        for _ in range(config.epochs):
            for chunk in chunks:
                index = torch.as_tensor(chunk, device=self.policy.device)
                logprobs = completion_logprobs(
                    model, sequences[index], attention[index], length, config.temperature
                )
                baseline = logprobs.detach() if old_logprobs is None else old_logprobs[index]
                ratio = torch.exp(logprobs - baseline)
                advantage = advantages[index].unsqueeze(1)
                surrogate = torch.minimum(
                    ratio * advantage,
                    torch.clamp(ratio, 1 - config.clip_eps, 1 + config.clip_eps) * advantage,
                )
                per_token = -surrogate
                mask = completion_mask[index]
                if reference_logprobs is not None:
                    log_ratio = reference_logprobs[index] - logprobs
                    kl = torch.exp(log_ratio) - log_ratio - 1
                    per_token = per_token + config.kl_coef * kl
                    kls.append(float(_sequence_mean(kl.detach(), mask).mean()))
                loss = _sequence_mean(per_token, mask).mean()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                self.optimizer.step()
                losses.append(float(loss.detach()))
                outside = ((ratio - 1).abs() > config.clip_eps).float()
                clipped.append(float((outside * mask).sum() / mask.sum().clamp(min=1)))
        return {
            "loss": float(np.mean(losses)),
            "kl": float(np.mean(kls)) if kls else 0.0,
            "clip_fraction": float(np.mean(clipped)),
        }

    # ------------------------------------------------------------------ evaluation
    def evaluate(self) -> dict[str, Any]:
        config = self.config
        started = time.perf_counter()
        prompts = [self.policy.render(self.task.prompt(item)) for item in self.eval_items]
        rollouts = self.policy.generate(
            prompts, num_samples=1, max_new_tokens=config.max_new_tokens,
            temperature=config.eval_temperature, seed=_derive_seed(config.seed, "eval", self.step),
        )
        rewards = self.task.score(self.eval_items, rollouts.texts)
        row = {
            "step": self.step,
            "wall_seconds": round(self.elapsed_seconds, 4),
            "items": len(self.eval_items),
            "temperature": config.eval_temperature,
            "objectives": {
                name: float(rewards[:, k].mean())
                for k, name in enumerate(self.task.objective_names)
            },
            "normalised": normalised_score(rewards.mean(axis=0), self.task, config.priorities),
            "seconds": time.perf_counter() - started,
        }
        append_jsonl(self.run_dir / "eval.jsonl", row)
        return row

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> None:
        from saw_bench.policy._hf import quiet_transformers

        final = self.run_dir / "checkpoint"
        staging = self.run_dir / "checkpoint.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        with quiet_transformers():
            self.policy.model.save_pretrained(staging / "model")
        self.policy.tokenizer.save_pretrained(staging / "model")
        torch.save(
            {
                "optimizer": self.optimizer.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate(),
                # plain lists and numbers, so resuming never unpickles arbitrary objects
                "numpy_rng": _numpy_state_to_plain(np.random.get_state()),
            },
            staging / "state.pt",
        )
        write_json_atomic(
            staging / "progress.json",
            {
                "step": self.step,
                "elapsed_seconds": self.elapsed_seconds,
                "tokens_total": self.tokens_total,
                "metrics_rows": len(read_jsonl(self.run_dir / "metrics.jsonl")),
                "eval_rows": len(read_jsonl(self.run_dir / "eval.jsonl")),
                "agent_state": self.agent.state_dict(),
            },
        )
        previous = self.run_dir / "checkpoint.old"
        shutil.rmtree(previous, ignore_errors=True)
        if final.exists():
            final.rename(previous)
        staging.rename(final)
        shutil.rmtree(previous, ignore_errors=True)

    def load_checkpoint(self) -> None:
        from safetensors.torch import load_file

        checkpoint = self.run_dir / "checkpoint"
        if not checkpoint.exists() and (self.run_dir / "checkpoint.old").exists():
            (self.run_dir / "checkpoint.old").rename(checkpoint)  # killed mid-swap
        if not checkpoint.exists():  # killed before the first checkpoint: start over
            for name in ("metrics.jsonl", "eval.jsonl"):
                (self.run_dir / name).unlink(missing_ok=True)
            return
        progress = json.loads((checkpoint / "progress.json").read_text())
        weights = load_file(str(checkpoint / "model" / "model.safetensors"))
        self.policy.model.load_state_dict(weights, strict=False)
        if hasattr(self.policy.model, "tie_weights"):
            self.policy.model.tie_weights()
        state = torch.load(checkpoint / "state.pt", weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])
        name, keys, position, has_gauss, cached_gaussian = state["numpy_rng"]
        np.random.set_state(
            (name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached_gaussian)
        )
        self.agent.load_state_dict(progress["agent_state"])
        self.step = progress["step"]
        self.elapsed_seconds = progress["elapsed_seconds"]
        self.tokens_total = progress["tokens_total"]
        truncate_jsonl(self.run_dir / "metrics.jsonl", progress["metrics_rows"])
        truncate_jsonl(self.run_dir / "eval.jsonl", progress["eval_rows"])

    # ------------------------------------------------------------------ summary
    def write_summary(self) -> dict[str, Any]:
        metrics = read_jsonl(self.run_dir / "metrics.jsonl")
        evaluations = read_jsonl(self.run_dir / "eval.jsonl")
        seconds = np.array([row["seconds"]["total"] for row in metrics])
        weight_seconds = np.array([row["seconds"]["weight"] for row in metrics])
        curve = [(row["step"], row["normalised"]) for row in evaluations]
        summary = {
            "task_id": registry.resolve(self.config.task),
            "weighting": self.config.weighting,
            "estimator": self.config.estimator,
            "seed": self.config.seed,
            "steps": self.step,
            "final": evaluations[-1]["objectives"] if evaluations else {},
            "final_normalised": evaluations[-1]["normalised"] if evaluations else None,
            "initial": evaluations[0]["objectives"] if evaluations else {},
            "normalised_auc": normalised_auc(curve),
            "seconds_per_step": float(seconds.mean()) if len(seconds) else None,
            "weighting_seconds_per_step": float(weight_seconds.mean()) if len(seconds) else None,
            "weighting_overhead": (
                float(weight_seconds.sum() / seconds.sum()) if seconds.sum() > 0 else None
            ),
            "tokens_total": self.tokens_total,
            "wall_seconds": self.elapsed_seconds,
        }
        write_json_atomic(self.run_dir / "summary.json", summary)
        return summary


# ---------------------------------------------------------------------- helpers
def objective_stats(
    rewards: np.ndarray,
    group_ids: np.ndarray,
    weights: np.ndarray,
    names: Sequence[str],
    low: np.ndarray,
) -> dict[str, dict[str, float]]:
    """Per objective: batch mean, std, coefficient of variation (after shifting by the lower
    bound, as SAW does), weight and advantage share.

    The advantage share of objective k is mean_i |w_k z_ik| / sum_l mean_i |w_l z_il|, where z
    is the group-normalised reward: how much of the step's learning signal comes from k.
    """
    normalised = np.abs(group_normalise(rewards, group_ids) * weights)
    contribution = normalised.mean(axis=0)
    total = contribution.sum()
    cvs = coefficient_of_variation(rewards, low)
    stats = {}
    for k, name in enumerate(names):
        column = rewards[:, k]
        stats[name] = {
            "mean": float(column.mean()),
            "std": float(column.std(ddof=1)) if len(column) > 1 else 0.0,
            "cv": float(cvs[k]),
            "weight": float(weights[k]),
            "advantage_share": float(contribution[k] / total) if total > 0 else 0.0,
        }
    return stats


def normalised_score(
    means: np.ndarray, task: TextTask, priorities: Sequence[float] | None = None
) -> float:
    """Aggregate of per-objective means mapped to [0, 1] by the task's bounds:
    mean_k (x_k - low_k) / (high_k - low_k), priority-weighted when priorities are given."""
    scaled = (np.asarray(means) - task.reward_low) / (task.reward_high - task.reward_low)
    weights = np.ones(len(scaled)) if priorities is None else np.asarray(priorities, float)
    return float((scaled * weights).sum() / weights.sum())


def normalised_auc(curve: Sequence[tuple[int, float]]) -> float | None:
    """Trapezoidal area under an aggregate curve of (step, value in [0, 1]) divided by its step
    span (:func:`saw_bench.statistics.normalised_auc`); None for fewer than two points."""
    value = area_over_span([step for step, _ in curve], [value for _, value in curve])
    return None if math.isnan(value) else value


class _StopRequests:
    """While active (main thread only): the first SIGINT or SIGTERM sets ``requested``; a
    second SIGINT raises KeyboardInterrupt as usual. Previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequests:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nstopping after this step and writing a checkpoint (Ctrl-C again to abort)",
            file=sys.stderr, flush=True,
        )


def _numpy_state_to_plain(state: tuple[Any, ...]) -> tuple[Any, ...]:
    name, keys, position, has_gauss, cached_gaussian = state
    return name, keys.tolist(), int(position), int(has_gauss), float(cached_gaussian)


def _git_commit() -> str | None:
    """The commit of the saw-bench checkout in use (None for an installed wheel or no git)."""
    import subprocess

    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
            text=True, timeout=5, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def _sequence_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def _derive_seed(seed: int, purpose: str, step: int) -> int:
    digest = hashlib.sha256(f"{seed}:{purpose}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _progress_text(row: dict[str, Any], names: Sequence[str]) -> str:
    stats = row["objectives"]
    return " ".join(f"{n}={stats[n]['mean']:.2f}(w{stats[n]['weight']:.2f})" for n in names)
