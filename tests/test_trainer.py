"""The trainer on a small policy built by our own code: run folder, reproducibility, resume,
and the direction of the policy update."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import saw_bench
from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_jsonl
from saw_bench.harness.run import train
from saw_bench.harness.statistics import normalised_auc
from saw_bench.policy import completion_logprobs, load_policy
from saw_bench.training import TrainConfig, Trainer
from saw_bench.training.rollouts import RolloutTensors, derive_seed, sample_items
from saw_bench.training.update import policy_update

SMALL = dict(
    prompts_per_step=3,
    group_size=4,
    max_new_tokens=20,
    eval_every=2,
    eval_items=6,
    checkpoint_every=2,
    learning_rate=1e-3,
)
TASK_KWARGS = {"train_size": 40, "test_size": 12}  # as the small_model fixture's


def run(tmp_path, small_model, name, steps, **overrides):
    options = {**SMALL, **overrides}
    return train(
        "saw/ToolCall-Synth-v0",
        steps=steps,
        seed=3,
        out_dir=tmp_path / name,
        model=small_model,
        task_kwargs=TASK_KWARGS,
        **options,
    )


def comparable(rows):
    """Rows without wall-clock fields and thread counts, which differ between runs."""
    cleaned = []
    for row in rows:
        row = {k: v for k, v in row.items() if k not in ("seconds", "wall_seconds", "threads")}
        cleaned.append(row)
    return cleaned


def test_a_run_leaves_a_complete_run_folder(tmp_path, small_model):
    run_dir = run(tmp_path, small_model, "run", steps=3)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task_id"] == "saw/ToolCall-Synth-v0"
    assert config["train"]["steps"] == 3 and config["train"]["seed"] == 3
    assert config["model"]["parameters"] > 0 and config["model"]["revision"]
    assert {"saw_bench", "torch", "transformers"} <= set(config["versions"])

    metrics = read_jsonl(run_dir / "metrics.jsonl")
    assert [row["step"] for row in metrics] == [1, 2, 3]
    row = metrics[0]
    assert set(row["seconds"]) == {"generate", "score", "weight", "update", "total"}
    assert set(row["objectives"]) == {"format", "correctness"}
    for stats in row["objectives"].values():
        assert {"mean", "std", "cv", "weight", "advantage_share"} <= set(stats)
        assert stats["weight"] == 1.0  # static agent, equal weights
    shares = [stats["advantage_share"] for stats in row["objectives"].values()]
    assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0.0
    assert row["tokens"] > 0 and metrics[-1]["tokens_total"] == sum(r["tokens"] for r in metrics)

    evaluations = read_jsonl(run_dir / "eval.jsonl")
    assert [row["step"] for row in evaluations] == [0, 2, 3]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["final"] == evaluations[-1]["objectives"]
    assert (run_dir / "checkpoint" / "model" / "model.safetensors").exists()
    assert not (run_dir / "checkpoint.partial").exists()


def test_metrics_match_an_independent_recomputation_of_the_step(tmp_path, small_model):
    """Rewards of the logged step recomputed from the same seed's samples by hand."""
    run_dir = run(tmp_path, small_model, "check", steps=1)
    row = read_jsonl(run_dir / "metrics.jsonl")[0]
    evaluation = read_jsonl(run_dir / "eval.jsonl")[0]
    task = saw_bench.load_task("saw/ToolCall-Synth-v0", **TASK_KWARGS)
    policy = load_policy(small_model)
    trainer_config = TrainConfig(**json.loads((run_dir / "config.json").read_text())["train"])
    items = list(task.split("test"))
    stride = max(1, len(items) // trainer_config.eval_items)
    eval_items = items[::stride][: trainer_config.eval_items]
    rollouts = policy.generate(
        [policy.render(task.prompt(item)) for item in eval_items],
        num_samples=1,
        max_new_tokens=trainer_config.max_new_tokens,
        temperature=trainer_config.eval_temperature,
        seed=derive_seed(3, "eval", 0),
    )
    rewards = task.score(eval_items, rollouts.texts)
    assert evaluation["objectives"]["format"] == pytest.approx(float(rewards[:, 0].mean()))
    assert evaluation["objectives"]["correctness"] == pytest.approx(float(rewards[:, 1].mean()))
    # normalised aggregate: mean of (x - low) / (high - low)
    by_hand = (rewards[:, 0].mean() + (rewards[:, 1].mean() + 3) / 6) / 2
    assert evaluation["normalised"] == pytest.approx(float(by_hand))
    assert row["objectives"]["format"]["mean"] >= 0.0


def test_same_seed_gives_the_same_metrics(tmp_path, small_model):
    first = run(tmp_path, small_model, "a", steps=2)
    second = run(tmp_path, small_model, "b", steps=2)
    assert comparable(read_jsonl(first / "metrics.jsonl")) == comparable(
        read_jsonl(second / "metrics.jsonl")
    )


@pytest.mark.parametrize("options", [{}, {"minibatches": 2, "epochs": 2, "kl_coef": 0.05}])
def test_resuming_a_finished_run_continues_the_same_curve(tmp_path, small_model, options):
    whole = run(tmp_path, small_model, "whole", steps=4, **options)
    part = run(tmp_path, small_model, "part", steps=3, **options)
    resumed = train(resume=part, steps=4)
    assert resumed == part
    assert comparable(read_jsonl(resumed / "metrics.jsonl")) == comparable(
        read_jsonl(whole / "metrics.jsonl")
    )
    evaluations = {row["step"]: row for row in comparable(read_jsonl(resumed / "eval.jsonl"))}
    for row in comparable(read_jsonl(whole / "eval.jsonl")):
        assert evaluations[row["step"]] == row


def test_a_run_killed_after_its_checkpoint_resumes_without_duplicated_rows(tmp_path, small_model):
    whole = run(tmp_path, small_model, "whole", steps=4)
    crashed = run(tmp_path, small_model, "crashed", steps=2)  # last checkpoint: step 2
    # what a kill during step 3 or 4 leaves: a row past the checkpoint and a torn line
    with open(crashed / "metrics.jsonl", "a") as stream:
        stream.write(json.dumps(read_jsonl(whole / "metrics.jsonl")[2]) + "\n")
        stream.write('{"step": 4, "tor')
    resumed = train(resume=crashed, steps=4)
    assert comparable(read_jsonl(resumed / "metrics.jsonl")) == comparable(
        read_jsonl(whole / "metrics.jsonl")
    )
    assert [row["step"] for row in read_jsonl(resumed / "eval.jsonl")] == [0, 2, 4]


def test_update_raises_the_likelihood_of_positive_advantage_completions(tmp_path, small_model):
    config = TrainConfig(model=small_model, task_kwargs=TASK_KWARGS, **SMALL)
    trainer = Trainer.create(config, out_dir=tmp_path / "direction", progress=False)
    items = sample_items(trainer.train_items, 0, config.prompts_per_step, config.seed)
    prompts = [trainer.policy.render(trainer.task.prompt(item)) for item in items]
    rollouts = trainer.policy.generate(prompts, num_samples=4, max_new_tokens=20, seed=1)
    advantages = torch.tensor([1.0, -1.0] * (len(rollouts) // 2))
    tensors = RolloutTensors.from_batch(rollouts, trainer.policy.device)
    sequences, attention = tensors.sequences, tensors.attention
    mask = tensors.completion_mask
    length = tensors.completion_length

    def sequence_logprob():
        with torch.no_grad():
            logprobs = completion_logprobs(trainer.policy.model, sequences, attention, length)
        return (logprobs * mask).sum(dim=1) / mask.sum(dim=1)

    before = sequence_logprob()
    policy_update(
        trainer.policy.model, trainer.optimizer, tensors, advantages, trainer.update_options
    )
    change = sequence_logprob() - before
    assert change[advantages > 0].mean() > change[advantages < 0].mean()


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(SawBenchError, match="unknown training option"):
        train("saw/ToolCall-Synth-v0", steps=1, out_dir=tmp_path / "x", learning_rat=1.0)
    with pytest.raises(SawBenchError, match="steps must be a positive integer"):
        TrainConfig(steps=0)
    with pytest.raises(SawBenchError, match="unknown estimator 'ppo'"):
        TrainConfig(estimator="ppo")
    with pytest.raises(SawBenchError, match="has no config.json"):
        train(resume=tmp_path)


def test_normalised_auc_by_hand():
    # trapezoids: (0.2 + 0.4) / 2 * 10 + (0.4 + 1.0) / 2 * 10 = 3 + 7 = 10 over 20 steps
    assert normalised_auc([0, 10, 20], [0.2, 0.4, 1.0]) == pytest.approx(0.5)
    assert np.isnan(normalised_auc([0], [0.3]))
    assert normalised_auc([0, 5], [0.0, 1.0]) == pytest.approx(0.5)


def test_eval_temperature_defaults_to_the_rollout_temperature_and_is_written_resolved(
    tmp_path, small_model
):
    chosen = TrainConfig(temperature=0.9, eval_temperature=0.0)
    chosen.resolve_defaults()
    assert (chosen.temperature, chosen.eval_temperature) == (0.9, 0.0)
    run_dir = run(tmp_path, small_model, "resolved", steps=1, temperature=0.8)
    saved = json.loads((run_dir / "config.json").read_text())["train"]
    assert (saved["temperature"], saved["eval_temperature"]) == (0.8, 0.8)
    assert read_jsonl(run_dir / "eval.jsonl")[0]["temperature"] == 0.8
