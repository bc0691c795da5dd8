"""Seconds per step of the two backends of one run: saw-bench's own trainer and TRL's.

Run with ``tox -e bench`` or ``python -m pytest benchmarks/test_trl_backend.py
--benchmark-enable --benchmark-only -s``. Each run is ``saw_bench.train`` on the embedded tiny
ToolCall-Synth policy, GRPO, 16 prompts x 8 completions, 96 new tokens at most, 2 threads,
with ``backend="saw-bench"`` or ``backend="trl"`` and the ``static`` or ``saw`` agent: one
warm-up step, then STEPS measured steps. Every figure comes from the runs' own
``metrics.jsonl``, so evaluations (step 0 and the last step) and model loading are outside it.

The phases as each backend times them: ``generate`` (saw-bench's decode loop; TRL's
``_generate``), ``score`` (the task's scorer; in TRL the reward functions and the gather),
``weight`` (the agent; saw-bench's also builds the step's tensors), ``update`` (the rest:
log-probabilities, advantages, loss, backward, optimizer).

On a shared machine one step in a few can take twice as long as its neighbours, so each phase
is given as its fastest over the measured steps (the cost with the least interference; the
completions' lengths vary by a few percent from step to step, see tokens/s), with the median
step time beside it. The table printed at the end gives, per backend and agent, those seconds,
generated tokens per second, the weight phase's share of the step, the step time against the
same backend's ``static`` run, and TRL's step time against saw-bench's. The line under it gives
SAW's overhead inside TRL.
"""

from __future__ import annotations

import statistics

import pytest

import saw_bench
from saw_bench.core.files import read_jsonl

THREADS = 2
STEPS = 3  # measured steps per run, after one warm-up step (about 5 min on 2 idle cores)
BACKENDS = ("saw-bench", "trl")
AGENTS = ("static", "saw")
PHASES = ("generate", "score", "weight", "update", "total")
RESULTS: dict[tuple[str, str], dict[str, float]] = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not RESULTS:
        return
    print(
        f"\n\nToolCall-Synth, tiny policy, GRPO, 16 x 8, 96 new tokens, {THREADS} threads; "
        f"fastest of {STEPS} steps after one warm-up (median step in brackets)"
    )
    print(
        "backend | agent | s/step | generate | score | weight | update | gen tokens/s | "
        "weight / step | x static | trl / saw-bench"
    )
    for (backend, agent), figures in RESULTS.items():
        static = RESULTS.get((backend, "static"), figures)
        ours = RESULTS.get(("saw-bench", agent))
        versus = f"{figures['total'] / ours['total']:.2f}" if backend == "trl" and ours else ""
        print(
            f"{backend} | {agent} | {figures['total']:.2f} ({figures['median_total']:.2f}) | "
            f"{figures['generate']:.2f} | {figures['score']:.3f} | "
            f"{figures['weight'] * 1e3:.2f} ms | {figures['update']:.2f} | "
            f"{figures['tokens_per_second']:,.0f} | {figures['weight'] / figures['total']:.3%} | "
            f"{figures['total'] / static['total']:.2f} | {versus}"
        )
    saw, static = RESULTS.get(("trl", "saw")), RESULTS.get(("trl", "static"))
    if saw and static:
        print(
            f"SAW inside TRL: the agent takes {saw['weight'] * 1e3:.2f} ms of a "
            f"{saw['total']:.2f} s step ({saw['weight'] / saw['total']:.3%}); TRL saw step / "
            f"TRL static step = {saw['total'] / static['total']:.2f} (the rest of the "
            "difference is the machine and the completions, not the agent)"
        )


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_seconds_per_step_by_backend(benchmark, tmp_path, backend, agent):
    if backend == "trl":
        pytest.importorskip("trl", reason="the bench env installs trl==1.16.*")

    def run():
        return saw_bench.train(
            task="toolcall",
            weighting=agent,
            estimator="grpo",
            steps=STEPS + 1,
            out_dir=tmp_path / "run",
            model="tiny",
            plot=False,
            backend=backend,
            threads=THREADS,
            prompts_per_step=16,
            group_size=8,
            max_new_tokens=96,
            eval_every=10_000,
            eval_items=16,
            checkpoint_every=10_000,
        )

    run_dir = benchmark.pedantic(run, rounds=1, iterations=1)
    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert [row["step"] for row in rows] == list(range(1, STEPS + 2))
    measured = rows[1:]  # the first step is the warm-up
    figures = {phase: min(row["seconds"][phase] for row in measured) for phase in PHASES}
    figures["median_total"] = statistics.median(row["seconds"]["total"] for row in measured)
    figures["tokens_per_second"] = max(
        row["tokens"] / row["seconds"]["generate"] for row in measured
    )
    RESULTS[(backend, agent)] = figures
    benchmark.extra_info.update(figures)
