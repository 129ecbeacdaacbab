"""The CAN bus as configuration: open a python-can bus, read it on a thread, log it to a file.

Shared by the bridge and the simulated chassis so both ends of the simulated bus behave the
same. No rclpy here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import can

from lsv_can_bridge.params import BusParams

log = logging.getLogger(__name__)


class BusOpenError(ValueError):
    """The configured bus cannot be opened (wrong interface, missing can0, ...)."""


def open_bus(params: BusParams) -> can.BusABC:
    try:
        return can.Bus(**params.kwargs())
    except (can.CanError, OSError, ValueError, ImportError, NotImplementedError) as err:
        reason = str(err)
        if isinstance(err.__cause__, OSError):  # python-can hides the errno ("could not create ... socket")
            reason += f" ({err.__cause__.strerror or err.__cause__})"
        raise BusOpenError(f"cannot open CAN bus {params.kwargs()}: {reason}") from err


class BusLogger:
    """Writes every frame (sent and received) to a BLF or ASC file with python-can's writers."""

    def __init__(self, path: str):
        self._writer = can.Logger(path)
        self._lock = threading.Lock()

    def write(self, msg: can.Message) -> None:
        with self._lock:
            self._writer.on_message_received(msg)

    def close(self) -> None:
        with self._lock:
            self._writer.stop()


class BusReader:
    """Calls ``on_frame(now_ns, msg)`` for every received frame on a daemon thread.

    ``now_ns`` is the monotonic receive time. Bus errors are counted (``errors``), logged at
    most once a second, and the thread carries on.
    """

    def __init__(self, bus: can.BusABC, on_frame: Callable[[int, can.Message], None], name: str = "can-reader"):
        self._bus = bus
        self._on_frame = on_frame
        self._stop = threading.Event()
        self.errors = 0
        self.frames = 0
        self._last_log_ns = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> BusReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._bus.recv(timeout=0.05)
            except (can.CanError, OSError, ValueError) as err:
                self._count_error(err)
                continue
            if msg is None:
                continue
            if msg.is_error_frame:
                self._count_error(None)
                continue
            self.frames += 1
            self._on_frame(time.monotonic_ns(), msg)

    def _count_error(self, err: Exception | None) -> None:
        self.errors += 1
        now = time.monotonic_ns()
        if now - self._last_log_ns > 1_000_000_000:
            self._last_log_ns = now
            log.warning("CAN bus error (%d so far): %s", self.errors, err or "error frame")
        if err is not None:
            self._stop.wait(0.01)  # a dead interface must not spin the CPU
