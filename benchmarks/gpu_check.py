"""A GPU check, ready to run: a few steps of SAW on ToolCall-Synth through each backend, on a
randomly initialised Qwen2-architecture model, with the speed and memory they took.

    python benchmarks/gpu_check.py [--size tiny|full] [--steps 5] [--device cuda] [--out DIR]

No download: the model is built from a ``transformers.Qwen2Config`` (``--size full``: the shape
of Qwen2.5-0.5B, hidden 896, 24 layers, 14 heads, 2 key-value heads, intermediate 4,864, its
151,936-row tied embedding, about 0.5B parameters; ``--size tiny``: a few hundred thousand
parameters) and saved with ``save_pretrained`` into a temporary folder beside the tokenizer of
the tiny ToolCall-Synth policy (a 2,048-token byte-level BPE trained on the task's own texts in
under a second, :func:`saw_bench.policy._tiny.train_tokenizer`). At full size the output layer
has more rows than the tokenizer has ids, as Qwen2.5's has: the logits cost what a real 0.5B
model's do, and ids past the tokenizer's decode to nothing.

Each backend (saw-bench's own loop, then TRL's GRPOTrainer when ``trl`` is installed; a line
says so when it is not) trains that folder through ``saw_bench.train(..., backend=...)`` in
bfloat16 on a GPU (float32 on the CPU). The table gives, per backend, the median seconds per
step and generated tokens per second over the steps after the first (the first, which pays for
kernel selection and allocator growth, beside them), the peak memory (GPU:
``torch.cuda.max_memory_allocated``; CPU: the process's peak resident set size during the run),
the last loss, and whether saw-bench's fast path decoded and trained (``config.json``
``fast_path``: it covers Llama-style models only, so not Qwen2). The command exits 1 when a run
fails or a loss in its ``metrics.jsonl`` is not finite.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import resource
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

import saw_bench
from saw_bench.core.files import read_json, read_jsonl
from saw_bench.core.registry import load_task
from saw_bench.policy._hf import quiet_transformers
from saw_bench.policy._tiny import default_recipe, train_tokenizer

TASK = "saw/ToolCall-Synth-v0"
BACKENDS = ("saw-bench", "trl")
#: Model shapes; ``vocab_size`` None: the tokenizer's size.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
        "vocab_size": None,
    },
    "full": {  # Qwen2.5-0.5B
        "hidden_size": 896,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "intermediate_size": 4864,
        "vocab_size": 151936,
    },
}


@dataclass
class Result:
    """What one backend's run gave; ``error`` set when it failed."""

    backend: str
    run_dir: Path | None = None
    steps: int = 0
    seconds_per_step: float = math.nan
    first_step_seconds: float = math.nan
    tokens_per_second: float = math.nan
    peak_memory_bytes: float = math.nan
    last_loss: float = math.nan
    fast_path: str = "-"
    error: str | None = None


def build_model(size: str, dtype: torch.dtype, folder: Path, seed: int = 0) -> int:
    """A randomly initialised Qwen2 and the task's tokenizer saved in ``folder``; returns the
    number of parameters."""
    task = load_task(TASK)
    tokenizer = train_tokenizer(task, default_recipe(TASK))
    shape = dict(SIZES[size])
    shape["vocab_size"] = shape["vocab_size"] or len(tokenizer)
    if shape["vocab_size"] < len(tokenizer):
        raise ValueError(f"vocab_size {shape['vocab_size']} < the tokenizer's {len(tokenizer)}")
    config = Qwen2Config(
        **shape,
        max_position_embeddings=tokenizer.model_max_length,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config).to(dtype)
    with quiet_transformers():
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())


def run_backend(backend: str, model_dir: Path, out: Path, args: argparse.Namespace) -> Result:
    """Train ``model_dir`` with SAW for ``args.steps`` steps through ``backend``."""
    result = Result(backend)
    on_gpu = args.device.startswith("cuda")
    gc.collect()
    if on_gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(args.device)
    reset_peak_rss()
    try:
        result.run_dir = saw_bench.train(
            task=TASK,
            weighting="saw",
            estimator="grpo",
            steps=args.steps,
            out_dir=out / backend,
            model=str(model_dir),
            plot=False,
            backend=backend,
            device=args.device,
            dtype="bfloat16" if on_gpu else "float32",
            prompts_per_step=args.prompts_per_step,
            group_size=args.group_size,
            max_new_tokens=args.max_new_tokens,
            eval_items=args.eval_items,
            eval_every=args.steps,
            checkpoint_every=args.steps,
        )
    except Exception:  # any failure is the check's finding: report it and go on
        result.error = traceback.format_exc(limit=-3).strip().splitlines()[-1]
        traceback.print_exc()
    result.peak_memory_bytes = (
        torch.cuda.max_memory_allocated(args.device) if on_gpu else peak_rss()
    )
    if result.error is None:
        read_run(result, args.steps)
    return result


def read_run(result: Result, steps: int) -> None:
    """Seconds, tokens/s, loss and fast path from the run's files; an error when a loss is not
    finite or steps are missing."""
    rows = read_jsonl(result.run_dir / "metrics.jsonl")
    result.steps = len(rows)
    if len(rows) != steps:
        result.error = f"metrics.jsonl has {len(rows)} rows, expected {steps}"
        return
    measured = rows[1:] or rows  # the first step pays for warm-up
    result.first_step_seconds = rows[0]["seconds"]["total"]
    result.seconds_per_step = statistics.median(row["seconds"]["total"] for row in measured)
    generate_seconds = sum(row["seconds"]["generate"] for row in measured)
    tokens = sum(row["tokens"] for row in measured)
    result.tokens_per_second = tokens / generate_seconds if generate_seconds > 0 else math.nan
    result.last_loss = rows[-1]["loss"] if finite(rows[-1].get("loss")) else math.nan
    bad = [row["step"] for row in rows if not finite(row.get("loss"))]
    if bad:
        result.error = f"non-finite loss at step(s) {', '.join(map(str, bad))}"
    used = read_json(result.run_dir / "config.json")["fast_path"]
    result.fast_path = ", ".join(
        f"{phase} {'yes' if used[phase]['used'] else 'no'}" for phase in ("decode", "train")
    )
    reasons = {used[phase]["why_not"] for phase in ("decode", "train")} - {None}
    if reasons:
        result.fast_path += f" ({'; '.join(sorted(reasons))})"


def finite(value: Any) -> bool:
    """Whether ``value`` is a finite number (a missing or null loss is not)."""
    return isinstance(value, int | float) and math.isfinite(value)


def reset_peak_rss() -> None:
    """Start a new peak resident set size (Linux: ``/proc/self/clear_refs``; elsewhere the
    process's peak stays the peak since it started)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> float:
    """Peak resident set size in bytes since :func:`reset_peak_rss` (``VmHWM``), else since
    the process started (``ru_maxrss``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return float(kilobytes) * (1 if sys.platform == "darwin" else 1024)


def table(results: list[Result], on_gpu: bool) -> str:
    """One row per backend that ran."""
    memory = "peak GPU GiB" if on_gpu else "peak RSS GiB"
    lines = [
        f"{'backend':<10} {'steps':>5} {'s/step':>8} {'first s':>8} {'gen tok/s':>10} "
        f"{memory:>12} {'last loss':>10}  fast path"
    ]
    for result in results:
        lines.append(
            f"{result.backend:<10} {result.steps:>5} {result.seconds_per_step:>8.3f} "
            f"{result.first_step_seconds:>8.3f} {result.tokens_per_second:>10.1f} "
            f"{result.peak_memory_bytes / 2**30:>12.3f} {result.last_loss:>10.4f}  "
            f"{result.fast_path}"
        )
    return "\n".join(lines)


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, but got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SAW on ToolCall-Synth through each backend on a random Qwen2 model: "
        "seconds per step, generated tokens/s, peak memory; exit 1 on a failed run or a "
        "non-finite loss",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--steps", type=positive, default=5)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    parser.add_argument("--out", type=Path, help="run folders go here (default runs/gpu-check-*)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--prompts-per-step", type=positive, default=8)
    parser.add_argument("--group-size", type=positive, default=4)
    parser.add_argument("--max-new-tokens", type=positive, default=64)
    parser.add_argument(
        "--eval-items", type=positive, default=8, help="held-out items at the first and last step"
    )
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: no CUDA device here; pass --device cpu for the CPU")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when every run finished with finite losses, else 1."""
    args = parse_args(argv)
    on_gpu = args.device.startswith("cuda")
    out = args.out or Path("runs") / f"gpu-check-{time.strftime('%Y%m%d-%H%M%S')}"
    backends = list(args.backends)
    if "trl" in backends:
        try:
            import trl  # noqa: F401
        except ImportError:
            print("trl: skipped, TRL is not installed (pip install 'saw-bench[trl]')")
            backends.remove("trl")
    dtype = torch.bfloat16 if on_gpu else torch.float32
    results = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-model-") as folder:
        parameters = build_model(args.size, dtype, Path(folder))
        device_name = torch.cuda.get_device_name(args.device) if on_gpu else "CPU"
        print(
            f"random Qwen2 ({args.size}, {parameters:,} parameters), {str(dtype)[6:]} on "
            f"{device_name}; SAW + GRPO on ToolCall-Synth, {args.steps} steps of "
            f"{args.prompts_per_step} prompts x {args.group_size} completions, at most "
            f"{args.max_new_tokens} new tokens",
            flush=True,
        )
        for backend in backends:
            started = time.perf_counter()
            result = run_backend(backend, Path(folder), out, args)
            results.append(result)
            print(
                f"{backend}: {'failed' if result.error else 'finished'} in "
                f"{time.perf_counter() - started:.1f} s (model loading and evaluations included)",
                flush=True,
            )
    print(table(results, on_gpu))
    if not on_gpu:
        print("memory: CPU run, so the process's peak resident set size during each run")
    measured = f"steps 2-{args.steps}" if args.steps > 1 else "step 1"
    print(f"s/step, gen tok/s: median and total over {measured} (first s: step 1)")
    print(f"run folders: {out}")
    failed = [result for result in results if result.error]
    for result in failed:
        print(f"FAILED {result.backend}: {result.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
