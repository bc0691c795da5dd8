"""saw-bench's tasks as the verifiers environment ``saw-bench-toolcall``.

verifiers takes the ``Taskset`` and ``Harness`` subclasses this module exports; the taskset's
``task_id`` defaults to the alias ``toolcall`` (``saw/ToolCall-Synth-v2`` today) and takes any
saw-bench id.
"""

from saw_bench.integrations.verifiers import SawBenchHarness, SawBenchTaskset, load_environment

__all__ = ["SawBenchHarness", "SawBenchTaskset", "load_environment"]
