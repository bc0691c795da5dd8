"""Weighting agents inside verl's GRPO and GDPO advantages (verl 0.9.1;
``pip install 'saw-bench[verl]'``).

verl weighs several rewards with fixed ``algorithm.gdpo_reward_weights``. This module adds two
advantage estimators, ``saw_bench_grpo`` and ``saw_bench_gdpo``, that set those weights at every
step from any saw-bench weighting agent that needs no gradients, computed on the step's whole
reward matrix (all prompts x all rollouts), as saw-bench's own trainer and
:class:`~saw_bench.integrations.trl.SawGRPOTrainer` do::

    algorithm.adv_estimator=saw_bench_gdpo             # or saw_bench_grpo
    +algorithm.gdpo_reward_keys=[format,correctness]   # the objectives, in order
    +algorithm.saw_bench.weighting=saw                 # any agent of batch_agents()
    +algorithm.saw_bench.task=saw/ToolCall-Synth-v0    # the bounds SAW shifts by (or reward_bounds)
    trainer.use_v1=False                               # see below

How it plugs in (read in verl 0.9.1, the only release this module accepts):

- Registration: the estimators are registered with verl's public
  ``core_algos.register_adv_est`` when :mod:`saw_bench.integrations.verl_plugin` is imported.
  saw-bench declares that module as a ``verl.plugins`` entry point, which ``import verl`` loads
  in every process (driver, task runner, workers), so installing saw-bench beside verl is the
  whole plug-in step; ``VERL_USE_EXTERNAL_MODULES=saw_bench.integrations.verl_plugin`` loads it
  explicitly and fails loudly where the entry point would be skipped quietly.
- The two overrides. ``ray_trainer.compute_advantage`` passes the reward components
  (``non_tensor_batch``, where the reward manager stores every key ``compute_score`` returns)
  to an estimator only when it is named ``gdpo``. :func:`register` wraps that function so the
  two estimators here receive them too; every other estimator goes through verl's function
  unchanged. It also wraps ``ray_trainer.compute_data_metrics`` (the trainer calls it on the
  same batch after the actor update) to add the weights that the advantage step left in the
  batch's ``meta_info``; for verl's own estimators it adds nothing. verl 0.9.1's v1 trainer
  (``trainer.use_v1=True``, its default) reads only the scalar reward into its advantage step,
  so neither verl's ``gdpo`` keys nor these estimators see components there: train with
  ``trainer.use_v1=False``.
- ``saw_bench_grpo``: R = sum_k w_k r_k, put on the response's last token (plus verl's in-reward
  KL penalty, when on), then verl's own ``compute_grpo_outcome_advantage``. With equal weights
  and the sum as ``score`` this is verl's ``grpo``.
- ``saw_bench_gdpo``: verl's own ``compute_gdpo_outcome_advantage`` with
  ``gdpo_reward_weights`` set to the agent's weights (group-normalise each objective, weighted
  sum, whitening over response tokens; verl's ``gdpo`` ignores the in-reward KL, and so does
  this). With equal weights this is verl's ``gdpo``.
- ``algorithm.gdpo_reward_weights``, when set, become the agent's static priorities (SAW keeps
  them on top of its dynamic weights). Options of ``+algorithm.saw_bench``: ``weighting``
  (default ``saw``), ``weighting_kwargs``, ``task`` and ``task_kwargs`` (the objectives' bounds)
  or ``reward_bounds`` ([[low, high], ...], one pair per key).
- Each step's weights reach verl's step metrics, and so its trackers (``trainer.logger``), as
  ``saw_bench/weights/<key>``; they are also logged (logger ``saw_bench.integrations.verl``,
  INFO) and kept in :attr:`VerlWeighting.history`.
- The agent lives in the task runner's process: ``saw-ema``'s average and ``rlw``'s step count
  start afresh when a run resumes. verl 0.9.1 saves and restores only the workers' checkpoints
  and the dataloader (``RayPPOTrainer._save_checkpoint`` and ``_load_checkpoint``, no hook), and
  the advantage step does not see the global step.

:mod:`saw_bench.integrations.verl_data` turns a saw-bench task into verl's data (parquet) and
custom reward function (``compute_score``), whose keys are the objectives.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.weighting import AGENTS, ObjectiveBatch, WeightingAgent, make_agent

#: The verl releases whose trainer internals this module was written against.
SUPPORTED_VERL = "0.9."
#: verl estimator name -> the saw-bench estimator it computes (``Estimator.verl_options``).
VERL_ESTIMATORS = {
    estimator.verl_options["algorithm.adv_estimator"]: name
    for name, estimator in ESTIMATORS.items()
}
#: The key under ``algorithm`` that holds this module's options.
CONFIG_KEY = "saw_bench"
#: The batch's ``meta_info`` key that carries a step's weights from the advantage step to
#: verl's step metrics.
METRICS_KEY = "saw_bench_metrics"

logger = logging.getLogger(__name__)


def batch_agents() -> list[str]:
    """The agents that weigh from the reward matrix alone (those that work inside verl)."""
    return sorted(name for name, agent in AGENTS.items() if not agent.needs_gramian)


# ---------------------------------------------------------------------- the weights
@dataclass
class VerlWeighting:
    """One configured agent and what it needs each step: the reward keys (objectives, in
    order), their bounds and static priorities; ``history`` holds ``(step, weights)``."""

    agent: WeightingAgent
    keys: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    priorities: np.ndarray | None
    step: int = 0
    history: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def weigh(self, rewards: np.ndarray, group_ids: np.ndarray) -> np.ndarray:
        """The (K,) weights for one step's (n, K) reward matrix; advances the step."""
        batch = ObjectiveBatch(
            rewards=rewards,
            group_ids=group_ids,
            low=self.low,
            high=self.high,
            priorities=self.priorities,
            step=self.step,
        )
        weights = np.asarray(self.agent.weights(batch), dtype=np.float64)
        self.history.append((self.step, weights))
        shown = ", ".join(f"{k}={w:.4f}" for k, w in zip(self.keys, weights, strict=True))
        logger.info("saw-bench %s weights at step %d: %s", self.agent.name, self.step, shown)
        self.step += 1
        return weights

    def metrics(self) -> dict[str, float]:
        """The last step's weights as verl step metrics: ``saw_bench/weights/<key>``."""
        _, weights = self.history[-1]
        return {
            f"saw_bench/weights/{key}": float(w) for key, w in zip(self.keys, weights, strict=True)
        }


_WEIGHTINGS: dict[str, VerlWeighting] = {}


def weighting_for(config: Mapping[str, Any]) -> VerlWeighting:
    """The :class:`VerlWeighting` of an ``algorithm`` config, built at its first use and then
    kept (the agent's state lives across steps)."""
    options = _plain(config.get(CONFIG_KEY)) or {}
    if not isinstance(options, dict):
        raise SawBenchError(f"algorithm.{CONFIG_KEY} must be a mapping, but got {options!r}")
    keys = _plain(config.get("gdpo_reward_keys"))
    priorities = _plain(config.get("gdpo_reward_weights"))
    cache_key = json.dumps([options, keys, priorities], sort_keys=True, default=str)
    if cache_key not in _WEIGHTINGS:
        _WEIGHTINGS[cache_key] = _build_weighting(options, keys, priorities)
    return _WEIGHTINGS[cache_key]


def reset_weightings() -> None:
    """Forget every configured agent and its state (a new run in the same process)."""
    _WEIGHTINGS.clear()


def _build_weighting(options: dict, keys: Any, priorities: Any) -> VerlWeighting:
    known = {"weighting", "weighting_kwargs", "task", "task_kwargs", "reward_bounds"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise SawBenchError(
            f"algorithm.{CONFIG_KEY} has no option(s) {unknown}; its options: {sorted(known)}"
        )
    name = options.get("weighting", "saw")
    agent = make_agent(name, **(options.get("weighting_kwargs") or {}))
    if agent.needs_gramian:
        raise SawBenchError(
            f"weighting agent {name!r} needs one policy gradient per objective, which verl's "
            f"advantage estimators do not see; inside verl use one of {', '.join(batch_agents())}"
        )
    task = options.get("task")
    if (task is None) == (options.get("reward_bounds") is None):
        raise SawBenchError(
            f"give the rewards' bounds: +algorithm.{CONFIG_KEY}.task=<saw-bench task id> or "
            f"+algorithm.{CONFIG_KEY}.reward_bounds=[[low,high],...] (one pair per reward key)"
        )
    if task is not None:
        loaded = registry.load_task(task, **(options.get("task_kwargs") or {}))
        keys = list(keys or loaded.objective_names)
        missing = [key for key in keys if key not in loaded.objective_names]
        if missing:
            raise SawBenchError(
                f"algorithm.gdpo_reward_keys {missing} are not objectives of {task}; "
                f"its objectives: {list(loaded.objective_names)}"
            )
        where = [loaded.objective_names.index(key) for key in keys]
        low, high = loaded.reward_low[where], loaded.reward_high[where]
    else:
        bounds = _bounds(options["reward_bounds"])
        if not keys or len(keys) != len(bounds):
            raise SawBenchError(
                f"{len(bounds)} reward bounds need as many algorithm.gdpo_reward_keys, "
                f"but got {keys!r}"
            )
        low, high = bounds[:, 0], bounds[:, 1]
    if priorities is not None and len(priorities) != len(keys):
        raise SawBenchError(
            f"algorithm.gdpo_reward_weights needs one value per key {list(keys)}, "
            f"but got {priorities!r}"
        )
    return VerlWeighting(
        agent=agent,
        keys=tuple(keys),
        low=np.asarray(low, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        priorities=None if priorities is None else np.asarray(priorities, dtype=np.float64),
    )


def _bounds(reward_bounds: Any) -> np.ndarray:
    try:
        bounds = np.asarray(reward_bounds, dtype=np.float64)
    except (TypeError, ValueError):
        bounds = np.empty(0)
    valid = bounds.ndim == 2 and bounds.shape[1] == 2 and np.all(np.isfinite(bounds))
    if not valid or np.any(bounds[:, 0] >= bounds[:, 1]):
        raise SawBenchError(
            f"reward_bounds must be [low, high] pairs of finite numbers with low < high, "
            f"but got {reward_bounds!r}"
        )
    return bounds


def _plain(value: Any) -> Any:
    """An OmegaConf node as plain Python (dicts and lists), anything else unchanged."""
    if hasattr(value, "_get_node"):  # DictConfig / ListConfig, without importing omegaconf
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def reward_matrix(non_tensor_batch: Mapping[str, Any], keys: Sequence[str]) -> np.ndarray:
    """The (n, K) float64 matrix of the reward components ``keys`` from verl's
    ``non_tensor_batch``."""
    missing = [key for key in keys if key not in non_tensor_batch]
    if missing:
        raise SawBenchError(
            f"reward key(s) {missing} are not in the batch (it has {sorted(non_tensor_batch)}): "
            "compute_score must return one key per objective "
            "(saw_bench.integrations.verl_data.compute_score does)"
        )
    try:
        matrix = np.stack([np.asarray(non_tensor_batch[key], dtype=np.float64) for key in keys], 1)
    except (TypeError, ValueError) as error:
        raise SawBenchError(
            f"reward components {list(keys)} are not all numbers: {error}"
        ) from None
    if not np.all(np.isfinite(matrix)):
        raise SawBenchError(f"reward components {list(keys)} hold NaN or infinite values")
    return matrix


# ---------------------------------------------------------------------- the estimators
def _advantages(
    estimator: str,
    token_level_rewards,
    response_mask,
    index,
    epsilon,
    norm_adv_by_std_in_grpo,
    config,
    non_tensor_batch,
    batch,
):
    import torch
    from verl.trainer.ppo import core_algos

    if config is None or non_tensor_batch is None or batch is None:
        raise SawBenchError(
            f"advantage estimator saw_bench_{estimator} got no reward components: train with "
            "trainer.use_v1=False (verl 0.9's v1 trainer passes only the scalar reward), and "
            "load saw_bench.integrations.verl_plugin before the trainer is built"
        )
    weighting = weighting_for(config)
    rewards = reward_matrix(non_tensor_batch, weighting.keys)
    _, group_ids = np.unique(np.asarray(index, dtype=object).astype(str), return_inverse=True)
    weights = weighting.weigh(rewards, group_ids)
    if estimator == "gdpo":
        weighted = {"gdpo_reward_keys": list(weighting.keys), "gdpo_reward_weights": weights}
        return core_algos.compute_gdpo_outcome_advantage(
            token_level_rewards=token_level_rewards,
            response_mask=response_mask,
            index=index,
            epsilon=epsilon,
            norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo,
            config={k: list(v) for k, v in weighted.items()},
            non_tensor_batch=non_tensor_batch,
            batch=batch,
        )
    summed = torch.as_tensor(rewards @ weights, dtype=torch.float32)
    last = (response_mask.sum(dim=-1).long() - 1).clamp(min=0)
    placed = torch.zeros_like(token_level_rewards, dtype=torch.float32)
    placed[torch.arange(len(placed)), last] = summed.to(placed.device)
    # keep verl's in-reward KL penalty, when on (a TensorDict refuses `in` without .keys())
    if "token_level_scores" in batch.keys():  # noqa: SIM118
        placed = placed + (token_level_rewards - batch["token_level_scores"])
    return core_algos.compute_grpo_outcome_advantage(
        token_level_rewards=placed,
        response_mask=response_mask,
        index=index,
        epsilon=epsilon,
        norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo,
    )


def saw_bench_grpo_advantage(
    token_level_rewards,
    response_mask,
    index,
    epsilon=1e-6,
    norm_adv_by_std_in_grpo=True,
    config=None,
    non_tensor_batch=None,
    batch=None,
    **kwargs,
):
    """verl estimator ``saw_bench_grpo``: the agent's weights at the reward level, then verl's
    GRPO. Arguments as verl's ``compute_gdpo_outcome_advantage``."""
    return _advantages(
        "grpo",
        token_level_rewards,
        response_mask,
        index,
        epsilon,
        norm_adv_by_std_in_grpo,
        config,
        non_tensor_batch,
        batch,
    )


def saw_bench_gdpo_advantage(
    token_level_rewards,
    response_mask,
    index,
    epsilon=1e-6,
    norm_adv_by_std_in_grpo=True,
    config=None,
    non_tensor_batch=None,
    batch=None,
    **kwargs,
):
    """verl estimator ``saw_bench_gdpo``: verl's GDPO with the agent's weights on the
    per-objective advantages. Arguments as verl's ``compute_gdpo_outcome_advantage``."""
    return _advantages(
        "gdpo",
        token_level_rewards,
        response_mask,
        index,
        epsilon,
        norm_adv_by_std_in_grpo,
        config,
        non_tensor_batch,
        batch,
    )


_BY_ESTIMATOR = {"grpo": saw_bench_grpo_advantage, "gdpo": saw_bench_gdpo_advantage}
_FUNCTIONS = {verl_name: _BY_ESTIMATOR[name] for verl_name, name in VERL_ESTIMATORS.items()}


def _passing_components(original):
    """verl's ``ray_trainer.compute_advantage``, passing ``non_tensor_batch`` and ``batch`` to
    the estimators of this module as it does to ``gdpo``, and leaving the step's weights in
    ``data.meta_info`` for :func:`_adding_weights`."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def compute_advantage(data, adv_estimator, *args, **kwargs):
        name = getattr(adv_estimator, "value", adv_estimator)
        if name not in _FUNCTIONS:
            return original(data, adv_estimator, *args, **kwargs)
        bound = signature.bind(data, adv_estimator, *args, **kwargs)
        bound.apply_defaults()
        if "response_mask" not in data.batch.keys():  # noqa: SIM118 - a TensorDict
            from verl.trainer.ppo.ray_trainer import compute_response_mask

            data.batch["response_mask"] = compute_response_mask(data)
        advantages, returns = _FUNCTIONS[name](
            token_level_rewards=data.batch["token_level_rewards"],
            response_mask=data.batch["response_mask"],
            index=data.non_tensor_batch["uid"],
            norm_adv_by_std_in_grpo=bound.arguments["norm_adv_by_std_in_grpo"],
            config=bound.arguments["config"],
            non_tensor_batch=data.non_tensor_batch,
            batch=data.batch,
        )
        data.batch["advantages"] = advantages
        data.batch["returns"] = returns
        data.meta_info[METRICS_KEY] = weighting_for(bound.arguments["config"]).metrics()
        return data

    compute_advantage.saw_bench_original = original
    return compute_advantage


def _adding_weights(original):
    """verl's ``ray_trainer.compute_data_metrics``, plus the weights that the advantage step
    left in the batch's ``meta_info`` (none for verl's own estimators)."""

    @functools.wraps(original)
    def compute_data_metrics(batch, *args, **kwargs):
        metrics = original(batch, *args, **kwargs)
        metrics.update(batch.meta_info.get(METRICS_KEY, {}))
        return metrics

    compute_data_metrics.saw_bench_original = original
    return compute_data_metrics


def register() -> None:
    """Register ``saw_bench_grpo`` and ``saw_bench_gdpo`` with verl, let verl's
    ``compute_advantage`` pass them the reward components and its ``compute_data_metrics``
    report their weights. Safe to call more than once."""
    import verl

    if not verl.__version__.startswith(SUPPORTED_VERL):
        raise SawBenchError(
            f"saw_bench.integrations.verl supports verl {SUPPORTED_VERL}*, but verl "
            f"{verl.__version__} is installed: pip install 'saw-bench[verl]'"
        )
    from verl.trainer.ppo import core_algos, ray_trainer

    for name, function in _FUNCTIONS.items():
        core_algos.register_adv_est(name)(function)
    if not hasattr(ray_trainer.compute_advantage, "saw_bench_original"):
        ray_trainer.compute_advantage = _passing_components(ray_trainer.compute_advantage)
    if not hasattr(ray_trainer.compute_data_metrics, "saw_bench_original"):
        ray_trainer.compute_data_metrics = _adding_weights(ray_trainer.compute_data_metrics)


__all__ = [
    "CONFIG_KEY",
    "METRICS_KEY",
    "SUPPORTED_VERL",
    "VERL_ESTIMATORS",
    "VerlWeighting",
    "batch_agents",
    "register",
    "reset_weightings",
    "reward_matrix",
    "saw_bench_gdpo_advantage",
    "saw_bench_grpo_advantage",
    "weighting_for",
]
