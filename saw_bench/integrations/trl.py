"""Weighting agents inside TRL's ``GRPOTrainer`` (trl 1.16; ``pip install 'saw-bench[trl]'``).

TRL sums several reward functions with fixed ``reward_weights``. :class:`SawGRPOTrainer` sets
those weights at every scoring pass from any saw-bench weighting agent, computed on the whole
reward matrix of the step::

    from saw_bench.integrations.trl import SawGRPOTrainer
    trainer = SawGRPOTrainer(model=..., reward_funcs=[format_reward, correctness_reward],
                             args=args, train_dataset=dataset,
                             weighting="saw", reward_bounds=[(0, 1), (-3, 3)])

How it plugs in: TRL's ``_calculate_rewards`` returns the (N, K) matrix of every reward
function on every completion, gathered across processes (identical on every rank; rows are
contiguous groups of ``num_generations``), and TRL applies ``self.reward_weights`` right after.
The subclass calls TRL's method, builds an :class:`~saw_bench.weighting.ObjectiveBatch`
(rewards, group ids, the objectives' bounds, priorities, the global step), asks the agent for K
weights and stores them in ``self.reward_weights`` before TRL aggregates. Every process computes
the same weights from the same global matrix (the agents are deterministic functions of the
batch and their state). A callback cannot do this: TRL has no hook between rewards and
advantages, and a reward function sees only its own objective.

- ``multi_objective_aggregation="sum_then_normalize"`` with ``scale_rewards="group"`` is
  saw-bench's ``grpo`` (weights at the reward level); ``"normalize_then_sum"`` is ``gdpo``
  (weights at the advantage level). On the same reward matrix they give saw-bench's weights and
  advantages (float32 tolerance); other ``scale_rewards`` values are TRL's own variants.
- ``args.reward_weights``, when set, become the agent's static priorities (SAW keeps them on
  top of its dynamic weights); ``priorities=`` overrides them.
- The weights and each objective's coefficient of variation go into TRL's metrics as
  ``weights/<objective>`` and ``cv/<objective>``, so ``report_to`` (TensorBoard, W&B, trackio)
  shows them with no extra code. Held-out passes (``eval``) keep the last training weights.
- The agent's state (``saw-ema`` remembers its moving average) is saved in every TRL checkpoint
  as ``saw_bench_agent.json`` and restored by ``train(resume_from_checkpoint=...)``.
- Gradient-based agents (mgda, pcgrad, upgrad, drw-grad) need one gradient per objective, which
  TRL's loss does not expose: they are refused with an error naming the agents that work.
- A reward function that returns ``None`` for a completion (TRL's "not applicable") leaves a NaN
  in the matrix; the agents need every objective scored, so that raises an error.

:func:`task_dataset` and :func:`task_reward_functions` turn a saw-bench task into TRL's inputs:
a ``datasets.Dataset`` of chat prompts and K reward functions named after the objectives.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.core.task import TextTask
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.weighting import (
    AGENTS,
    ObjectiveBatch,
    WeightingAgent,
    coefficient_of_variation,
    make_agent,
)

try:
    import trl
except ImportError as error:  # the extra is optional
    raise ImportError(
        "saw_bench.integrations.trl needs TRL 1.16: pip install 'saw-bench[trl]'"
    ) from error

#: The TRL releases whose GRPOTrainer internals this module was written against.
SUPPORTED_TRL = "1.16."
#: The file in each TRL checkpoint folder that holds the agent's state.
AGENT_STATE_FILE = "saw_bench_agent.json"
#: The column of :func:`task_dataset` that names each row's item (passed back to rewards).
ITEM_COLUMN = "saw_item"


def _check_trl_version() -> None:
    if not trl.__version__.startswith(SUPPORTED_TRL):
        raise SawBenchError(
            f"saw_bench.integrations.trl supports trl {SUPPORTED_TRL}*, but trl "
            f"{trl.__version__} is installed: pip install 'trl=={SUPPORTED_TRL}*'"
        )


def batch_agents() -> list[str]:
    """The agents that weigh from the reward matrix alone (those that work inside TRL)."""
    return sorted(name for name, agent in AGENTS.items() if not agent.needs_gramian)


def build_agent(weighting: str | WeightingAgent, **weighting_kwargs: Any) -> WeightingAgent:
    """``weighting`` by name (with its options) or as an instance; refuses gradient agents."""
    agent = (
        weighting
        if isinstance(weighting, WeightingAgent)
        else make_agent(weighting, **weighting_kwargs)
    )
    check_batch_agent(agent)
    return agent


def check_batch_agent(agent: WeightingAgent) -> None:
    """A SawBenchError for an agent that needs per-objective gradients (TRL has none)."""
    if agent.needs_gramian:
        raise SawBenchError(
            f"weighting agent {agent.name!r} needs one policy gradient per objective, which "
            f"TRL's GRPOTrainer does not expose; inside TRL use one of "
            f"{', '.join(batch_agents())} (or saw-bench's own trainer, backend 'saw-bench')"
        )


@dataclass(frozen=True)
class WeighedPass:
    """One training scoring pass as the trainer saw it: the global reward matrix, the weights
    the agent set, and the seconds spent scoring (TRL's reward functions and the gather) and
    weighing."""

    step: int
    rewards: np.ndarray  # (N, K) float64
    group_ids: np.ndarray  # (N,)
    weights: np.ndarray  # (K,)
    score_seconds: float
    weight_seconds: float


class SawGRPOTrainer(trl.GRPOTrainer):
    """TRL's ``GRPOTrainer`` with a saw-bench weighting agent setting ``reward_weights``.

    ``weighting``: an agent name (``python -m saw_bench list``) or a
    :class:`~saw_bench.weighting.WeightingAgent`; ``weighting_kwargs``: its options.
    ``reward_bounds``: one ``(low, high)`` per reward function (SAW shifts each reward by its
    lower bound); or ``task=`` a saw-bench task (or its id), whose objectives give the bounds.
    ``priorities``: one static priority per reward function (default: ``args.reward_weights``,
    else equal). ``on_weights``: called with a :class:`WeighedPass` after every training
    scoring pass (the TRL backend records its metrics rows through it).
    Every other argument is ``GRPOTrainer``'s.
    """

    def __init__(
        self,
        *args: Any,
        weighting: str | WeightingAgent = "saw",
        weighting_kwargs: dict[str, Any] | None = None,
        reward_bounds: Sequence[Sequence[float]] | None = None,
        task: TextTask | str | None = None,
        priorities: Sequence[float] | None = None,
        on_weights: Callable[[WeighedPass], None] | None = None,
        **kwargs: Any,
    ) -> None:
        _check_trl_version()
        self.agent = build_agent(weighting, **(weighting_kwargs or {}))
        low, high = _bounds(reward_bounds, task)
        super().__init__(*args, **kwargs)
        k = len(self.reward_funcs)
        if len(low) != k:
            raise SawBenchError(
                f"{len(low)} reward bounds for {k} reward functions ({self.reward_func_names}); "
                "give one (low, high) per reward function, in their order"
            )
        if priorities is None:
            priorities = self.reward_weights.tolist()  # args.reward_weights, or ones
        priorities = np.asarray(priorities, dtype=np.float64)
        if (
            priorities.shape != (k,)
            or not np.all(np.isfinite(priorities))
            or np.any(priorities < 0)
        ):
            raise SawBenchError(
                f"priorities must be {k} finite numbers >= 0, but got {priorities.tolist()}"
            )
        self.reward_low, self.reward_high, self.priorities = low, high, priorities
        self.on_weights = on_weights
        self.last_pass: WeighedPass | None = None

    # ------------------------------------------------------------------ the override point
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        started = time.perf_counter()
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if not self.model.training:  # held-out passes keep the training weights
            return rewards
        scored = time.perf_counter()
        matrix = rewards.detach().to("cpu", torch.float64).numpy()
        missing = np.isnan(matrix).any(axis=0)
        if missing.any():
            names = [n for n, m in zip(self.reward_func_names, missing, strict=True) if m]
            raise SawBenchError(
                f"reward function(s) {names} returned None for some completions; saw-bench's "
                "weighting agents need every objective scored on every completion"
            )
        group_ids = np.arange(len(matrix)) // self.num_generations
        batch = ObjectiveBatch(
            rewards=matrix,
            group_ids=group_ids,
            low=self.reward_low,
            high=self.reward_high,
            priorities=self.priorities,
            step=self.state.global_step,
        )
        weights = np.asarray(self.agent.weights(batch), dtype=np.float64)
        self.reward_weights = torch.as_tensor(weights, dtype=torch.float32)
        finished = time.perf_counter()
        cvs = coefficient_of_variation(matrix, self.reward_low)
        for name, weight, cv in zip(self.reward_func_names, weights, cvs, strict=True):
            self._metrics["train"][f"weights/{name}"].append(float(weight))
            self._metrics["train"][f"cv/{name}"].append(float(cv))
        self.last_pass = WeighedPass(
            step=self.state.global_step,
            rewards=matrix,
            group_ids=group_ids,
            weights=weights,
            score_seconds=scored - started,
            weight_seconds=finished - scored,
        )
        if self.on_weights is not None:
            self.on_weights(self.last_pass)
        return rewards

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(
                self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}"
            )
            state = {
                "agent": self.agent.name,
                "state": self.agent.state_dict(),
                "reward_weights": self.reward_weights.tolist(),
            }
            with open(os.path.join(folder, AGENT_STATE_FILE), "w") as handle:
                json.dump(state, handle)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, AGENT_STATE_FILE)
        if not os.path.exists(path):
            raise SawBenchError(
                f"{checkpoint} has no {AGENT_STATE_FILE}: it was not saved by SawGRPOTrainer, so "
                f"the {self.agent.name!r} agent's state cannot be restored"
            )
        with open(path) as handle:
            saved = json.load(handle)
        if saved.get("agent") != self.agent.name:
            raise SawBenchError(
                f"{path} holds the state of agent {saved.get('agent')!r}, but this trainer "
                f"weighs with {self.agent.name!r}"
            )
        self.agent.load_state_dict(saved["state"])
        self.reward_weights = torch.as_tensor(saved["reward_weights"], dtype=torch.float32)


def _bounds(
    reward_bounds: Sequence[Sequence[float]] | None, task: TextTask | str | None
) -> tuple[np.ndarray, np.ndarray]:
    if (reward_bounds is None) == (task is None):
        raise SawBenchError(
            "give the rewards' bounds: reward_bounds=[(low, high), ...] (one per reward "
            "function) or task= a saw-bench task"
        )
    if task is not None:
        task = registry.load_task(task) if isinstance(task, str) else task
        return task.reward_low.astype(np.float64), task.reward_high.astype(np.float64)
    try:
        bounds = np.asarray(reward_bounds, dtype=np.float64)
    except (TypeError, ValueError):
        bounds = np.empty(0)
    if bounds.ndim != 2 or bounds.shape[1] != 2 or not np.all(np.isfinite(bounds)):
        raise SawBenchError(
            f"reward_bounds must be (low, high) pairs of finite numbers, but got {reward_bounds!r}"
        )
    if np.any(bounds[:, 0] >= bounds[:, 1]):
        raise SawBenchError(f"each reward bound needs low < high, but got {bounds.tolist()}")
    return bounds[:, 0].copy(), bounds[:, 1].copy()


# ---------------------------------------------------------------------- task adapters
def task_dataset(task: TextTask, split: str = "train") -> Any:
    """A ``datasets.Dataset`` of the split's chat prompts, with the column ``saw_item`` (the
    item's index in the split) that TRL passes back to :func:`task_reward_functions`."""
    from datasets import Dataset

    items = task.split(split)
    return Dataset.from_dict(
        {"prompt": [task.prompt(item) for item in items], ITEM_COLUMN: list(range(len(items)))}
    )


def task_reward_functions(task: TextTask, split: str = "train") -> list[Callable[..., list]]:
    """K TRL reward functions, one per objective and named after it, that score with the
    task's own scorer (bounded, never raising). The K functions share one scoring per pass:
    TRL calls them in turn on the same completions, and the task scores all objectives at once.
    """
    items = task.split(split)
    last: dict[str, Any] = {}

    def scores(completions: list, indices: list[int]) -> np.ndarray:
        if last.get("completions") is not completions:
            texts = [_completion_text(completion) for completion in completions]
            last["scores"] = task.score([items[i] for i in indices], texts)
            last["completions"] = completions
        return last["scores"]

    def objective_reward(k: int, name: str) -> Callable[..., list]:
        def reward(completions: list, **kwargs: Any) -> list[float]:
            if ITEM_COLUMN not in kwargs:
                raise SawBenchError(
                    f"reward {name!r} needs the dataset column {ITEM_COLUMN!r} "
                    "(build the dataset with saw_bench.integrations.trl.task_dataset)"
                )
            return scores(completions, kwargs[ITEM_COLUMN])[:, k].astype(float).tolist()

        reward.__name__ = reward.__qualname__ = name
        return reward

    return [objective_reward(k, name) for k, name in enumerate(task.objective_names)]


def _completion_text(completion: Any) -> str:
    """TRL passes a conversational completion as ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, list):
        return "".join(str(message.get("content", "")) for message in completion)
    return str(completion)


def trl_aggregation(estimator: str) -> dict[str, str]:
    """The GRPOConfig options under which TRL's advantages equal saw-bench's ``estimator``
    (its :class:`~saw_bench.training.estimators.Estimator` record's ``trl_options``)."""
    if estimator not in ESTIMATORS:
        raise SawBenchError(
            f"unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}"
        )
    return dict(ESTIMATORS[estimator].trl_options)


__all__ = [
    "AGENT_STATE_FILE",
    "ITEM_COLUMN",
    "SawGRPOTrainer",
    "WeighedPass",
    "batch_agents",
    "build_agent",
    "check_batch_agent",
    "task_dataset",
    "task_reward_functions",
    "trl_aggregation",
]
