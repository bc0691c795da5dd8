"""The torch threads a run trains with: the ``threads`` option when given, else an even share
of the CPUs among the saw-bench processes running (see :mod:`saw_bench.core.cpus`), looked at
again every step."""

from __future__ import annotations

import sys
import weakref

import torch

from saw_bench.core import cpus


class RunThreads:
    """Sets torch's thread count for a run and keeps it fair while the run goes on.

    ``fixed``: the run's ``threads`` option (None: share). A process given its CPUs by a
    scheduler (:func:`saw_bench.core.cpus.pin`) keeps them. ``announce``: say on stderr when the
    share changes.
    """

    def __init__(self, fixed: int | None, *, announce: bool = False) -> None:
        self.announce = announce
        self.share: cpus.CpuShare | None = None
        fixed = fixed if fixed is not None else cpus.pinned()
        if fixed is not None:
            torch.set_num_threads(fixed)
            return
        self.share = cpus.CpuShare()
        weakref.finalize(self, self.share.release)  # a run built and never trained
        torch.set_num_threads(self.share.threads)

    def rebalance(self) -> int:
        """Look at the other runs again; the thread count to train this step with."""
        if self.share is not None:
            threads = self.share.rebalance()
            if threads is not None:
                torch.set_num_threads(threads)
                if self.announce:
                    print(
                        f"{self.share.runs()} saw-bench runs share {self.share.cpus} CPU(s): "
                        f"training with {threads} thread(s)",
                        file=sys.stderr,
                        flush=True,
                    )
        return torch.get_num_threads()

    def release(self) -> None:
        if self.share is not None:
            self.share.release()
