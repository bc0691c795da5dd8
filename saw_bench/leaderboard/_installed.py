"""What the installed saw-bench says about a task: its spec hash, data hash and objectives.

A submission is comparable with the installed benchmark only when its environment id is
registered under the same version and the spec and data hashes match (Gymnasium's rule: bump
``-vN`` when data, prompt, scorer or bounds change). The spec hash covers the id and the kwargs,
not the module paths (see :func:`~saw_bench.leaderboard._runs.env_spec_sha256`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from saw_bench.core import registry
from saw_bench.core.errors import SawBenchError
from saw_bench.leaderboard._runs import env_spec_sha256


@dataclass(frozen=True)
class InstalledTask:
    env_id: str
    env_spec_sha256: str
    data_sha256: str
    objectives: tuple[tuple[str, float, float], ...]  # (name, low, high)


def installed_task(env_id: str) -> InstalledTask:
    """The installed task registered exactly as ``env_id`` (no aliases); SawBenchError names
    the installed versions when only another version of the environment is registered."""
    registered = registry.registered_ids()
    if env_id not in registered:
        base = re.sub(r"-v[0-9]+$", "", env_id)
        versions = [other for other in registered if re.sub(r"-v[0-9]+$", "", other) == base]
        if versions:
            raise SawBenchError(
                f"environment version mismatch: {env_id} is not installed, this saw-bench has "
                f"{', '.join(versions)} (scores of different versions are not comparable)"
            )
        raise SawBenchError(f"unknown task {env_id!r}; installed tasks: {', '.join(registered)}")
    spec_json = registry.spec(env_id).to_json()
    return _describe(env_id, spec_json)


@functools.lru_cache(maxsize=64)
def _describe(env_id: str, spec_json: str) -> InstalledTask:
    """Cached per id and spec: building a task and hashing its data can take seconds."""
    try:
        task = registry.load_task(env_id)
        data_sha256 = task.data_fingerprint()
    except SawBenchError:
        raise
    except Exception as error:  # noqa: BLE001 - a task that cannot be built is a user problem
        raise SawBenchError(
            f"task {env_id} cannot be built here ({type(error).__name__}: {error}); "
            "its data hash cannot be checked"
        ) from None
    return InstalledTask(
        env_id=env_id,
        env_spec_sha256=env_spec_sha256(json.loads(spec_json)),
        data_sha256=data_sha256,
        objectives=tuple((o.name, float(o.low), float(o.high)) for o in task.objectives),
    )
