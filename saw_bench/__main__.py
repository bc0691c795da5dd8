"""Command line: ``python -m saw_bench <verb> ...``. Each verb calls one library function.

Errors a user can cause (unknown task, agent or estimator, bad values, bad config files) print
one line naming the bad value and the choices, and exit with code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saw_bench.errors import SawBenchError


def list_everything() -> str:
    """Every registered task (id, alias, objectives with bounds), estimator and agent."""
    import saw_bench
    from saw_bench.estimators import ESTIMATORS
    from saw_bench.registry import import_object, registration
    from saw_bench.task import format_objectives
    from saw_bench.weighting import AGENTS

    aliases = {env_id: alias for alias, env_id in saw_bench.aliases().items()}
    lines = ["Tasks (--task ID or alias):"]
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
    lines.append("Estimators (--estimator):")
    lines += [f"  {name:<14} {description}" for name, (_, description) in ESTIMATORS.items()]
    lines.append("Weighting agents (--weighting):")
    lines += [f"  {name:<14} {agent.description}" for name, agent in sorted(AGENTS.items())]
    return "\n".join(lines)


def load_config_file(path: Path) -> dict[str, Any]:
    """A TOML file of TrainConfig fields (top level, or under a [train] table)."""
    from saw_bench.trainer import TrainConfig

    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SawBenchError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SawBenchError(f"config file {path} is not valid TOML: {error}") from None
    data = data.get("train", data)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise SawBenchError(
            f"config file {path}: unknown key(s) {unknown}; valid keys: {', '.join(sorted(fields))}"
        )
    return data


def run_command(args: argparse.Namespace) -> str:
    """Train with the CLI's flags (over the config file's values); returns the final table."""
    from saw_bench.trainer import train

    if args.resume:
        run_dir = train(resume=args.resume, steps=args.steps, progress=True)
    else:
        options = load_config_file(Path(args.config)) if args.config else {}
        flags = {
            "task": args.task, "weighting": args.weighting, "estimator": args.estimator,
            "steps": args.steps, "seed": args.seed, "model": args.model, "device": args.device,
        }
        options.update({key: value for key, value in flags.items() if value is not None})
        run_dir = train(out_dir=args.out, progress=True, **options)
    return summary_table(run_dir)


def summary_table(run_dir: Path) -> str:
    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    lines = [
        f"{summary['task_id']}  {summary['estimator']} + {summary['weighting']}  "
        f"seed {summary['seed']}  {summary['steps']} steps",
        f"{'objective':<14}{'start':>10}{'final':>10}",
    ]
    for name, final in summary["final"].items():
        lines.append(f"{name:<14}{summary['initial'].get(name, float('nan')):>10.3f}{final:>10.3f}")
    lines.append(f"normalised aggregate (0-1): {summary['final_normalised']:.3f}")
    if summary.get("normalised_auc") is not None:
        lines.append(f"normalised area under the eval curve: {summary['normalised_auc']:.3f}")
    if summary.get("seconds_per_step") is not None:
        lines.append(
            f"seconds per step: {summary['seconds_per_step']:.2f}; weighting overhead "
            f"{100 * summary['weighting_overhead']:.2f}% of step time"
        )
    lines.append(f"run folder: {run_dir}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m saw_bench",
        description="saw-bench: multi-objective RL benchmark for language models",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list tasks, estimators and weighting agents")

    prepare = verbs.add_parser("prepare", help="build the tiny embedded policy ahead of a run")
    prepare.add_argument("--task", default="toolcall", help="task id or alias (default toolcall)")

    run = verbs.add_parser("run", help="train a policy on a task with a weighting agent")
    run.add_argument("--task", help="task id or alias (default toolcall)")
    run.add_argument("--weighting", help="weighting agent (default static)")
    run.add_argument("--estimator", help="grpo or gdpo (default grpo)")
    run.add_argument("--steps", type=int, help="training steps (default 40)")
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--model", help="'tiny' (default) or a Hugging Face id or local path")
    run.add_argument("--device", help="auto (default), cpu or cuda")
    run.add_argument("--out", help="run folder (default runs/<task>-<estimator>-<agent>-...)")
    run.add_argument("--config", help="TOML file of training options")
    run.add_argument("--resume", help="continue the run in this folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "list":
            print(list_everything())
        elif args.verb == "prepare":
            from saw_bench import registry
            from saw_bench.policy import prepare

            print(f"tiny policy ready: {prepare(registry.resolve(args.task), progress=True)}")
        elif args.verb == "run":
            print(run_command(args))
    except SawBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
