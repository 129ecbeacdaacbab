"""Fixed-period loops that know when they are late (after openpilot's Ratekeeper).

``PeriodMonitor`` is the pure bookkeeping: feed it the time of every cycle and it counts
overruns and keeps the period jitter. ``FixedRateLoop`` runs a function on its own thread
at absolute deadlines of the monotonic clock, which keeps the period exact even when one
cycle is late (no drift), and skips whole periods instead of bursting to catch up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodStats:
    """Summary of the measured periods of a loop."""

    cycles: int
    overruns: int
    skipped: int
    jitter_p50_ms: float
    jitter_p99_ms: float
    jitter_max_ms: float


class PeriodMonitor:
    """Counts overruns and records |actual period - nominal period| of a periodic loop."""

    def __init__(self, period_s: float, overrun_tolerance_s: float | None = None, window: int = 3000):
        if period_s <= 0.0:
            raise ValueError(f"period_s must be > 0, got {period_s}")
        self.period_ns = round(period_s * 1e9)
        # A cycle is an overrun when it starts later than half a period after its deadline.
        tolerance = period_s / 2.0 if overrun_tolerance_s is None else overrun_tolerance_s
        self.tolerance_ns = round(tolerance * 1e9)
        self.cycles = 0
        self.overruns = 0
        self.skipped = 0
        self._last_ns: int | None = None
        self._jitter_ns: deque[int] = deque(maxlen=window)

    def tick(self, now_ns: int) -> int:
        """Record a cycle that started at ``now_ns``; return its lateness in ns (>= 0)."""
        self.cycles += 1
        lateness = 0
        if self._last_ns is not None:
            period = now_ns - self._last_ns
            self._jitter_ns.append(abs(period - self.period_ns))
            lateness = max(0, period - self.period_ns)
            if lateness > self.tolerance_ns:
                self.overruns += 1
        self._last_ns = now_ns
        return lateness

    def stats(self) -> PeriodStats:
        if self._jitter_ns:
            jitter = np.asarray(self._jitter_ns, dtype=np.float64) / 1e6
            p50, p99 = np.percentile(jitter, [50, 99])
            worst = float(jitter.max())
        else:
            p50 = p99 = worst = 0.0
        return PeriodStats(self.cycles, self.overruns, self.skipped, float(p50), float(p99), worst)


class FixedRateLoop:
    """Calls ``step(now_ns)`` every ``period_s`` on a daemon thread until ``stop()``.

    ``now_ns`` is the monotonic time the cycle started. A step that raises is logged
    (throttled) and the loop carries on: a periodic safety loop must not die silently.
    """

    def __init__(self, period_s: float, step: Callable[[int], None], name: str = "fixed-rate-loop"):
        self.monitor = PeriodMonitor(period_s)
        self._period_ns = self.monitor.period_ns
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._last_error_log_ns = 0
        self.errors = 0

    def start(self) -> FixedRateLoop:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def _run(self) -> None:
        deadline = time.monotonic_ns()
        while not self._stop.is_set():
            now = time.monotonic_ns()
            self.monitor.tick(now)
            try:
                self._step(now)
            except Exception:
                self.errors += 1
                if now - self._last_error_log_ns > 1_000_000_000:
                    self._last_error_log_ns = now
                    log.exception("%s: step failed (%d errors so far)", self._thread.name, self.errors)
            deadline += self._period_ns
            now = time.monotonic_ns()
            if now > deadline:  # late: skip the periods already missed, keep the phase
                missed = (now - deadline) // self._period_ns + 1
                self.monitor.skipped += int(missed)
                deadline += missed * self._period_ns
            self._stop.wait((deadline - now) / 1e9)


def set_realtime_priority(priority: int) -> str | None:
    """Run the calling thread under SCHED_FIFO at ``priority`` (1-99; 0 = leave it alone).

    Returns None on success, else why not (needs root or CAP_SYS_NICE / an rtprio limit):
    the caller logs it and carries on with normal scheduling. Call it from the loop's own
    thread (first cycle of a FixedRateLoop step) so only that thread is real-time.
    """
    if priority <= 0:
        return None
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (OSError, AttributeError) as err:
        return f"cannot use SCHED_FIFO priority {priority}: {err}"
    return None
