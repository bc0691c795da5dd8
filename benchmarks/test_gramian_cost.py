"""Cost of the per-objective Gramian that gradient-based agents need (pytest-benchmark).

Run with ``python -m pytest benchmarks/test_gramian_cost.py --benchmark-enable -s``. On a small
Llama (hidden 128, 4 layers, vocab 1,024, like the tiny policy) and a step of 64 rollouts of
120 tokens (40 prompt + 80 completion) with K = 3 objectives, each benchmark times one way of
computing G against ``plain``: one forward and backward of the summed policy loss, which is what
the update costs anyway. The ratio of the fastest rounds (min is the least disturbed by other
work on a shared machine) to ``plain``'s is recorded as ``ratio_to_plain`` in the benchmark's
extra info and printed; a step with the Gramian costs about (1 + ratio) x plain. One thread,
so that the ratios do not depend on how many cores other jobs leave free.

- ``subset``: one forward, K backward passes to the last block and final norm (the cheap form);
- ``full``: one forward, K backward passes over all parameters;
- ``separate-full``: K forward + backward passes over all parameters (Lu et al.'s released
  code, what drw-grad defaults to); ``separate-subset``: the same, stopping at the subset.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from saw_bench.policy import completion_logprobs
from saw_bench.weighting import objective_advantages, objective_gramian

ROLLOUTS, PROMPT_TOKENS, COMPLETION_TOKENS, GROUP_SIZE, OBJECTIVES = 64, 40, 80, 8, 3
#: plain's fastest round (seconds), measured first by the parametrisation order
PLAIN_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=1024,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    generator = torch.Generator().manual_seed(0)
    length = PROMPT_TOKENS + COMPLETION_TOKENS
    sequences = torch.randint(3, 1024, (ROLLOUTS, length), generator=generator)
    attention = torch.ones(ROLLOUTS, length, dtype=torch.long)
    completion_mask = torch.ones(ROLLOUTS, COMPLETION_TOKENS)
    for row in range(ROLLOUTS):  # ragged completions, as after EOS
        completion_mask[row, 40 + (row * 7) % 40 :] = 0
    attention[:, PROMPT_TOKENS:] = completion_mask.long()
    rewards = np.random.default_rng(0).normal(size=(ROLLOUTS, OBJECTIVES))
    groups = np.arange(ROLLOUTS) // GROUP_SIZE
    advantages = torch.as_tensor(objective_advantages(rewards, groups), dtype=torch.float32)
    yield model, sequences, attention, completion_mask, advantages
    torch.set_num_threads(threads)


def plain_step(model, sequences, attention, completion_mask, advantages):
    """The update's own work: forward, summed policy loss at ratio 1, backward into .grad."""
    model.zero_grad(set_to_none=True)
    logprobs = completion_logprobs(model, sequences, attention, COMPLETION_TOKENS)
    ratio = torch.exp(logprobs - logprobs.detach())
    per_token = -ratio * advantages.sum(dim=1, keepdim=True)
    loss = ((per_token * completion_mask).sum(1) / completion_mask.sum(1).clamp(min=1)).mean()
    loss.backward()
    return np.zeros((OBJECTIVES, OBJECTIVES))


VARIANTS = {
    "plain": None,
    "subset": {"parameters": "subset", "separate_passes": False},
    "full": {"parameters": "full", "separate_passes": False},
    "separate-full": {"parameters": "full", "separate_passes": True},
    "separate-subset": {"parameters": "subset", "separate_passes": True},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gramian_cost_relative_to_a_plain_update(benchmark, setup, variant):
    model, sequences, attention, completion_mask, advantages = setup
    model.train()
    options = VARIANTS[variant]
    if options is None:
        function = plain_step
        args = (model, sequences, attention, completion_mask, advantages)
        kwargs = {}
    else:
        function = objective_gramian

        def logprobs():
            return completion_logprobs(model, sequences, attention, COMPLETION_TOKENS)

        args = (model, completion_mask, advantages, logprobs)
        kwargs = {**options, "share_head": True}
    gramian = benchmark.pedantic(function, args, kwargs, rounds=3, warmup_rounds=1)
    assert gramian.shape == (OBJECTIVES, OBJECTIVES)
    if benchmark.stats is None:  # benchmarks disabled (plain test runs)
        return
    seconds = benchmark.stats.stats.min
    if variant == "plain":
        PLAIN_SECONDS["min"] = seconds
    benchmark.extra_info["seconds"] = round(seconds, 4)
    if "min" in PLAIN_SECONDS:
        ratio = seconds / PLAIN_SECONDS["min"]
        benchmark.extra_info["ratio_to_plain"] = round(ratio, 3)
        print(f"\n{variant}: {seconds:.3f} s, {ratio:.2f} x plain (step ~{1 + ratio:.2f} x)")
