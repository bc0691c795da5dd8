"""Runs trained as one batched model (saw_bench.training.batched) against the same runs trained
alone by the ordinary trainer, and the log-probabilities of Hugging Face's own forward.

The policy is a small one built by our own recipe for Async-K2, whose graded digit rewards
vary within a group from the first step, so that weights, advantages and updates are not
trivially zero.
"""

from __future__ import annotations

import json

import pytest
import torch
from conftest import comparable
from safetensors.torch import load_file
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from saw_bench.core.files import read_jsonl
from saw_bench.harness.batch import train_many
from saw_bench.harness.run import train_config
from saw_bench.harness.sweep import SweepSpec, _batch_jobs
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


def distance(first: dict, second: dict) -> float:
    """The Euclidean distance between two models' weights (all parameters as one vector)."""
    return sum(float(((first[name] - second[name]) ** 2).sum()) for name in first) ** 0.5


def test_whole_runs_of_a_batch_follow_their_runs_alone_and_keep_their_own_streams(
    tmp_path, async_model
):
    """Over whole runs (6 steps), each run of a batch follows the same run trained alone: the
    same tokens per step, rewards, weights and held-out curve, and final weights equal to float
    rounding: AdamW divides by the root of its second moment, so where a gradient is rounding
    noise an element may move by up to the learning rate per step; the distance to the run
    alone is held under 5% of the distance the run moved from its start (measured: under 2%).
    Runs with different seeds end far apart (more than 30% of it). Two runs sharing an RNG
    stream would sample alike (and unlike their runs alone); a shared optimizer state or
    gradient norm would move each run's weights away from its run alone by a share of its whole
    movement."""
    points = [("saw", "grpo", seed) for seed in (0, 1, 2)] + [("static", "grpo", 0)]
    batch = train_many(
        configs(async_model, 6, points, eval_every=3, checkpoint_every=6),
        [tmp_path / f"batch-{index}" for index in range(len(points))],
    )
    start = load_file(f"{async_model}/model.safetensors")
    for index, config in enumerate(configs(async_model, 6, points, eval_every=3)):
        alone = train_config(config, out_dir=tmp_path / f"alone-{index}", plot=False)
        rows, alone_rows = (read_jsonl(path / "metrics.jsonl") for path in (batch[index], alone))
        assert [row["tokens"] for row in rows] == [row["tokens"] for row in alone_rows]
        for row, alone_row in zip(rows, alone_rows, strict=True):
            for name, stats in row["objectives"].items():
                assert stats["mean"] == alone_row["objectives"][name]["mean"]
                assert stats["weight"] == pytest.approx(alone_row["objectives"][name]["weight"])
        curve, alone_curve = (read_jsonl(path / "eval.jsonl") for path in (batch[index], alone))
        assert [row["normalised"] for row in curve] == [row["normalised"] for row in alone_curve]
        moved = distance(final_weights(alone), start)
        assert distance(final_weights(batch[index]), final_weights(alone)) < 0.05 * moved
    # the seeds' own streams: different samples, and weights far apart
    tokens = [tuple(row["tokens"] for row in read_jsonl(path / "metrics.jsonl")) for path in batch]
    assert len(set(tokens[:3])) == 3
    moved = distance(final_weights(batch[0]), start)
    assert distance(final_weights(batch[0]), final_weights(batch[1])) > 0.3 * moved
    assert distance(final_weights(batch[1]), final_weights(batch[2])) > 0.3 * moved
    # the same seed under another agent: the same first samples, then its own updates
    assert tokens[3][0] == tokens[0][0]
    assert distance(final_weights(batch[0]), final_weights(batch[3])) > 0.1 * moved


def test_a_batch_stopped_after_a_checkpoint_resumes_to_the_uninterrupted_curves(
    tmp_path, async_model
):
    whole = train_many(configs(async_model, 4), [tmp_path / f"whole-{index}" for index in range(3)])
    folders = [tmp_path / f"stopped-{index}" for index in range(3)]
    train_many(configs(async_model, 2), folders)  # a checkpoint at step 2, then stopped
    # a killed batch may have written rows after its last checkpoint: they are dropped
    with (folders[1] / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"step": 3, "torn": True}) + "\n")
    resumed = train_many(configs(async_model, 4), folders)
    for done, again in zip(whole, resumed, strict=True):
        for name in ("metrics.jsonl", "eval.jsonl"):
            assert comparable(read_jsonl(again / name)) == comparable(read_jsonl(done / name))
        assert distance(final_weights(again), final_weights(done)) == 0.0


def test_runs_of_a_model_the_fast_path_does_not_cover_train_one_at_a_time(
    tmp_path, async_model, capsys
):
    gpt2 = tmp_path / "gpt2"
    tokenizer = AutoTokenizer.from_pretrained(async_model)
    torch.manual_seed(0)
    GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=256)
    ).save_pretrained(gpt2)
    tokenizer.save_pretrained(gpt2)
    points = [("static", "grpo", 0), ("saw", "grpo", 1)]
    folders = train_many(
        configs(str(gpt2), 1, points, eval_every=1, eval_items=2, max_new_tokens=4),
        [tmp_path / "first", tmp_path / "second"],
    )
    assert "2 runs train one at a time, not as one batch: the fast path does not cover" in (
        capsys.readouterr().err
    )
    for folder in folders:
        assert "batch" not in json.loads((folder / "config.json").read_text())
        assert json.loads((folder / "summary.json").read_text())["steps"] == 1


def test_a_sweep_batches_the_runs_it_can_and_names_the_others(tmp_path, async_model):
    gpt2 = tmp_path / "gpt2"
    tokenizer = AutoTokenizer.from_pretrained(async_model)
    GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=256)
    ).save_pretrained(gpt2)
    tokenizer.save_pretrained(gpt2)
    covered = SweepSpec(tasks=["async-k2"], train={"model": async_model}, seeds=[0, 1])
    uncovered = SweepSpec(tasks=["async-k2"], train={"model": str(gpt2)}, seeds=[0, 1])
    lines: list[str] = []
    jobs = _batch_jobs(
        [{**entry, "path": entry["id"]} for entry in covered.runs()], tmp_path, lines.append
    )
    assert [len(job) for job in jobs] == [4]  # static and saw x 2 seeds, one batch
    jobs = _batch_jobs(
        [{**entry, "path": entry["id"]} for entry in uncovered.runs()], tmp_path, lines.append
    )
    assert [len(job) for job in jobs] == [1, 1, 1, 1]
    assert lines[-1] == (
        f"4 runs train as separate processes, not one batch: the fast path does not cover "
        f"{gpt2} (GPT2LMHeadModel is not LlamaForCausalLM)"
    )
    other_shapes = SweepSpec(tasks=["async-k2", "async-k4"], train={"model": async_model})
    entries = [{**entry, "path": entry["id"]} for entry in other_shapes.runs()]
    assert [len(job) for job in _batch_jobs(entries, tmp_path, lines.append)] == [6, 6]
