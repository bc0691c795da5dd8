"""The Gymnasium face of a TextTask: a single-turn text environment with a vector reward.

It follows the MO-Gymnasium contract: ``reward_space`` is a float32 Box with the objectives'
bounds, ``reward_dim`` is K and :meth:`TextEnv.step` returns the float32 reward vector, so
``mo_gymnasium.wrappers.LinearReward`` and the other MO-Gymnasium wrappers work on it.

One episode is one item: ``reset`` picks it (at random from the seeded generator, or the one
named by ``options={"index": i, "split": s}``) and returns its prompt; ``step(completion)``
scores the completion with :meth:`TextTask.score`, so the scores equal the batch face's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import Env
from gymnasium.spaces import Box

from saw_bench.core.spaces import FreeText
from saw_bench.core.task import Item, TextTask


class TextEnv(Env[str, str]):
    """Wraps a :class:`TextTask`; registered ids build it with ``task="module:Class"``."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task: TextTask | str,
        split: str = "train",
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        if isinstance(task, str):
            from saw_bench.core.registry import build_task  # avoid an import cycle

            task = build_task(task, **task_kwargs)
        elif task_kwargs:
            raise TypeError(
                f"task options {sorted(task_kwargs)} were given together with a ready task object"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, "
                f"but got {render_mode!r}"
            )
        task.check_split_name(split)
        self.task = task
        self.split = split
        self.render_mode = render_mode
        self.observation_space = FreeText(task.max_prompt_chars)
        self.action_space = FreeText(task.max_completion_chars)
        self.reward_space = Box(task.reward_low, task.reward_high, dtype=np.float32)
        self.reward_dim = task.reward_dim
        self.objective_names = task.objective_names
        self._item: Item | None = None
        self._item_info: dict[str, Any] = {}
        self._prompt = ""
        self._last_completion: str | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"index", "split"}
        if unknown:
            raise ValueError(
                f"unknown reset option(s) {sorted(unknown)}; valid options are 'index' and 'split'"
            )
        split = options.get("split", self.split)
        self.task.check_split_name(split)
        items = self.task.split(split)
        if not items:
            raise ValueError(f"split {split!r} of {type(self.task).__name__} has no items")
        if "index" in options:
            index = int(options["index"])
            if not 0 <= index < len(items):
                raise IndexError(
                    f"index {index} is out of range for split {split!r} of {len(items)} items"
                )
        else:
            index = int(self.np_random.integers(len(items)))
        self._item = items[index]
        self._prompt = self.task.render_prompt(self._item)
        self._last_completion = None
        self._item_info = {
            "split": split,
            "index": index,
            "item_id": self._item.get("id", f"{split}-{index}"),
        }
        info = dict(self._item_info, messages=self.task.prompt(self._item))
        return self._prompt, info

    def step(self, action: str) -> tuple[str, np.ndarray, bool, bool, dict[str, Any]]:
        if self._item is None:
            raise RuntimeError("call reset() before step(): the episode has no item yet")
        if not isinstance(action, str):
            raise TypeError(f"the action must be a str completion, but got {type(action).__name__}")
        reward = self.task.score([self._item], [action])[0]
        completion = self.task.truncate(action)
        info = dict(self._item_info)
        info["objectives"] = {
            name: float(value) for name, value in zip(self.objective_names, reward, strict=True)
        }
        info.update(self.task.diagnose(self._item, completion))
        self._last_completion = completion
        return self._prompt, reward, True, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        text = self._prompt
        if self._last_completion is not None:
            text += f"\n\n<|completion|>\n{self._last_completion}"
        return text
