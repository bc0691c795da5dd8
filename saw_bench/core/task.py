"""The TextTask contract: one environment family's items, prompts and vector reward.

A task is the batch face of an environment: training and evaluation call :meth:`TextTask.score`
on many completions at once, while :class:`saw_bench.core.env.TextEnv` wraps the same task as a
single-turn Gymnasium environment. Both faces share :meth:`TextTask.score`, so they always agree.

Completions are untrusted model output. ``score`` never raises on any string, never evaluates
it as code, truncates it to ``max_completion_chars`` before looking at it and returns values
inside each objective's ``[low, high]``.
"""

from __future__ import annotations

import abc
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

Item = dict[str, Any]
Message = dict[str, str]


@dataclass(frozen=True)
class Objective:
    """One reward dimension: a name, finite bounds and a description. Always maximised."""

    name: str
    low: float
    high: float
    description: str = ""
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("objective name must be a non-empty string")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(
                f"objective {self.name!r} needs finite bounds, but got [{self.low}, {self.high}]"
            )
        if not self.low < self.high:
            raise ValueError(
                f"objective {self.name!r} needs low < high, but got [{self.low}, {self.high}]"
            )
        if self.direction != "maximize":
            raise ValueError(
                f"objective {self.name!r}: only 'maximize' is supported, but got {self.direction!r}"
            )


class TextTask(abc.ABC):
    """Base class of every environment family.

    Subclasses set ``objectives`` and implement :meth:`split`, :meth:`prompt`,
    :meth:`score_completion` and :meth:`reference`. Everything else has a working default.

    Two optional hooks shape the tiny policy that saw-bench builds for a task
    (:mod:`saw_bench.policy`), for tasks of saw-bench and of plug-ins alike:

    - :attr:`tiny_recipe`: changes to the :class:`~saw_bench.policy.TinyRecipe` defaults, as
      field names and values (``{"sft_steps": 500}``); override :meth:`tiny_recipe_for` instead
      when they depend on the registered kwargs. Changing them renames the cached policy.
    - ``corrupt_reference(item, reference, rng) -> str``: a plausible wrong completion, drawn
      with the ``random.Random`` given, for the share of warm-start targets that are corrupted.
      Tasks without it get a generic one (a cut, a deleted span or two swapped words).
    """

    objectives: tuple[Objective, ...] = ()
    #: Completions longer than this are cut before scoring (bounds time and memory per item).
    max_completion_chars: int = 8192
    #: Upper bound on the length of a rendered prompt (the observation space's max length).
    max_prompt_chars: int = 32768
    #: Share of items whose reference completion must reach the maximum on every objective
    #: (1.0 for generated data; an external checker may reject a few of its own answers).
    reference_pass_rate: float = 1.0
    #: Names accepted by :meth:`split`.
    split_names: tuple[str, ...] = ("train", "test")
    #: Changes to the tiny policy's recipe defaults for this task (see the class docstring).
    tiny_recipe: ClassVar[dict[str, Any]] = {}

    # ----------------------------------------------------------------- contract
    @abc.abstractmethod
    def split(self, name: str) -> Sequence[Item]:
        """The items of one split ("train" or "test"), as plain data."""

    @abc.abstractmethod
    def prompt(self, item: Item) -> list[Message]:
        """Chat messages for one item (tool schemas, when relevant, sit in the system message)."""

    @abc.abstractmethod
    def score_completion(self, item: Item, completion: str) -> Sequence[float]:
        """One value per objective for one (already truncated) completion. Must not raise."""

    @abc.abstractmethod
    def reference(self, item: Item) -> str:
        """An oracle completion that scores the maximum on every objective."""

    @classmethod
    def example_kwargs(cls, directory: Path) -> dict[str, Any]:
        """Kwargs that make a working instance without user data (may write files into
        ``directory``). Tasks that need a data file override it; the registry-driven test
        suite builds every registered environment with these."""
        return {}

    def data_fingerprint(self) -> str:
        """sha256 of the canonical JSON of every split's items: changes when the data does.

        Tasks with large data may override it with something cheaper (a file hash)."""
        digest = hashlib.sha256()
        for name in self.split_names:
            for item in self.split(name):
                digest.update(json.dumps(item, sort_keys=True, default=str).encode())
                digest.update(b"\n")
        return digest.hexdigest()

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        """Extra facts about one scored completion, for the environment's step info."""
        return {}

    def benchmark_metrics(
        self, items: Sequence[Item], completions: Sequence[str]
    ) -> dict[str, float]:
        """A task's own headline numbers for a set of scored completions (for example BFCL's
        group accuracies), shown by ``python -m saw_bench eval``. Default: none."""
        return {}

    def pop_counters(self) -> dict[str, float]:
        """Counts the task kept while scoring since the last call (for example an LLM judge's
        retries and fallbacks), then reset. The trainer adds them to each ``metrics.jsonl`` row
        under ``"task_counters"`` when non-empty. Tasks without such counts return ``{}``."""
        return {}

    # ----------------------------------------------------------------- derived
    @property
    def objective_names(self) -> tuple[str, ...]:
        return tuple(objective.name for objective in self.objectives)

    @property
    def reward_low(self) -> np.ndarray:
        return np.array([objective.low for objective in self.objectives], dtype=np.float32)

    @property
    def reward_high(self) -> np.ndarray:
        return np.array([objective.high for objective in self.objectives], dtype=np.float32)

    @property
    def reward_dim(self) -> int:
        return len(self.objectives)

    def check_split_name(self, name: str) -> None:
        if name not in self.split_names:
            raise ValueError(
                f"unknown split {name!r} for {type(self).__name__}; "
                f"choose one of {', '.join(self.split_names)}"
            )

    def truncate(self, completion: str) -> str:
        """The part of a completion that is scored: a string of at most max_completion_chars."""
        if not isinstance(completion, str):
            completion = "" if completion is None else str(completion)
        return completion[: self.max_completion_chars]

    def score(self, items: Sequence[Item], completions: Sequence[str]) -> np.ndarray:
        """Score completions against their items: float32 array of shape (n, K)."""
        if len(items) != len(completions):
            raise ValueError(
                f"score() needs one completion per item, but got {len(items)} items and "
                f"{len(completions)} completions"
            )
        rewards = np.empty((len(items), self.reward_dim), dtype=np.float32)
        for row, (item, completion) in enumerate(zip(items, completions, strict=True)):
            rewards[row] = self.score_completion(item, self.truncate(completion))
        return rewards

    def render_prompt(self, item: Item) -> str:
        """The prompt as one plain string: the environment's observation."""
        return "\n\n".join(
            f"<|{message['role']}|>\n{message['content']}" for message in self.prompt(item)
        )

    @classmethod
    def objectives_for(cls, **kwargs: Any) -> tuple[Objective, ...]:
        """The objectives an instance built with ``kwargs`` has, without building it (which
        may need data). Override when kwargs change the objectives."""
        return cls.objectives

    @classmethod
    def tiny_recipe_for(cls, **kwargs: Any) -> dict[str, Any]:
        """The tiny-policy recipe changes of an instance built with ``kwargs``, without building
        it: :attr:`tiny_recipe` unless overridden. saw-bench calls it with the registered
        kwargs of an id."""
        return dict(cls.tiny_recipe)


def format_objectives(objectives: Sequence[Objective]) -> str:
    """One line: the objectives with their bounds, e.g. ``format [0, 1], correctness [-3, 3]``."""
    return ", ".join(f"{o.name} [{o.low:g}, {o.high:g}]" for o in objectives)
