"""The package's layers: no import circles, and every import points down the layers.

Imports are read with ``ast`` from every module of ``saw_bench/`` and ``envs/`` (installed as
``saw_bench.envs``), wherever they stand: module level, inside functions, under TYPE_CHECKING.
Importing ``a.b.c`` also runs the ``__init__`` of ``a.b``, so that package counts as imported
too (the root ``saw_bench`` excepted: every module runs it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: rank of each layer: a module may import its own layer or a lower rank, nothing else
LAYERS = {
    "core": 0,
    "envs": 1,
    "weighting": 1,
    "policy": 2,
    "training": 3,
    "integrations": 4,
    "harness": 5,
    "leaderboard": 6,
    "top": 7,
}


def module_files(
    roots: tuple[tuple[Path, str], ...] = (
        (ROOT / "saw_bench", "saw_bench"),
        (ROOT / "envs", "saw_bench.envs"),
    ),
) -> dict[str, Path]:
    """Dotted module name -> source file, for each (folder, package name) in ``roots``:
    saw_bench/ and envs/ (installed as saw_bench.envs) by default."""
    modules = {}
    for base, prefix in roots:
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([prefix, *parts])] = path
    return modules


def is_package(name: str, modules: dict[str, Path]) -> bool:
    return modules[name].name == "__init__.py"


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the project modules it imports (explicitly, or as a package on the way)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if is_package(name, modules) else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:  # ``from pkg import module`` imports the module
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        edges = set()
        for target in targets:
            while target and target not in modules:  # ``import a.b.C``-style: nearest module
                target = target.rpartition(".")[0]
            if not target:
                continue  # not ours
            parts = target.split(".")
            for depth in range(2, len(parts) + 1):  # the target and the packages on its way
                step = ".".join(parts[:depth])
                if step in modules and not (name + ".").startswith(step + "."):
                    edges.add(step)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "top"  # saw_bench itself, cli, __main__


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            here, there = layer(source), layer(target)
            if here != there and LAYERS[there] >= LAYERS[here]:
                wrong.append(f"{source} ({here}) imports {target} ({there})")
    return wrong


def test_saw_bench_and_envs_have_no_import_circles():
    graph = import_graph(module_files())
    assert len(graph) > 60  # every module was read
    assert cycles(graph) == []


def test_every_import_points_down_the_layers():
    graph = import_graph(module_files())
    assert layer_violations(graph) == []


def test_the_checks_see_circles_inside_functions_and_upward_imports(tmp_path):
    """The walk itself: a circle closed by an import inside a function, a relative import
    and an arrow from core to training are all found."""
    package = tmp_path / "saw_bench"
    (package / "core").mkdir(parents=True)
    (package / "training").mkdir()
    files = {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/task.py": "def later():\n    from saw_bench.training import loop\n",
        "training/__init__.py": "",
        "training/loop.py": "from ..core import task\n",
    }
    for relative, text in files.items():
        (package / relative).write_text(text)
    graph = import_graph(module_files(((package, "saw_bench"),)))
    assert graph["saw_bench.training.loop"] == {"saw_bench.core", "saw_bench.core.task"}
    assert ["saw_bench.core.task", "saw_bench.training.loop"] in [
        [m for m in c if m.count(".") == 2] for c in cycles(graph)
    ]
    assert layer_violations(graph) == [
        "saw_bench.core.task (core) imports saw_bench.training (training)",
        "saw_bench.core.task (core) imports saw_bench.training.loop (training)",
    ]


def test_importing_saw_bench_installs_no_import_hook_and_specs_name_the_env_class():
    import importlib
    import sys

    import saw_bench
    from saw_bench.core.env import TextEnv

    assert not [f for f in sys.meta_path if type(f).__module__.startswith("saw_bench")]
    entry = saw_bench.make("saw/ToolCall-Synth-v0").spec.entry_point
    assert entry == "saw_bench.core.env:TextEnv"
    module, name = entry.split(":")
    assert getattr(importlib.import_module(module), name) is TextEnv
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("saw_bench.trainer")  # the flat layout that never shipped
