"""Loading a policy by name: the tiny embedded one (built and cached on first use) or any
Hugging Face causal LM by id or folder."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

from saw_bench.core.errors import SawBenchError
from saw_bench.policy._hf import (
    HUB_ID,
    Policy,
    prepare_tokenizer,
    quiet_transformers,
    resolve_device,
    resolve_dtype,
    weights_revision,
)
from saw_bench.policy._tiny import build_tiny_policy, default_recipe, recipe_named


def load_policy(
    model: str = "tiny",
    *,
    task: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    gradient_checkpointing: bool = False,
    progress: bool = True,
    fast: bool = True,
) -> Policy:
    """Load a policy: ``"tiny"``, a tiny policy's name, or a Hugging Face id or local folder.

    ``"tiny"`` is the embedded policy for ``task`` (default ``saw/ToolCall-Synth-v0``), built
    by :func:`saw_bench.policy.build_tiny_policy` on first use and cached.
    ``"tiny/<task-slug>-<hash12>"`` (the name a run records) is that very recipe, of this or an
    earlier recipe version (:func:`saw_bench.policy.recipe_named`). Anything else goes
    to ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained`` (and ``task`` is ignored,
    so callers can pass their task whatever the model). ``device="auto"`` picks
    CUDA when available; ``dtype="auto"`` means bfloat16 on CUDA and float32 on CPU.
    ``fast``: decode and train with :mod:`saw_bench.policy._fast` where it covers the model.
    """
    target = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, target)
    if model == "tiny" or model.startswith("tiny/"):
        recipe = default_recipe(task) if model == "tiny" else recipe_named(model)
        folder = build_tiny_policy(recipe, progress=progress)
        name = f"tiny/{folder.name}"
    else:
        folder = Path(model).expanduser()
        name = model
        if not folder.is_dir() and not HUB_ID.match(model):
            raise SawBenchError(
                f"model {model!r} is neither an existing folder nor a Hugging Face id "
                "('name' or 'owner/name'); give 'tiny', a hub id or the path of a model folder"
            )
    source = str(folder) if folder.is_dir() else model
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        with quiet_transformers():
            network = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype)
    except (OSError, ValueError) as error:
        raise SawBenchError(
            f"model {model!r} could not be found locally or on the Hugging Face hub "
            f"(offline, private or misspelled?): {error}"
        ) from None
    if folder.is_dir():
        revision = weights_revision(folder)
    else:
        commit = getattr(network.config, "_commit_hash", None)
        revision = str(commit)[:12] if commit else "unknown"
    network.to(target)
    if gradient_checkpointing:
        enable = getattr(network, "activation_checkpointing_enable", None)  # transformers 5
        (enable or network.gradient_checkpointing_enable)()  # active in train mode only
    return Policy(
        model=network,
        tokenizer=prepare_tokenizer(tokenizer),
        device=target,
        name=name,
        revision=revision,
        fast=fast,
    )
