"""The tiny embedded policy: a ~1M-parameter Llama that saw-bench trains on a task's own data.

saw-bench runs end to end on a laptop CPU without downloading a model: for each task it builds
a policy from nothing, in a few minutes, and caches it.

1. **Tokenizer.** Byte-level BPE (Sennrich et al., 2016, "Neural Machine Translation of Rare
   Words with Subword Units"; bytes as in GPT-2, Radford et al., 2019) with 2,048 tokens,
   trained with the ``tokenizers`` library on the train split's prompts and references.
   ``_`` counts as a letter when splitting (:data:`PRETOKENIZE`), so identifiers become single
   tokens. Wrapped as ``PreTrainedTokenizerFast`` with :data:`SPECIAL_TOKENS` and
   :data:`CHAT_TEMPLATE`; it round-trips every string exactly.
2. **Model.** ``LlamaForCausalLM`` (Touvron et al., 2023, "LLaMA: Open and Efficient
   Foundation Language Models"): hidden 128, 4 layers, 4 heads, FFN 384, tied embeddings
   (~1.1M parameters), initialised from the recipe's seed.
3. **Warm start.** Supervised fine-tuning on (prompt, reference + EOS) pairs of the train split,
   loss on the target tokens only, through :class:`~saw_bench.policy._fast.FastLlama`; AdamW
   (Loshchilov and Hutter, 2019, "Decoupled Weight Decay Regularization") with a linear
   warm-up and cosine decay. A share
   ``corrupt_fraction`` of the targets is replaced by a plausible mistake (the task's own
   ``corrupt_reference``, else :func:`corrupt_text`), and training is short, so the warm
   policy knows the format but is far from perfect: RL has something to learn.

Everything is fixed by a :class:`TinyRecipe`, whose defaults are tuned for ToolCall-Synth; a
task class changes them through ``TextTask.tiny_recipe`` / ``tiny_recipe_for``
(:func:`default_recipe`). The same recipe gives the same weights on every machine and thread
count (recipe version 3: seeded init, fixed data order, exact arithmetic, see :func:`train_sft`;
version 2 policies, which the board's runs name, are built with AVX2 kernels, see
:data:`VERSION_2_KERNELS`, the asynchrony family's with AVX-512 ones, :data:`BOARD_KERNELS`).
The result is a Hugging Face folder
(``save_pretrained``, safetensors) under ``<cache>/tiny/<task-slug>-<hash12>/``
(:func:`cache_dir`, :meth:`TinyRecipe.folder_name`) with ``recipe.json`` and ``figures.json``
(training speed, held-out and train-split scores) beside it.

How the recipe was chosen, with the measurements: ``docs/concepts/tiny-policy.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from tqdm.auto import tqdm
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from saw_bench.core.errors import SawBenchError
from saw_bench.core.options import (
    NonNegative,
    NonNegativeInt,
    OptionError,
    Positive,
    PositiveInt,
    Share,
    checked,
)
from saw_bench.core.registry import import_object, load_task, registered_ids, resolve, spec
from saw_bench.core.task import Item, TextTask
from saw_bench.policy._answer import answer_items
from saw_bench.policy._fast import fast_llama
from saw_bench.policy._hf import Policy, plain_chat, quiet_transformers, weights_revision

#: Bump whenever the build code changes what a recipe produces (a new name for every policy).
#: 2: SFT through FastLlama, batches bucketed by prompt + target length. 3: exact arithmetic
#: (:func:`train_sft`): the same weights on every machine and thread count.
RECIPE_VERSION = 3
#: The recipe versions this code still builds (:attr:`TinyRecipe.recipe_version`), so the
#: policies that committed runs name can be rebuilt (:func:`recipe_named`).
RECIPE_VERSIONS = (2, 3)
#: The version a recipe gets unless it names one: 2, the leaderboard's policies (built with AVX2
#: kernels, so the same weights on x86-64 CPUs with AVX2) at float32's speed. Version 3 (the
#: same weights on any CPU) costs about 2.2x the warm-start time; it becomes the default when
#: the board's grids are trained on its policies.
DEFAULT_RECIPE_VERSION = 2
DEFAULT_TASK = "saw/ToolCall-Synth-v0"
PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|eos|>"
ROLES = ("system", "user", "assistant", "tool")
SPECIAL_TOKENS = (PAD, BOS, EOS, *(f"<|{role}|>" for role in ROLES))
#: Same text as :func:`saw_bench.policy._hf.plain_chat`, after a BOS token.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
IGNORE_INDEX = -100
#: Pre-tokenizer pieces: GPT-2's split, except that ``_`` counts as a letter, so identifiers
#: such as ``get_stock_price`` can become single tokens that the model copies in one step.
PRETOKENIZE = r" ?[\p{L}\p{N}_]+| ?[^\s\p{L}\p{N}_]+|\s+(?!\S)|\s+"
#: SFT batches drawn together and bucketed by length (see :meth:`SftData.batches`).
BUCKET_BATCHES = 8
#: Torch threads of a recipe version 2 build, whatever the machine or ``$OMP_NUM_THREADS``.
#: Its float32 weights depend on the CPU kernels PyTorch picks for the machine (AVX-512, AVX2 or
#: none give different weights within 8 SFT steps; one or two threads do not), so version 2
#: builds run :data:`VERSION_2_KERNELS`. Version 3 builds use the caller's threads: its weights
#: depend on neither.
BUILD_THREADS = 2
#: PyTorch's CPU kernels of a version 2 build: the board's version 2 policies were built with
#: them, and another machine rebuilds them bit for bit with them (a build elsewhere runs in a
#: child process with ``ATEN_CPU_CAPABILITY=avx2``, where the CPU has AVX2).
VERSION_2_KERNELS = "AVX2"
#: The board's version 2 policies built with other kernels than :data:`VERSION_2_KERNELS`, by
#: folder name: the asynchrony family's were built with AVX-512 kernels before builds chose
#: theirs, and their pinned revisions (``leaderboard/protocols.toml``) are those weights.
BOARD_KERNELS = {
    "async-k2-v0-62d06293b902": "AVX512",
    "async-k2-noisy-v0-3f0a8bfa8494": "AVX512",
    "async-k4-v0-a13c5c066e2f": "AVX512",
    "async-k4-noisy-v0-8992cd3f2d3e": "AVX512",
}
#: Whether this CPU has the kernels, by PyTorch's name for them.
_KERNELS_SUPPORTED = {
    "AVX2": lambda: torch.cpu._is_avx2_supported(),
    "AVX512": lambda: torch.cpu._is_avx512_supported(),
}
#: Version 3 keeps every weight on the grid of multiples of ``2**-WEIGHT_GRID_BITS`` (about
#: 1.5e-5), rounding after initialisation and after every optimizer step of a float64 warm
#: start (see :func:`train_sft`).
WEIGHT_GRID_BITS = 16
#: Rough build cost on two free cores, for the line that announces a build: seconds per row of
#: a warm-start batch (ToolCall-Synth: 1,000 steps of 16 rows in about 4 minutes) and per
#: held-out item (its figures: sampled and greedy, on the test and the train split).
SFT_SECONDS_PER_ROW = 0.014
#: CPU time of a version 3 (float64) warm-start step against a float32 one, measured on the
#: ToolCall-Synth recipe at one thread.
FLOAT64_COST = 2.2
EVAL_SECONDS_PER_ITEM = 0.15
#: With no terminal, a warm-start progress line at least this often (and every tenth of the
#: steps), so a log shows the build moving.
PROGRESS_SECONDS = 20.0


#: The smallest vocabulary: the 256 bytes and the special tokens.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)


@checked(noun="recipe option", frozen=True)
class TinyRecipe:
    """Everything that determines a tiny policy. Hashed into its cache folder's name. Built, it
    is checked (:mod:`saw_bench.core.options`); a bad value raises one OptionError line."""

    task: str = DEFAULT_TASK
    task_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    # tokenizer and model
    vocab_size: Annotated[int, Field(ge=MIN_VOCAB_SIZE)] = 2048
    hidden_size: PositiveInt = 128
    num_layers: PositiveInt = 4
    num_heads: PositiveInt = 4
    ffn_size: PositiveInt = 384
    max_position: PositiveInt = 1024
    # supervised warm start
    sft_steps: NonNegativeInt = 1000
    batch_size: PositiveInt = 16
    learning_rate: Positive = 3e-3
    warmup_steps: NonNegativeInt = 30
    final_lr_fraction: Share = 0.1  # cosine decay from learning_rate to this share of it
    weight_decay: NonNegative = 0.0
    corrupt_fraction: Share = 0.5
    seed: int = 0
    # held-out figures
    max_new_tokens: PositiveInt = 96
    eval_items: NonNegativeInt = 100
    # the build's code (RECIPE_VERSIONS); hashed with the rest, as every version was
    recipe_version: Annotated[int, Field(ge=min(RECIPE_VERSIONS), le=RECIPE_VERSION)] = (
        DEFAULT_RECIPE_VERSION
    )

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise OptionError(
                f"hidden_size must be a multiple of num_heads, but got {self.hidden_size} and "
                f"{self.num_heads}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def recipe_hash(self) -> str:
        """sha256 of the canonical JSON of the recipe (its version included) and the task's
        data fingerprint (so a change of the generated data rebuilds the policy)."""
        payload = {"task_data": self.task_data_fingerprint, **self.to_dict()}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @functools.cached_property
    def task_data_fingerprint(self) -> str:
        """The task's data hash, computed once per recipe object (it generates the data)."""
        return self.load_task().data_fingerprint()

    def folder_name(self) -> str:
        return f"{_slug(self.task)}-{self.recipe_hash()[:12]}"

    def load_task(self) -> TextTask:
        return load_task(self.task, **self.task_kwargs)


def default_recipe(task: str | None = None) -> TinyRecipe:
    """The recipe of the tiny policy for a task id or alias (default ``ToolCall-Synth-v0``):
    the :class:`TinyRecipe` defaults, tuned for ``ToolCall-Synth-v0``, with the changes the
    task class gives for the id's registered kwargs
    (:meth:`~saw_bench.core.task.TextTask.tiny_recipe_for`)."""
    task_id = resolve(task or DEFAULT_TASK)
    registered = dict(spec(task_id).kwargs)
    task_class = import_object(registered.pop("task"))
    return TinyRecipe(task=task_id, **task_class.tiny_recipe_for(**registered))


def recipe_named(name: str) -> TinyRecipe:
    """The recipe of a tiny policy's name, ``tiny/<task-slug>-<hash12>`` as runs record it
    (or the folder name alone): the default recipe of the task whose slug it starts with, at
    whichever of :data:`RECIPE_VERSIONS` gives that hash. So a run recorded before the recipe
    version changed names a policy this code can still build. SawBenchError when no installed
    task and version give the name."""
    folder = name.removeprefix("tiny/")
    slug = folder.rpartition("-")[0]
    tasks = [task for task in registered_ids() if _slug(task) == slug]
    tried = []
    for task in tasks:
        current = default_recipe(task)
        for version in reversed(RECIPE_VERSIONS):
            recipe = dataclasses.replace(current, recipe_version=version)
            # the same data: its fingerprint (which generates the data) is computed once
            recipe.__dict__["task_data_fingerprint"] = current.task_data_fingerprint
            if recipe.folder_name() == folder:
                return recipe
            tried.append(recipe.folder_name())
    if not tasks:
        known = sorted({_slug(task) for task in registered_ids()})
        raise SawBenchError(
            f"{name!r} names no tiny policy of an installed task: expected "
            f"tiny/<task-slug>-<hash>, with a task slug among {', '.join(known)}"
        )
    raise SawBenchError(
        f"{name!r} is no tiny policy this saw-bench builds (the task's data or recipe changed "
        f"since it was recorded, or a recipe version before {min(RECIPE_VERSIONS)} built it); "
        f"this saw-bench builds {', '.join(tried)}"
    )


def _slug(task_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", task_id.removeprefix("saw/").lower()).strip("-")


def cache_dir() -> Path:
    """``$SAW_BENCH_CACHE`` or ``~/.cache/saw_bench``."""
    return Path(os.environ.get("SAW_BENCH_CACHE") or Path.home() / ".cache" / "saw_bench")


# --------------------------------------------------------------------------- corrupted targets
Corrupter = Callable[[Item, str, random.Random], str]


def corrupt_text(item: Item, reference: str, rng: random.Random) -> str:
    """Any task: cut the reference short, delete a span of words, or swap two words."""
    words = reference.split(" ")
    kind = rng.randrange(3)
    if kind == 0 or len(words) < 3:
        return reference[: rng.randrange(1, max(2, len(reference)))]
    start = rng.randrange(len(words) - 1)
    if kind == 1:
        del words[start : start + rng.randint(1, 3)]
    else:
        other = rng.randrange(len(words))
        words[start], words[other] = words[other], words[start]
    return " ".join(words)


def corrupter_for(task: TextTask) -> Corrupter:
    """The task's own ``corrupt_reference(item, reference, rng)`` method when it has one (tool
    calling: :func:`saw_bench.envs.toolcall.corrupt.corrupt_answer`), else
    :func:`corrupt_text`."""
    own = getattr(task, "corrupt_reference", None)
    return own if callable(own) else corrupt_text


# --------------------------------------------------------------------------- tokenizer, model
def train_tokenizer(task: TextTask, recipe: TinyRecipe) -> PreTrainedTokenizerFast:
    """Byte-level BPE on the train split's prompts and references (plus a few corrupted ones,
    so mistakes are representable without falling back to bytes everywhere)."""
    items = task.split("train")
    corrupt = corrupter_for(task)
    rng = random.Random(f"tokenizer/{recipe.seed}")
    corpus = []
    for item in items:
        reference = task.reference(item)
        corpus += [plain_chat(task.prompt(item)), reference]
        if rng.random() < recipe.corrupt_fraction:
            corpus.append(corrupt(item, reference, rng))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=recipe.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        additional_special_tokens=[f"<|{role}|>" for role in ROLES],
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_max_length=recipe.max_position,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def init_model(recipe: TinyRecipe, tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    """A Llama initialised from ``recipe.seed`` (global RNG state is left untouched).

    Version 3: the matrices are drawn with NumPy's PCG64 generator (``normal(0,
    initializer_range)``, the padding token's embedding zero, as ``transformers`` initialises
    them) and rounded to the weight grid. PyTorch's own ``normal_`` is not used: its
    vectorised and plain kernels give different low bits, so the initial weights would depend
    on the machine's CPU."""
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden_size,
        intermediate_size=recipe.ffn_size,
        num_hidden_layers=recipe.num_layers,
        num_attention_heads=recipe.num_heads,
        num_key_value_heads=recipe.num_heads,
        max_position_embeddings=recipe.max_position,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    if recipe.recipe_version >= 3:
        generator = np.random.Generator(np.random.PCG64(recipe.seed))
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() < 2:
                    continue  # norm weights: ones
                drawn = generator.standard_normal(tuple(parameter.shape))
                parameter.copy_(torch.from_numpy(drawn * config.initializer_range))
            model.model.embed_tokens.weight[config.pad_token_id] = 0.0
            round_to_grid(model)
    return model


def round_to_grid(model: torch.nn.Module) -> None:
    """Round every weight to the nearest multiple of ``2**-WEIGHT_GRID_BITS`` (ties to even),
    in place. Exact in float32 and float64 for weights below 2**7 in magnitude."""
    scale = float(2**WEIGHT_GRID_BITS)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.round(parameter * scale) / scale)


# --------------------------------------------------------------------------- warm start
@dataclass
class SftBatch:
    input_ids: torch.Tensor  # (B, L) right-padded prompt + target
    attention_mask: torch.Tensor
    labels: torch.Tensor  # target tokens, IGNORE_INDEX on prompt and padding

    @property
    def tokens(self) -> int:
        return int(self.attention_mask.sum())


class SftData:
    """(prompt, target) pairs of the train split in a fixed, seeded order.

    Prompts are tokenized as :meth:`Policy.render` renders them, and the target separately, so
    training sees the very token boundary that generation will continue from. Each draw
    corrupts its target with probability ``corrupt_fraction``.
    """

    def __init__(self, task: TextTask, tokenizer: PreTrainedTokenizerFast, recipe: TinyRecipe):
        self.task, self.tokenizer, self.recipe = task, tokenizer, recipe
        self.items = task.split("train")
        self.references = [task.reference(item) for item in self.items]
        self.corrupt = corrupter_for(task)
        prompts = [
            tokenizer.apply_chat_template(
                task.prompt(item), tokenize=False, add_generation_prompt=True
            )
            for item in self.items
        ]
        self.prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        self.target_ids = [ids + [tokenizer.eos_token_id] for ids in self.encode(self.references)]
        self.lengths = [
            len(prompt) + len(target)
            for prompt, target in zip(self.prompt_ids, self.target_ids, strict=True)
        ]

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []

    def batches(self) -> Iterator[SftBatch]:
        """``recipe.sft_steps`` batches from shuffled epochs over the items, seeded.

        Draws are bucketed by length: ``BUCKET_BATCHES`` batches' worth of items are sorted by
        prompt + reference length and cut into batches (served in random order), so little
        compute goes to padding.
        """
        rng = random.Random(f"sft/{self.recipe.seed}")
        order: list[int] = []
        pending: list[list[int]] = []
        for _ in range(self.recipe.sft_steps):
            if not pending:
                pool = []
                for _ in range(BUCKET_BATCHES * self.recipe.batch_size):
                    if not order:
                        order = list(range(len(self.items)))
                        rng.shuffle(order)
                    pool.append(order.pop())
                pool.sort(key=lambda index: (self.lengths[index], index))
                size = self.recipe.batch_size
                pending = [pool[start : start + size] for start in range(0, len(pool), size)]
                rng.shuffle(pending)
            yield self.collate(pending.pop(), rng)

    def collate(self, indices: Sequence[int], rng: random.Random | None = None) -> SftBatch:
        """A batch of the given items; targets corrupted only when ``rng`` is given."""
        targets = [self.target_ids[i] for i in indices]
        if rng is not None:
            chosen = [k for k in range(len(indices)) if rng.random() < self.recipe.corrupt_fraction]
            texts = [
                self.corrupt(self.items[indices[k]], self.references[indices[k]], rng)
                for k in chosen
            ]
            for k, ids in zip(chosen, self.encode(texts), strict=True):
                targets[k] = ids + [self.tokenizer.eos_token_id]
        rows = [self.prompt_ids[i] + target for i, target in zip(indices, targets, strict=True)]
        width = max(map(len, rows))
        input_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for row, (index, target) in enumerate(zip(indices, targets, strict=True)):
            prompt_length, length = len(self.prompt_ids[index]), len(rows[row])
            input_ids[row, :length] = torch.tensor(rows[row])
            attention_mask[row, :length] = 1
            labels[row, prompt_length:length] = torch.tensor(target)
        return SftBatch(input_ids, attention_mask, labels)


def sft_loss(model: LlamaForCausalLM, batch: SftBatch, fast: bool = True) -> torch.Tensor:
    """Mean cross-entropy of the target tokens.

    The network runs through :class:`~saw_bench.policy._fast.FastLlama` (rows are right-padded,
    so causal attention alone is exact for every scored position), and the output layer only
    on positions that predict a target token: prompts are ~70% of the tokens here, and the
    vocabulary projection and its softmax are a large share of a tiny model's compute.
    ``fast=False`` (or a model the fast path does not cover): the module's own forward.
    """
    kernel = fast_llama(model, training=True) if fast else None
    if kernel is not None:
        hidden = kernel.causal_states(batch.input_ids)
    else:
        hidden = model.model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state
    labels = batch.labels[:, 1:]
    predicts_target = labels != IGNORE_INDEX
    logits = model.lm_head(hidden[:, :-1][predicts_target])
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))  # float32 or wider
    return torch.nn.functional.cross_entropy(logits, labels[predicts_target])


def _exact_rotary_frequencies(model: LlamaForCausalLM) -> None:
    """The rotary frequencies ``theta ** (-2i / head_dim)`` recomputed in float64 (the model
    computes them in float32 with a vectorised power whose low bits depend on the CPU)."""
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    theta = config.rope_parameters["rope_theta"]
    exponents = torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim
    model.model.rotary_emb.inv_freq = 1.0 / theta**exponents


def lr_factor(step: int, recipe: TinyRecipe) -> float:
    """Linear warm-up, then cosine decay to ``final_lr_fraction``."""
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    span = max(1, recipe.sft_steps - recipe.warmup_steps)
    progress = min(1.0, (step - recipe.warmup_steps) / span)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return recipe.final_lr_fraction + (1 - recipe.final_lr_fraction) * cosine


def train_sft(
    model: LlamaForCausalLM, data: SftData, recipe: TinyRecipe, *, progress: bool = True
) -> dict[str, Any]:
    """The warm start: AdamW, clipped gradients, the recipe's schedule. Returns the figures.

    Version 3 makes the result exact, whatever the CPU's kernels or thread count: the model
    trains in float64 and every weight is rounded to the grid of ``2**-WEIGHT_GRID_BITS``
    after every step (:func:`round_to_grid`), then returns to float32 (exactly: the grid
    values are float32 numbers). Two machines' float64 steps differ by reduction order and
    vectorised maths, about 1e-16 relative, which is a ten-billionth of a grid step: the
    rounding gives both the same weights, so the difference never grows. Float32 steps differ
    by about 1e-7 relative, which over a thousand steps grows to other weights; float64 steps
    cost about twice as much CPU time.
    """
    exact = recipe.recipe_version >= 3
    if exact:
        model.to(torch.float64)
        _exact_rotary_frequencies(model)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=recipe.learning_rate,
        betas=(0.9, 0.95),
        weight_decay=recipe.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, recipe))
    model.train()
    losses, tokens, started = [], 0, time.perf_counter()
    # a bar on a terminal; in a log (no terminal), a plain line every tenth of the steps and at
    # least every PROGRESS_SECONDS
    terminal = progress and sys.stderr.isatty()
    bar = tqdm(data.batches(), total=recipe.sft_steps, desc="tiny policy SFT", disable=not terminal)
    every, last_line = max(1, recipe.sft_steps // 10), started
    for number, batch in enumerate(bar, start=1):
        loss = sft_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if exact:
            round_to_grid(model)
        schedule.step()
        losses.append(loss.item())
        tokens += batch.tokens
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        now = time.perf_counter()
        due = number % every == 0 or number == recipe.sft_steps
        if progress and not terminal and (due or now - last_line >= PROGRESS_SECONDS):
            last_line, elapsed = now, now - started
            left = elapsed / number * (recipe.sft_steps - number)
            _say(
                f"tiny policy SFT: step {number}/{recipe.sft_steps} loss {losses[-1]:.3f} "
                f"({elapsed:.0f} s, about {_duration(left)} left)"
            )
    seconds = time.perf_counter() - started
    model.to(torch.float32)
    model.eval()
    return {
        "sft_steps": recipe.sft_steps,
        "sft_seconds": round(seconds, 2),
        "sft_tokens": tokens,
        "sft_tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
        "initial_loss": losses[0] if losses else None,
        "final_loss": float(np.mean(losses[-10:])) if losses else None,
        "loss_curve": losses[:: max(1, len(losses) // 20)],
    }


def evaluate(
    policy: Policy, task: TextTask, recipe: TinyRecipe, split: str = "test", batch_size: int = 50
) -> dict[str, Any]:
    """Figures on up to ``eval_items`` items of a split, sampled (T=1) and greedy: the mean of
    each objective, ``exact`` (the share of completions at the maximum on every objective) and
    the generation speed; plus the length of the reference completions in tokens."""
    items = task.split(split)[: recipe.eval_items]
    figures: dict[str, Any] = {"eval_items": len(items)}
    if not items:
        return figures
    references = policy.tokenizer(
        [task.reference(item) for item in items], add_special_tokens=False
    )
    lengths = np.array([len(ids) + 1 for ids in references["input_ids"]])  # + EOS
    figures["reference_tokens"] = {
        "mean": round(float(lengths.mean()), 1),
        "max": int(lengths.max()),
        "share_over_max_new_tokens": float(np.mean(lengths > recipe.max_new_tokens)),
    }
    for mode, temperature in (("sampled", 1.0), ("greedy", 0.0)):
        texts, tokens, seconds = answer_items(
            policy,
            task,
            items,
            temperature=temperature,
            max_new_tokens=recipe.max_new_tokens,
            batch_size=batch_size,
            seed=recipe.seed,
        )
        scores = task.score(items, texts)
        means = dict(zip(task.objective_names, map(float, scores.mean(axis=0)), strict=True))
        means["exact"] = float(np.mean(np.all(scores >= task.reward_high, axis=1)))
        figures[mode] = {name: round(value, 4) for name, value in means.items()}
        figures[mode]["completion_tokens_per_second"] = round(tokens / seconds, 1)
    return figures


# --------------------------------------------------------------------------- build and cache
def build_tiny_policy(recipe: TinyRecipe, *, progress: bool = True, force: bool = False) -> Path:
    """The folder of the tiny policy for ``recipe``: reused from the cache, or built.

    The build writes into a temporary folder beside the target and renames it into place, so
    an interrupted or concurrent build never leaves a half-written policy behind.
    """
    folder = cache_dir() / "tiny" / recipe.folder_name()
    if not force and is_built(folder, recipe):
        return folder
    if progress:
        _say(_announcement(recipe, folder, rebuild=force and folder.exists()))
    started = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _build_into(staging, recipe, progress=progress)
        if force and folder.exists():
            stale = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, stale / "policy")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(staging, folder)
        except OSError:
            if not is_built(folder, recipe):  # not a concurrent builder's finished copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if progress:
        _say(f"tiny policy: built in {_duration(time.perf_counter() - started)}: {folder}")
    return folder


def _announcement(recipe: TinyRecipe, folder: Path, *, rebuild: bool = False) -> str:
    """The line a build starts with: what is built, why, where it is cached, about how long."""
    why = "rebuilding on request" if rebuild else "first use of this task's recipe"
    seconds = recipe.sft_steps * recipe.batch_size * SFT_SECONDS_PER_ROW
    seconds *= FLOAT64_COST if recipe.recipe_version >= 3 else 1.0
    seconds += recipe.eval_items * EVAL_SECONDS_PER_ITEM
    return (
        f"tiny policy: building the policy of {recipe.task} ({why}; cached afterwards in "
        f"{folder}): a tokenizer, {recipe.sft_steps:,} warm-start steps and its held-out "
        f"figures, about {_duration(seconds)} on two free cores, longer on a busy machine"
    )


def is_built(folder: Path, recipe: TinyRecipe) -> bool:
    """Whether ``folder`` holds a finished build of ``recipe``."""
    try:
        saved = json.loads((folder / "recipe.json").read_text())
    except (OSError, ValueError):
        return False
    return saved.get("hash") == recipe.recipe_hash() and (folder / "model.safetensors").is_file()


def prepare(task: str = "toolcall", progress: bool = True) -> Path:
    """Build (or find) the tiny policy of a task ahead of training; returns its folder."""
    return build_tiny_policy(default_recipe(task), progress=progress)


def build_kernels(recipe: TinyRecipe) -> str | None:
    """The CPU kernels a build of ``recipe`` runs: None for version 3 (its weights depend on
    none); for version 2, the board's record (:data:`BOARD_KERNELS`), else
    :data:`VERSION_2_KERNELS`."""
    if recipe.recipe_version >= 3:
        return None
    return BOARD_KERNELS.get(recipe.folder_name(), VERSION_2_KERNELS)


def _build_into(folder: Path, recipe: TinyRecipe, *, progress: bool) -> None:
    kernels = build_kernels(recipe)
    if kernels is not None and torch.backends.cpu.get_cpu_capability() != kernels:
        if _KERNELS_SUPPORTED[kernels]():
            _build_in_child(folder, recipe, kernels, progress=progress)
            return
        _say(
            f"tiny policy: this CPU has no {kernels} kernels, which built the board's "
            f"{recipe.folder_name()}; built on its own, its weights differ from the board's, "
            "so its runs cannot pair with the board's (off protocol)"
        )
    caller_threads = torch.get_num_threads()
    threads = BUILD_THREADS if recipe.recipe_version < 3 else caller_threads
    build_started = time.perf_counter()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            random.seed(recipe.seed)
            np.random.seed(recipe.seed)
            torch.manual_seed(recipe.seed)
            task = recipe.load_task()
            started = time.perf_counter()
            tokenizer = train_tokenizer(task, recipe)
            tokenizer_seconds = time.perf_counter() - started
            model = init_model(recipe, tokenizer)
            data = SftData(task, tokenizer, recipe)
            figures = train_sft(model, data, recipe, progress=progress)
            with quiet_transformers():
                model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            policy = Policy(
                model,
                tokenizer,
                torch.device("cpu"),
                recipe.folder_name(),
                weights_revision(folder),
            )
            started = time.perf_counter()
            if progress and recipe.eval_items:
                _say(
                    f"tiny policy: held-out figures on up to {recipe.eval_items} test and "
                    f"{recipe.eval_items} train items"
                )
            figures.update(evaluate(policy, task, recipe))
            train_figures = evaluate(policy, task, recipe, split="train")
            figures["train_split"] = {
                mode: train_figures.get(mode) for mode in ("sampled", "greedy")
            }
            figures["eval_seconds"] = round(time.perf_counter() - started, 2)
    finally:
        torch.set_num_threads(caller_threads)
    figures.update(
        parameters=sum(parameter.numel() for parameter in model.parameters()),
        vocab_size=len(tokenizer),
        tokenizer_seconds=round(tokenizer_seconds, 3),
        mean_prompt_tokens=round(float(np.mean([len(ids) for ids in data.prompt_ids])), 1),
        mean_target_tokens=round(float(np.mean([len(ids) for ids in data.target_ids])), 1),
        threads=threads,
        build_seconds=round(time.perf_counter() - build_started, 2),
        torch=torch.__version__,
    )
    (folder / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    record = {"hash": recipe.recipe_hash(), **recipe.to_dict()}  # to_dict: recipe_version
    (folder / "recipe.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _build_in_child(folder: Path, recipe: TinyRecipe, kernels: str, *, progress: bool) -> None:
    """:func:`_build_into` in a child process whose PyTorch runs ``kernels`` (PyTorch picks
    its kernels once per process, from ``ATEN_CPU_CAPABILITY``)."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from saw_bench.policy._tiny import TinyRecipe, _build_into\n"
        "recipe = TinyRecipe(**json.loads(sys.argv[2]))\n"
        "_build_into(Path(sys.argv[1]), recipe, progress=sys.argv[3] == '1')\n"
    )
    arguments = [str(folder), json.dumps(recipe.to_dict()), "1" if progress else "0"]
    # MKL's matrix products on the same path as well, where it would pick another (on Intel
    # CPUs with AVX-512; on this AMD machine they are the same bytes either way)
    env = {**os.environ, "ATEN_CPU_CAPABILITY": kernels.lower(), "MKL_CBWR": kernels}
    completed = subprocess.run([sys.executable, "-c", code, *arguments], env=env, check=False)
    if completed.returncode != 0:
        raise SawBenchError(
            f"the build of {recipe.folder_name()} (recipe version {recipe.recipe_version}, "
            f"with {kernels} kernels in a child process) failed with exit code "
            f"{completed.returncode}"
        )


def _say(line: str) -> None:
    """A build's progress line, on stderr (where the bar is drawn on a terminal)."""
    print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    """``45 s``, ``4 min``, ``1.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
