"""The fast path (saw_bench.policy._fast) against Hugging Face's own forward and generate.

Every expected value comes from transformers: the module's forward for log-probabilities and
gradients, ``generate`` for greedy and seeded sampled completions, the softmax of the module's
logits for sampled token frequencies.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from saw_bench.policy import (
    FastLlama,
    completion_logprobs,
    fast_llama,
    load_policy,
    unsupported_reason,
)
from saw_bench.policy import _fast as fast_module
from saw_bench.training.rollouts import RolloutTensors

VOCAB = 61
PAD = 0


def llama(seed: int = 0, **overrides) -> LlamaForCausalLM:
    """A small random Llama; a wide init makes its distributions peaked, so that greedy
    choices are far from ties."""
    options = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=128,
        initializer_range=0.3,
        pad_token_id=PAD,
        tie_word_embeddings=True,
    )
    options.update(overrides)
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**options)).eval()


VARIANTS = {
    "tied": {},
    "grouped-query": {"num_key_value_heads": 2, "tie_word_embeddings": False},
    "biases": {"attention_bias": True, "mlp_bias": True},
}


@pytest.fixture(params=["stacked", "separate"])
def projections(request, monkeypatch):
    """Both forms of the shared-input projections: one matmul over stacked weights (small
    layers) and one matmul per projection (large layers; forced here with FUSE_LIMIT = 0)."""
    if request.param == "separate":
        monkeypatch.setattr(fast_module, "FUSE_LIMIT", 0)
    return request.param


def left_padded_prompts(rows: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, P) prompts of different lengths (3..9 tokens), left-padded with PAD."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 10, (rows,), generator=generator)
    width = int(lengths.max())
    ids = torch.full((rows, width), PAD)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for row, length in enumerate(lengths.tolist()):
        ids[row, width - length :] = torch.randint(1, VOCAB, (length,), generator=generator)
        mask[row, width - length :] = 1
    return ids, mask


def right_padded_completions(rows: int, width: int, seed: int) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, width + 1, (rows,), generator=generator)
    lengths[0] = width  # one row as long as the batch
    ids = torch.full((rows, width), PAD)
    mask = torch.zeros((rows, width))
    for row, length in enumerate(lengths.tolist()):
        ids[row, :length] = torch.randint(1, VOCAB, (length,), generator=generator)
        mask[row, :length] = 1
    return ids, mask


def hf_generate(model, ids, mask, samples, new_tokens, eos, temperature, seed):
    sampling = (
        {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        if temperature > 0
        else {"do_sample": False}
    )
    torch.manual_seed(seed)
    output = model.generate(
        input_ids=ids.repeat_interleave(samples, 0),
        attention_mask=mask.repeat_interleave(samples, 0),
        max_new_tokens=new_tokens,
        eos_token_id=eos,
        pad_token_id=PAD,
        num_beams=1,
        repetition_penalty=1.0,
        **sampling,
    )
    return output[:, ids.shape[1] :]


def fast_sample(model, ids, mask, samples, new_tokens, eos, temperature, seed, sampler):
    torch.manual_seed(seed)
    return FastLlama(model).sample(
        ids,
        mask,
        num_samples=samples,
        max_new_tokens=new_tokens,
        temperature=temperature,
        eos_id=eos,
        pad_id=PAD,
        sampler=sampler,
    )


def frequent_token(completions: torch.Tensor) -> int:
    """A token that ends some rows early but not all: the most common one at position 2."""
    values, counts = completions[:, 2].unique(return_counts=True)
    return int(values[counts.argmax()])


@pytest.mark.parametrize("variant", VARIANTS)
def test_log_probabilities_and_gradients_match_the_module(variant, projections):
    model = llama(**VARIANTS[variant])
    prompts, prompts_mask = left_padded_prompts(4, seed=1)
    samples = 3
    index = torch.arange(4).repeat_interleave(samples)
    completions, completion_mask = right_padded_completions(12, 7, seed=2)
    sequences = torch.cat([prompts[index], completions], 1)
    attention = torch.cat([prompts_mask[index], completion_mask.long()], 1)

    model.zero_grad()
    expected = completion_logprobs(model, sequences, attention, 7, temperature=0.7)
    (expected * completion_mask).sum().backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    got = FastLlama(model).completion_logprobs(
        prompts, prompts_mask, index, completions, completion_mask, temperature=0.7, buckets=3
    )
    (got * completion_mask).sum().backward()

    scored = completion_mask.bool()
    torch.testing.assert_close(got[scored], expected[scored], atol=2e-5, rtol=1e-5)
    assert torch.all(got[~scored] == 0)
    for parameter, want in zip(model.parameters(), expected_grads, strict=True):
        scale = float(want.abs().max())  # float32 sums over many tokens: tolerance by scale
        torch.testing.assert_close(parameter.grad, want, atol=1e-5 * scale, rtol=1e-4)


def test_causal_states_match_the_module_on_right_padded_rows(projections):
    model = llama(**VARIANTS["grouped-query"])
    ids, mask = right_padded_completions(5, 9, seed=3)
    expected = model.model(input_ids=ids, attention_mask=mask.long()).last_hidden_state
    got = FastLlama(model).causal_states(ids)
    torch.testing.assert_close(got[mask.bool()], expected[mask.bool()], atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("variant", VARIANTS)
def test_greedy_decoding_is_token_identical_to_generate(variant, projections):
    model = llama(seed=4, **VARIANTS[variant])
    ids, mask = left_padded_prompts(5, seed=5)
    free = hf_generate(model, ids, mask, 1, 12, eos=VOCAB + 5, temperature=0, seed=0)
    eos = frequent_token(free)  # rows now end at different steps
    expected = hf_generate(model, ids, mask, 2, 12, eos, temperature=0, seed=0)
    got = fast_sample(model, ids, mask, 2, 12, eos, 0, seed=0, sampler="inverse-cdf")
    assert (expected == eos).any() and not (expected == eos).any(dim=1).all()
    assert got.shape == expected.shape
    assert torch.equal(got, expected)


@pytest.mark.parametrize("variant", VARIANTS)
def test_sampled_decoding_matches_generate_under_one_seed(variant, projections):
    """With the noise torch.multinomial draws, the same tokens as generate (rows that end
    early leave the fast batch; the others must not notice)."""
    model = llama(seed=6, **VARIANTS[variant])
    ids, mask = left_padded_prompts(4, seed=7)
    free = hf_generate(model, ids, mask, 4, 10, eos=VOCAB + 5, temperature=0.8, seed=1)
    eos = frequent_token(free)
    expected = hf_generate(model, ids, mask, 4, 10, eos, temperature=0.8, seed=11)
    got = fast_sample(model, ids, mask, 4, 10, eos, 0.8, seed=11, sampler="multinomial")
    assert (expected == eos).any()
    assert torch.equal(got, expected)


def test_inverse_cdf_sampling_follows_the_softmax():
    """First and second tokens of 6,000 samples of one prompt against the module's softmax
    (chi-square; the second token conditioned on the most frequent first one)."""
    model = llama(seed=8)
    ids, mask = left_padded_prompts(1, seed=9)
    temperature = 1.3
    got = fast_sample(
        model,
        ids,
        mask,
        6000,
        2,
        eos=VOCAB + 5,
        temperature=temperature,
        seed=3,
        sampler="inverse-cdf",
    )
    with torch.no_grad():
        first = torch.softmax(model(ids, attention_mask=mask).logits[0, -1] / temperature, -1)
        common = int(got[:, 0].mode().values)
        extended = torch.cat([ids, torch.tensor([[common]])], 1)
        extended_mask = torch.cat([mask, torch.ones(1, 1, dtype=torch.long)], 1)
        second = torch.softmax(
            model(extended, attention_mask=extended_mask).logits[0, -1] / temperature, -1
        )
    for observed_tokens, probs in ((got[:, 0], first), (got[got[:, 0] == common, 1], second)):
        counts = np.bincount(observed_tokens.numpy(), minlength=VOCAB)
        probs = probs.double().numpy()
        expected = probs / probs.sum() * len(observed_tokens)
        keep = expected >= 5  # the chi-square approximation needs expected counts >= 5
        observed = np.append(counts[keep], counts[~keep].sum())
        wanted = np.append(expected[keep], expected[~keep].sum())
        assert stats.chisquare(observed, wanted).pvalue > 1e-3


def test_sampling_is_reproducible_and_seeds_differ():
    model = llama(seed=10)
    ids, mask = left_padded_prompts(3, seed=11)
    first = fast_sample(model, ids, mask, 4, 8, VOCAB + 5, 1.0, seed=5, sampler="inverse-cdf")
    again = fast_sample(model, ids, mask, 4, 8, VOCAB + 5, 1.0, seed=5, sampler="inverse-cdf")
    other = fast_sample(model, ids, mask, 4, 8, VOCAB + 5, 1.0, seed=6, sampler="inverse-cdf")
    assert torch.equal(first, again) and not torch.equal(first, other)
    with pytest.raises(ValueError, match="sampler must be one of"):
        fast_sample(model, ids, mask, 1, 2, VOCAB + 5, 1.0, seed=0, sampler="top-k")


def test_models_the_fast_path_does_not_cover_fall_back():
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_embd=16, n_layer=1, n_head=2))
    assert fast_llama(gpt2) is None
    assert "is not LlamaForCausalLM" in unsupported_reason(gpt2)
    dynamic = llama(rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1e4})
    assert "changes with the sequence" in unsupported_reason(dynamic)
    checkpointed = llama()
    enable = getattr(checkpointed, "activation_checkpointing_enable", None)  # transformers 5
    (enable or checkpointed.gradient_checkpointing_enable)()
    checkpointed.train()
    assert fast_llama(checkpointed) is not None  # decoding is unaffected
    assert fast_llama(checkpointed, training=True) is None


def test_policy_generate_is_the_same_on_both_paths(small_model):
    """The real tokenizer and chat template, through Policy.generate: greedy completions on
    the fast path and through HF generate are the same text."""
    from saw_bench.core import registry

    task = registry.load_task("saw/ToolCall-Synth-v0", train_size=40, test_size=12)
    fast = load_policy(small_model, device="cpu")
    slow = load_policy(small_model, device="cpu", fast=False)
    assert fast.fast_model is not None and slow.fast_model is None
    prompts = [fast.render(task.prompt(item)) for item in task.split("test")[:5]]
    got = fast.generate(prompts, num_samples=2, max_new_tokens=24, temperature=0)
    expected = slow.generate(prompts, num_samples=2, max_new_tokens=24, temperature=0)
    assert got.texts == expected.texts
    assert torch.equal(got.completion_ids, expected.completion_ids)
    assert torch.equal(got.completion_mask, expected.completion_mask)


def test_a_minibatch_keeps_only_its_prompts_and_the_same_log_probabilities():
    model = llama(seed=12)
    prompts, prompts_mask = left_padded_prompts(4, seed=13)
    index = torch.arange(4).repeat_interleave(2)
    completions, completion_mask = right_padded_completions(8, 5, seed=14)
    tensors = RolloutTensors(
        sequences=torch.cat([prompts[index], completions], 1),
        attention=torch.cat([prompts_mask[index], completion_mask.long()], 1),
        completion_mask=completion_mask,
        prompts=prompts,
        prompts_mask=prompts_mask,
        prompt_index=index,
    )
    rows = torch.tensor([5, 2, 3])  # prompts 2 and 1
    part = tensors.rows(rows)
    assert part.prompts.shape[0] == 2
    assert torch.equal(part.prompts[part.prompt_index], prompts[index[rows]])
    with torch.no_grad():
        whole = tensors.logprobs(model, 1.0)
        piece = part.logprobs(model, 1.0)
        slow = part.logprobs(model, 1.0, fast=False)
    scored = completion_mask[rows].bool()
    torch.testing.assert_close(piece[scored], whole[rows][scored], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(piece[scored], slow[scored], atol=2e-5, rtol=1e-5)


def test_a_run_records_which_path_decoded_and_trained(tmp_path, small_model):
    import json

    from saw_bench import train

    options = dict(
        steps=1,
        prompts_per_step=2,
        group_size=2,
        max_new_tokens=8,
        eval_every=1,
        eval_items=2,
        model=small_model,
        task_kwargs={"train_size": 40, "test_size": 12},
    )
    fast = json.loads(
        (
            train("saw/ToolCall-Synth-v0", out_dir=tmp_path / "a", **options) / "config.json"
        ).read_text()
    )["fast_path"]
    assert fast == {
        "decode": {"used": True, "why_not": None},
        "train": {"used": True, "why_not": None},
    }
    slow = json.loads(
        (
            train("saw/ToolCall-Synth-v0", out_dir=tmp_path / "b", fast_path=False, **options)
            / "config.json"
        ).read_text()
    )["fast_path"]
    assert slow["decode"] == {"used": False, "why_not": "fast_path = false"}
    checkpointed = json.loads(
        (
            train(
                "saw/ToolCall-Synth-v0",
                out_dir=tmp_path / "c",
                gradient_checkpointing=True,
                **options,
            )
            / "config.json"
        ).read_text()
    )["fast_path"]
    assert checkpointed["decode"]["used"] and not checkpointed["train"]["used"]
    assert "checkpointing" in checkpointed["train"]["why_not"]
