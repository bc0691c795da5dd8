"""Ray as a sweep engine: :class:`RayExecutor` runs each submitted call as a task on a cluster.

It is a :class:`concurrent.futures.Executor`, so a sweep hands its runs to it exactly as it
hands them to the local process pool. Each task reserves ``num_cpus`` CPUs (default 1) and
``num_gpus`` GPUs (default 0) and uses as many torch threads as its CPUs, and only the GPUs it
reserved: with none, its run trains on the CPU; ``num_gpus=0.25`` lets four runs share a GPU.
Ray itself is imported only here and only when asked for (``pip install 'saw-bench[ray]'``).

Addresses: ``"local"`` starts a Ray on this machine (all its cores) and stops it at the end;
``"auto"`` joins the cluster this machine belongs to (``ray start``); ``"host:port"`` or
``"ray://host:port"`` connect to that cluster, and the end only disconnects from it. When this
process is already connected (an earlier ``ray.init()``), that connection is used and left open.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from saw_bench.core.errors import SawBenchError

#: What each task reserves unless told otherwise.
DEFAULT_RESOURCES = {"num_cpus": 1.0, "num_gpus": 0.0}
#: How the CLI spells each resource, for error messages.
FLAGS = {"num_cpus": "--ray-cpus", "num_gpus": "--ray-gpus"}
#: Ray waits many minutes for a cluster that does not answer; a TCP connect tells sooner.
REACH_SECONDS = 10.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SawBenchError("sweep --ray needs Ray: pip install 'saw-bench[ray]'") from None
    return ray


def task_resources(resources: dict[str, float] | None = None) -> dict[str, float]:
    """What each task reserves: ``num_cpus`` (a finite number > 0, default 1) and ``num_gpus``
    (a finite number >= 0, default 0). Needs Ray installed, so a sweep can check both first."""
    ray = import_ray()
    resources = dict(resources or {})
    unknown = sorted(set(resources) - set(DEFAULT_RESOURCES))
    if unknown:
        raise SawBenchError(
            f"unknown Ray resource(s) {unknown}; valid: {', '.join(DEFAULT_RESOURCES)}"
        )
    chosen = {**DEFAULT_RESOURCES, **resources}
    for name, value in chosen.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value < 0:
            raise SawBenchError(
                f"{name} ({FLAGS[name]}) must be a finite number >= 0, but got {value!r}"
            )
    if chosen["num_cpus"] == 0:
        raise SawBenchError(f"num_cpus ({FLAGS['num_cpus']}) must be positive, but got 0")
    chosen = {name: float(value) for name, value in chosen.items()}
    try:
        ray.remote(_call_with_threads).options(**chosen)
    except ValueError as error:  # Ray's own limits, e.g. the precision of a fraction
        raise SawBenchError(f"Ray refuses the resources {chosen}: {error}") from None
    return chosen


class RayExecutor(concurrent.futures.Executor):
    """Each :meth:`submit` is one Ray task reserving ``resources`` on the cluster at
    ``address``; its future carries the call's own result or exception (not Ray's wrapper).

    :meth:`shutdown` with ``cancel_futures=True`` cancels the tasks that have not ended: one not
    started yet never starts, a running one gets a KeyboardInterrupt (a trainer stops after its
    current step with a checkpoint), and with ``wait=True`` the shutdown waits for them to end.
    Disconnecting ends the tasks still running (Ray ties tasks to the process that submitted
    them), so shut down with ``wait=True`` to let them finish. Leaving a ``with`` block waits
    for the tasks, or cancels them first when it is left by an exception.
    """

    def __init__(self, address: str, resources: dict[str, float] | None = None) -> None:
        self.ray = import_ray()
        self.resources = task_resources(resources)
        self.threads = max(1, int(self.resources["num_cpus"]))
        self.task = self.ray.remote(_call_with_threads)
        self.tasks: list[tuple[Any, concurrent.futures.Future]] = []
        self.owns_connection = not self.ray.is_initialized()
        self.sigterm_handler = signal.getsignal(signal.SIGTERM)  # ray.init replaces it
        if self.owns_connection:
            self.cluster = _connect(self.ray, address)
            if address == "local":
                self._check_fits()
        else:
            self.cluster = "the Ray this process is connected to"

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        name = getattr(fn, "__name__", "task")  # what Ray's log lines name the task by
        task = self.task.options(name=name, **self.resources)
        reference = task.remote(fn, self.threads, args, kwargs)
        future = _unwrapped(reference.future(), self.ray.exceptions.RayTaskError)
        self.tasks.append((reference, future))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        outstanding = [(ref, future) for ref, future in self.tasks if not future.done()]
        if cancel_futures:
            for reference, _ in outstanding:
                self.ray.cancel(reference)
        if wait:
            concurrent.futures.wait([future for _, future in outstanding])
        if self.owns_connection and self.ray.is_initialized():
            self.ray.shutdown()  # stops a local Ray; from a cluster it only disconnects
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self.sigterm_handler)

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.shutdown(wait=True, cancel_futures=exc_type is not None)

    def capacity(self) -> str:
        """The cluster's CPUs and GPUs now, and what each task reserves."""
        total = self.ray.cluster_resources()
        return (
            f"{self.cluster} ({total.get('CPU', 0):g} CPUs, {total.get('GPU', 0):g} GPUs); each "
            f"run reserves num_cpus={self.resources['num_cpus']:g}, "
            f"num_gpus={self.resources['num_gpus']:g}"
        )

    def _check_fits(self) -> None:
        """On a local Ray no node can join later: a task larger than it would wait forever."""
        total = self.ray.cluster_resources()
        have = {"num_cpus": total.get("CPU", 0), "num_gpus": total.get("GPU", 0)}
        if any(self.resources[name] > have[name] for name in have):
            self.shutdown()
            raise SawBenchError(
                f"this machine has {have['num_cpus']:g} CPUs and {have['num_gpus']:g} GPUs, "
                f"fewer than each run reserves (num_cpus={self.resources['num_cpus']:g}, "
                f"num_gpus={self.resources['num_gpus']:g}); lower --ray-cpus / --ray-gpus"
            )


def _call_with_threads(
    function: Callable[..., Any], threads: int, args: tuple, kwargs: dict[str, Any]
) -> Any:
    """What each Ray task runs: ``function`` with ``threads`` torch threads, and no GPU in sight
    unless the task reserved one (Ray shows every GPU of the node to a task that reserved none)."""
    import ray
    import torch

    from saw_bench.core import cpus

    if not ray.get_gpu_ids():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    torch.set_num_threads(threads)
    cpus.pin(threads)  # the CPUs Ray reserved, not a share of the node's
    return function(*args, **kwargs)


def _connect(ray: Any, address: str) -> str:
    """``ray.init`` for ``address``; returns how to name the cluster in the log."""
    if address == "local":
        cores = os.cpu_count() or 1
        try:
            ray.init(address="local", num_cpus=cores, include_dashboard=False)
        except Exception as error:  # noqa: BLE001 - any failure means no cluster
            raise SawBenchError(f"could not start a local Ray: {_first_line(error)}") from None
        return "a local Ray"
    _check_reachable(address)
    try:
        ray.init(address=address)
    except Exception as error:  # noqa: BLE001 - ConnectionError, ValueError, RuntimeError...
        raise SawBenchError(
            f"cannot connect to the Ray cluster at {address!r}: {_first_line(error)} (start one "
            "with `ray start --head`, or use --ray local)"
        ) from None
    return f"the Ray cluster at {address}"


def _check_reachable(address: str) -> None:
    """Fail within seconds when nothing listens at ``host:port`` (``auto`` is left to Ray)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # 'auto', or a form whose error Ray explains itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as error:
        raise SawBenchError(
            f"cannot reach the Ray cluster at {address!r} ({error.strerror or error}); start one "
            "with `ray start --head`, or use --ray local"
        ) from None


def _unwrapped(
    ray_future: concurrent.futures.Future, task_error: type[Exception]
) -> concurrent.futures.Future:
    """A future with the task's own exception where Ray's carries a ``RayTaskError``."""
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_running_or_notify_cancel()  # like a pool's running future: cancel() refuses

    def transfer(done: concurrent.futures.Future) -> None:
        error = done.exception()
        if error is None:
            future.set_result(done.result())
        elif isinstance(error, task_error) and isinstance(error.cause, BaseException):
            future.set_exception(error.cause)
        else:  # the task never ran to its end: cancelled, its worker or node died
            future.set_exception(error)

    ray_future.add_done_callback(transfer)
    return future


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
