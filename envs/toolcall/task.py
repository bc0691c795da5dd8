"""The tool-calling task shared by the family's environments (synthetic, ToolRL, BFCL).

An item is plain data::

    {
      "id": "synth-train-00042",
      "query": "What's the weather in Oslo tomorrow?",      # the user's request
      "tools": [ {"name", "description", "parameters": {"type": "object",
                  "properties": {...}, "required": [...]}} , ...],
      "answer": {"tool_calls": [{"name": ..., "parameters": {...}}, ...],
                 "response": None or "text"},           # what a perfect completion contains
      "think": "short reasoning",                          # optional, used by reference()
      "messages": [...],                                   # optional: the prompt, verbatim
    }

Prompts show the functions as JSON schemas (``prompt_style="json"``) or as one signature line
each (``prompt_style="compact"``, the default of the synthetic environments, sized for small
models trained from scratch).

Objectives: ``format`` in [0, 1] and ``correctness`` in [-3, 3], plus ``think_brevity`` in
[0, 1] when ``think_brevity=True`` and ``brevity`` in [0, 1] when ``brevity=True``; the rules are
in :mod:`saw_bench.envs.toolcall.rewards`.
"""

from __future__ import annotations

import functools
import inspect
import json
import random
import typing
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from saw_bench.core.options import NonNegativeInt, OptionError, PositiveInt, checked_call
from saw_bench.core.task import Item, Message, Objective, TextTask
from saw_bench.envs.toolcall import corrupt, rewards

SYSTEM_PROMPT = """You can call functions to help the user. Available functions:
{tools}

Answer in this format: first <think>your reasoning</think>, then either
<tool_call>
one JSON object {{"name": ..., "parameters": {{...}}}} per line
</tool_call>
or <response>your reply</response> when no function fits."""

COMPACT_PROMPT = """Functions:
{tools}
Reply <think>why</think> then <tool_call> one JSON {{"name","parameters"}} per line </tool_call>, \
or <response>text</response> if none fits."""

PromptStyle = Literal["json", "compact"]
PROMPT_STYLES = typing.get_args(PromptStyle)

#: How :meth:`ToolCallTask.reference` writes the think block when ``brevity`` is on: cut to
#: ``think_target_words`` (``"brief"``, so the reference scores 1 on brevity), the whole sentence
#: (``"full"``), or cut after a number of words drawn per item, uniform from
#: ``think_target_words`` to the whole sentence and fixed by the item's query (``"varied"``: a
#: warm start on these references samples think blocks of many lengths, so brevity has
#: variance to learn from).
ReferenceThink = Literal["brief", "full", "varied"]
REFERENCE_THINKS = typing.get_args(ReferenceThink)
#: What ``brevity`` measures: the think block's words or the whole completion's characters.
BrevityOf = Literal["think", "completion"]
BREVITY_OF = typing.get_args(BrevityOf)

FORMAT = Objective(
    "format", rewards.FORMAT_LOW, rewards.FORMAT_HIGH, "1 when the output has the expected tags"
)
CORRECTNESS = Objective(
    "correctness",
    rewards.CORRECTNESS_LOW,
    rewards.CORRECTNESS_HIGH,
    "ToolRL match of function names, parameter keys and values",
)


def _defaults(task_class: type) -> dict[str, Any]:
    """The keyword defaults of ``task_class``'s constructor."""
    parameters = inspect.signature(task_class.__init__).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def brevity_objective(options: Mapping[str, Any]) -> Objective:
    """The brevity objective, described with the bounds ``options`` (a tool-calling task's
    keyword arguments, defaults included) give it."""
    if options["brevity_of"] == "completion":
        description = (
            f"1 up to {options['completion_target_chars']} characters of answer, 0 at "
            f"{options['completion_limit_chars']}; 0 unless the format is right and "
            "correctness is above its minimum"
        )
    else:
        description = (
            f"1 up to {options['think_target_words']} words of think block, 0 at "
            f"{options['think_limit_words']}"
        )
    return Objective("brevity", rewards.BREVITY_LOW, rewards.BREVITY_HIGH, description)


def think_brevity_objective(options: Mapping[str, Any]) -> Objective:
    """The think-brevity objective (brevity of the think block alone, beside a ``brevity`` of
    the whole completion), described with the bounds ``options`` give it."""
    description = (
        f"1 up to {options['think_target_words']} words of think block, 0 at "
        f"{options['think_limit_words']}"
    )
    return Objective("think_brevity", rewards.BREVITY_LOW, rewards.BREVITY_HIGH, description)


class ToolCallTask(TextTask):
    """Base of the tool-calling environments; subclasses provide :meth:`split`."""

    @checked_call  # each keyword is checked against its type before the body runs
    def __init__(
        self,
        *,
        brevity: bool = False,
        think_target_words: NonNegativeInt = 12,
        think_limit_words: PositiveInt = 60,
        max_completion_chars: PositiveInt = 8192,
        prompt_style: PromptStyle = "json",
        reference_think: ReferenceThink = "brief",
        brevity_of: BrevityOf = "think",
        completion_target_chars: NonNegativeInt = 60,
        completion_limit_chars: PositiveInt = 260,
        think_brevity: bool = False,
    ) -> None:
        _check_span(
            "think_target_words", think_target_words, "think_limit_words", think_limit_words
        )
        _check_span(
            "completion_target_chars",
            completion_target_chars,
            "completion_limit_chars",
            completion_limit_chars,
        )
        if think_brevity and brevity and brevity_of == "think":
            raise OptionError(
                "think_brevity measures the think block, as brevity does with brevity_of='think': "
                "use brevity_of='completion' beside think_brevity"
            )
        self.brevity = brevity
        self.think_brevity = think_brevity
        #: With ``brevity``, how :meth:`reference` writes its think block
        #: (:data:`REFERENCE_THINKS`).
        self.reference_think = reference_think
        self.brevity_of = brevity_of
        self.completion_target_chars = completion_target_chars
        self.completion_limit_chars = completion_limit_chars
        self.prompt_style = prompt_style
        self.think_target_words = think_target_words
        self.think_limit_words = think_limit_words
        self.max_completion_chars = max_completion_chars
        self.objectives = self.objectives_for(**vars(self))  # brevity's bounds as set above

    @classmethod
    def objectives_for(cls, **kwargs: Any) -> tuple[Objective, ...]:
        """The objectives of ``cls(**kwargs)``, without building it: brevity's bounds come
        from ``kwargs`` or the defaults of ``cls``'s constructor."""
        options: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):  # the base's defaults, then each subclass's
            if issubclass(klass, ToolCallTask):
                options.update(_defaults(klass))
        options.update(kwargs)
        objectives = [FORMAT, CORRECTNESS]
        if options["think_brevity"]:
            objectives.append(think_brevity_objective(options))
        if options["brevity"]:
            objectives.append(brevity_objective(options))
        return tuple(objectives)

    # ------------------------------------------------------------------ prompt
    def prompt(self, item: Item) -> list[Message]:
        if item.get("messages"):
            return [dict(message) for message in item["messages"]]
        if self.prompt_style == "compact":
            system = COMPACT_PROMPT.format(tools="\n".join(map(compact_signature, item["tools"])))
        else:
            tools = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in item["tools"])
            system = SYSTEM_PROMPT.format(tools=tools)
        return [{"role": "system", "content": system}, {"role": "user", "content": item["query"]}]

    # ------------------------------------------------------------------ scoring
    def expected_calls(self, item: Item) -> Sequence[dict[str, Any]]:
        return item["answer"]["tool_calls"]

    def expects_response(self, item: Item) -> bool:
        return item["answer"].get("response") is not None

    def correctness(self, item: Item, completion: str) -> float:
        return rewards.correctness_reward(completion, self.expected_calls(item))

    def score_completion(self, item: Item, completion: str) -> tuple[float, ...]:
        format_score = rewards.format_reward(
            completion, bool(self.expected_calls(item)), self.expects_response(item)
        )
        correctness = self.correctness(item, completion)
        scores = [format_score, correctness]
        if self.think_brevity:
            scores.append(
                rewards.brevity_reward(completion, self.think_target_words, self.think_limit_words)
            )
        if not self.brevity:
            return tuple(scores)
        if self.brevity_of == "completion":
            brevity = rewards.completion_brevity_reward(
                completion,
                format_score == rewards.FORMAT_HIGH and correctness > rewards.CORRECTNESS_LOW,
                self.completion_target_chars,
                self.completion_limit_chars,
            )
        else:
            brevity = rewards.brevity_reward(
                completion, self.think_target_words, self.think_limit_words
            )
        return (*scores, brevity)

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        calls = rewards.extract_tool_calls(completion)
        return {
            "predicted_calls": len(calls) if calls is not None else 0,
            "tool_call_parsed": calls is not None,
            "expected_calls": len(self.expected_calls(item)),
        }

    def reference(self, item: Item) -> str:
        think = item.get("think") or "I pick the function that fits the request."
        words = think.split()
        keep = self.reference_think_words(item, len(words))
        if keep < len(words):
            think = " ".join(words[:keep])
        return rewards.render_completion(
            think, self.expected_calls(item), item["answer"].get("response")
        )

    def reference_think_words(self, item: Item, words: int) -> int:
        """How many of the item's ``words`` think words :meth:`reference` keeps."""
        measured = self.brevity or self.think_brevity
        if not measured or self.reference_think == "full" or words <= self.think_target_words:
            return words
        if self.reference_think == "brief":
            return self.think_target_words
        span = words - self.think_target_words + 1
        return self.think_target_words + zlib.crc32(item["query"].encode()) % span

    # ------------------------------------------------------------------ tiny policy warm start
    def corrupt_reference(self, item: Item, reference: str, rng: random.Random) -> str:
        """A plausible wrong answer for the tiny policy's warm start: a wrong value, a dropped
        key, a wrong function, a call where none fits, or broken tags
        (:func:`saw_bench.envs.toolcall.corrupt.corrupt_answer`)."""
        return corrupt.corrupt_answer(
            item, self.expected_calls(item), reference, rng, self.train_parameter_values
        )

    @functools.cached_property
    def train_parameter_values(self) -> dict[str, list[str]]:
        """Every value each parameter key takes in the train split's answers (JSON texts,
        sorted): the replacement values of :meth:`corrupt_reference`."""
        return corrupt.parameter_values(map(self.expected_calls, self.split("train")))


def _check_span(target_name: str, target: int, limit_name: str, limit: int) -> None:
    """A brevity span: ``target < limit`` (each already checked against its type)."""
    if limit <= target:
        raise OptionError(f"need {target_name} < {limit_name}, but got {target} and {limit}")


def compact_signature(tool: dict[str, Any]) -> str:
    """One line per function, e.g. ``book_hotel(city: string, guests?: integer) Book a room.``

    Optional parameters carry a ``?``; enums list their values as ``"a"|"b"``.
    """
    parameters = tool.get("parameters") or {}
    required = set(parameters.get("required") or ())
    fields = []
    for name, spec in (parameters.get("properties") or {}).items():
        kind = spec.get("type", "any")
        if spec.get("enum"):
            kind = "|".join(json.dumps(value, ensure_ascii=False) for value in spec["enum"])
        fields.append(f"{name}{'' if name in required else '?'}: {kind}")
    description = tool.get("description", "")
    return f"{tool['name']}({', '.join(fields)}) {description}".rstrip()
