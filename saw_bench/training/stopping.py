"""Stopping a run cleanly: Ctrl-C or SIGTERM finish the current step and write a checkpoint."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any


class StopRequests:
    """While active (main thread only): the first SIGINT or SIGTERM sets ``requested``; a
    second SIGINT raises KeyboardInterrupt as usual. Previous handlers come back on exit."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: Any) -> None:
        if self.requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nstopping after this step and writing a checkpoint (Ctrl-C again to abort)",
            file=sys.stderr,
            flush=True,
        )
