"""How much of the machine a training step uses, per phase, on both paths and against TRL.

Run with ``tox -e bench`` or ``python -m pytest benchmarks/test_hardware_use.py
--benchmark-enable -s`` (``-k "not main_command"`` leaves out the two fresh-cache CLI runs,
about ten minutes on 2 cores). Everything is measured in this one process, so the ratios compare
like with like on the same machine on the same day. The tables printed at the end give:

* the machine's fp32 matmul peak at the run's thread count (best of several 2048^3 products);
* per task and path (``fast``: saw-bench's own decode loop and training forward; ``hf``: HF
  ``generate`` and the module's forward, what every step ran before the fast path), seconds per
  phase, the useful GFLOP of the phase, achieved GFLOP/s and its share of the peak, and the
  hf / fast ratio. Useful FLOPs are the same for both paths: a forward costs 2 x (weights of the
  linear layers, output layer included) per token plus 4 x (attention width) x (keys attended)
  per token and layer, over each distinct prompt once and each generated token; the update is
  three forwards (forward and backward) over the same tokens. Work a path adds (prompts run once
  per sample, padding) is not counted, so it shows as a lower GFLOP/s;
* decoding tokens/s at the default batch on both paths, and the update's step-to-step spread;
* the tiny policy's warm start (SFT) tokens/s, through HF's forward and through the fast path,
  on the same batches;
* TRL 1.16 ``GRPOTrainer`` on the same model, batch (16 prompts x 8), tokens, threads, one
  update per batch: seconds per step against ours;
* ``python -m saw_bench run --task {toolcall,summarize} --weighting saw`` on a fresh cache:
  wall time from the command line, tiny policy build included.
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from saw_bench.core import registry
from saw_bench.policy import _tiny, load_policy
from saw_bench.training import TrainConfig, Trainer
from saw_bench.training.rollouts import RolloutTensors, generate_rollouts, sample_items

THREADS = 2
STEPS = 5  # measured steps per task and path, after one warm-up step
TASKS = ("toolcall", "summarize")
PEAK: dict[str, float] = {}
PHASES: dict[tuple[str, str], dict[str, list[float]]] = {}
DECODE: dict[tuple[str, str], float] = {}
SFT: dict[str, float] = {}
TRL: dict[str, float] = {}
MAIN: dict[str, float] = {}


# --------------------------------------------------------------------------- FLOP accounting
def forward_flops(model: torch.nn.Module, queries: np.ndarray, keys: np.ndarray) -> float:
    """FLOPs of forwards: every query token costs 2 x linear weights, plus, per layer,
    4 x attention width x the keys it attends (``queries[i]`` tokens attending ``keys[i]``
    keys each, summed)."""
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    config = model.config
    width = config.num_attention_heads * (
        getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    )
    tokens = float(np.sum(queries))
    attended = float(np.sum(keys))
    return 2.0 * linear * tokens + 4.0 * width * config.num_hidden_layers * attended


def step_flops(model: torch.nn.Module, tensors: RolloutTensors) -> tuple[float, float]:
    """Useful (generate, update) FLOPs of one step's rollouts."""
    prompt_lengths = tensors.prompts_mask.sum(dim=1).numpy()
    completion_lengths = tensors.completion_mask.sum(dim=1).numpy()
    owners = tensors.prompt_index.numpy()
    # a prompt of length p: its tokens attend 1..p keys; completion token j attends p + j + 1
    prompt_keys = prompt_lengths * (prompt_lengths + 1) / 2
    completion_keys = np.array(
        [
            length * prompt_lengths[owner] + length * (length + 1) / 2
            for length, owner in zip(completion_lengths, owners, strict=True)
        ]
    )
    queries = np.concatenate([prompt_lengths, completion_lengths])
    keys = np.concatenate([prompt_keys, completion_keys])
    forward = forward_flops(model, queries, keys)
    return forward, 3.0 * forward


# --------------------------------------------------------------------------- the tables
@pytest.fixture(scope="module", autouse=True)
def report():
    torch.set_num_threads(THREADS)
    PEAK["gflops"] = matmul_peak()
    yield
    peak = PEAK["gflops"]
    print(f"\n\nfp32 matmul peak, {THREADS} threads: {peak:.0f} GFLOP/s (best 2048^3 product)")
    if PHASES:
        print("\ntask | path | phase | s/step | GFLOP/step | GFLOP/s | share of peak | hf / fast")
        for (task, path), figures in PHASES.items():
            for phase in ("generate", "score", "weight", "update", "total"):
                seconds = statistics.median(figures[phase])
                gflop = statistics.median(figures.get(f"{phase}_gflop", [0.0]))
                rate = gflop / seconds if seconds else 0.0
                other = PHASES.get((task, "hf"), {}).get(phase)
                ratio = statistics.median(other) / seconds if other and path == "fast" else None
                print(
                    f"{task} | {path} | {phase} | {seconds:.3f} | {gflop:.1f} | "
                    f"{rate:.1f} | {rate / peak:.1%} | "
                    f"{'' if ratio is None else f'{ratio:.2f}x'}"
                )
        print(
            "\ntask | path | update s/step over steps: min-max | coefficient of variation | "
            "CV of s per useful GFLOP (what is left once the batch's shape is taken out)"
        )
        for (task, path), figures in PHASES.items():
            update, per_gflop = figures["update"], figures["update_per_gflop"]
            spread = np.std(update) / np.mean(update)
            shape_free = np.std(per_gflop) / np.mean(per_gflop)
            print(
                f"{task} | {path} | {min(update):.3f}-{max(update):.3f} | {spread:.1%} | "
                f"{shape_free:.1%}"
            )
    if DECODE:
        print("\ntask | decoding tokens/s fast | hf | fast / hf")
        for task in TASKS:
            if (task, "fast") in DECODE and (task, "hf") in DECODE:
                fast, hf = DECODE[(task, "fast")], DECODE[(task, "hf")]
                print(f"{task} | {fast:,.0f} | {hf:,.0f} | {fast / hf:.2f}x")
    if SFT:
        print(
            f"\ntiny policy warm start (ToolCall-Synth batches): HF forward "
            f"{SFT['hf']:,.0f} tokens/s, fast path {SFT['fast']:,.0f} tokens/s "
            f"({SFT['fast'] / SFT['hf']:.2f}x); matmuls at {SFT['gflops']:.0f} GFLOP/s "
            f"({SFT['gflops'] / peak:.0%} of peak) on the fast path"
        )
    if TRL:
        print(
            f"\nToolCall-Synth, 16 x 8, 96 new tokens, {THREADS} threads: TRL GRPOTrainer "
            f"{TRL['trl']:.2f} s/step, saw-bench {TRL['ours']:.2f} s/step "
            f"(saw-bench {TRL['trl'] / TRL['ours']:.2f}x faster)"
        )
    for task, seconds in MAIN.items():
        print(
            f"python -m saw_bench run --task {task} --weighting saw, fresh cache: "
            f"{seconds / 60:.1f} min ({seconds:.0f} s)"
        )


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


# --------------------------------------------------------------------------- the benchmarks
@pytest.mark.parametrize("path", ["fast", "hf"])
@pytest.mark.parametrize("task", TASKS)
def test_step_phases(benchmark, tmp_path, task, path):
    """One warm-up step, then STEPS steps; per phase seconds and useful FLOPs."""
    config = TrainConfig(
        task=task,
        weighting="saw",
        steps=STEPS + 1,
        eval_every=10_000,
        checkpoint_every=10_000,
        threads=THREADS,
        fast_path=path == "fast",
    )
    trainer = Trainer.create(config, out_dir=tmp_path / "run", progress=False)
    figures: dict[str, list[float]] = {}
    model = trainer.policy.model

    def one_step():
        row = trainer.train_step()
        trainer.step += 1
        return row

    one_step()  # warm-up: first-call allocations and kernel choices

    def measured():
        row = one_step()
        for phase, seconds in row["seconds"].items():
            figures.setdefault(phase, []).append(seconds)
        generate, update = step_flops(model, trainer.rollouts)
        figures.setdefault("update_per_gflop", []).append(row["seconds"]["update"] / update * 1e9)
        figures.setdefault("generate_gflop", []).append(generate / 1e9)
        figures.setdefault("update_gflop", []).append(update / 1e9)
        figures.setdefault("total_gflop", []).append((generate + update) / 1e9)

    benchmark.pedantic(measured, rounds=STEPS, iterations=1, warmup_rounds=0)
    PHASES[(task, path)] = figures
    assert len(figures["update"]) == STEPS


@pytest.mark.parametrize("path", ["fast", "hf"])
@pytest.mark.parametrize("task", TASKS)
def test_decoding_tokens_per_second(benchmark, task, path):
    policy = load_policy("tiny", task=registry.resolve(task), progress=False, fast=path == "fast")
    text_task = registry.load_task(task)
    items = sample_items(list(text_task.split("train")), 0, 16, 0)
    tokens, seconds = [], []

    def decode():
        started = time.perf_counter()
        batch = generate_rollouts(
            policy,
            text_task,
            items,
            group_size=8,
            max_new_tokens=96,
            temperature=1.0,
            seed=len(tokens),
        )
        seconds.append(time.perf_counter() - started)
        tokens.append(batch.completion_tokens)

    decode()  # warm-up
    tokens.clear(), seconds.clear()
    benchmark.pedantic(decode, rounds=3, iterations=1, warmup_rounds=0)
    DECODE[(task, path)] = sum(tokens) / sum(seconds)
    assert all(count > 0 for count in tokens)


def test_warm_start_tokens_per_second(benchmark):
    """The same 12 SFT batches of the ToolCall-Synth recipe through both forwards."""
    recipe = _tiny.default_recipe("toolcall")
    task = recipe.load_task()
    tokenizer = _tiny.train_tokenizer(task, recipe)
    data = _tiny.SftData(task, tokenizer, recipe)
    batches = list(itertools.islice(data.batches(), 12))
    tokens = sum(batch.tokens for batch in batches)

    def train(fast: bool) -> float:
        model = _tiny.init_model(recipe, tokenizer).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
        _tiny.sft_loss(model, batches[0], fast=fast).backward()  # warm-up
        started = time.perf_counter()
        for batch in batches:
            loss = _tiny.sft_loss(model, batch, fast=fast)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - started

    hf_seconds = train(fast=False)
    fast_seconds = benchmark.pedantic(lambda: train(fast=True), rounds=1, iterations=1)
    model = _tiny.init_model(recipe, tokenizer)
    flops = sum(
        3
        * forward_flops(
            model,
            batch.attention_mask.sum(1).numpy(),
            (batch.attention_mask.sum(1) * (batch.attention_mask.sum(1) + 1) / 2).numpy(),
        )
        for batch in batches
    )
    SFT.update(
        hf=tokens / hf_seconds, fast=tokens / fast_seconds, gflops=flops / fast_seconds / 1e9
    )
    assert fast_seconds > 0


def test_trl_grpo_trainer_seconds_per_step(benchmark, tmp_path):
    """TRL 1.16 GRPOTrainer and saw-bench on the same tiny ToolCall policy and batch."""
    trl = pytest.importorskip("trl", reason="the bench env installs trl==1.16.*")
    from datasets import Dataset
    from transformers import TrainerCallback

    task = registry.load_task("toolcall")
    items = list(task.split("train"))
    dataset = Dataset.from_list(
        [{"prompt": task.prompt(item), "item": index} for index, item in enumerate(items)]
    )

    def objective_reward(k: int):
        def reward(prompts, completions, item, **_):
            texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
            return task.score([items[i] for i in item], texts)[:, k].tolist()

        reward.__name__ = task.objective_names[k]
        return reward

    policy = load_policy("tiny", task=registry.resolve("toolcall"), progress=False)
    durations: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            durations.append(time.perf_counter() - self.started)

    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "trl"),
        per_device_train_batch_size=128,
        num_generations=8,
        max_completion_length=96,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        learning_rate=3e-4,
        beta=0.0,
        num_iterations=1,
        steps_per_generation=1,
        gradient_checkpointing=False,
        loss_type="grpo",
        scale_rewards="group",
        max_steps=STEPS + 1,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = trl.GRPOTrainer(
        model=policy.model,
        reward_funcs=[objective_reward(k) for k in range(len(task.objective_names))],
        args=args,
        train_dataset=dataset,
        processing_class=policy.tokenizer,
        callbacks=[StepTimer()],
    )
    torch.set_num_threads(THREADS)
    benchmark.pedantic(trainer.train, rounds=1, iterations=1)
    ours = [
        s
        for (task_name, path), f in PHASES.items()
        if task_name == "toolcall" and path == "fast"
        for s in f["total"]
    ]
    if not ours:  # run alone (-k trl): measure ours here
        config = TrainConfig(
            task="toolcall",
            weighting="static",
            steps=STEPS + 1,
            eval_every=10_000,
            checkpoint_every=10_000,
            threads=THREADS,
        )
        ours_trainer = Trainer.create(config, out_dir=tmp_path / "ours", progress=False)
        for step in range(STEPS + 1):
            row = ours_trainer.train_step()
            ours_trainer.step += 1
            if step:
                ours.append(row["seconds"]["total"])
    TRL.update(trl=statistics.median(durations[1:]), ours=statistics.median(ours))
    assert len(durations) == STEPS + 1


@pytest.mark.parametrize("task", TASKS)
def test_main_command(benchmark, tmp_path, task):
    """The README's main command from a fresh cache (tiny policy built from nothing)."""
    env = {**os.environ, "SAW_BENCH_CACHE": str(tmp_path / "cache")}
    command = [
        sys.executable,
        "-m",
        "saw_bench",
        "run",
        "--task",
        task,
        "--weighting",
        "saw",
        "--out",
        str(tmp_path / "run"),
    ]

    def run():
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, cwd=Path.cwd())
        return time.perf_counter() - started

    MAIN[task] = benchmark.pedantic(run, rounds=1, iterations=1)
    assert (tmp_path / "run" / "summary.json").exists()
