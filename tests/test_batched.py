"""Runs trained as one batched model (saw_bench.training.batched) against the same runs trained
alone by the ordinary trainer, and the log-probabilities of Hugging Face's own forward.

The policy is a small one built by our own recipe for Async-K2, whose graded digit rewards
vary within a group from the first step, so that weights, advantages and updates are not
trivially zero.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from saw_bench.policy import TinyRecipe, build_tiny_policy, completion_logprobs
from saw_bench.training import TrainConfig, Trainer
from saw_bench.training.batched import BatchTrainer

#: (weighting, estimator, seed) of each run of the batch
POINTS = [("static", "grpo", 0), ("saw", "gdpo", 1), ("saw", "grpo", 2)]
SMALL = dict(
    task="async-k2",
    prompts_per_step=4,
    group_size=4,
    max_new_tokens=12,
    eval_every=2,
    eval_items=8,
    checkpoint_every=2,
    learning_rate=3e-3,
    threads=1,
)


@pytest.fixture(scope="module")
def async_model(tmp_path_factory):
    """A small Async-K2 policy (one layer, width 32) that answers with digits often enough
    for its rewards to vary."""
    recipe = TinyRecipe(
        task="saw/Async-K2-v0",
        vocab_size=300,
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        ffn_size=64,
        max_position=256,
        sft_steps=100,
        batch_size=16,
        eval_items=0,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAW_BENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        return str(build_tiny_policy(recipe, progress=False))


def configs(model: str, steps: int, points=POINTS, **overrides) -> list[TrainConfig]:
    options = {**SMALL, "model": model, "steps": steps, **overrides}
    return [
        TrainConfig(weighting=weighting, estimator=estimator, seed=seed, **options)
        for weighting, estimator, seed in points
    ]


def hf_logprobs(model, tensors) -> torch.Tensor:
    """Log-probabilities of a step's completions under ``model``'s own forward (masked)."""
    with torch.no_grad():
        values = completion_logprobs(
            model, tensors.sequences, tensors.attention, tensors.completion_length
        )
    return values * tensors.completion_mask


@pytest.mark.parametrize(
    "options",
    [{}, {"minibatches": 2, "kl_coef": 0.1, "max_grad_norm": 0.05}],
    ids=["one-minibatch", "minibatches-kl-clipping"],
)
def test_at_step_one_each_run_of_a_batch_equals_the_run_trained_alone(
    tmp_path, async_model, options
):
    batch = BatchTrainer.start(
        configs(async_model, 1, **options), [tmp_path / f"batch-{i}" for i in range(3)]
    )
    batch_rows = batch.train_step()
    for index, config in enumerate(configs(async_model, 1, **options)):
        alone = Trainer.create(config, tmp_path / f"alone-{index}", progress=False)
        row = alone.train_step()
        # the same sampled completions, token for token (the batch pads to its widest run)
        expected = alone.rollouts.completion_ids
        sampled = batch.rollouts[index]
        assert sampled.texts == alone_texts(alone, expected)
        width = expected.shape[1]
        assert torch.equal(sampled.completion_ids[:, :width], expected)
        assert not sampled.completion_mask[:, width:].any()
        # the same rewards (their per-objective statistics) and weights, the same loss
        assert batch_rows[index]["objectives"] == row["objectives"]
        assert batch_rows[index]["tokens"] == row["tokens"]
        # (float32 sums in another order: a few units in the last place)
        assert batch_rows[index]["loss"] == pytest.approx(row["loss"], rel=1e-6, abs=1e-7)
        assert batch_rows[index]["kl"] == pytest.approx(row["kl"], rel=1e-6, abs=1e-7)
        assert batch_rows[index]["clip_fraction"] == pytest.approx(row["clip_fraction"], abs=1e-6)
        # after the update, its own model gives the step's completions the same
        # log-probabilities under Hugging Face's forward
        ours = hf_logprobs(batch.runs[index].policy.model, alone.rollouts)
        reference = hf_logprobs(alone.policy.model, alone.rollouts)
        assert (ours - reference).abs().max() < 1e-5
    weights = [tuple(v["weight"] for v in row["objectives"].values()) for row in batch_rows]
    assert weights[0] == (1.0, 1.0) and weights[1] != weights[0]  # static and SAW both ran


def alone_texts(trainer: Trainer, completion_ids: torch.Tensor) -> list[str]:
    """The decoded completions of a run alone (as Policy.generate decodes them)."""
    tokenizer, eos = trainer.policy.tokenizer, trainer.policy.eos_token_id
    mask = trainer.rollouts.completion_mask.bool()
    return tokenizer.batch_decode(
        [row[keep & (row != eos)] for row, keep in zip(completion_ids, mask, strict=True)],
        skip_special_tokens=True,
    )


def final_weights(run_dir) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoint" / "model" / "model.safetensors"))


def largest_difference(first: dict, second: dict) -> float:
    return max(float((first[name] - second[name]).abs().max()) for name in first)
