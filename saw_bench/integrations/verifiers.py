"""Every saw-bench task as a verifiers environment (``pip install 'saw-bench[verifiers]'``).

verifiers 0.4 (``verifiers.v1``) builds an environment from a *taskset*: a package whose
``__all__`` exports a :class:`verifiers.v1.Taskset` subclass, found by its id (``vf-eval
<id>``, prime-rl, the Environments Hub). Its tasks score a rollout with ``@vf.reward``
functions; each reward is recorded on the trace by name with a weight, and the trace's reward
is ``sum(score * weight)``. This module gives those pieces for any registered saw-bench task:

- :class:`SawBenchTaskset`: one task per item of a split of ``task_id`` (any registered id or
  alias, built with ``task_kwargs``), the item's chat messages as the prompt.
- :class:`SawBenchTask`: one reward per objective, named after it, holding
  :meth:`TextTask.score`'s value for the last assistant reply, with the weight
  ``w_k = K p_k / sum_l p_l`` of :func:`saw_bench.core.components.objective_weights`
  (``priorities`` p, equal by default: every weight 1). verifiers' reward is then the
  ``reward`` of :func:`saw_bench.reward_components`.
- :class:`SawBenchHarness`: verifiers' tool-less chat program (the ``null`` harness), the
  default for these tasks: a saw-bench task is one reply to its prompt.
- :func:`load_environment`: a ready :class:`verifiers.v1.Env` for one task id.

The taskset id that finds all of this is ``saw-bench-tasks`` (the top-level module
``saw_bench_tasks`` installed with saw-bench): ``vf-eval saw-bench-tasks
--env.taskset.task-id toolcall``. verifiers reads only the reply's ``content``: serve models
without a reasoning parser, so a ``<think>`` block stays in the text that is scored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import verifiers.v1 as vf
from pydantic import Field, model_validator
from verifiers.v1.harnesses.null import NullHarness
from verifiers.v1.types import content_text

from saw_bench.core.components import objective_weights
from saw_bench.core.errors import SawBenchError
from saw_bench.core.registry import load_task, resolve
from saw_bench.core.task import Message, TextTask

#: The taskset id of these environments: the module ``saw_bench_tasks`` re-exports this one.
TASKSET_ID = "saw-bench-tasks"

__all__ = [
    "TASKSET_ID",
    "SawBenchConfig",
    "SawBenchData",
    "SawBenchHarness",
    "SawBenchTask",
    "SawBenchTaskConfig",
    "SawBenchTaskset",
    "load_environment",
    "load_taskset",
]


@lru_cache(maxsize=32)
def _cached_task(task_id: str, task_kwargs_json: str) -> TextTask:
    return load_task(task_id, **json.loads(task_kwargs_json))


def text_task(task_id: str, task_kwargs: dict[str, Any] | None = None) -> TextTask:
    """The saw-bench task ``task_id`` built with ``task_kwargs``, one instance per process."""
    options = json.dumps(task_kwargs or {}, sort_keys=True, default=str)
    return _cached_task(resolve(task_id), options)


class SawBenchData(vf.TaskData):
    """One item of a saw-bench task: which task (id and kwargs), where the item sits, the item."""

    task_id: str
    """The registered saw-bench id the item belongs to, e.g. ``saw/ToolCall-Synth-v0``."""
    task_kwargs: dict[str, Any] = Field(default_factory=dict)
    """The options the task is built with (``saw_bench.load_task(task_id, **task_kwargs)``)."""
    split: str
    """The split the item comes from."""
    index: int
    """The item's position in that split."""
    item: dict[str, Any]
    """The item itself, as the task's ``split()`` gives it."""


class SawBenchTaskConfig(vf.TaskConfig):
    """Scoring knobs, under ``--env.taskset.task.*``."""

    priorities: list[float] | None = None
    """One priority per objective (default equal); reward k is weighted
    ``K p_k / sum_l p_l``, so equal priorities weigh every objective 1."""


class SawBenchTask(vf.Task[SawBenchData, vf.State, SawBenchTaskConfig]):
    """A saw-bench item; its rewards are the task's objectives, one per name."""

    @property
    def text_task(self) -> TextTask:
        return text_task(self.data.task_id, self.data.task_kwargs)

    def weights(self) -> dict[str, float]:
        """The weight of each objective's reward: ``K p_k / sum_l p_l``."""
        task = self.text_task
        weights = objective_weights(task, self.config.priorities)
        return dict(zip(task.objective_names, weights, strict=True))

    @staticmethod
    def completion(trace: vf.Trace) -> str:
        """The text that is scored: the last model reply's content as sampled (not stripped),
        ``""`` when the model did not reply."""
        replies = trace.assistant_messages
        return content_text(replies[-1].content) if replies else ""

    @vf.reward
    async def objectives(self, trace: vf.Trace) -> dict[str, float]:
        """:meth:`TextTask.score` of the reply, one keyed score per objective. It runs in a
        worker thread: a judge's requests or a slow checker do not hold verifiers' event loop,
        which plays the other rollouts meanwhile."""
        task = self.text_task
        scores = await asyncio.to_thread(task.score, [self.data.item], [self.completion(trace)])
        row = scores[0]
        return {name: float(value) for name, value in zip(task.objective_names, row, strict=True)}

    async def score(self, trace: vf.Trace, runtime: vf.Runtime | None = None) -> None:
        """verifiers' scoring, then each objective's reward re-recorded with its weight (a
        keyed ``@vf.reward`` records every key with the one weight of its function)."""
        await super().score(trace, runtime)
        for name, weight in self.weights().items():
            reward = trace.rewards.get(name)
            if reward is not None:
                trace.record_reward(name, reward.score, weight)


class SawBenchConfig(vf.TasksetConfig):
    """Which saw-bench task and split, under ``--env.taskset.*``."""

    task_id: str = "toolcall"
    """A registered saw-bench id or alias (``python -m saw_bench list``)."""
    task_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Options of the task, e.g. ``{"no_call_share": 0.2}``."""
    split: str = "train"
    """The split whose items are the tasks."""
    task: SawBenchTaskConfig = SawBenchTaskConfig()

    @model_validator(mode="after")
    def _buildable(self) -> SawBenchConfig:
        """The task builds, has the split and one priority per objective: a bad value is one
        validation error naming it (``vf-eval`` prints it), not a failure at the first item."""
        try:
            self.task_id = resolve(self.task_id)
            task = text_task(self.task_id, self.task_kwargs)
            task.check_split_name(self.split)
            objective_weights(task, self.task.priorities)
        except (SawBenchError, TypeError, ValueError) as error:
            keyed = isinstance(error, KeyError) and error.args  # str() of a KeyError quotes it
            raise ValueError(str(error.args[0]) if keyed else str(error)) from None
        return self


class SawBenchTaskset(vf.Taskset[SawBenchTask, SawBenchConfig]):
    """The items of one split of a saw-bench task, each with its chat prompt."""

    def load(self) -> Iterator[SawBenchTask]:
        config = self.config
        task = text_task(config.task_id, config.task_kwargs)
        for index, item in enumerate(task.split(config.split)):
            system_prompt, prompt = _vf_messages(task.prompt(item))
            yield SawBenchTask(
                SawBenchData(
                    id=f"{config.split}:{index}",
                    name=f"{config.task_id} {config.split} {index}",
                    system_prompt=system_prompt,
                    prompt=prompt,
                    task_id=config.task_id,
                    task_kwargs=config.task_kwargs,
                    split=config.split,
                    index=index,
                    item=dict(item),
                ),
                config.task,
            )


class SawBenchHarness(NullHarness):
    """verifiers' tool-less chat program: the model answers the prompt, nothing runs."""


def _vf_messages(messages: Sequence[Message]) -> tuple[str | None, list[vf.Message]]:
    """A saw-bench prompt as verifiers' system prompt and messages."""
    system_prompt = None
    if messages and messages[0]["role"] == "system":
        system_prompt, messages = messages[0]["content"], messages[1:]
    kinds = {"system": vf.SystemMessage, "user": vf.UserMessage, "assistant": vf.AssistantMessage}
    return system_prompt, [kinds[m["role"]](content=m["content"]) for m in messages]


def load_taskset(
    task_id: str = "toolcall",
    *,
    split: str = "train",
    priorities: Sequence[float] | None = None,
    **task_kwargs: Any,
) -> SawBenchTaskset:
    """The taskset of one saw-bench task, without an environment around it."""
    return SawBenchTaskset(_taskset_config(task_id, split, priorities, task_kwargs))


def load_environment(
    task_id: str = "toolcall",
    *,
    split: str = "train",
    priorities: Sequence[float] | None = None,
    **task_kwargs: Any,
) -> vf.Env:
    """A saw-bench task as a verifiers environment (``SingleAgentEnv`` over its taskset).

    ``task_id`` is any registered id or alias, ``task_kwargs`` its options, ``split`` the
    split whose items are played, ``priorities`` the objectives' priorities (equal by default).
    """
    config = _taskset_config(task_id, split, priorities, task_kwargs)
    env_config = vf.SingleAgentEnvConfig(
        taskset={"id": TASKSET_ID, **config.model_dump(exclude={"id"})}
    )
    return vf.load_environment(env_config)


def _taskset_config(
    task_id: str, split: str, priorities: Sequence[float] | None, task_kwargs: dict[str, Any]
) -> SawBenchConfig:
    """The config, checked now: unknown ids, bad kwargs, splits and priorities fail here with
    saw-bench's own error."""
    task = text_task(task_id, task_kwargs)
    task.check_split_name(split)
    if priorities is not None:
        objective_weights(task, priorities)
        priorities = [float(p) for p in priorities]
    return SawBenchConfig(
        id=TASKSET_ID,
        task_id=task_id,
        task_kwargs=task_kwargs,
        split=split,
        task=SawBenchTaskConfig(priorities=priorities),
    )
