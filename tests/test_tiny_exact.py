"""The tiny policy's build (recipe version 3) gives the same weights whatever the CPU's kernels
and thread count; the names of version 2 policies, which committed runs record, still build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from saw_bench.core.errors import SawBenchError
from saw_bench.policy import RECIPE_VERSION, _tiny, recipe_named

REPOSITORY = Path(__file__).resolve().parents[1]

#: A small recipe: the same build code as the default one, on a few seconds of work.
SMALL = {
    "task": "saw/ToolCall-Synth-v0",
    "task_kwargs": {"train_size": 40, "test_size": 8},
    "vocab_size": 400,
    "hidden_size": 32,
    "num_layers": 1,
    "num_heads": 2,
    "ffn_size": 64,
    "max_position": 512,
    "sft_steps": 12,
    "batch_size": 8,
    "eval_items": 0,
}

BUILD = """
import hashlib, json, sys, torch
from saw_bench.policy import TinyRecipe, build_tiny_policy
from saw_bench.policy import _tiny
torch.set_num_threads(int(sys.argv[1]))
folders = {}
for version in (2, 3):
    recipe = TinyRecipe(**json.loads(sys.argv[2]), recipe_version=version)
    folders[version] = str(build_tiny_policy(recipe, progress=False))
# the control: version 2's float32 warm start run in this process, on its own kernels
recipe = TinyRecipe(**json.loads(sys.argv[2]), recipe_version=2)
task = recipe.load_task()
tokenizer = _tiny.train_tokenizer(task, recipe)
model = _tiny.init_model(recipe, tokenizer)
_tiny.train_sft(model, _tiny.SftData(task, tokenizer, recipe), recipe, progress=False)
weights = b"".join(tensor.numpy().tobytes() for tensor in model.state_dict().values())
print(json.dumps({
    "kernels": torch.backends.cpu.get_cpu_capability(),
    "folders": folders,
    "float32_here": hashlib.sha256(weights).hexdigest(),
}))
"""


def _build(tmp_path: Path, threads: int, kernels: str | None) -> dict:
    """Both versions of the small recipe, built in a fresh process with ``threads`` threads
    and PyTorch's CPU kernels forced to ``kernels`` (None: the machine's best)."""
    env = {**os.environ, "SAW_BENCH_CACHE": str(tmp_path / f"{threads}-{kernels}")}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if kernels is not None:
        env["ATEN_CPU_CAPABILITY"] = kernels
    completed = subprocess.run(
        [sys.executable, "-c", BUILD, str(threads), json.dumps(SMALL)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
        check=True,
    )
    return json.loads(completed.stdout.splitlines()[-1])


@pytest.mark.slow
def test_builds_give_the_same_weights_under_other_cpu_kernels_and_threads(tmp_path):
    native = _build(tmp_path, threads=2, kernels=None)
    plain = _build(tmp_path, threads=1, kernels="default")  # no vector instructions
    assert plain["kernels"] == "DEFAULT" and native["kernels"] != "DEFAULT"

    def weights(build: dict, version: int) -> bytes:
        return (Path(build["folders"][str(version)]) / "model.safetensors").read_bytes()

    # the control: float32 training follows the kernels (so they did differ)
    assert native["float32_here"] != plain["float32_here"]
    # version 3 is exact; version 2 is built with AVX2 kernels (in a child process) on both
    assert weights(native, 3) == weights(plain, 3)
    assert weights(native, 2) == weights(plain, 2)
    # version 3 weights lie on the grid of 2**-16
    for tensor in load_file(Path(native["folders"]["3"]) / "model.safetensors").values():
        scaled = tensor.double() * 2**_tiny.WEIGHT_GRID_BITS
        assert torch.equal(scaled, scaled.round())


def test_the_policies_the_protocols_name_still_have_recipes():
    """Every policy the board's protocols pin (built by recipe version 2) is named by a recipe
    of this code, so its runs can be rebuilt and rerun."""
    protocols = tomllib.loads((REPOSITORY / "leaderboard" / "protocols.toml").read_text())
    for env_id, protocol in protocols.items():
        name = protocol["model"]["name"]
        recipe = recipe_named(name)
        assert recipe.task == env_id and f"tiny/{recipe.folder_name()}" == name
        assert recipe.recipe_version == 2 < RECIPE_VERSION


@pytest.mark.slow
def test_an_asynchrony_policy_rebuilds_to_the_revision_its_protocol_pins(
    tmp_path, capfd, monkeypatch
):
    """The board's Async-K4 policy was built with AVX-512 kernels (``BOARD_KERNELS``): a
    rebuild here gives the revision ``protocols.toml`` pins, from whatever kernels this process
    runs; on a CPU without AVX-512 the build says its weights will differ."""
    from saw_bench.policy import build_tiny_policy
    from saw_bench.policy._hf import weights_revision

    protocols = tomllib.loads((REPOSITORY / "leaderboard" / "protocols.toml").read_text())
    pinned = protocols["saw/Async-K4-v0"]["model"]
    recipe = recipe_named(pinned["name"])
    assert _tiny.build_kernels(recipe) == "AVX512"
    monkeypatch.setenv("SAW_BENCH_CACHE", str(tmp_path))
    revision = weights_revision(build_tiny_policy(recipe, progress=True))
    if torch.cpu._is_avx512_supported():
        assert revision == pinned["revision"]
    else:
        assert revision != pinned["revision"]
        assert "this CPU has no AVX512 kernels" in capfd.readouterr().err


def test_recipe_named_rejects_unknown_names_with_what_it_builds():
    with pytest.raises(SawBenchError, match="task slug among .*toolcall-synth-v0"):
        recipe_named("tiny/no-such-task-0123456789ab")
    with pytest.raises(SawBenchError, match="builds toolcall-synth-v0-"):
        recipe_named("tiny/toolcall-synth-v0-0123456789ab")
