"""The package's layers: no import circles, and every import points down the layers.

Imports are read with ``ast`` from every module of ``saw_bench/`` and ``envs/`` (installed as
``saw_bench.envs``), wherever they stand: module level, inside functions, under TYPE_CHECKING.
Importing ``a.b.c`` also runs the ``__init__`` of ``a.b``, so that package counts as imported
too (the root ``saw_bench`` excepted: every module runs it).
"""

from __future__ import annotations

import ast
import warnings
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
    return "top"  # saw_bench itself, cli, __main__, _moved


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


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("saw_bench.trainer", "TrainConfig", "saw_bench.training.config"),
        ("saw_bench.trainer", "train", "saw_bench.harness.run"),
        ("saw_bench.analysis", "compare", "saw_bench.harness.analysis"),
        ("saw_bench.analysis", "load_runs", "saw_bench.harness.runs"),
        ("saw_bench.runio", "read_jsonl", "saw_bench.core.files"),
        ("saw_bench.registry", "register", "saw_bench.core.registry"),
        ("saw_bench.sweep", "run_one", "saw_bench.harness.sweep"),
        ("saw_bench.estimators", "group_normalise", "saw_bench.core.scores"),
        ("saw_bench.runs", "aggregate_score", "saw_bench.core.scores"),
    ],
)
def test_earlier_import_paths_resolve_to_the_new_homes_with_a_warning(old, name, new):
    import importlib

    import saw_bench  # noqa: F401 - installs the finder

    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\."):
        value = getattr(module, name)
    new_name = "normalised_aggregate" if name == "aggregate_score" else name
    assert value is getattr(importlib.import_module(new), new_name)


def test_an_earlier_path_without_the_name_says_where_its_contents_went():
    import saw_bench.trainer as old

    with pytest.raises(
        AttributeError,
        match=r"saw_bench.trainer was split up: 'no_such'.*"
        r"saw_bench.training",
    ):
        old.no_such  # noqa: B018


def test_the_env_entry_point_of_recorded_specs_is_the_same_class_without_a_warning():
    import importlib

    import saw_bench
    from saw_bench.core.env import TextEnv

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entry = importlib.import_module("saw_bench.env").TextEnv
    assert entry is TextEnv
    assert saw_bench.make("saw/ToolCall-Synth-v0").spec.entry_point == "saw_bench.env:TextEnv"
