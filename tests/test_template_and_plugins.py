"""Adding an environment: the template folder, copied into a package of one's own, is picked up
through the ``saw_bench.envs`` entry-point group and tested by the registry-driven suite."""

from __future__ import annotations

import ast
import importlib
import os
import random
import re
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
    from saw_bench.policy._tiny import TinyRecipe, corrupter_for, default_recipe

    site = make_plugin(tmp_path, "echo_plugin_c", "echo_plugin_c", "saw/PluginEchoC-v0")
    monkeypatch.syspath_prepend(str(site))
    try:
        assert "echo_plugin_c" in saw_bench.load_plugins()
        task = saw_bench.load_task("saw/PluginEchoC-v0")
        declared = template_tiny_recipe()
        assert default_recipe("saw/PluginEchoC-v0").sft_steps == declared["sft_steps"]
        monkeypatch.setattr(type(task), "tiny_recipe", {"sft_steps": 123})
        assert default_recipe("saw/PluginEchoC-v0").sft_steps == 123
        monkeypatch.setattr(type(task), "tiny_recipe", {})  # none declared: the defaults
        assert default_recipe("saw/PluginEchoC-v0") == TinyRecipe(task="saw/PluginEchoC-v0")
        corrupt, rng = corrupter_for(task), random.Random(0)
        for item in task.split("train"):
            wrong = corrupt(item, task.reference(item), rng)
            assert len(wrong) == len(item["word"]) and wrong != item["word"]
            assert task.score([item], [wrong])[0, 0] == 0.0
    finally:
        unregister("saw/PluginEchoC-v0")


def template_tiny_recipe() -> dict:
    """The literal ``tiny_recipe = {...}`` of the template's task class, read from its source."""
    tree = ast.parse((TEMPLATE / "task.py").read_text())
    (task_class,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    values = []
    for node in task_class.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(target, ast.Name) and target.id == "tiny_recipe" for target in targets):
            values.append(node.value)
    (value,) = values
    return ast.literal_eval(value)


def test_the_template_declares_a_short_warm_start_that_its_default_recipe_uses():
    from saw_bench.policy._tiny import TinyRecipe, default_recipe

    declared = template_tiny_recipe()
    assert 0 < declared["sft_steps"] < TinyRecipe().sft_steps  # shorter than ToolCall's
    name = "saw_bench.envs._template"
    unregister("saw/Template-Echo-v0")
    try:  # registered now, whether or not an earlier test imported the template
        if name in sys.modules:
            importlib.reload(sys.modules[name])
        else:
            importlib.import_module(name)
        recipe = default_recipe("template-echo")
        assert recipe.task == "saw/Template-Echo-v0"
        assert {key: getattr(recipe, key) for key in declared} == declared
    finally:
        unregister("saw/Template-Echo-v0")


def test_the_tutorial_shows_the_recipe_the_template_declares():
    tutorial = (REPO / "docs" / "tutorials" / "add-an-environment.md").read_text()
    (shown,) = re.findall(
        r"^tiny_recipe: ClassVar\[dict\[str, Any\]\] = (\{.*?^\})", tutorial, re.M | re.S
    )
    assert ast.literal_eval(shown) == template_tiny_recipe()


def test_register_refuses_an_id_outside_the_namespace_and_names_the_right_one():
    with pytest.raises(ValueError, match="'saw' namespace .* use 'saw/MyTask-v0'"):
        saw_bench.register("MyTask-v0", task="my_task.task:EchoTask")
    with pytest.raises(ValueError, match="but got 'acme/MyTask-v0'; use 'saw/MyTask-v0'"):
        saw_bench.register("acme/MyTask-v0", task="my_task.task:EchoTask")
    assert "acme/MyTask-v0" not in saw_bench.registered_ids()


def test_broken_plugin_warns_and_does_not_break_saw_bench(tmp_path, monkeypatch):
    site = make_plugin(tmp_path, "echo_plugin_b", "echo_plugin_b.missing_module")
    monkeypatch.syspath_prepend(str(site))
    with pytest.warns(RuntimeWarning, match="could not load environment plug-in 'echo_plugin_b'"):
        saw_bench.load_plugins()
    assert saw_bench.make("saw/ToolCall-Synth-v0").reward_dim == 2


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
