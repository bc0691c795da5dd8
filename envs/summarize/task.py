"""Summarisation tasks: write a one-sentence TL;DR of a Reddit-style post.

Mirrors the SAW paper's Reddit TL;DR task with two objectives, ``quality`` [0, 10] and
``conciseness`` [0, 10]. :class:`SummarizeTask` holds what the family shares: the prompt, the
judge chosen with ``judge=`` (``"reference"``, ``"embedding"`` or ``"llm"``, see
:mod:`.judges`, settings in ``judge_kwargs=``) and a batched :meth:`SummarizeTask.score`, so
the LLM judge can send its requests concurrently. The completion is plain text; a leading
"TL;DR:" is stripped before scoring. The reference completion, ``"TL;DR: " +
item["reference"]``, scores 10 on both objectives under the reference judge.

:class:`SummarizeSynthTask` (``saw/Summarize-Synth-v0``) generates its posts; the Reddit data
of ``saw/Summarize-TLDR-v0`` is in :mod:`.tldr`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import SkipValidation

from saw_bench.core.options import PositiveInt, checked_call
from saw_bench.core.task import Item, Message, Objective, TextTask

from . import data, rewards
from .judges import JUDGE_NAMES, EmbeddingJudge, Judge, QualityFunction, ReferenceJudge
from .llm_judge import LLMJudge

SYSTEM_PROMPT = (
    "Summarize the post in one short sentence that keeps its key names, numbers and places. "
    "Start with TL;DR:"
)
CONCISENESS_RULE = "10 within the word budget, 0 at 3x the budget; 0 when the post is pasted back"
JUDGE_QUALITY = {
    "embedding": "10 * (MiniLM cosine to the reference - 0.2) / 0.75, clipped to [0, 10]",
    "llm": "0-10 from an LLM judge's quality rubric",
}
JUDGE_CONCISENESS = {"llm": "0-10 from an LLM judge's conciseness rubric"}


def summary_objectives(judge: str, reference_quality: str) -> tuple[Objective, ...]:
    """quality and conciseness in [0, 10], described for ``judge``."""
    return (
        Objective(
            "quality",
            rewards.QUALITY_LOW,
            rewards.QUALITY_HIGH,
            JUDGE_QUALITY.get(judge, reference_quality),
        ),
        Objective(
            "conciseness",
            rewards.CONCISENESS_LOW,
            rewards.CONCISENESS_HIGH,
            JUDGE_CONCISENESS.get(judge, CONCISENESS_RULE),
        ),
    )


#: The options of :class:`SummarizeSynthTask` with a fixed set of values.
Difficulty = Literal[data.DIFFICULTIES]  # type: ignore[valid-type]
TestTemplates = Literal[data.TEST_TEMPLATES]  # type: ignore[valid-type]


def check_size(name: str, size: object) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{name} must be a positive integer, but got {size!r}")


# ------------------------------------------------------------------------------ factory
def make_judge(
    name: str, *, reference_quality: QualityFunction, judge_kwargs: dict[str, Any] | None = None
) -> Judge:
    """The judge called ``name`` built with ``judge_kwargs``; unknown names or keys raise."""
    classes: dict[str, type[Judge]] = {
        "reference": ReferenceJudge,
        "embedding": EmbeddingJudge,
        "llm": LLMJudge,
    }
    if not isinstance(name, str) or name not in classes:
        raise ValueError(f"judge must be one of {', '.join(JUDGE_NAMES)}, but got {name!r}")
    options = dict(judge_kwargs or {})
    if not all(isinstance(key, str) for key in options):
        raise ValueError("judge_kwargs keys must be strings")
    if "api_key" in options:  # never echo the value: it would be the secret itself
        raise ValueError(
            "judge_kwargs does not take the API key itself (task kwargs are saved in run "
            "configs): set SAW_BENCH_JUDGE_API_KEY, or name another environment variable "
            "with judge_kwargs={'api_key_env': 'MY_VARIABLE'}"
        )
    judge_class = classes[name]
    accepted = [
        parameter
        for parameter in inspect.signature(judge_class.__init__).parameters
        if parameter not in ("self", "reference_quality")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown judge_kwargs {', '.join(map(repr, unknown))} for the {name} judge; "
            f"valid keys: {', '.join(accepted) if accepted else 'none'}"
        )
    if "reference_quality" in inspect.signature(judge_class.__init__).parameters:
        options["reference_quality"] = reference_quality
    return judge_class(**options)


class SummarizeTask(TextTask):
    """Shared by the summarisation tasks: prompt, judge, batched scoring. Subclasses set
    ``reference_quality`` (the reference judge's quality function) and provide the items."""

    #: quality of the reference judge, and its one-line description.
    reference_quality: ClassVar[QualityFunction] = staticmethod(rewards.quality)
    reference_quality_rule: ClassVar[str] = ""
    system_prompt: ClassVar[str] = SYSTEM_PROMPT
    objectives = summary_objectives("reference", "")
    max_completion_chars = 2000

    def _set_judge(self, judge: str, judge_kwargs: dict[str, Any] | None) -> None:
        if judge_kwargs is not None and not isinstance(judge_kwargs, dict):
            raise ValueError(f"judge_kwargs must be a dict, but got {type(judge_kwargs).__name__}")
        self.judge: Judge = make_judge(
            judge, reference_quality=type(self).reference_quality, judge_kwargs=judge_kwargs
        )
        self.objectives = self.objectives_for(judge=judge)

    @classmethod
    def objectives_for(cls, **kwargs: Any) -> tuple[Objective, ...]:
        return summary_objectives(kwargs.get("judge", "reference"), cls.reference_quality_rule)

    def prompt(self, item: Item) -> list[Message]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": self.post_text(item)},
        ]

    def post_text(self, item: Item) -> str:
        """The user message: the post (subclasses add a title and so on)."""
        return item["post"]

    def score(self, items: Sequence[Item], completions: Sequence[str]) -> np.ndarray:
        """All completions through the judge in one batch: ``(n, 2)`` float32 in [0, 10]."""
        if len(items) != len(completions):
            raise ValueError(
                f"score() needs one completion per item, but got {len(items)} items and "
                f"{len(completions)} completions"
            )
        summaries = [rewards.strip_prefix(self.truncate(completion)) for completion in completions]
        values = np.asarray(self.judge.score(items, summaries), dtype=np.float64)
        values = np.nan_to_num(values.reshape(len(items), self.reward_dim), nan=0.0)
        return np.clip(values, self.reward_low, self.reward_high).astype(np.float32)

    def score_completion(self, item: Item, completion: str) -> tuple[float, float]:
        quality, conciseness = self.score([item], [completion])[0]
        return float(quality), float(conciseness)

    def pop_counters(self) -> dict[str, float]:
        return self.judge.pop_counters()

    def reference(self, item: Item) -> str:
        return "TL;DR: " + item["reference"]

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        summary = rewards.strip_prefix(self.truncate(completion))
        return {"summary_words": len(summary.split()), "word_budget": item["word_budget"]}


class SummarizeSynthTask(SummarizeTask):
    """Procedural Reddit-style posts to summarize in one short TL;DR line."""

    reference_quality = staticmethod(rewards.quality)
    reference_quality_rule = "10 * (0.6 * key-fact recall + 0.4 * ROUGE-L F1 against the reference)"
    objectives = summary_objectives("reference", reference_quality_rule)
    #: A warm start half as long as ToolCall-Synth's already leaves the tiny policy's quality
    #: where RL raises it (2.2 of 10 sampled at T=1).
    tiny_recipe = {"sft_steps": 500}

    @checked_call  # each keyword is checked against its type before the body runs
    def __init__(
        self,
        *,
        seed: int = 0,
        train_size: PositiveInt = 2000,
        test_size: PositiveInt = 200,
        difficulty: Difficulty = "short",
        test_templates: TestTemplates = "seen",
        word_budget: PositiveInt | None = None,
        # checked by make_judge, which the TL;DR task shares
        judge: SkipValidation[str] = "reference",
        judge_kwargs: SkipValidation[dict[str, Any] | None] = None,
    ) -> None:
        self.seed, self.difficulty, self.test_templates = seed, difficulty, test_templates
        #: Every item's word budget; None keeps the difficulty's (20 short, 32 medium), within
        #: which every reference fits. A smaller one puts conciseness against quality.
        self.word_budget = word_budget
        self.sizes = {"train": train_size, "test": test_size}
        self._items: dict[str, list[Item]] = {}
        self._set_judge(judge, judge_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_items"] = {}  # regenerated on first access, deterministically
        return state

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        if name not in self._items:
            items = data.generate_items(
                name, self.sizes[name], self.seed, self.difficulty, self.test_templates
            )
            if self.word_budget is not None:
                items = [{**item, "word_budget": self.word_budget} for item in items]
            self._items[name] = items
        return self._items[name]

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        summary = rewards.strip_prefix(self.truncate(completion))
        return {
            **super().diagnose(item, completion),
            "fact_recall": rewards.fact_recall(item, summary),
        }


class SummarizeSynthV1Task(SummarizeSynthTask):
    """``saw/Summarize-Synth-v1``: Summarize-Synth with a budget of 8 words, so the objectives
    pull apart.

    In ``-v0`` every reference fits its 20-word budget and the tiny policy writes about 12
    words, so conciseness is 10 from step 0 and no weighting can act on it. Here the budget
    (8 words) is below most references (10-18 words), so a summary buys conciseness with the
    facts and words it leaves out. The warm policy starts with headroom on both objectives
    (sampled at T=1 on 128 held-out posts: quality 2.1, conciseness 7.2-7.3 of 10),
    conciseness is learned within a few steps (the length of a completion is one decision),
    quality over the whole run (copying facts is many), and up-weighting either objective moves
    the scores: the measured figures are in baselines/README.md. Data and quality are
    ``-v0``'s.

    The warm start is 300 steps (``-v0``: 500) and its figures use 50 held-out items, so the
    default command builds its policy and trains within two minutes on two cores.
    """

    tiny_recipe = {"sft_steps": 300, "eval_items": 50}
    #: Most references (10-18 words) exceed the budget: they reach 10 on quality, not on both.
    reference_pass_rate = 0.0

    @checked_call
    def __init__(self, *, word_budget: PositiveInt | None = 8, **kwargs: Any) -> None:
        super().__init__(word_budget=word_budget, **kwargs)
