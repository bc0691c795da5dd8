"""Registration of saw-bench environments, aliases and plug-ins.

Every environment is a Gymnasium registration under the ``saw/`` namespace whose entry point is
the string ``"saw_bench.core.env:TextEnv"`` and whose kwargs name the task class as a
``"module:Class"`` string, so ``EnvSpec.to_json()`` works and nothing is imported before use.
Run configs record the whole spec; the leaderboard hashes only its id and kwargs (module paths
left out), so results stay comparable when code moves.

Other packages add environments without forking saw-bench by declaring an entry point in the
group ``saw_bench.envs`` that names a module (its import runs its ``register`` calls) or a
callable (called with no arguments). Plug-ins are loaded when ``saw_bench`` is imported.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import gymnasium
from gymnasium.envs.registration import EnvSpec

from saw_bench.core.errors import UnknownTaskError
from saw_bench.core.task import TextTask

NAMESPACE = "saw"
ENTRY_POINT = "saw_bench.core.env:TextEnv"
PLUGIN_GROUP = "saw_bench.envs"


@dataclass(frozen=True)
class Registration:
    """What saw-bench knows about one id beyond the Gymnasium spec."""

    env_id: str
    task: str
    alias: str | None
    description: str
    #: Aliases that named this id in earlier saw-bench versions (runs recorded them).
    former_aliases: tuple[str, ...] = ()


_REGISTRATIONS: dict[str, Registration] = {}
_ALIASES: dict[str, str] = {}
_LOADED_PLUGINS: set[str] = set()


def register(
    id: str,  # noqa: A002 - the same keyword as gymnasium.register
    task: str,
    *,
    alias: str | None = None,
    description: str = "",
    former_aliases: tuple[str, ...] = (),
    **kwargs: Any,
) -> None:
    """Register a TextTask under ``saw/<Name>-vN``.

    ``task`` is the task class as ``"package.module:Class"``; ``kwargs`` are passed to it
    (variants are extra ids with other kwargs). ``alias`` is a short name for the CLI;
    ``former_aliases`` are short names that stood for this id before a newer version took them,
    so the records that name it that way still check (:func:`names_of`).

    Every id, shipped or from a plug-in, is in the ``saw/`` namespace: saw-bench has one
    registry and one leaderboard keyed by these ids, kept apart from the other environments in
    Gymnasium's registry, and every verb accepts an id without its namespace.
    """
    if not id.startswith(f"{NAMESPACE}/"):
        raise ValueError(
            f"saw-bench ids live in the {NAMESPACE!r} namespace (one registry and one leaderboard "
            f"for every family), but got {id!r}; use {NAMESPACE + '/' + id.rpartition('/')[2]!r}"
        )
    if ":" not in task:
        raise ValueError(f"task must be a 'module:Class' string, but got {task!r}")
    if alias is not None and alias in _ALIASES and _ALIASES[alias] != id:
        raise ValueError(f"alias {alias!r} already names {_ALIASES[alias]!r}")
    gymnasium.register(
        id=id,
        entry_point=ENTRY_POINT,
        kwargs={"task": task, **kwargs},
        order_enforce=False,  # TextEnv checks the reset/step order itself
        disable_env_checker=True,  # vector rewards are not what the passive checker expects
    )
    _REGISTRATIONS[id] = Registration(id, task, alias, description, tuple(former_aliases))
    if alias is not None:
        _ALIASES[alias] = id


def unregister(env_id: str) -> None:
    """Remove an id (and its alias) from saw-bench and Gymnasium; unknown ids are ignored."""
    registration = _REGISTRATIONS.pop(env_id, None)
    gymnasium.registry.pop(env_id, None)
    if registration is not None and registration.alias is not None:
        _ALIASES.pop(registration.alias, None)


def registered_ids() -> list[str]:
    """Every registered saw-bench id, sorted."""
    return sorted(_REGISTRATIONS)


def names_of(env_id: str) -> set[str]:
    """Every name that stands, or stood, for ``env_id``: the id with and without its namespace
    (as :func:`resolve` takes it), its alias and its former aliases (an unregistered id: itself
    only)."""
    registration = _REGISTRATIONS.get(env_id)
    if registration is None:
        return {env_id}
    names = {env_id, env_id.removeprefix(f"{NAMESPACE}/"), *registration.former_aliases}
    return names | ({registration.alias} if registration.alias else set())


def aliases() -> dict[str, str]:
    """Short names and the ids they stand for."""
    return dict(_ALIASES)


def registration(env_id: str) -> Registration:
    return _REGISTRATIONS[resolve(env_id)]


def resolve(name: str) -> str:
    """The registered id for an id, an alias, or an id given without the ``saw/`` namespace."""
    if not isinstance(name, str):
        raise UnknownTaskError(f"a task id must be a string, but got {type(name).__name__}")
    if name in _REGISTRATIONS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    if f"{NAMESPACE}/{name}" in _REGISTRATIONS:
        return f"{NAMESPACE}/{name}"
    # Compare against ids with and without the namespace, and aliases, case-insensitively.
    spellings = {alias.lower(): alias for alias in _ALIASES}
    for env_id in registered_ids():
        spellings[env_id.lower()] = env_id
        spellings[env_id.removeprefix(f"{NAMESPACE}/").lower()] = env_id
    close = difflib.get_close_matches(name.lower(), list(spellings), n=5, cutoff=0.6)
    suggestions = list(dict.fromkeys(spellings[match] for match in close))[:3]
    hint = f" Did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
    raise UnknownTaskError(
        f"unknown task {name!r}.{hint} Registered ids: {', '.join(registered_ids())}; "
        f"aliases: {', '.join(f'{a} -> {i}' for a, i in sorted(_ALIASES.items()))}"
    )


def spec(name: str) -> EnvSpec:
    return gymnasium.spec(resolve(name))


def import_object(path: str) -> Any:
    """Import ``"package.module:Name"``."""
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attribute!r}") from None


def build_task(task: str, **kwargs: Any) -> TextTask:
    """Instantiate a task class given as ``"module:Class"`` with its kwargs."""
    task_class = import_object(task)
    if not (isinstance(task_class, type) and issubclass(task_class, TextTask)):
        raise TypeError(f"{task!r} is not a TextTask subclass")
    return task_class(**kwargs)


def load_task(name: str, **kwargs: Any) -> TextTask:
    """The TextTask behind a registered id or alias, for batch scoring and training.

    ``kwargs`` override the registered ones, exactly as they would in :func:`make`.
    """
    env_spec = spec(name)
    merged = dict(env_spec.kwargs)
    merged.update(kwargs)
    task = merged.pop("task")
    for env_only in ("split", "render_mode"):
        merged.pop(env_only, None)
    return build_task(task, **merged)


def make(name: str, **kwargs: Any) -> gymnasium.Env:
    """``gymnasium.make`` for a saw-bench id or alias; returns the environment itself.

    No wrappers are added, so ``env.reward_space``, ``env.reward_dim`` and
    ``env.objective_names`` are reachable directly (as with ``mo_gymnasium.make``).
    """
    return gymnasium.make(resolve(name), **kwargs)


def load_plugins() -> list[str]:
    """Load every ``saw_bench.envs`` entry point not loaded yet; returns their names.

    A broken plug-in is reported as a warning and skipped, so it cannot break saw-bench itself.
    """
    loaded = []
    for entry_point in entry_points(group=PLUGIN_GROUP):
        key = f"{entry_point.name}={entry_point.value}"
        if key in _LOADED_PLUGINS:
            continue
        _LOADED_PLUGINS.add(key)
        try:
            target = entry_point.load()
            if callable(target):
                target()
        except Exception as error:  # noqa: BLE001 - a plug-in's failure must not stop saw-bench
            warnings.warn(
                f"saw-bench could not load environment plug-in {entry_point.name!r} "
                f"({entry_point.value}): {type(error).__name__}: {error}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        loaded.append(entry_point.name)
    return loaded
