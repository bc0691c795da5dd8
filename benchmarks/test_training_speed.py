"""Training-step cost on the embedded default (tiny policy, CPU), per weighting agent.

Run with ``tox -e bench`` or ``python -m pytest benchmarks/test_training_speed.py
--benchmark-enable -s``. For each agent the same steps (same seed, same prompts) run in one
process; the table printed at the end gives seconds per step split by phase (generate, score,
weight, update), generated tokens per second, the weight computation alone in microseconds,
the step time relative to ``static`` (the SAW paper's overhead table, at our scale) and the
peak resident memory of the process.

Agents change the policy differently, so after the first step their rollouts (and so the
generate and update phases) differ in length; on a shared 2-core machine those phases also
swing by tens of percent between runs. The column "overhead" therefore compares like with
like: 1 + (agent's weight phase - static's weight phase) / (mean step time without the weight
phase, over the task's agents). "x static" is the raw ratio of step times.
"""

from __future__ import annotations

import resource

import numpy as np
import pytest

from saw_bench.training import TrainConfig, Trainer

STEPS = 3
AGENTS = ["static", "saw", "saw-group", "rlw", "mgda", "pcgrad", "upgrad", "drw-grad"]
RESULTS: dict[tuple[str, str], dict[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not RESULTS:
        return
    print(
        "\n\ntask | agent | s/step | generate | score | weight | update | weight us | "
        "tokens/s | x static | overhead"
    )
    # Mean step time without the weight phase, over each task's agents.
    without_weights: dict[str, list[float]] = {}
    for (task, _), figures in RESULTS.items():
        without_weights.setdefault(task, []).append(figures["total"] - figures["weight"])
    base = {task: float(np.mean(seconds)) for task, seconds in without_weights.items()}
    for (task, agent), figures in RESULTS.items():
        static = RESULTS.get((task, "static"), figures)
        overhead = 1 + (figures["weight"] - static["weight"]) / base[task]
        print(
            f"{task} | {agent} | {figures['total']:.2f} | {figures['generate']:.2f} | "
            f"{figures['score']:.3f} | {figures['weight']:.3f} | {figures['update']:.2f} | "
            f"{figures['weight'] * 1e6:,.0f} | {figures['tokens_per_second']:,.0f} | "
            f"{figures['total'] / static['total']:.3f} | {overhead:.4f}"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak resident memory of the process (all of the above): {peak_mib:,.0f} MiB; "
        "select one task with -k for its own figure"
    )


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("task", ["toolcall", "summarize"])
def test_training_step_seconds(benchmark, tmp_path, task, agent):
    config = TrainConfig(
        task=task, weighting=agent, steps=STEPS, eval_every=10_000, checkpoint_every=10_000
    )
    trainer = Trainer.create(config, out_dir=tmp_path / agent, progress=False)
    rows = []

    def one_step():
        rows.append(trainer.train_step())
        trainer.step += 1

    benchmark.pedantic(one_step, rounds=STEPS, iterations=1, warmup_rounds=0)
    phases = {
        name: float(np.mean([row["seconds"][name] for row in rows]))
        for name in ("generate", "score", "weight", "update", "total")
    }
    tokens = sum(row["tokens"] for row in rows)
    phases["tokens_per_second"] = tokens / sum(row["seconds"]["generate"] for row in rows)
    RESULTS[(task, agent)] = phases
    benchmark.extra_info.update(phases)
    assert len(rows) == STEPS
