"""The training options of one run: :class:`TrainConfig`, one dataclass whose fields are the keys
of a run's TOML file, of ``--set key=value``, of ``saw_bench.train(**options)`` and of the
``train`` table in ``config.json``. Each field carries its own one-line help, which
``python -m saw_bench config`` and ``run --help`` print, so the list of keys is written once.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.training.estimators import ESTIMATORS


def option(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - argparse's word
    """A dataclass field with a help line (``field(default_factory=...)`` via ``kwargs``)."""
    if "default_factory" in kwargs:
        return field(metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Everything a run's numbers depend on; written to ``config.json`` fully resolved."""

    task: str = option("toolcall", "task id or alias (python -m saw_bench list)")
    task_kwargs: dict[str, Any] = option(
        None, "options of the task, e.g. {no_call_share = 0.2}", default_factory=dict
    )
    weighting: str = option("static", "weighting agent (python -m saw_bench list)")
    weighting_kwargs: dict[str, Any] = option(
        None, "options of the agent, e.g. {alpha = 0.9}", default_factory=dict
    )
    priorities: list[float] | None = option(
        None, "one priority per objective, for the agents and the aggregate (default equal)"
    )
    estimator: str = option("grpo", "grpo (reward-level weights) or gdpo (advantage-level)")
    steps: int = option(40, "training steps")
    seed: int = option(0, "seed of prompts, sampling and initialisation")
    model: str = option("tiny", "'tiny' (built for the task) or a Hugging Face id or folder")
    device: str = option("auto", "auto, cpu or cuda")
    dtype: str = option("auto", "auto, float32, bfloat16 or float16")
    threads: int | None = option(
        None, "torch CPU threads (default: torch's choice); the count changes the numbers"
    )
    gradient_checkpointing: bool = option(False, "trade compute for memory on large models")
    backend: str = option(
        "saw-bench",
        "training loop: saw-bench (ours) or trl (TRL's GRPOTrainer, needs "
        "pip install 'saw-bench[trl]')",
    )
    fast_path: bool = option(
        True,
        "decode and train Llama-style models with saw-bench's own loop (false: HF "
        "generate and forward)",
    )
    # rollouts
    prompts_per_step: int = option(16, "training prompts per step")
    group_size: int = option(8, "completions sampled per prompt (a GRPO group)")
    max_new_tokens: int = option(96, "longest completion, in tokens")
    temperature: float = option(1.0, "rollout sampling temperature (> 0)")
    # optimisation
    learning_rate: float = option(3e-4, "AdamW learning rate")
    weight_decay: float = option(0.0, "AdamW weight decay")
    max_grad_norm: float = option(1.0, "gradient clipping norm")
    clip_eps: float = option(0.2, "PPO ratio clipping (acts with epochs or minibatches > 1)")
    kl_coef: float = option(0.0, "KL penalty to the starting policy (0: no reference model)")
    epochs: int = option(1, "passes over each step's rollouts")
    minibatches: int = option(1, "optimizer steps per pass")
    # bookkeeping
    eval_every: int = option(4, "held-out evaluation every N steps (and at the last)")
    eval_items: int = option(128, "held-out test items per evaluation (evenly strided)")
    # Held-out evaluation samples at the training temperature by default: it measures the
    # policy being trained (greedy decoding hides how RL sharpens the distribution).
    eval_temperature: float | None = option(
        None, "held-out sampling temperature; 0 is greedy (default: the rollout temperature)"
    )
    checkpoint_every: int = option(10, "checkpoint every N steps (and at the last)")

    def resolve_defaults(self) -> None:
        """Fill the options whose default depends on others (called before training)."""
        if self.eval_temperature is None:
            self.eval_temperature = self.temperature

    def validate(self) -> None:
        for entry in dataclasses.fields(self):
            check_type(entry.name, getattr(self, entry.name), OPTION_TYPES[entry.name])
        positive = (
            "steps",
            "prompts_per_step",
            "group_size",
            "max_new_tokens",
            "epochs",
            "minibatches",
            "eval_every",
            "eval_items",
            "checkpoint_every",
        )
        for name in positive:
            value = getattr(self, name)
            if value < 1:
                raise SawBenchError(f"{name} must be a positive integer, but got {value!r}")
        if self.threads is not None and self.threads < 1:
            raise SawBenchError(f"threads must be a positive integer, but got {self.threads!r}")
        for name in ("learning_rate", "max_grad_norm", "clip_eps"):
            if not getattr(self, name) > 0:
                raise SawBenchError(f"{name} must be positive, but got {getattr(self, name)!r}")
        for name in ("temperature", "eval_temperature", "kl_coef", "weight_decay"):
            value = getattr(self, name)
            if value is None and name == "eval_temperature":
                continue
            if not (math.isfinite(value) and value >= 0):
                raise SawBenchError(f"{name} must be a finite number >= 0, but got {value!r}")
        if self.temperature == 0:
            raise SawBenchError("temperature must be > 0 for training rollouts (0 is greedy)")
        registry.resolve(self.task)  # UnknownTaskError names the registered ids
        if self.estimator not in ESTIMATORS:
            raise SawBenchError(
                f"unknown estimator {self.estimator!r}; choose one of {', '.join(ESTIMATORS)}"
            )
        if self.backend not in BACKENDS:
            raise SawBenchError(
                f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}"
            )
        if self.minibatches > self.prompts_per_step * self.group_size:
            raise SawBenchError(
                f"minibatches ({self.minibatches}) exceeds the rollouts per step "
                f"({self.prompts_per_step * self.group_size})"
            )


#: The training loops a run can use: saw-bench's own trainer, or TRL's GRPOTrainer with the
#: agent plugged in (:mod:`saw_bench.integrations.trl`).
BACKENDS = ("saw-bench", "trl")

OPTION_TYPES = typing.get_type_hints(TrainConfig)
OPTION_NAMES = tuple(entry.name for entry in dataclasses.fields(TrainConfig))


def check_type(name: str, value: Any, hint: Any) -> None:
    """Raise a SawBenchError naming ``name`` when ``value`` does not fit the type ``hint``
    (int, float, str, bool, a list of numbers, a table, or ``X | None``)."""
    if not _fits(value, hint):
        raise SawBenchError(f"{name} must be {_type_name(hint)}, but got {value!r}")


def _fits(value: Any, hint: Any) -> bool:
    if isinstance(hint, types.UnionType):
        return any(_fits(value, member) for member in typing.get_args(hint))
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is list:
        (member,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(entry, member) for entry in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(key, str) for key in value)
    if hint is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # True is an int to Python, not to a config file
    if hint is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, hint)


def _type_name(hint: Any, plural: bool = False) -> str:
    """``an integer``, ``a list of numbers``, ``a number (or unset)``..."""
    if isinstance(hint, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        names = " or ".join(_type_name(member, plural) for member in members)
        return f"{names} (or unset)" if len(members) < len(typing.get_args(hint)) else names
    origin = typing.get_origin(hint)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(hint)[0], plural=True)}"
    if origin is dict:
        return "tables" if plural else "a table"
    names = {
        int: ("an integer", "integers"),
        float: ("a number", "numbers"),
        str: ("a string", "strings"),
        bool: ("true or false", "booleans"),
    }
    singular, many = names.get(hint, (str(hint), str(hint)))
    return many if plural else singular


def default_value(name: str) -> Any:
    entry = next(entry for entry in dataclasses.fields(TrainConfig) if entry.name == name)
    if entry.default_factory is not dataclasses.MISSING:
        return entry.default_factory()
    return entry.default


def option_help(name: str) -> str:
    entry = next(entry for entry in dataclasses.fields(TrainConfig) if entry.name == name)
    return entry.metadata.get("help", "")


def describe_options() -> str:
    """Every training option with its default and help, one per line (TOML spelling)."""
    lines = []
    for name in OPTION_NAMES:
        default = default_value(name)
        shown = "unset" if default is None else _toml_value(default)
        lines.append(f"  {name:<24}{shown:<12}{option_help(name)}")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{}"
    return repr(value)


def check_option_names(names: Any, where: str = "", what: str = "key") -> None:
    """SawBenchError naming the unknown keys among ``names`` (``where`` prefixes the message)
    and listing the valid ones."""
    unknown = sorted(set(names) - set(OPTION_NAMES))
    if unknown:
        raise SawBenchError(
            f"{where + ': ' if where else ''}unknown {what}(s) {unknown}; valid {what}s: "
            f"{', '.join(OPTION_NAMES)} (python -m saw_bench config lists them with defaults)"
        )
