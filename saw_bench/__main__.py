"""Command line: ``python -m saw_bench <verb> ...``. Each verb calls one library function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from saw_bench.errors import SawBenchError


def list_tasks() -> str:
    """Every registered task: id, alias, objectives with bounds, description."""
    import saw_bench
    from saw_bench.registry import import_object, registration
    from saw_bench.task import format_objectives

    aliases = {env_id: alias for alias, env_id in saw_bench.aliases().items()}
    lines = ["Tasks (python -m saw_bench run --task ID_OR_ALIAS):"]
    for env_id in saw_bench.registered_ids():
        entry = registration(env_id)
        spec_kwargs = saw_bench.registry.spec(env_id).kwargs
        task_class = import_object(entry.task)
        task_kwargs = {k: v for k, v in spec_kwargs.items() if k != "task"}
        objectives = format_objectives(task_class.objectives_for(**task_kwargs))
        alias = f" (alias: {aliases[env_id]})" if env_id in aliases else ""
        lines.append(f"  {env_id}{alias}")
        lines.append(f"      objectives: {objectives}")
        if entry.description:
            lines.append(f"      {entry.description}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saw_bench",
        description="saw-bench: multi-objective RL benchmark for language models",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list the registered tasks with their objectives")
    args = parser.parse_args(argv)
    try:
        if args.verb == "list":
            print(list_tasks())
    except SawBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
