"""Reward functions of the summarisation tasks: the deterministic, offline ``reference`` judge.

Each function takes an item and a summary (the completion with any leading "TL;DR:" already
removed, see :func:`strip_prefix`) and returns a value in [0, 10]. None of them raises. ROUGE
(Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries") is computed by Google's
``rouge_score`` package; its tokenizer lowercases and keeps only ``[a-z0-9]`` runs, so "$450"
counts as "450". The quality/conciseness pair follows the SAW paper's Reddit TL;DR setting
(arXiv 2606.07705), where an LLM judge scores both (:mod:`.llm_judge`).

quality (``saw/Summarize-Synth-v0``)
    ``10 * (0.6 * fact_recall + 0.4 * rougeL_f1)``: ``fact_recall`` is the share of the item's
    fact strings found in the summary as case-insensitive substrings (the summary cut to 2000
    characters); ``rougeL_f1`` is ROUGE-L F1 against the item's reference
    (``RougeScorer(["rougeL"], use_stemmer=False)``) of the summary's first
    ``ROUGE_MAX_WORDS`` = 100 whitespace words (the LCS costs O(len(summary) x
    len(reference))). The reference scores exactly 10.

rouge_quality (``saw/Summarize-TLDR-v0``, items without fact lists)
    ``10 * (rouge1_f1 + rougeL_f1) / 2`` against the reference, with Porter stemming (as
    ``RougeScorer(["rouge1", "rougeL"], use_stemmer=True)``, each word's stem memoised). The
    summary is cut to its first ``max(ROUGE_MAX_WORDS, 3 * word_budget)`` words, never fewer
    than the reference has, so the reference scores exactly 10.

conciseness
    With ``w`` the summary's whitespace-separated words and ``B`` the item's ``word_budget``:
    0 when ``w == 0``; 10 when ``1 <= w <= B``; ``10 * (3B - w) / (2B)`` when ``B < w < 3B``;
    0 when ``w >= 3B``. No credit for pasting the post back: 0 when the longest run of
    consecutive tokens shared by summary and post is longer than ``COPY_RUN_SHARE`` = 60% of
    the post's tokens, or when ``w > B`` and more than ``COPY_OVERLAP_SHARE`` = 80% of the
    summary's tokens are post tokens. Tokens are the lowercased ``[a-z0-9]+`` runs, as for
    ROUGE.

Worked numbers for each rule are on the docs page concepts/environments.md ("Worked numbers of
the reference judge").
"""

from __future__ import annotations

import functools
import re
import types
from typing import Any

from rouge_score import rouge_scorer, tokenizers

QUALITY_LOW, QUALITY_HIGH = 0.0, 10.0
CONCISENESS_LOW, CONCISENESS_HIGH = 0.0, 10.0
FACT_WEIGHT, ROUGE_WEIGHT = 0.6, 0.4
ROUGE_MAX_WORDS = 100
OVER_BUDGET_ZERO = 3  # conciseness reaches 0 at this many times the word budget
COPY_RUN_SHARE = 0.6
COPY_OVERLAP_SHARE = 0.8

_PREFIX = re.compile(r"^\s*tl\s*;?\s*dr\s*[:\-]?\s*", re.IGNORECASE)
_TOKEN = re.compile(r"[a-z0-9]+")
_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


class _MemoisedStemmingTokenizer(tokenizers.DefaultTokenizer):
    """rouge-score's stemming tokenizer, with each word's Porter stem computed once per
    process: stemming is most of ROUGE's cost, and summaries repeat their words. Same tokens
    as ``DefaultTokenizer(use_stemmer=True)`` (tests check it)."""

    def __init__(self) -> None:
        super().__init__(use_stemmer=True)
        stem = functools.lru_cache(maxsize=1 << 16)(self._stemmer.stem)
        self._stemmer = types.SimpleNamespace(stem=stem)


_STEMMED_SCORER = rouge_scorer.RougeScorer(
    ["rouge1", "rougeL"], tokenizer=_MemoisedStemmingTokenizer()
)


def strip_prefix(completion: str) -> str:
    """The summary: the completion without surrounding space and a leading "TL;DR:"."""
    return _PREFIX.sub("", completion, count=1).strip()


def tokens(text: str) -> list[str]:
    """Lowercased ``[a-z0-9]+`` runs: the tokens of the copy checks (as rouge_score's)."""
    return _TOKEN.findall(text.lower())


def fact_recall(item: dict[str, Any], summary: str) -> float:
    """Share of the item's facts found in the summary (case-insensitive substring)."""
    facts = item["facts"]
    if not facts:
        return 1.0
    lowered = summary.lower()
    return sum(fact.lower() in lowered for fact in facts) / len(facts)


def rouge_l(item: dict[str, Any], summary: str) -> float:
    """ROUGE-L F1 of the summary's first ROUGE_MAX_WORDS words against the reference."""
    head = " ".join(summary.split()[:ROUGE_MAX_WORDS])
    return _SCORER.score(item["reference"], head)["rougeL"].fmeasure


def quality(item: dict[str, Any], summary: str) -> float:
    """10 * (0.6 * fact recall + 0.4 * ROUGE-L F1), in [0, 10]."""
    value = QUALITY_HIGH * (
        FACT_WEIGHT * fact_recall(item, summary) + ROUGE_WEIGHT * rouge_l(item, summary)
    )
    return min(QUALITY_HIGH, max(QUALITY_LOW, value))


def rouge_quality(item: dict[str, Any], summary: str) -> float:
    """10 * (ROUGE-1 F1 + ROUGE-L F1) / 2 with stemming, in [0, 10] (see the module docstring)."""
    max_words = max(ROUGE_MAX_WORDS, OVER_BUDGET_ZERO * item["word_budget"])
    head = " ".join(summary.split()[:max_words])
    scores = _STEMMED_SCORER.score(item["reference"], head)
    value = QUALITY_HIGH * (scores["rouge1"].fmeasure + scores["rougeL"].fmeasure) / 2
    return min(QUALITY_HIGH, max(QUALITY_LOW, value))


def has_long_copied_run(summary_tokens: list[str], post_tokens: list[str]) -> bool:
    """Whether summary and post share a run of more than COPY_RUN_SHARE of the post's tokens."""
    run = int(COPY_RUN_SHARE * len(post_tokens)) + 1  # shortest run that "exceeds" the share
    if run > len(summary_tokens) or run > len(post_tokens):
        return False
    post_runs = {tuple(post_tokens[i : i + run]) for i in range(len(post_tokens) - run + 1)}
    return any(
        tuple(summary_tokens[i : i + run]) in post_runs
        for i in range(len(summary_tokens) - run + 1)
    )


def conciseness(item: dict[str, Any], summary: str) -> float:
    """Length against the word budget (see the module docstring); 0 for a pasted post."""
    n_words = len(summary.split())
    budget = item["word_budget"]
    if n_words == 0:
        return CONCISENESS_LOW
    summary_tokens = tokens(summary)
    post_tokens = tokens(item["post"])
    if has_long_copied_run(summary_tokens, post_tokens):
        return CONCISENESS_LOW
    if n_words <= budget:
        return CONCISENESS_HIGH
    post_vocabulary = set(post_tokens)
    if summary_tokens:
        overlap = sum(token in post_vocabulary for token in summary_tokens) / len(summary_tokens)
        if overlap > COPY_OVERLAP_SHARE:
            return CONCISENESS_LOW
    zero_at = OVER_BUDGET_ZERO * budget
    value = CONCISENESS_HIGH * (zero_at - n_words) / (zero_at - budget)
    return min(CONCISENESS_HIGH, max(CONCISENESS_LOW, value))
