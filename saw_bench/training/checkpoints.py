"""Checkpoints: what resume needs, in ``<run>/checkpoint/``.

``model/`` (``save_pretrained`` weights and tokenizer), ``state.pt`` (optimizer and the torch,
Python and NumPy RNG states; NumPy's as plain lists so loading never unpickles arbitrary
objects) and ``progress.json`` (step, elapsed seconds, token count, how many metrics and eval
rows the checkpoint knew of, the agent's state). A checkpoint is written to
``checkpoint.partial`` and swapped in by renames, so a kill at any moment leaves a complete one
(``checkpoint`` or, mid-swap, ``checkpoint.old``).
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saw_bench.core.errors import SawBenchError
from saw_bench.core.files import read_json, write_json_atomic
from saw_bench.policy import Policy
from saw_bench.policy._hf import quiet_transformers

FOLDER = "checkpoint"


def save_checkpoint(
    run_dir: Path, policy: Policy, optimizer: torch.optim.Optimizer, progress: dict[str, Any]
) -> None:
    final = run_dir / FOLDER
    staging = run_dir / f"{FOLDER}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    with quiet_transformers():
        policy.model.save_pretrained(staging / "model")
    policy.tokenizer.save_pretrained(staging / "model")
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "numpy_rng": _numpy_state_to_plain(np.random.get_state()),
        },
        staging / "state.pt",
    )
    write_json_atomic(staging / "progress.json", progress)
    previous = run_dir / f"{FOLDER}.old"
    shutil.rmtree(previous, ignore_errors=True)
    if final.exists():
        final.rename(previous)
    staging.rename(final)
    shutil.rmtree(previous, ignore_errors=True)


def load_checkpoint(
    run_dir: Path, policy: Policy, optimizer: torch.optim.Optimizer
) -> dict[str, Any] | None:
    """Restore weights, optimizer and RNG states; returns the checkpoint's progress, or None
    when the run was killed before its first checkpoint."""
    from safetensors.torch import load_file

    checkpoint = run_dir / FOLDER
    if not checkpoint.exists() and (run_dir / f"{FOLDER}.old").exists():
        (run_dir / f"{FOLDER}.old").rename(checkpoint)  # killed mid-swap
    if not checkpoint.exists():
        return None
    progress = read_json(checkpoint / "progress.json")
    try:
        weights = load_file(str(checkpoint / "model" / "model.safetensors"))
        state = torch.load(checkpoint / "state.pt", weights_only=True)
    except (OSError, RuntimeError, ValueError) as error:
        raise SawBenchError(f"{checkpoint} is damaged and cannot be resumed: {error}") from None
    policy.model.load_state_dict(weights, strict=False)
    if hasattr(policy.model, "tie_weights"):
        policy.model.tie_weights()
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    random.setstate(state["python_rng"])
    name, keys, position, has_gauss, cached_gaussian = state["numpy_rng"]
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached_gaussian)
    )
    return progress


def checkpoint_step(run_dir: Path) -> int:
    """The step of a run's last checkpoint (0 when it has none: it starts over)."""
    for folder in (FOLDER, f"{FOLDER}.old"):  # .old: killed mid-swap
        progress = Path(run_dir) / folder / "progress.json"
        if progress.is_file():
            try:
                return int(read_json(progress)["step"])
            except (SawBenchError, KeyError, TypeError, ValueError):
                return 0
    return 0


def latest_trl_checkpoint(run_dir: Path) -> Path | None:
    """The newest ``trl/checkpoint-<step>`` folder of a run trained by the TRL backend (a
    Hugging Face model folder with TRL's trainer state), or None."""
    found = []
    for folder in (Path(run_dir) / "trl").glob("checkpoint-*"):
        step = folder.name.removeprefix("checkpoint-")
        if step.isdigit() and folder.is_dir():
            found.append((int(step), folder))
    return max(found)[1] if found else None


def _numpy_state_to_plain(state: tuple[Any, ...]) -> tuple[Any, ...]:
    name, keys, position, has_gauss, cached_gaussian = state
    return name, keys.tolist(), int(position), int(has_gauss), float(cached_gaussian)
