"""Compute time in simulated time: outputs held back by what the work would take on a vehicle.

In synchronous simulation (``lsv sim --sync``) the simulator waits for the controller's command
at every step, so simulated time hardly moves while a detector computes: a lidar pipeline that
needs 60 ms on the vehicle computer delivers its objects "at once", and the planner brakes earlier
than it could on the road. ``OutputDelay`` puts that time back. A node wraps the callbacks that
produce its outputs (``timed``) and publishes through ``publish``; with ``output_delay.mode``

- ``none`` (default: on a vehicle and in real-time simulation compute time is real time already)
  it publishes at once;
- ``fixed``: each output waits until the node's clock has advanced ``output_delay.fixed_s`` past
  the clock when its callback started (a configured latency per node, in its parameter file;
  deterministic: it depends on simulated time only);
- ``measured``: each output waits for the wall-clock time its callback took, times
  ``output_delay.scale`` (the vehicle computer against this machine).

Held outputs go out in order from a timer on the node's clock every ``output_delay.period_s``
(simulated time in simulation: the step, 10 ms); an output whose time has passed already (the
clock moved on while the callback ran) goes out at once. ``stats()`` is for /diagnostics.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lsv_common.params import spec

MODES = ("none", "fixed", "measured")
NS = 1_000_000_000


@dataclass(frozen=True)
class OutputDelayParams:
    mode: str = field(default="none", metadata=spec(
        "hold outputs back by compute time in simulated time: none, fixed (fixed_s) or measured (wall time of the "
        "callback x scale); for synchronous simulation", choices=MODES, optional=True, name="output_delay.mode"))
    fixed_s: float = field(default=0.05, metadata=spec(
        "fixed mode: the node's latency from the start of a callback to its outputs", unit="s", min=0.0, max=2.0,
        optional=True, name="output_delay.fixed_s"))
    scale: float = field(default=1.0, metadata=spec(
        "measured mode: vehicle compute time per wall second measured here", min=0.0, max=100.0, optional=True,
        name="output_delay.scale"))
    period_s: float = field(default=0.01, metadata=spec(
        "how often held outputs are released (node clock)", unit="s", min=0.001, max=0.1, optional=True,
        name="output_delay.period_s"))


class DelayQueue:
    """The pure part: outputs keyed by release time (ns), released in order (ties: publish order)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[Any], None], Any]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, release_ns: int, send: Callable[[Any], None], msg: Any) -> None:
        heapq.heappush(self._heap, (release_ns, next(self._seq), send, msg))

    def release(self, now_ns: int) -> int:
        """Send every output due at ``now_ns``; returns how many went out."""
        sent = 0
        while self._heap and self._heap[0][0] <= now_ns:
            _, _, send, msg = heapq.heappop(self._heap)
            send(msg)
            sent += 1
        return sent


class OutputDelay:
    """Holds a node's outputs back in simulated time (see the module docstring)."""

    def __init__(self, node: Any, params: OutputDelayParams,
                 wall_clock: Callable[[], float] = time.perf_counter) -> None:
        self.params = params
        self._node = node
        self._wall = wall_clock
        self._queue = DelayQueue()
        self._start_ns: int | None = None  # node clock when the running callback started
        self._start_wall = 0.0
        self.held = 0
        self.max_delay_s = 0.0
        if params.mode != "none":
            node.create_timer(params.period_s, self._flush)

    @property
    def enabled(self) -> bool:
        return self.params.mode != "none"

    def timed(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """``callback`` with its start time noted (the outputs it publishes are held from there)."""
        if not self.enabled:
            return callback

        def wrapper(*args: Any) -> Any:
            self._start_ns = self._now_ns()
            self._start_wall = self._wall()
            try:
                return callback(*args)
            finally:
                self._start_ns = None
        return wrapper

    def publish(self, publisher: Any, msg: Any) -> None:
        if not self.enabled:
            publisher.publish(msg)
            return
        now_ns = self._now_ns()
        start_ns = now_ns if self._start_ns is None else self._start_ns
        if self.params.mode == "fixed":
            delay_s = self.params.fixed_s
        else:
            delay_s = (self._wall() - self._start_wall) * self.params.scale if self._start_ns is not None else 0.0
        release_ns = start_ns + int(delay_s * NS)
        self.max_delay_s = max(self.max_delay_s, delay_s)
        if release_ns <= now_ns:
            publisher.publish(msg)
            return
        self.held += 1
        self._queue.push(release_ns, publisher.publish, msg)

    def stats(self) -> dict[str, Any]:
        return {"output_delay": self.params.mode, "outputs_held": self.held, "waiting": len(self._queue),
                "max_delay_s": round(self.max_delay_s, 4)}

    def _flush(self) -> None:
        self._queue.release(self._now_ns())

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds
