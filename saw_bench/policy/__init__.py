"""Policies: a Hugging Face causal LM with its tokenizer, and the tiny embedded one.

``load_policy("tiny", task=...)`` gives the ~1M-parameter policy that saw-bench builds on CPU
for a task (cached under ``$SAW_BENCH_CACHE``); ``load_policy("owner/name")`` or a local folder
gives any Hugging Face causal LM. Both come back as a :class:`Policy` whose ``generate``
returns a :class:`GenerationBatch`. :func:`stack_policies` makes the models of several runs
one batched model (:class:`ModelStack`, :class:`StackedLlama`, :func:`generate_stacked`).
"""

from saw_bench.policy._answer import answer_items
from saw_bench.policy._fast import FastLlama, fast_llama, unsupported_reason
from saw_bench.policy._hf import (
    GenerationBatch,
    Policy,
    mask_through_first,
    plain_chat,
)
from saw_bench.policy._load import load_policy
from saw_bench.policy._logprobs import completion_logprobs
from saw_bench.policy._stacked import ModelStack, StackedLlama, generate_stacked, stack_policies
from saw_bench.policy._tiny import (
    DEFAULT_RECIPE_VERSION,
    RECIPE_VERSION,
    RECIPE_VERSIONS,
    TinyRecipe,
    build_tiny_policy,
    cache_dir,
    default_recipe,
    prepare,
    recipe_named,
)

__all__ = [
    "DEFAULT_RECIPE_VERSION",
    "RECIPE_VERSION",
    "RECIPE_VERSIONS",
    "FastLlama",
    "GenerationBatch",
    "ModelStack",
    "Policy",
    "StackedLlama",
    "answer_items",
    "TinyRecipe",
    "build_tiny_policy",
    "cache_dir",
    "completion_logprobs",
    "default_recipe",
    "fast_llama",
    "generate_stacked",
    "load_policy",
    "mask_through_first",
    "plain_chat",
    "prepare",
    "recipe_named",
    "stack_policies",
    "unsupported_reason",
]
