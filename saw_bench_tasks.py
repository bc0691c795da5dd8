"""The verifiers taskset ``saw-bench-tasks``: every saw-bench task as a verifiers environment.

verifiers finds a taskset by importing the top-level module named by its id and taking the
``Taskset`` (and ``Harness``) subclass its ``__all__`` exports, so ``vf-eval saw-bench-tasks
--env.taskset.task-id toolcall`` reads this module. Everything is defined in
:mod:`saw_bench.integrations.verifiers` (``pip install 'saw-bench[verifiers]'``).
"""

from saw_bench.integrations.verifiers import SawBenchHarness, SawBenchTaskset, load_environment

__all__ = ["SawBenchHarness", "SawBenchTaskset", "load_environment"]
