"""Each task's protocol: the settings an entry must share with the others to be ranked on the
task's board and counted in its verdicts.

``protocols.toml`` in the leaderboard folder holds one table per environment id, kept by the
leaderboard's maintainers (no verb writes it)::

    ["saw/ToolCall-Synth-v0"]
    model = { name = "tiny/toolcall-synth-v0-19f24f7d50aa", revision = "b8bdc6adc19e" }
    train = { steps = 120, eval_items = 128, eval_temperature = 1.0, prompts_per_step = 16,
              group_size = 8, max_new_tokens = 96 }

``train`` names training options (:class:`~saw_bench.training.TrainConfig` fields) and the
value each must have; ``model`` the policy and its revision. A submission is *on protocol* when
it is ``verified`` (recomputed from committed run files) and matches every value. Everything
else (self-reported entries, other settings, tasks without a protocol) is listed apart on the
board, with the reason, and never ranked or counted: a result nobody can recompute, or one
trained under other conditions, cannot enter a verdict. Benchmarks with leaderboards fix such a
protocol per task (the evaluation budget and model of HELM's scenarios, the frames and sticky
actions of the Arcade Learning Environment's revisited protocol, Machado et al. 2018).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard._schema import Submission
from saw_bench.training.config import default_value

PROTOCOLS_FILE = "protocols.toml"
#: The training options a protocol may fix.
PROTOCOL_OPTIONS = (
    "steps",
    "eval_items",
    "eval_temperature",
    "prompts_per_step",
    "group_size",
    "max_new_tokens",
    "temperature",
    "epochs",
    "minibatches",
    "learning_rate",
    "kl_coef",
    "backend",
)


#: The options :meth:`Protocol.describe` puts in words; the others are shown as key = value.
_WORDED = frozenset(
    ("steps", "prompts_per_step", "group_size", "max_new_tokens", "eval_items", "eval_temperature")
)


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    name: str = Field(min_length=1)
    revision: str | None = None


class Protocol(BaseModel):
    """One task's protocol: the policy and the training options every ranked entry used."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    model: ModelRef | None = None  # None: any policy (the board compares policies too)
    train: dict[str, JsonValue] = Field(min_length=1)

    def describe(self) -> str:
        """The protocol in words, for the board."""
        train = self.train
        parts = []
        if "steps" in train:
            parts.append(f"{train['steps']} steps")
        if "prompts_per_step" in train and "group_size" in train:
            parts.append(
                f"{train['prompts_per_step']} prompts x {train['group_size']} completions a step"
            )
        if "max_new_tokens" in train:
            parts.append(f"at most {train['max_new_tokens']} new tokens")
        if "eval_items" in train:
            temperature = train.get("eval_temperature")
            at = f" at temperature {temperature:g}" if isinstance(temperature, float) else ""
            parts.append(f"evaluated on {train['eval_items']} held-out items{at}")
        parts += [f"{key} = {value}" for key, value in sorted(train.items()) if key not in _WORDED]
        if self.model is None:
            return f"{', '.join(parts)}; any policy"
        revision = f" (revision {self.model.revision})" if self.model.revision else ""
        return f"{', '.join(parts)}; policy {self.model.name}{revision}"


def read_protocols(root: Path) -> dict[str, Protocol]:
    """The protocols of a leaderboard folder (none when it has no protocols.toml); a
    SawBenchError naming the file and the table for anything malformed or unknown."""
    path = Path(root) / PROTOCOLS_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        raise SawBenchError(f"{path} is not valid TOML: {error}") from None
    installed = set(registry.registered_ids())
    protocols = {}
    for env_id, table in data.items():
        if env_id not in installed:
            raise SawBenchError(f"{path}: [{env_id!r}] is not an installed environment id")
        try:
            protocol = Protocol.model_validate(table)
        except ValidationError as error:
            detail = error.errors()[0]
            where = ".".join(str(part) for part in detail["loc"])
            raise SawBenchError(f"{path}: [{env_id!r}] {where}: {detail['msg']}") from None
        unknown = sorted(set(protocol.train) - set(PROTOCOL_OPTIONS))
        if unknown:
            raise SawBenchError(
                f"{path}: [{env_id!r}] train fixes unknown or unsupported option(s) {unknown}; "
                f"a protocol may fix {', '.join(PROTOCOL_OPTIONS)}"
            )
        protocols[env_id] = protocol
    return protocols


def off_protocol_reason(submission: Submission, protocol: Protocol | None) -> str | None:
    """Why ``submission`` is listed apart from its task's ranked entries (None: it is ranked)."""
    if submission.status != "verified":
        return "self-reported: not recomputed from run files"
    if protocol is None:
        return "the task has no protocol yet"
    differing = []
    for key, value in sorted(protocol.train.items()):
        given = submission.train.get(key, default_value(key))  # a key left out: its default
        if given != value:
            differing.append(f"{key} {given} (protocol {value})")
    model, wanted = submission.model, protocol.model
    other_weights = False
    if wanted is not None and model.name != wanted.name:
        differing.append(f"policy {model.name} (protocol {wanted.name})")
        other_weights = True
    elif wanted is not None and wanted.revision is not None and model.revision != wanted.revision:
        differing.append(f"policy revision {model.revision} (protocol {wanted.revision})")
        other_weights = True
    if other_weights:  # the board's comparisons pair seeds of one policy's weights
        differing.append("runs of other weights cannot pair with the board's")
    return f"off protocol: {', '.join(differing)}" if differing else None
