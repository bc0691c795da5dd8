"""Import paths of saw-bench's earlier flat layout, kept working.

``saw_bench`` used to be one folder of modules (``saw_bench.trainer``, ``saw_bench.analysis``,
...); they now live in the subpackages ``core``, ``training`` and ``harness``. Code written
against the old paths keeps running: ``import saw_bench.trainer`` gives a stand-in module whose
names resolve to their new homes, with a :class:`DeprecationWarning` naming the new path; a name
that no longer exists raises an AttributeError that says where the module's contents went.

``saw_bench.env`` is not deprecated: it is the entry point (``saw_bench.env:TextEnv``) of every
registered Gymnasium spec, which recorded runs hash, so it stays an exact alias of
:mod:`saw_bench.core.env`.

Nothing here is imported statically: the finder resolves the names on first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

#: old module -> the modules its public names moved to, searched in order
MOVED: dict[str, tuple[str, ...]] = {
    "saw_bench.errors": ("saw_bench.core.errors",),
    "saw_bench.task": ("saw_bench.core.task",),
    "saw_bench.spaces": ("saw_bench.core.spaces",),
    "saw_bench.registry": ("saw_bench.core.registry",),
    "saw_bench.invented": ("saw_bench.core.invented",),
    "saw_bench.runio": ("saw_bench.core.files",),
    "saw_bench.estimators": ("saw_bench.training.estimators", "saw_bench.core.scores"),
    "saw_bench.evaluation": ("saw_bench.training.evaluation", "saw_bench.policy"),
    "saw_bench.trainer": (
        "saw_bench.harness.run",
        "saw_bench.training.trainer",
        "saw_bench.training.config",
        "saw_bench.training.record",
        "saw_bench.training.rollouts",
        "saw_bench.core.scores",
        "saw_bench.harness.statistics",
    ),
    "saw_bench.runs": ("saw_bench.harness.runs", "saw_bench.core.scores"),
    "saw_bench.sweep": ("saw_bench.harness.sweep",),
    "saw_bench.analysis": (
        "saw_bench.harness.analysis",
        "saw_bench.harness.runs",
        "saw_bench.harness.statistics",
    ),
    "saw_bench.statistics": ("saw_bench.harness.statistics",),
    "saw_bench.report": ("saw_bench.harness.report",),
}
#: old names whose new name differs
RENAMED: dict[tuple[str, str], tuple[str, str]] = {
    ("saw_bench.trainer", "normalised_score"): ("saw_bench.core.scores", "normalised_aggregate"),
    ("saw_bench.runs", "aggregate_score"): ("saw_bench.core.scores", "normalised_aggregate"),
}
#: exact aliases, without a warning
ALIASES: dict[str, str] = {"saw_bench.env": "saw_bench.core.env"}


def moved_attribute(old: str, name: str) -> Any:
    """``old.name`` looked up in its new home, with a DeprecationWarning naming it."""
    if name.startswith("__"):
        raise AttributeError(name)
    new_module, new_name = RENAMED.get((old, name), (None, name))
    candidates = (new_module,) if new_module else MOVED[old]
    for candidate in candidates:
        module = importlib.import_module(candidate)
        if hasattr(module, new_name):
            value = getattr(module, new_name)
            home = getattr(value, "__module__", None)  # where a class or function is defined
            home = home if isinstance(home, str) and home.startswith("saw_bench.") else candidate
            warnings.warn(
                f"{old}.{name} moved to {home}.{new_name}; import it from there",
                DeprecationWarning,
                stacklevel=3,
            )
            return value
    raise AttributeError(
        f"{old} was split up: {name!r} is in none of its new homes ({', '.join(MOVED[old])})"
    )


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        old = module.__name__
        if old in ALIASES:  # the import system returns what sys.modules holds after this
            sys.modules[old] = importlib.import_module(ALIASES[old])
            return
        module.__doc__ = f"Moved: see {', '.join(MOVED[old])}."
        module.__getattr__ = lambda name: moved_attribute(old, name)  # type: ignore[method-assign]
        module.__dir__ = lambda: sorted(  # type: ignore[method-assign]
            {
                name
                for new in MOVED[old]
                for name in dir(importlib.import_module(new))
                if not name.startswith("_")
            }
        )


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old flat module paths; installed on ``sys.meta_path`` by ``saw_bench``."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED or fullname in ALIASES:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
