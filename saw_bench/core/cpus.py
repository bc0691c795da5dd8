"""How many CPU threads a run may take: the CPUs this process may use, shared among the
saw-bench processes running on the machine.

Two runs that each take every core slow each other down far more than twofold: each parallel
region of one waits for a thread the other has descheduled. So a run that is given no thread
count (``threads = None``) takes an even share instead:

- :func:`available_cpus` counts the CPUs the process may actually run on: its affinity mask
  (``taskset``, a batch scheduler's cpuset), capped by a cgroup CPU quota (a container's
  ``--cpus``), both v2 (``cpu.max``) and v1 (``cpu.cfs_quota_us``).
- Each run holds a :class:`CpuShare`: a lease file ``<tmp>/saw-bench-<uid>/cpus/<pid>.json``
  for as long as it trains. Its share is ``max(1, available // live leases)``, checked again
  every step (:meth:`CpuShare.rebalance`), so a run started beside another one makes both drop
  to half, and the survivor takes every CPU back when the other ends. Leases of processes that
  died without cleaning up (killed) are not counted: a lease names its process id and start
  time, and only a live process with both counts.

The thread count changes a run's numbers at the last bits (reductions are split differently),
so every metrics row records the threads its step ran with; pass a thread count (``--threads``)
for runs that must repeat bit for bit.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

#: The shortest interval between two looks at the lease folder (a look is a directory listing
#: and one ``os.kill(pid, 0)`` per lease, well under a millisecond).
RECHECK_SECONDS = 1.0


def available_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this process may use: its affinity mask, capped by its cgroup's CPU quota
    (rounded up: a quota of 1.5 CPUs gives 2), at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``quota / period``), or None when it has
    none. Reads cgroup v2 (``cpu.max``: ``"max 100000"`` or ``"150000 100000"``) at ``root``,
    else cgroup v1 (``cpu/cpu.cfs_quota_us``, -1 for none, and ``cpu.cfs_period_us``)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        pass
    else:
        return None if quota == "max" else _ratio(quota, period)
    try:
        quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
        period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return None if quota.startswith("-") else _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        value = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def lease_folder() -> Path:
    """Where running saw-bench processes leave their leases (one folder per user)."""
    return Path(tempfile.gettempdir()) / f"saw-bench-{os.getuid()}" / "cpus"


class CpuShare:
    """This process's lease on a share of the machine's CPUs; use as a context manager, or call
    :meth:`release` (a lease left behind by a killed process is ignored by the others).

    ``folder``: where leases live (default :func:`lease_folder`); ``cpus``: the CPUs to share
    (default :func:`available_cpus`).
    """

    def __init__(self, folder: Path | None = None, cpus: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else lease_folder()
        self.cpus = cpus if cpus is not None else available_cpus()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{os.getpid()}.json"
        identity = {"pid": os.getpid(), "started": _process_start(os.getpid())}
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(identity))
        os.replace(temporary, self.path)  # others never read half a lease
        self.threads = self._share()
        self._looked = time.monotonic()

    def rebalance(self) -> int | None:
        """The new thread count when the share changed since the last look, else None (also
        None when the last look was under :data:`RECHECK_SECONDS` ago)."""
        now = time.monotonic()
        if now - self._looked < RECHECK_SECONDS:
            return None
        self._looked = now
        threads = self._share()
        if threads == self.threads:
            return None
        self.threads = threads
        return threads

    def runs(self) -> int:
        """The saw-bench processes holding a live lease, this one included."""
        live = 0
        for path in self.folder.glob("*.json"):
            if path == self.path or _lease_is_live(path):
                live += 1
        return max(live, 1)

    def release(self) -> None:
        self.path.unlink(missing_ok=True)

    def _share(self) -> int:
        return max(1, self.cpus // self.runs())

    def __enter__(self) -> CpuShare:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lease_is_live(path: Path) -> bool:
    try:
        lease = json.loads(path.read_text())
        pid = int(lease["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # being written, or not a lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (a shared temporary folder)
        return True
    # a recycled process id belongs to a process started at another time
    return lease.get("started") == _process_start(pid)


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields follow the last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 overall: starttime


_pinned: int | None = None


def pin(threads: int) -> None:
    """Fix this process's thread count: a run given no thread count takes ``threads`` instead of
    a share (a scheduler such as Ray has already given the process its CPUs)."""
    global _pinned
    _pinned = threads


def pinned() -> int | None:
    """The thread count :func:`pin` fixed for this process, or None."""
    return _pinned
