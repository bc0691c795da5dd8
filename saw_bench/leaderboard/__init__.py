"""The leaderboard: submissions built from runs, validated, and turned into tables and a page.

- :func:`submit` writes ``leaderboard/submissions/<task>/<id>.json`` from run or sweep folders,
  one per configuration (at least 3 seeds), ``verified`` when the complete run files are packed
  into ``leaderboard/runs/<task>/<id>.tar.xz`` (see :mod:`saw_bench.leaderboard._submit` and
  :mod:`saw_bench.leaderboard._archive`);
- :func:`reproduce` reruns one seed of a verified submission from its ``config.json`` and
  names the first recorded number that moved (:mod:`saw_bench.leaderboard._reproduce`);
- :func:`validate` lists every :class:`Problem` of every submission (and of ``protocols.toml``);
- :func:`build` writes ``LEADERBOARD.md``, ``FINDINGS.md``, ``leaderboard.json``,
  ``leaderboard.csv``, ``index.html`` and the JSON Schema ``schema/submission-v2.json``, ranking
  and counting in verdicts only the verified entries on each task's protocol
  (:mod:`saw_bench.leaderboard._protocols`), every verdict family corrected for multiplicity;
  FINDINGS.md leads with one verdict per agent across the suite
  (:mod:`saw_bench.leaderboard._suite`, rliable) and SAW's gain against the asynchrony index
  (:mod:`saw_bench.leaderboard._asynchrony`), and shows Pareto plots and hypervolumes
  (:mod:`saw_bench.leaderboard._pareto`), with its figures in ``figures/``.

The format is :class:`Submission` (pydantic), version ``SCHEMA_VERSION``.
"""

from saw_bench.leaderboard._build import GENERATED, build, leaderboard_data
from saw_bench.leaderboard._cli import (
    leaderboard_build_command,
    leaderboard_reproduce_command,
    leaderboard_validate_command,
    submit_command,
)
from saw_bench.leaderboard._reproduce import Reproduction, reproduce
from saw_bench.leaderboard._runs import MAX_RUN_FILE_BYTES, MAX_SUBMISSION_BYTES
from saw_bench.leaderboard._schema import (
    MIN_SEEDS,
    SCHEMA_FILE,
    SCHEMA_VERSION,
    Submission,
    json_schema,
    json_schema_text,
)
from saw_bench.leaderboard._submit import submit
from saw_bench.leaderboard._validate import Problem, validate

__all__ = [
    "GENERATED",
    "MAX_RUN_FILE_BYTES",
    "MAX_SUBMISSION_BYTES",
    "MIN_SEEDS",
    "Problem",
    "Reproduction",
    "SCHEMA_FILE",
    "SCHEMA_VERSION",
    "Submission",
    "build",
    "json_schema",
    "json_schema_text",
    "leaderboard_build_command",
    "leaderboard_reproduce_command",
    "leaderboard_data",
    "leaderboard_validate_command",
    "reproduce",
    "submit",
    "submit_command",
    "validate",
]
