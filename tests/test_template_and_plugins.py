"""Adding an environment: the template folder, copied into a package of one's own, is picked up
through the ``saw_bench.envs`` entry-point group and tested by the registry-driven suite."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import saw_bench
from saw_bench.core.registry import unregister

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "envs" / "_template"
PLUGIN_ID = "saw/PluginEcho-v0"


def make_plugin(site: Path, package: str, entry_value: str, template_id: str = PLUGIN_ID) -> Path:
    """A package built from the template plus the dist-info that declares its entry point."""
    target = site / package
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__"))
    init = target / "__init__.py"
    init.write_text(
        init.read_text()
        .replace("saw/Template-Echo-v0", template_id)
        .replace('alias="template-echo"', f'alias="{package}"')
    )
    dist_info = site / f"{package}-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[saw_bench.envs]\n{package} = {entry_value}\n")
    return site


def subprocess_env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return env


def test_importing_saw_bench_does_not_register_the_template():
    probe = subprocess.run(
        [sys.executable, "-c", "import saw_bench; print(saw_bench.registered_ids())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert "saw/ToolCall-Synth-v0" in probe.stdout
    assert "Template" not in probe.stdout


def test_plugin_from_the_template_is_loaded_in_process(tmp_path, monkeypatch):
    site = make_plugin(tmp_path, "echo_plugin_a", "echo_plugin_a", "saw/PluginEchoA-v0")
    monkeypatch.syspath_prepend(str(site))
    try:
        assert "echo_plugin_a" in saw_bench.load_plugins()
        env = saw_bench.make("saw/PluginEchoA-v0")
        _, info = env.reset(seed=0)
        word = env.unwrapped.task.split("train")[info["index"]]["word"]
        np.testing.assert_array_equal(env.step(f"  {word}\n")[1], [1.0, 1.0])
        # "exact" fails and 5 extra characters cost 5/20 of brevity
        np.testing.assert_allclose(env.step(f"{word} okay")[1], [0.0, 0.75])
        assert saw_bench.load_plugins() == []  # loading again does nothing
    finally:
        unregister("saw/PluginEchoA-v0")


def test_a_plugin_shapes_its_tiny_policy_through_its_task_class(tmp_path, monkeypatch):
    """Without editing saw-bench: the task class's tiny_recipe reaches the default recipe, and
    the warm start corrupts targets with the task's own corrupt_reference (the template's
    changes one syllable: same length, never the right word)."""
    from saw_bench.policy._tiny import corrupter_for, default_recipe

    site = make_plugin(tmp_path, "echo_plugin_c", "echo_plugin_c", "saw/PluginEchoC-v0")
    monkeypatch.syspath_prepend(str(site))
    try:
        assert "echo_plugin_c" in saw_bench.load_plugins()
        task = saw_bench.load_task("saw/PluginEchoC-v0")
        assert default_recipe("saw/PluginEchoC-v0").sft_steps == 1000
        monkeypatch.setattr(type(task), "tiny_recipe", {"sft_steps": 300})
        assert default_recipe("saw/PluginEchoC-v0").sft_steps == 300
        corrupt, rng = corrupter_for(task), random.Random(0)
        for item in task.split("train"):
            wrong = corrupt(item, task.reference(item), rng)
            assert len(wrong) == len(item["word"]) and wrong != item["word"]
            assert task.score([item], [wrong])[0, 0] == 0.0
    finally:
        unregister("saw/PluginEchoC-v0")


def test_broken_plugin_warns_and_does_not_break_saw_bench(tmp_path, monkeypatch):
    site = make_plugin(tmp_path, "echo_plugin_b", "echo_plugin_b.missing_module")
    monkeypatch.syspath_prepend(str(site))
    with pytest.warns(RuntimeWarning, match="could not load environment plug-in 'echo_plugin_b'"):
        saw_bench.load_plugins()
    assert saw_bench.make("toolcall").reward_dim == 2


@pytest.mark.slow
def test_registry_driven_suite_runs_on_a_new_plugin_environment(tmp_path):
    site = make_plugin(tmp_path, "echo_plugin", "echo_plugin")
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import saw_bench; print(saw_bench.make({PLUGIN_ID!r}).reward_dim)",
        ],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert probe.stdout.strip() == "2"
    suite = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/test_env_registry.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "PluginEcho",
        ],
        env=subprocess_env(site),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]
    summary = suite.stdout.strip().splitlines()[-1]
    # every parametrised check of the suite ran on the new id, and none failed
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert int(summary.split()[0]) >= 20, summary
