"""The GPU check (benchmarks/gpu_check.py) runs at tiny size on the CPU, so it cannot rot: both
backends (TRL where it is installed, as the test extra installs it), 2 steps each of a smaller
batch than the script's default (4 prompts x 2, 16 new tokens), about 10 s on 2 cores."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from saw_bench.core.files import read_jsonl

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "gpu_check.py"
STEPS = 2


def load_script():
    """The script as a module (registered in sys.modules: its dataclass needs that)."""
    if "gpu_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["gpu_check"] = module
        spec.loader.exec_module(module)
    return sys.modules["gpu_check"]


def table_rows(printed: str) -> dict[str, list[str]]:
    """The table's rows by backend: everything from the header line up to the first line that
    is not a row."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("backend "))
    rows = {}
    for line in lines[start + 1 :]:
        fields = line.split()
        if not fields or fields[0] not in ("saw-bench", "trl"):
            break
        rows[fields[0]] = fields
    return rows


@pytest.mark.slow
def test_gpu_check_at_tiny_size_on_cpu_prints_a_finite_row_per_backend(tmp_path, capsys):
    gpu_check = load_script()
    has_trl = importlib.util.find_spec("trl") is not None
    out = tmp_path / "check"

    code = gpu_check.main(
        ["--size", "tiny", "--device", "cpu", "--steps", str(STEPS), "--out", str(out)]
        + ["--prompts-per-step", "4", "--group-size", "2", "--max-new-tokens", "16"]
        + ["--eval-items", "4"]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    expected = ["saw-bench", "trl"] if has_trl else ["saw-bench"]
    if not has_trl:
        assert "trl: skipped, TRL is not installed" in printed
    rows = table_rows(printed)
    assert sorted(rows) == sorted(expected)
    for backend, fields in rows.items():
        steps, *figures = fields[1:7]  # steps, s/step, first s, tokens/s, memory GiB, loss
        assert int(steps) == STEPS
        numbers = [float(figure) for figure in figures]
        assert all(math.isfinite(number) for number in numbers), fields
        assert all(number > 0 for number in numbers[:4]), fields  # a loss may be 0
        assert "decode no" in " ".join(fields[7:])  # Qwen2 is not on the fast path
        metrics = read_jsonl(out / backend / "metrics.jsonl")
        assert [row["step"] for row in metrics] == [1, 2]
        assert (out / backend / "config.json").is_file()
    assert "peak resident set size" in printed


def test_gpu_check_refuses_cuda_without_a_gpu(monkeypatch, capsys):
    gpu_check = load_script()
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main(["--device", "cuda"])
    assert exit_info.value.code == 2
    assert "no CUDA device here" in capsys.readouterr().err


def test_gpu_check_fails_on_a_non_finite_loss(tmp_path):
    gpu_check = load_script()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    rows = [
        {"step": step, "loss": loss, "tokens": 10, "seconds": {"total": 1.0, "generate": 0.5}}
        for step, loss in ((1, 0.1), (2, float("nan")), (3, None))
    ]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    unused = {"used": False, "why_not": "Qwen2ForCausalLM is not LlamaForCausalLM"}
    config = {"fast_path": {"decode": unused, "train": unused}}
    (run_dir / "config.json").write_text(json.dumps(config))
    result = gpu_check.Result("saw-bench", run_dir=run_dir)
    gpu_check.read_run(result, steps=3)
    assert result.error == "non-finite loss at step(s) 2, 3"
    assert math.isnan(result.last_loss)
    assert result.fast_path == "decode no, train no (Qwen2ForCausalLM is not LlamaForCausalLM)"
