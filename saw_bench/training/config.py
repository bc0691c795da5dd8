"""The training options of one run: :class:`TrainConfig`, one dataclass whose fields are the keys
of a run's TOML file, of ``--set key=value``, of ``saw_bench.train(**options)`` and of the
``train`` table in ``config.json``. Each field carries its own one-line help, which
``python -m saw_bench config`` and ``run --help`` print, so the list of keys is written once.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from saw_bench.core import registry
from saw_bench.core.options import (
    NonNegative,
    Number,
    OptionError,
    Positive,
    PositiveInt,
    checked,
    choices_of,
    one_of,
)
from saw_bench.training.estimators import ESTIMATORS
from saw_bench.training.trackers import TRACKERS, require_trackers
from saw_bench.weighting import AGENTS

#: The training loops a run can use: saw-bench's own trainer, or TRL's GRPOTrainer with the
#: agent plugged in (:mod:`saw_bench.integrations.trl`).
BACKENDS = ("saw-bench", "trl")


def _registered(task: str) -> str:
    registry.resolve(task)  # UnknownTaskError names the registered ids
    return task  # as written: an alias stays an alias in config.json


Task = Annotated[str, AfterValidator(_registered)]
Weighting = Annotated[str, one_of("weighting agent", lambda: sorted(AGENTS))]
Estimator = Annotated[str, one_of("estimator", lambda: ESTIMATORS)]
Backend = Annotated[str, one_of("backend", lambda: BACKENDS)]


def _tracker_list(value: Any) -> Any:
    """``--report-to tensorboard,wandb`` arrives as text: split at commas (``none``: none)."""
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
        return [] if names == ["none"] else names
    return value


Trackers = Annotated[
    list[Annotated[str, one_of("tracker", lambda: TRACKERS)]],
    BeforeValidator(_tracker_list),
    AfterValidator(require_trackers),  # installed, before any model loads
]


def option(default: Any, help: str, **kwargs: Any) -> Any:  # noqa: A002 - argparse's word
    """A dataclass field with a help line (``field(default_factory=...)`` via ``kwargs``)."""
    if "default_factory" in kwargs:
        return field(metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help})


@checked(noun="training option", listing=" (python -m saw_bench config lists them with defaults)")
class TrainConfig:
    """Everything a run's numbers depend on; written to ``config.json`` fully resolved.

    Built, it is checked (:mod:`saw_bench.core.options`): a bad value or an unknown option
    raises one :class:`~saw_bench.core.options.OptionError` line naming it and the choices.
    """

    task: Task = option("toolcall", "task id or alias (python -m saw_bench list)")
    task_kwargs: dict[str, Any] = option(
        None, "options of the task, e.g. {no_call_share = 0.2}", default_factory=dict
    )
    weighting: Weighting = option("static", "weighting agent (python -m saw_bench list)")
    weighting_kwargs: dict[str, Any] = option(
        None, "options of the agent, e.g. {alpha = 0.9}", default_factory=dict
    )
    priorities: list[Number] | None = option(
        None, "one priority per objective, for the agents and the aggregate (default equal)"
    )
    estimator: Estimator = option("grpo", "grpo (reward-level weights) or gdpo (advantage-level)")
    steps: PositiveInt = option(40, "training steps")
    seed: int = option(0, "seed of prompts, sampling and initialisation")
    model: str = option("tiny", "'tiny' (built for the task) or a Hugging Face id or folder")
    device: str = option("auto", "auto, cpu or cuda")
    dtype: str = option("auto", "auto, float32, bfloat16 or float16")
    threads: PositiveInt | None = option(
        None,
        "torch CPU threads (default: an even share of the CPUs this process may use among the "
        "saw-bench runs going on); the count changes the numbers",
    )
    gradient_checkpointing: bool = option(False, "trade compute for memory on large models")
    backend: Backend = option(
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
    prompts_per_step: PositiveInt = option(16, "training prompts per step")
    group_size: PositiveInt = option(8, "completions sampled per prompt (a GRPO group)")
    max_new_tokens: PositiveInt = option(96, "longest completion, in tokens")
    temperature: NonNegative = option(1.0, "rollout sampling temperature (> 0)")
    # optimisation
    learning_rate: Positive = option(3e-4, "AdamW learning rate")
    weight_decay: NonNegative = option(0.0, "AdamW weight decay")
    max_grad_norm: Positive = option(1.0, "gradient clipping norm")
    clip_eps: Positive = option(0.2, "PPO ratio clipping (acts with epochs or minibatches > 1)")
    kl_coef: NonNegative = option(0.0, "KL penalty to the starting policy (0: no reference model)")
    epochs: PositiveInt = option(1, "passes over each step's rollouts")
    minibatches: PositiveInt = option(1, "optimizer steps per pass")
    # bookkeeping
    eval_every: PositiveInt = option(4, "held-out evaluation every N steps (and at the last)")
    eval_items: PositiveInt = option(128, "held-out test items per evaluation (evenly strided)")
    # Held-out evaluation samples at the training temperature by default: it measures the
    # policy being trained (greedy decoding hides how RL sharpens the distribution).
    eval_temperature: NonNegative | None = option(
        None, "held-out sampling temperature; 0 is greedy (default: the rollout temperature)"
    )
    checkpoint_every: PositiveInt = option(10, "checkpoint every N steps (and at the last)")
    report_to: Trackers = option(
        None,
        "experiment trackers to log to, comma-separated: tensorboard, trackio, wandb",
        default_factory=list,
    )

    def __post_init__(self) -> None:
        """The checks that relate several options (each field checked itself already)."""
        if self.temperature == 0:
            raise OptionError("temperature must be > 0 for training rollouts (0 is greedy)")
        if self.minibatches > self.prompts_per_step * self.group_size:
            raise OptionError(
                f"minibatches ({self.minibatches}) exceeds the rollouts per step "
                f"({self.prompts_per_step * self.group_size})"
            )

    def resolve_defaults(self) -> None:
        """Fill the options whose default depends on others (called before training)."""
        if self.eval_temperature is None:
            self.eval_temperature = self.temperature


OPTION_TYPES = typing.get_type_hints(TrainConfig)
OPTION_NAMES = tuple(entry.name for entry in dataclasses.fields(TrainConfig))


def option_choices(name: str) -> tuple[str, ...] | None:
    """The names an option takes (estimator, weighting, backend), or None."""
    return choices_of(typing.get_type_hints(TrainConfig, include_extras=True)[name])


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
