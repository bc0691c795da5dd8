"""Command line: ``python -m saw_bench <verb> ...``. Each verb calls one library function.

Errors a user can cause (unknown task, agent or estimator, bad values, bad config files, bad
arguments) print one line naming the bad value and the choices, and exit with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from saw_bench.core.errors import RunInterrupted, SawBenchError


def list_everything() -> str:
    """Every registered task (id, alias, objectives with bounds), estimator and agent."""
    import saw_bench
    from saw_bench.core.registry import import_object, registration, spec
    from saw_bench.core.task import format_objectives
    from saw_bench.training.estimators import ESTIMATORS
    from saw_bench.weighting import AGENTS

    aliases = {env_id: alias for alias, env_id in saw_bench.aliases().items()}
    lines = ["Tasks (--task ID or alias):"]
    for env_id in saw_bench.registered_ids():
        entry = registration(env_id)
        spec_kwargs = spec(env_id).kwargs
        task_class = import_object(entry.task)
        task_kwargs = {k: v for k, v in spec_kwargs.items() if k != "task"}
        objectives = format_objectives(task_class.objectives_for(**task_kwargs))
        alias = f" (alias: {aliases[env_id]})" if env_id in aliases else ""
        lines.append(f"  {env_id}{alias}")
        lines.append(f"      objectives: {objectives}")
        if entry.description:
            lines.append(f"      {entry.description}")
    lines.append("Estimators (--estimator):")
    lines += [f"  {name:<14} {estimator.description}" for name, estimator in ESTIMATORS.items()]
    lines.append("Weighting agents (--weighting):")
    lines += [f"  {name:<14} {agent.description}" for name, agent in sorted(AGENTS.items())]
    return "\n".join(lines)


def load_config_file(path: Path) -> dict[str, Any]:
    """A TOML file of TrainConfig fields (top level, or under a [train] table)."""
    from saw_bench.core.files import read_toml

    data = read_toml(path, "config file")
    return data.get("train", data)


#: TrainConfig fields that ``run`` takes as flags (``--set key=value`` reaches every field)
RUN_FLAGS = (
    "task",
    "weighting",
    "estimator",
    "steps",
    "seed",
    "model",
    "device",
    "dtype",
    "threads",
    "prompts_per_step",
    "group_size",
    "max_new_tokens",
    "temperature",
    "learning_rate",
    "kl_coef",
    "eval_every",
    "eval_items",
    "checkpoint_every",
    "backend",
    "report_to",
)
#: TrainConfig fields that ``sweep`` takes as flags for every run of the grid
SWEEP_FLAGS = ("steps", "model", "backend", "report_to")


def parse_settings(settings: Sequence[str] | None, flag: str = "--set") -> dict[str, Any]:
    """``key=value`` pairs; a value is read as TOML (``3``, ``0.5``, ``true``, ``[1, 2]``,
    ``{a = 1}``, ``"text"``) and otherwise taken as plain text (``model=gpt2``)."""
    import tomllib

    values: dict[str, Any] = {}
    for setting in settings or []:
        key, equals, text = setting.partition("=")
        key = key.strip()
        if not equals or not key:
            raise SawBenchError(f"{flag} takes key=value, but got {setting!r}")
        try:
            values[key] = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            values[key] = text.strip()
    return values


def run_command(args: argparse.Namespace) -> str:
    """Train with the CLI's flags (over --set, over the config file); returns the final table.

    The options are checked once, where the run's TrainConfig is built; an unknown name is
    reported as a key of the file or flag it came from."""
    from saw_bench.core.options import reading
    from saw_bench.training.config import TrainConfig

    if args.resume:
        ignored = [
            f"--{name.replace('_', '-')}"
            for name in RUN_FLAGS
            if name != "steps" and getattr(args, name) is not None
        ]
        ignored += [
            flag
            for flag, value in (("--set", args.set), ("--config", args.config), ("--out", args.out))
            if value
        ]
        if ignored:  # refused, not silently dropped: the run keeps its own options
            raise SawBenchError(
                f"--resume continues the run with the options in its config.json; only --steps "
                f"and --log-every apply, but got {', '.join(ignored)} (start a new run with "
                "--out to change options)"
            )
        from saw_bench.harness.run import train

        run_dir = train(
            resume=args.resume, steps=args.steps, progress=True, log_every=args.log_every
        )
    else:
        from_file = load_config_file(Path(args.config)) if args.config else {}
        settings = parse_settings(args.set)
        flags = {name: getattr(args, name) for name in RUN_FLAGS}
        options = {**from_file, **settings}
        options.update({key: value for key, value in flags.items() if value is not None})
        with reading(f"config file {args.config}", from_file), reading("--set", settings):
            config = TrainConfig(**options)  # checked before torch is imported
        from saw_bench.harness.run import train_config

        run_dir = train_config(config, out_dir=args.out, progress=True, log_every=args.log_every)
    rank = _launched_rank()
    if rank:  # another process of `accelerate launch`: the main one writes and prints the summary
        return f"run folder: {run_dir} (process {rank} of a multi-process run)"
    from saw_bench.harness.run import summary_table

    return summary_table(run_dir)


def _launched_rank() -> int:
    """This process's rank under ``accelerate launch``/``torchrun`` (0 when launched alone).

    Read from the launcher's ``WORLD_SIZE`` and ``RANK``: a finished multi-process run has
    already ended its torch.distributed group, so the group can no longer say.
    """
    size, rank = os.environ.get("WORLD_SIZE", "1"), os.environ.get("RANK", "0")
    if not (size.isdigit() and int(size) > 1 and rank.isdigit()):
        return 0
    return int(rank)


def sweep_command(args: argparse.Namespace) -> str:
    """A sweep from a TOML file and/or flags (flags win); returns the comparison table."""
    import dataclasses

    from saw_bench.core.options import reading
    from saw_bench.harness.sweep import SweepSpec, load_spec, sweep

    spec = load_spec(Path(args.config)) if args.config else SweepSpec()
    changes: dict[str, Any] = {}
    for flag, name in (("task", "tasks"), ("estimator", "estimators"), ("weighting", "weightings")):
        values = _split_list(getattr(args, flag))
        if values:
            changes[name] = values
    if args.seeds:
        changes["seeds"] = [_integer("--seeds", value) for value in _split_list(args.seeds)]
    if args.workers is not None:
        changes["workers"] = args.workers
    if args.no_batch:
        changes["batch"] = False
    flags = {name: getattr(args, name) for name in SWEEP_FLAGS if getattr(args, name) is not None}
    settings = parse_settings(args.set)
    if flags or settings:
        changes["train"] = {**spec.train, **flags, **settings}
    with reading("--set", settings):
        spec = dataclasses.replace(spec, **changes)  # the merged spec, checked where built
    out = Path(args.out) if args.out else Path("sweeps") / time.strftime("sweep-%Y%m%d-%H%M%S")
    resources = {"num_cpus": args.ray_cpus, "num_gpus": args.ray_gpus}
    folder = sweep(
        spec,
        out,
        log=lambda message: print(message, flush=True),
        ray_address=args.ray,
        ray_resources={key: value for key, value in resources.items() if value is not None},
    )
    from saw_bench.harness.report import compare_command

    return compare_command([str(folder)], out=folder)  # the sweep's own folder


def _split_list(values: list[str] | None) -> list[str]:
    """Repeated and/or comma-separated flag values, in order."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _integer(flag: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SawBenchError(f"{flag} takes integers, but got {value!r}") from None


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: argument --steps: invalid int value: 'abc'
    (python -m saw_bench run --help)`` and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} ({self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from saw_bench.training.config import describe_options

    parser = ArgumentParser(
        prog="python -m saw_bench",
        description="saw-bench: multi-objective RL benchmark for language models",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list tasks, estimators and weighting agents")
    verbs.add_parser("config", help="list every training option with its default")

    prepare = verbs.add_parser("prepare", help="build the tiny embedded policy ahead of a run")
    prepare.add_argument("--task", default="toolcall", help="task id or alias (default toolcall)")

    run = verbs.add_parser(
        "run",
        help="train a policy on a task with a weighting agent",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="training options (TOML key, default, meaning); set any with --set key=value "
        "or in --config FILE:\n" + describe_options(),
    )
    for name in RUN_FLAGS:
        _add_option_flag(run, name)
    run.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="any training option, e.g. --set kl_coef=0.05 --set 'priorities=[2, 1]'",
    )
    run.add_argument("--out", help="run folder (default runs/<task>-<estimator>-<agent>-...)")
    run.add_argument("--config", help="TOML file of training options (flags override it)")
    run.add_argument("--resume", help="continue the run in this folder")
    run.add_argument(
        "--log-every",
        type=int,
        default=1,
        metavar="N",
        help="without a terminal, print a progress line every N steps (default 1)",
    )

    sweep = verbs.add_parser(
        "sweep", help="run a grid of tasks x estimators x agents x seeds (resumable)"
    )
    sweep.add_argument(
        "--config", help="TOML sweep file (tasks, estimators, weightings, seeds, workers, [train])"
    )
    sweep.add_argument("--task", action="append", help="task ids or aliases (comma-separated)")
    sweep.add_argument("--estimator", action="append", help="estimators (comma-separated)")
    sweep.add_argument("--weighting", action="append", help="agents (comma-separated)")
    sweep.add_argument("--seeds", action="append", help="seeds, e.g. 0,1,2")
    for name in SWEEP_FLAGS:
        _add_option_flag(sweep, name, every_run=True)
    sweep.add_argument("--workers", type=int, help="parallel runs (default: cores / 2)")
    sweep.add_argument(
        "--no-batch",
        action="store_true",
        help="train every run in a process of its own (default: runs that share task, model "
        "and shapes train as one batched model where the fast path covers the model)",
    )
    sweep.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the grid points as tasks on a Ray cluster: its address, 'auto' (the cluster "
        "this machine belongs to) or 'local' (start one here); needs pip install "
        "'saw-bench[ray]'",
    )
    sweep.add_argument(
        "--ray-cpus", type=float, metavar="N", help="CPUs each run reserves on Ray (default 1)"
    )
    sweep.add_argument(
        "--ray-gpus", type=float, metavar="N", help="GPUs each run reserves on Ray (default 0)"
    )
    sweep.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a training option of every run (python -m saw_bench config lists them)",
    )
    sweep.add_argument(
        "--out", help="sweep folder (default sweeps/sweep-<time>); an existing one is resumed"
    )

    compare = verbs.add_parser("compare", help="compare agents across seeds (table, CSV, PNG)")
    compare.add_argument("paths", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    compare.add_argument(
        "--out",
        help="folder for comparison.csv and comparison.png (default comparisons/compare-<time>)",
    )
    compare.add_argument("--csv", help="write the table as CSV here instead")
    compare.add_argument("--png", help="write the curves plot here instead")
    compare.add_argument(
        "--threshold",
        type=float,
        default=0.9,
        help="share of static's gain (first to final aggregate) to reach (default 0.9)",
    )
    compare.add_argument(
        "--absolute-threshold",
        type=float,
        help="a normalised aggregate in (0, 1] every agent must reach, instead of the share "
        "of static's gain (for comparisons without static runs)",
    )

    diagnose = verbs.add_parser(
        "diagnose", help="how asynchronously a run's objectives are learned (asynchrony index)"
    )
    diagnose.add_argument("paths", nargs="+", metavar="RUN_DIR")

    report = verbs.add_parser("report", help="one self-contained HTML page of runs or a sweep")
    report.add_argument("paths", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    report.add_argument("--out", help="folder for report.html (default reports/report-<time>)")
    report.add_argument("--html", help="write the HTML page here instead")

    evaluate = verbs.add_parser("eval", help="held-out evaluation of a saved policy")
    evaluate.add_argument("--task", help="task id or alias (default: the run's task, or toolcall)")
    evaluate.add_argument(
        "--model",
        default="tiny",
        help="'tiny', a Hugging Face id, a model folder or a run folder",
    )
    evaluate.add_argument("--items", type=int, help="evaluate the first N test items (strided)")
    evaluate.add_argument("--temperature", type=float, default=0.0, help="0 (default) is greedy")
    evaluate.add_argument("--max-new-tokens", type=int, help="default: the run's, or 96")
    evaluate.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    evaluate.add_argument("--json", help="also write the result as JSON here")

    submit = verbs.add_parser("submit", help="build leaderboard submissions from runs")
    submit.add_argument("paths", nargs="+", metavar="RUN_OR_SWEEP_DIR")
    submit.add_argument("--name", required=True, help="submission name (the agent's label)")
    submit.add_argument("--submitter", default="anonymous", help="who submits (default anonymous)")

    board = verbs.add_parser(
        "leaderboard", help="validate or build the leaderboard, or rerun a submission's seed"
    )
    board.add_argument("action", choices=("validate", "build", "reproduce"))
    board.add_argument(
        "submission",
        nargs="?",
        metavar="SUBMISSION",
        help="reproduce: a submission file or id, whose seed is rerun and compared",
    )
    board.add_argument("--seed", type=int, help="reproduce: the seed to rerun (default: first)")
    board.add_argument("--root", default="leaderboard", help="leaderboard folder")
    board.add_argument(
        "--correction",
        choices=("holm", "bh"),
        default="holm",
        help="build: multiplicity correction of each verdict family, holm (default: "
        "family-wise error) or bh (Benjamini-Hochberg: false discovery rate)",
    )
    return parser


def _add_option_flag(parser: argparse.ArgumentParser, name: str, every_run: bool = False) -> None:
    """``--name-with-dashes`` for the TrainConfig field ``name``: its type, choices, help and
    default come from the field. The value is checked where the TrainConfig is built."""
    from saw_bench.training.config import OPTION_TYPES, default_value, option_choices, option_help

    default = default_value(name)
    shown = "" if default is None else f" (default {default})"
    choices = option_choices(name)
    parser.add_argument(
        f"--{name.replace('_', '-')}",
        dest=name,
        type=_flag_type(OPTION_TYPES[name]),
        metavar=f"{{{','.join(choices)}}}" if choices and len(choices) <= 4 else name.upper(),
        help=f"{'every run: ' if every_run else ''}{option_help(name)}{shown}",
    )


def _flag_type(hint: Any) -> Any:
    """How a flag's text is read for a TrainConfig field of type ``hint``: as a float when
    the field takes numbers, an int when it takes integers (``X | None`` too), else as text."""
    members = typing.get_args(hint) or (hint,)
    for kind in (float, int):
        if kind in members:
            return kind
    return str


def eval_command(args: argparse.Namespace) -> str:
    from saw_bench.core.files import write_json_atomic
    from saw_bench.training.evaluation import evaluate_policy, format_evaluation

    result = evaluate_policy(
        args.task,
        args.model,
        items=args.items,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
    )
    if args.json:
        write_json_atomic(Path(args.json), result)
    return format_evaluation(result)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "list":
            print(list_everything())
        elif args.verb == "config":
            from saw_bench.training.config import describe_options

            print("training options (TOML key, default, meaning):")
            print(describe_options())
        elif args.verb == "prepare":
            from saw_bench.core import registry
            from saw_bench.policy import prepare

            print(f"tiny policy ready: {prepare(registry.resolve(args.task), progress=True)}")
        elif args.verb == "run":
            print(run_command(args))
        elif args.verb == "sweep":
            print(sweep_command(args))
        elif args.verb == "compare":
            from saw_bench.harness.report import compare_command

            print(
                compare_command(
                    args.paths,
                    csv=args.csv,
                    png=args.png,
                    threshold=args.threshold,
                    out=args.out,
                    absolute_threshold=args.absolute_threshold,
                )
            )
        elif args.verb == "diagnose":
            from saw_bench.harness.diagnose import diagnose_command

            print(diagnose_command(args.paths))
        elif args.verb == "report":
            from saw_bench.harness.report import report_command

            print(report_command(args.paths, html=args.html, out=args.out))
        elif args.verb == "eval":
            print(eval_command(args))
        elif args.verb == "submit":
            from saw_bench.leaderboard import submit_command

            print(submit_command(args.paths, name=args.name, submitter=args.submitter))
        elif args.verb == "leaderboard":
            from saw_bench.leaderboard import (
                leaderboard_build_command,
                leaderboard_reproduce_command,
                leaderboard_validate_command,
            )

            if args.action == "reproduce":
                if args.submission is None:
                    raise SawBenchError("leaderboard reproduce needs a SUBMISSION (file or id)")
                text, code = leaderboard_reproduce_command(args.submission, args.seed, args.root)
                print(text)
                return code
            if args.action == "build":
                print(leaderboard_build_command(args.root, args.correction))
            else:
                text, code = leaderboard_validate_command(args.root)
                print(text)
                return code
    except SawBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunInterrupted as stopped:
        print(f"interrupted: {stopped}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
