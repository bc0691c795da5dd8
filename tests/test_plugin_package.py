"""The add-an-environment tutorial, followed verbatim: its files make a separate package that
installs, registers its id and trains.

The package files and commands are read from the page itself (fenced blocks with a ``title``),
so a change of the page is tested as written. The package is installed into the running
interpreter's environment (editable, no dependencies, no build isolation: nothing is
downloaded) and uninstalled again whatever happens.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorials" / "add-an-environment.md"
PACKAGE_FOLDER = "my-task"
#: A fenced block with a title: ```toml title="my-task/pyproject.toml"
FENCE = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)


def titled_blocks(page: str) -> dict[str, str]:
    """The page's titled code blocks: title -> text."""
    blocks = {}
    for _, title, text in FENCE.findall(page):
        assert title not in blocks, f"two blocks titled {title!r} in {TUTORIAL}"
        blocks[title] = text
    return blocks


def package_files(blocks: dict[str, str]) -> dict[str, str]:
    """The blocks titled with a path in the package folder: relative path -> text."""
    return {
        title.removeprefix(f"{PACKAGE_FOLDER}/"): text
        for title, text in blocks.items()
        if title.startswith(f"{PACKAGE_FOLDER}/")
    }


def command_lines(block: str, start: str) -> list[list[str]]:
    """The block's command lines that start with ``start``, split as a shell would."""
    return [shlex.split(line) for line in block.splitlines() if line.startswith(start)]


def test_the_tutorial_gives_every_file_of_the_plugin_package():
    blocks = titled_blocks(TUTORIAL.read_text())
    files = package_files(blocks)
    assert set(files) == {"pyproject.toml", "my_task/__init__.py"}, files
    project = tomllib.loads(files["pyproject.toml"])
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    assert project["project"]["dependencies"] == ["saw-bench"]
    assert project["project"]["entry-points"]["saw_bench.envs"] == {"my_task": "my_task"}
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["my_task"]
    install = blocks["terminal: install and train"]
    assert ["pip", "install", "-e", "."] in command_lines(install, "pip ")


def registered_id_and_alias(init_text: str) -> tuple[str, str]:
    (env_id,) = re.findall(r'\bid="([^"]+)"', init_text)
    (alias,) = re.findall(r'\balias="([^"]+)"', init_text)
    return env_id, alias


def run_checked(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{shlex.join(command)} exited {done.returncode}:\n" + (
        done.stdout[-3000:] + done.stderr[-3000:]
    )
    return done


def test_the_package_the_tutorial_makes_installs_registers_and_trains(tmp_path, small_model):
    setuptools = pytest.importorskip("setuptools", reason="the package builds with setuptools")
    old = tuple(map(int, setuptools.__version__.split(".")[:2])) < (70, 1)
    if old and importlib.util.find_spec("wheel") is None:
        pytest.skip("setuptools before 70.1 builds editable installs with wheel, not installed")
    blocks = titled_blocks(TUTORIAL.read_text())
    files = package_files(blocks)
    project_name = tomllib.loads(files["pyproject.toml"])["project"]["name"]
    env_id, alias = registered_id_and_alias(files["my_task/__init__.py"])
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(project_name)  # not left over from an earlier run

    # The tutorial's commands run with this interpreter's python and pip.
    env = dict(os.environ, SAW_BENCH_CACHE=str(tmp_path / "cache"))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    run_checked(["bash", "-e", "-c", blocks["terminal: copy the template"]], cwd=tmp_path, env=env)
    package = tmp_path / PACKAGE_FOLDER
    copied = {path.name for path in (package / "my_task").iterdir()}
    assert copied == {"README.md", "__init__.py", "task.py", "data.py", "rewards.py"}
    for relative, text in files.items():
        (package / relative).write_text(text)

    pip = [sys.executable, "-m", "pip"]
    install = [*pip, "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-e"]
    try:
        run_checked([*install, str(package)], env=env)
        # from another folder: the package is found through the install, not the working directory
        listing = run_checked([sys.executable, "-m", "saw_bench", "list"], cwd=tmp_path, env=env)
        assert f"{env_id} (alias: {alias})" in listing.stdout
        (tutorial_run,) = command_lines(
            blocks["terminal: install and train"], "python -m saw_bench run"
        )
        assert tutorial_run[tutorial_run.index("--task") + 1] == alias
        small = ["--steps", "2", "--model", small_model, "--max-new-tokens", "8", "--threads", "1"]
        small += ["--set", "prompts_per_step=2", "--set", "group_size=2", "--set", "eval_items=4"]
        out = tmp_path / "run"
        run = [sys.executable, *tutorial_run[1:], *small, "--out", str(out)]
        run_checked(run, cwd=tmp_path, env=env)
        assert env_id in (out / "config.json").read_text()
        assert len((out / "metrics.jsonl").read_text().splitlines()) == 2  # one row a step
    finally:
        run_checked([*pip, "uninstall", "-y", "-q", project_name], env=env)
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution(project_name)
