"""saw-bench's weighting agents inside TRL's GRPOTrainer, and the TRL backend of a run.

Every trainer here is TRL 1.16's real GRPOTrainer on the small local policy. Expected weights
and advantages come from saw-bench's own estimators and a fresh agent fed the same reward
matrix TRL gathered, or from the SAW formula written out by hand.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

trl = pytest.importorskip("trl")  # the test extra installs it

from conftest import SMALL_TASK_KWARGS  # noqa: E402

from saw_bench.__main__ import main  # noqa: E402
from saw_bench.core import registry  # noqa: E402
from saw_bench.core.errors import SawBenchError  # noqa: E402
from saw_bench.core.files import read_json, read_jsonl  # noqa: E402
from saw_bench.harness import load_runs, train  # noqa: E402
from saw_bench.integrations.trl import (  # noqa: E402
    AGENT_STATE_FILE,
    SawGRPOTrainer,
    task_dataset,
    task_reward_functions,
    trl_aggregation,
)
from saw_bench.integrations.trl_backend import PROGRESS_FILE  # noqa: E402
from saw_bench.policy import load_policy  # noqa: E402
from saw_bench.training.estimators import (  # noqa: E402
    ESTIMATORS,
    gdpo_advantages,
    grpo_advantages,
)
from saw_bench.weighting import AGENTS, ObjectiveBatch, make_agent  # noqa: E402

BOUNDS = [(0.0, 1.0), (-3.0, 3.0)]
PROMPTS, GROUP = 3, 4


@pytest.fixture(scope="module")
def small_task():
    return registry.load_task("saw/ToolCall-Synth-v0", **SMALL_TASK_KWARGS)


class RandomRewards:
    """Two reward functions (a 0/1 ``format``, a continuous ``correctness``) drawing seeded
    values, and the matrix they returned, pass by pass."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.passes: list[np.ndarray] = []

    def functions(self):
        def format(completions, **_):  # noqa: A001 - named after the objective
            column = self.rng.integers(0, 2, len(completions)).astype(float)
            self.passes.append(np.zeros((len(completions), 2)))
            self.passes[-1][:, 0] = column
            return column.tolist()

        def correctness(completions, **_):
            column = np.round(self.rng.uniform(-3, 3, len(completions)), 3)
            self.passes[-1][:, 1] = column
            return column.tolist()

        return [format, correctness]


class CapturingTrainer(SawGRPOTrainer):
    """Keeps the advantages TRL computed at every scoring pass."""

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        self.captured = [*getattr(self, "captured", []), output["advantages"].detach().clone()]
        return output


def grpo_config(tmp_path, estimator: str = "grpo", steps: int = 1, **options):
    settings = dict(
        output_dir=str(tmp_path / "trl"),
        per_device_train_batch_size=PROMPTS * GROUP,
        num_generations=GROUP,
        max_completion_length=8,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        learning_rate=1e-3,
        beta=0.0,
        gradient_checkpointing=False,
        loss_type="grpo",
        max_steps=steps,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **trl_aggregation(estimator),
    )
    settings.update(options)
    return trl.GRPOConfig(**settings)


def make_trainer(small_model, small_task, tmp_path, trainer_class=SawGRPOTrainer, **options):
    policy = load_policy(small_model, device="cpu", progress=False)
    config_options = {k: options.pop(k) for k in list(options) if k in ("estimator", "steps")}
    config_options.update(options.pop("config", {}))
    return trainer_class(
        model=policy.model,
        args=grpo_config(tmp_path, **config_options),
        train_dataset=task_dataset(small_task),
        processing_class=policy.tokenizer,
        **options,
    )


@pytest.mark.parametrize(
    ("estimator", "weighting", "expected"),
    [
        ("grpo", "saw", grpo_advantages),
        ("gdpo", "saw", gdpo_advantages),
        ("grpo", "saw-ema", grpo_advantages),
        ("gdpo", "static-range", gdpo_advantages),
        ("grpo", "saw-group", grpo_advantages),
    ],
)
def test_trl_weights_and_advantages_equal_saw_bench_on_the_same_reward_matrix(
    small_model, small_task, tmp_path, estimator, weighting, expected
):
    rewards = RandomRewards(seed=len(weighting))
    trainer = make_trainer(
        small_model,
        small_task,
        tmp_path,
        CapturingTrainer,
        estimator=estimator,
        steps=2,
        reward_funcs=rewards.functions(),
        weighting=weighting,
        reward_bounds=BOUNDS,
    )
    trainer.train()
    reference = make_agent(weighting)  # a fresh agent, fed the matrices TRL gathered
    logged = [row for row in trainer.state.log_history if "weights/format" in row]
    assert len(rewards.passes) == len(trainer.captured) == len(logged) == 2
    groups = np.arange(PROMPTS * GROUP) // GROUP
    for step, (matrix, advantages, row) in enumerate(
        zip(rewards.passes, trainer.captured, logged, strict=True)
    ):
        batch = ObjectiveBatch(matrix, groups, low=[0, -3], high=[1, 3], step=step)
        weights = reference.weights(batch)
        assert [row["weights/format"], row["weights/correctness"]] == pytest.approx(weights)
        np.testing.assert_allclose(
            advantages.numpy(), expected(matrix, groups, weights), rtol=1e-4, atol=1e-4
        )


def test_saw_weights_inside_trl_follow_the_papers_formula(small_model, small_task, tmp_path):
    rewards = RandomRewards(seed=7)
    trainer = make_trainer(
        small_model,
        small_task,
        tmp_path,
        reward_funcs=rewards.functions(),
        weighting="saw",
        reward_bounds=BOUNDS,
    )
    trainer.train()
    (matrix,) = rewards.passes
    shifted = matrix - np.array([0.0, -3.0]) + 1e-8  # shift by the lower bounds
    cv = shifted.std(axis=0, ddof=1) / (shifted.mean(axis=0) + 1e-8)
    np.testing.assert_allclose(trainer.reward_weights.numpy(), 2 * cv / cv.sum(), rtol=1e-5)
    row = next(r for r in trainer.state.log_history if "cv/correctness" in r)
    assert [row["cv/format"], row["cv/correctness"]] == pytest.approx(cv, rel=1e-6)


def test_args_reward_weights_become_the_agents_priorities(small_model, small_task, tmp_path):
    rewards = RandomRewards(seed=3)
    trainer = make_trainer(
        small_model,
        small_task,
        tmp_path,
        reward_funcs=rewards.functions(),
        weighting="static",
        reward_bounds=BOUNDS,
        config={"reward_weights": [3.0, 1.0]},
    )
    trainer.train()
    # static with priorities 3:1, rescaled to sum K = 2
    np.testing.assert_allclose(trainer.reward_weights.numpy(), [1.5, 0.5])


@pytest.mark.parametrize("agent", sorted(n for n, a in AGENTS.items() if a.needs_gramian))
def test_gradient_agents_are_refused_naming_the_agents_that_work(
    small_model, small_task, tmp_path, agent
):
    with pytest.raises(SawBenchError, match=r"needs one policy gradient per objective.*\bsaw\b"):
        make_trainer(
            small_model,
            small_task,
            tmp_path,
            reward_funcs=task_reward_functions(small_task),
            weighting=agent,
            task=small_task,
        )


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ([(0, 1)], "1 reward bounds for 2 reward functions"),
        ([(0, 1), (3, -3)], "low < high"),
        ([(0, 1), (0, float("inf"))], "finite"),
        (None, "give"),
    ],
)
def test_bad_reward_bounds_are_named(small_model, small_task, tmp_path, bounds, message):
    with pytest.raises(SawBenchError, match=message):
        make_trainer(
            small_model,
            small_task,
            tmp_path,
            reward_funcs=RandomRewards().functions(),
            reward_bounds=bounds,
        )


def test_a_reward_function_returning_none_is_a_clear_error(small_model, small_task, tmp_path):
    def format(completions, **_):  # noqa: A001
        return [None] + [1.0] * (len(completions) - 1)

    def correctness(completions, **_):
        return [0.0] * len(completions)

    trainer = make_trainer(
        small_model,
        small_task,
        tmp_path,
        reward_funcs=[format, correctness],
        reward_bounds=BOUNDS,
    )
    with pytest.raises(SawBenchError, match=r"\['format'\] returned None"):
        trainer.train()


def test_agent_state_is_saved_with_trl_checkpoints_and_restored_on_resume(
    small_model, small_task, tmp_path
):
    rewards = RandomRewards(seed=11)
    first = make_trainer(
        small_model,
        small_task,
        tmp_path,
        estimator="grpo",
        steps=2,
        reward_funcs=rewards.functions(),
        weighting="saw-ema",
        reward_bounds=BOUNDS,
        config={"save_strategy": "steps", "save_steps": 2},
    )
    first.train()
    saved = json.loads((tmp_path / "trl" / "checkpoint-2" / AGENT_STATE_FILE).read_text())
    assert saved["agent"] == "saw-ema"
    assert saved["state"] == json.loads(json.dumps(first.agent.state_dict()))

    second = make_trainer(
        small_model,
        small_task,
        tmp_path,
        estimator="grpo",
        steps=3,
        reward_funcs=rewards.functions(),
        weighting="saw-ema",
        reward_bounds=BOUNDS,
    )
    second.train(resume_from_checkpoint=str(tmp_path / "trl" / "checkpoint-2"))
    assert len(rewards.passes) == 3
    reference = make_agent("saw-ema")  # the moving average over all three passes
    groups = np.arange(PROMPTS * GROUP) // GROUP
    for step, matrix in enumerate(rewards.passes):
        weights = reference.weights(ObjectiveBatch(matrix, groups, [0, -3], [1, 3], step=step))
    np.testing.assert_allclose(second.reward_weights.numpy(), weights, rtol=1e-6)
    fresh = make_agent("saw-ema").weights(
        ObjectiveBatch(rewards.passes[-1], groups, [0, -3], [1, 3], step=2)
    )
    assert not np.allclose(fresh, weights)  # the check can tell a restored state from none


def test_resuming_from_a_checkpoint_of_another_agent_is_refused(small_model, small_task, tmp_path):
    folder = tmp_path / "trl" / "checkpoint-1"
    make_trainer(
        small_model,
        small_task,
        tmp_path,
        reward_funcs=RandomRewards().functions(),
        weighting="saw",
        reward_bounds=BOUNDS,
        config={"save_strategy": "steps", "save_steps": 1},
    ).train()
    other = make_trainer(
        small_model,
        small_task,
        tmp_path,
        steps=2,
        reward_funcs=RandomRewards().functions(),
        weighting="saw-ema",
        reward_bounds=BOUNDS,
    )
    with pytest.raises(SawBenchError, match="state of agent 'saw'"):
        other.train(resume_from_checkpoint=str(folder))


def test_task_adapters_give_trl_the_tasks_prompts_and_scores(small_task):
    dataset = task_dataset(small_task)
    items = small_task.split("train")
    assert len(dataset) == len(items)
    assert dataset[5]["prompt"] == small_task.prompt(items[5])
    functions = task_reward_functions(small_task)
    assert [f.__name__ for f in functions] == list(small_task.objective_names)
    indices = [0, 3, 5]
    references = [
        [{"role": "assistant", "content": small_task.reference(items[i])}] for i in indices
    ]
    for k, function in enumerate(functions):  # the reference completion scores the maximum
        assert function(completions=references, saw_item=indices) == pytest.approx(
            [small_task.reward_high[k]] * 3
        )
    hostile = ["", "<tool_call>{not json", "x" * 100_000]
    expected = small_task.score([items[i] for i in indices], hostile)
    for k, function in enumerate(functions):
        assert function(completions=hostile, saw_item=indices) == pytest.approx(expected[:, k])
    with pytest.raises(SawBenchError, match="saw_item"):
        functions[0](completions=hostile)


# ---------------------------------------------------------------------- the TRL backend
RUN_OPTIONS = dict(
    prompts_per_step=PROMPTS,
    group_size=GROUP,
    max_new_tokens=16,
    eval_every=2,
    eval_items=6,
    checkpoint_every=2,
    learning_rate=1e-3,
    task_kwargs=SMALL_TASK_KWARGS,
)


@pytest.fixture(scope="module")
def trl_run(small_model, tmp_path_factory):
    """A TRL-backend run of saw-ema: 2 steps, then resumed to 4."""
    out = tmp_path_factory.mktemp("trl-backend") / "run"
    train(
        task="saw/ToolCall-Synth-v0",
        weighting="saw-ema",
        steps=2,
        model=small_model,
        out_dir=out,
        backend="trl",
        **RUN_OPTIONS,
    )
    train(resume=out, steps=4)
    return out


@pytest.fixture(scope="module")
def own_run(small_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("own-backend") / "run"
    return train(
        task="saw/ToolCall-Synth-v0",
        weighting="saw-ema",
        steps=2,
        model=small_model,
        out_dir=out,
        **RUN_OPTIONS,
    )


def test_trl_backend_writes_the_run_folder_of_saw_benchs_trainer(trl_run, own_run):
    for name in ("config.json", "metrics.jsonl", "eval.jsonl", "summary.json", "curves.png"):
        assert (trl_run / name).is_file(), name
    config = read_json(trl_run / "config.json")
    assert config["train"]["backend"] == "trl"
    assert config["backend"]["name"] == "trl" and config["backend"]["trl"] == trl.__version__
    metrics = read_jsonl(trl_run / "metrics.jsonl")
    own_metrics = read_jsonl(own_run / "metrics.jsonl")
    assert [row["step"] for row in metrics] == [1, 2, 3, 4]  # resumed without a gap or repeat
    assert set(metrics[0]) == set(own_metrics[0])
    assert set(metrics[0]["seconds"]) == set(own_metrics[0]["seconds"])
    assert set(metrics[0]["objectives"]["format"]) == set(own_metrics[0]["objectives"]["format"])
    assert [row["step"] for row in read_jsonl(trl_run / "eval.jsonl")] == [0, 2, 4]
    summary = read_json(trl_run / "summary.json")
    assert summary["steps"] == 4 and summary["weighting"] == "saw-ema"
    for row in metrics:
        assert row["seconds"]["total"] == pytest.approx(
            sum(row["seconds"][p] for p in ("generate", "score", "weight", "update")), rel=1e-6
        )
        stats = row["objectives"]
        assert sum(stats[n]["weight"] for n in ("format", "correctness")) == pytest.approx(2.0)
        assert row["tokens"] > 0


def test_trl_runs_are_read_by_compare_and_eval(trl_run, own_run, capsys, tmp_path):
    (run,) = load_runs([trl_run]).runs
    assert run.backend == "trl"
    assert main(["compare", str(trl_run), str(own_run), "--out", str(tmp_path / "c")]) == 0
    table = capsys.readouterr().out
    assert "saw-ema [trl]" in table and "saw-ema " in table.replace("saw-ema [trl]", "")
    assert main(["eval", "--model", str(trl_run), "--items", "4"]) == 0
    assert "normalised aggregate" in capsys.readouterr().out


def test_run_backend_trl_refuses_gradient_agents_and_several_minibatches(tmp_path, capsys):
    code = main(["run", "--backend", "trl", "--weighting", "mgda", "--out", str(tmp_path / "a")])
    assert code == 2
    assert "needs one policy gradient per objective" in capsys.readouterr().err
    code = main(["run", "--backend", "trl", "--set", "minibatches=2", "--out", str(tmp_path / "b")])
    assert code == 2
    assert "minibatches must be 1" in capsys.readouterr().err
    assert main(["run", "--backend", "jax", "--out", str(tmp_path / "c")]) == 2
    assert "unknown backend 'jax'; choose one of saw-bench, trl" in capsys.readouterr().err


def test_trl_gdpo_step_moves_the_policy(small_model, small_task, tmp_path):
    """The weights reach TRL's loss: a step with varied rewards changes the parameters."""
    trainer = make_trainer(
        small_model,
        small_task,
        tmp_path,
        estimator="gdpo",
        reward_funcs=RandomRewards(seed=5).functions(),
        weighting="saw",
        reward_bounds=BOUNDS,
    )
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def test_ctrl_c_stops_a_trl_run_after_the_step_with_a_checkpoint_that_resumes(
    small_model, tmp_path
):
    """SIGINT mid-run: the step in flight finishes, TRL writes a checkpoint (none was due:
    checkpoint_every=10), the CLI exits 130 naming the resume command, and resuming finishes
    the run without a gap or a repeated step."""
    options = {**RUN_OPTIONS, "checkpoint_every": 10, "max_new_tokens": 24}
    kwargs = options.pop("task_kwargs")
    lines = [
        f"model = {json.dumps(small_model)}",
        'task = "saw/ToolCall-Synth-v0"',
        'backend = "trl"',
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    lines += ["[task_kwargs]", *(f"{key} = {value}" for key, value in kwargs.items())]
    config = tmp_path / "run.toml"
    config.write_text("\n".join(lines) + "\n")
    stopped = tmp_path / "stopped"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saw_bench",
            "run",
            "--config",
            str(config),
            "--steps",
            "6",
            "--out",
            str(stopped),
        ],
        env={**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while len(read_jsonl(stopped / "metrics.jsonl")) < 1:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=300)
    assert process.returncode == 130, error
    assert f"--resume {stopped}" in error and "Traceback" not in error
    (checkpoint,) = (stopped / "trl").glob("checkpoint-*")
    progress = read_json(checkpoint / PROGRESS_FILE)
    steps_done = len(read_jsonl(stopped / "metrics.jsonl"))
    assert checkpoint.name == f"checkpoint-{steps_done}"
    assert progress["step"] == steps_done < 6
    assert progress["metrics_rows"] == steps_done
    assert not (stopped / "summary.json").exists()

    assert main(["run", "--resume", str(stopped)]) == 0
    assert [row["step"] for row in read_jsonl(stopped / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert [row["step"] for row in read_jsonl(stopped / "eval.jsonl")] == [0, 2, 4, 6]
    assert read_json(stopped / "summary.json")["steps"] == 6


def test_trl_aggregation_is_a_copy_of_the_estimator_records_trl_options():
    assert trl_aggregation("gdpo") == ESTIMATORS["gdpo"].trl_options
    options = trl_aggregation("grpo")
    options["scale_rewards"] = "batch"
    assert ESTIMATORS["grpo"].trl_options["scale_rewards"] == "group"
    with pytest.raises(SawBenchError, match="unknown estimator 'ppo'; choose one of grpo, gdpo"):
        trl_aggregation("ppo")


def test_diagnose_reads_a_trl_backend_run_like_its_own(trl_run, capsys):
    """The asynchrony index reads the held-out curves every run folder has: the index and each
    objective's curve follow eval.jsonl, normalised by the task's bounds."""
    from saw_bench.harness.diagnose import diagnose

    rows = read_jsonl(trl_run / "eval.jsonl")
    diagnosis = diagnose(trl_run)
    bounds = {
        o["name"]: (o["low"], o["high"]) for o in read_json(trl_run / "config.json")["objectives"]
    }
    for curve in diagnosis.objectives:
        low, high = bounds[curve.name]
        expected = [(row["objectives"][curve.name] - low) / (high - low) for row in rows]
        assert list(curve.values) == pytest.approx(expected)
    assert main(["diagnose", str(trl_run)]) == 0
    assert "asynchrony index:" in capsys.readouterr().out
