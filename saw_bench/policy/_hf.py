"""A policy is a Hugging Face causal LM and its tokenizer, plus batched sampling.

:class:`Policy` is the only thing the trainer knows about the model. It renders chat messages
into prompt text (:meth:`Policy.render`), samples completions for a batch of prompts
(:meth:`Policy.generate`) and hands back token ids and masks in the layout a policy-gradient
loss needs (:class:`GenerationBatch`). Training itself (log-probabilities, the loss, the
optimizer) lives in the trainer and calls ``policy.model`` directly.

Design choices
    * Sampling is *pure* ancestral sampling at the given temperature: no top-k, no top-p, no
      repetition penalty, whatever the model's ``generation_config`` says. The trainer computes
      the log-probabilities of the sampled tokens under ``softmax(logits / temperature)``;
      any other warper would make those differ from the distribution the tokens came from.
    * Prompts are left-padded and tokenized without adding special tokens: a chat template
      already writes the BOS token where the model expects one.
    * A prompt longer than ``max_prompt_tokens`` raises: silently cutting it would corrupt
      the task (the tool list or the request would be lost) without anyone noticing.
    * Seeded sampling uses ``torch.manual_seed`` inside ``torch.random.fork_rng`` (``generate``
      takes no ``torch.Generator``), so the same seed gives the same samples on CPU and the
      caller's global RNG state is left as it was.
    * Llama-style models decode through :class:`~saw_bench.policy._fast.FastLlama` (the same
      network and distribution, several times faster at the default batch; ``fast=False`` or
      any other architecture: ``generate``). Its sampler draws one uniform per row and token,
      so its samples under a seed differ from ``generate``'s, not their distribution.

:func:`load_policy` loads ``"tiny"`` (the embedded policy of :mod:`saw_bench.policy._tiny`,
built on first use) or any Hugging Face id or local folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from saw_bench.core.errors import PromptTooLongError, SawBenchError
from saw_bench.policy._fast import FastLlama, fast_llama

#: Prompt budget of a policy unless set otherwise (tokens, after rendering).
DEFAULT_MAX_PROMPT_TOKENS = 1024
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
#: ``name`` or ``owner/name``: what a Hugging Face hub id may look like.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[A-Za-z0-9][\w.\-]*)?$")
WEIGHT_SUFFIXES = (".safetensors", ".bin")


@dataclass
class GenerationBatch:
    """Completions sampled for a batch of prompts, ``num_samples`` rows per prompt.

    Row ``r`` answers prompt ``prompt_index[r]``; the rows of one prompt are contiguous.
    ``completion_mask`` is 1 on every generated token up to and including the first EOS and 0
    after it (where ``completion_ids`` holds the pad id); ``texts`` are the decoded completions
    without special tokens, cut before the EOS.
    """

    prompt_ids: torch.Tensor  # (rows, P) long, left-padded
    prompt_mask: torch.Tensor  # (rows, P) long
    completion_ids: torch.Tensor  # (rows, T) long, right-padded
    completion_mask: torch.Tensor  # (rows, T) long
    texts: list[str]
    prompt_index: torch.Tensor  # (rows,) long

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def completion_tokens(self) -> int:
        """Generated tokens that count (EOS included, padding excluded)."""
        return int(self.completion_mask.sum())


@dataclass
class Policy:
    """A causal LM, its tokenizer (left padding, pad token set), its device and identity."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    name: str
    revision: str
    max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS
    #: Decode (and train, see :mod:`saw_bench.training.rollouts`) Llama-style models with
    #: saw-bench's own loop (:mod:`saw_bench.policy._fast`); False, or a model it does not
    #: cover: Hugging Face ``generate`` and the module's forward.
    fast: bool = True

    @property
    def fast_model(self) -> FastLlama | None:
        """The fast path over this policy's model, or None (disabled or not covered)."""
        return fast_llama(self.model) if self.fast else None

    def render(self, messages: list[dict[str, str]] | str) -> str:
        """Prompt text for chat messages, ending where the assistant's answer starts.

        Uses the tokenizer's chat template when it has one; otherwise a plain rendering,
        ``<|role|>\\ncontent\\n`` per message followed by ``<|assistant|>\\n``. A string is
        taken to be rendered already and is returned as it is.
        """
        if isinstance(messages, str):
            return messages
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            return str(text)
        return plain_chat(messages)

    @torch.no_grad()
    def generate(
        self,
        prompts: list[str],
        *,
        num_samples: int = 1,
        max_new_tokens: int = 96,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> GenerationBatch:
        """Sample ``num_samples`` completions per prompt (``temperature=0``: greedy)."""
        if not prompts:
            raise ValueError("generate() needs at least one prompt, but got none")
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, but got {num_samples}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, but got {max_new_tokens}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, but got {temperature}")
        encoded = self.encode_prompts(prompts)
        prompt_index = torch.arange(len(prompts)).repeat_interleave(num_samples)
        prompt_ids = encoded["input_ids"][prompt_index].to(self.device)
        prompt_mask = encoded["attention_mask"][prompt_index].to(self.device)

        eos_id, pad_id = self.eos_token_id, int(self.tokenizer.pad_token_id)
        fast = self.fast_model
        if fast is not None:
            with torch.random.fork_rng(devices=_rng_devices(self.device)):
                if seed is not None:
                    torch.manual_seed(seed)
                completion_ids = fast.sample(
                    encoded["input_ids"].to(self.device),
                    encoded["attention_mask"].to(self.device),
                    num_samples=num_samples,
                    max_new_tokens=max_new_tokens,
                    temperature=float(temperature),
                    eos_id=eos_id,
                    pad_id=pad_id,
                )
        else:
            completion_ids = self._generate_hf(
                prompt_ids, prompt_mask, max_new_tokens, temperature, seed, eos_id, pad_id
            )
        return self.completion_batch(prompt_ids, prompt_mask, completion_ids, prompt_index)

    def encode_prompts(self, prompts: list[str]) -> Any:
        """The tokenizer's left-padded ``input_ids`` and ``attention_mask`` of ``prompts``; a
        prompt longer than ``max_prompt_tokens`` raises (see the module doc)."""
        encoded = self.tokenizer(
            list(prompts), add_special_tokens=False, padding=True, return_tensors="pt"
        )
        lengths = encoded["attention_mask"].sum(dim=1)
        longest = int(lengths.max())
        if longest > self.max_prompt_tokens:
            index = int(lengths.argmax())
            raise PromptTooLongError(
                f"prompt {index} has {longest} tokens, more than max_prompt_tokens="
                f"{self.max_prompt_tokens}; raise policy.max_prompt_tokens or shorten the prompt "
                "(prompts are never truncated: that would silently change the task)"
            )
        return encoded

    def completion_batch(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        completion_ids: torch.Tensor,
        prompt_index: torch.Tensor,
    ) -> GenerationBatch:
        """The :class:`GenerationBatch` of sampled ``completion_ids`` (cut after their first
        EOS, decoded) for per-row prompts."""
        eos_id, pad_id = self.eos_token_id, int(self.tokenizer.pad_token_id)
        completion_mask = mask_through_first(completion_ids, eos_id)
        completion_ids[completion_mask == 0] = pad_id
        texts = self.tokenizer.batch_decode(
            [
                row[mask.bool() & (row != eos_id)]
                for row, mask in zip(completion_ids, completion_mask, strict=True)
            ],
            skip_special_tokens=True,
        )
        return GenerationBatch(
            prompt_ids=prompt_ids,
            prompt_mask=prompt_mask,
            completion_ids=completion_ids,
            completion_mask=completion_mask,
            texts=list(texts),
            prompt_index=prompt_index.to(self.device),
        )

    def _generate_hf(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        max_new_tokens: int,
        temperature: float,
        seed: int | None,
        eos_id: int,
        pad_id: int,
    ) -> torch.Tensor:
        """Completion ids from Hugging Face ``generate`` (pure sampling, see the module doc)."""
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": float(temperature), "top_k": 0, "top_p": 1.0}
            if temperature > 0
            else {"do_sample": False}
        )
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.random.fork_rng(devices=_rng_devices(self.device)):
                if seed is not None:
                    torch.manual_seed(seed)
                output = self.model.generate(
                    input_ids=prompt_ids,
                    attention_mask=prompt_mask,
                    max_new_tokens=max_new_tokens,
                    eos_token_id=eos_id,
                    pad_token_id=pad_id,
                    num_beams=1,
                    repetition_penalty=1.0,
                    **sampling,
                )
        finally:
            self.model.train(was_training)
        sequences = output if isinstance(output, torch.Tensor) else output.sequences
        return sequences[:, prompt_ids.shape[1] :].clone()

    @property
    def eos_token_id(self) -> int:
        eos = self.tokenizer.eos_token_id
        if eos is None:
            eos = self.model.generation_config.eos_token_id
        if isinstance(eos, list):
            eos = eos[0]
        if eos is None:
            raise ValueError(f"policy {self.name!r} has no EOS token")
        return int(eos)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Without transformers' per-call progress bars ("Loading weights", "Writing model
    shards"), which would interleave with a run's own progress bar."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def plain_chat(messages: list[dict[str, str]]) -> str:
    """The rendering used without a chat template: ``<|role|>\\ncontent\\n`` per message,
    then ``<|assistant|>\\n``."""
    turns = "".join(f"<|{message['role']}|>\n{message['content']}\n" for message in messages)
    return turns + "<|assistant|>\n"


def mask_through_first(ids: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 on each position up to and including the first ``eos_id`` of its row, 0 after."""
    is_eos = (ids == eos_id).long()
    eos_before = torch.cumsum(is_eos, dim=1) - is_eos  # EOS tokens strictly before each position
    return (eos_before == 0).long()


def _rng_devices(device: torch.device) -> list[int]:
    if device.type == "cuda":
        return [device.index if device.index is not None else torch.cuda.current_device()]
    return []


# --------------------------------------------------------------------------- loading
def resolve_device(device: str = "auto") -> torch.device:
    """``auto``: the first CUDA device when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise SawBenchError(f"unknown device {device!r}: {error}") from None


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on CUDA, float32 elsewhere."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise SawBenchError(
            f"dtype must be 'auto' or one of {', '.join(DTYPES)}, but got {dtype!r}"
        )
    return DTYPES[dtype]


def weights_revision(folder: Path) -> str:
    """A short hash (12 hex digits) of the weight files of a model folder."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.endswith(WEIGHT_SUFFIXES):
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Left padding (generation appends on the right) and a pad token (EOS when missing)."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
