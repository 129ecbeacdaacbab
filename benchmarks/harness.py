"""Shared pieces of the benchmarks: a fixed-rate loop measured while the other core is busy.

Imported by the scripts in this folder (``python benchmarks/NAME.py`` puts the folder on
sys.path); not a benchmark itself.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable

from lsv_common.rate import FixedRateLoop, set_realtime_priority


def _busy(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def loop_under_load(step: Callable[[int], None], period_s: float, seconds: float, priority: int = 0,
                    name: str = "bench-loop") -> dict:
    """Run ``step(now_ns)`` every ``period_s`` for ``seconds`` with a busy process on another
    core; the loop thread runs under SCHED_FIFO ``priority`` when > 0 (and allowed).

    Returns the PeriodMonitor figures plus whether real-time scheduling was in effect.
    """
    problems: list[str | None] = []

    def timed_step(now_ns: int) -> None:
        if not problems:  # first cycle, on the loop's own thread, as the nodes do
            problems.append(set_realtime_priority(priority))
        step(now_ns)

    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=_busy, args=(stop,), daemon=True)
    busy.start()
    try:
        loop = FixedRateLoop(period_s, timed_step, name=name).start()
        time.sleep(seconds)
        loop.stop()
    finally:
        stop.set()
        busy.join(5)
    s = loop.monitor.stats()
    return {"realtime": priority > 0 and problems == [None], "cycles": s.cycles, "overruns": s.overruns,
            "skipped": s.skipped, "errors": loop.errors, "jitter_p50_ms": s.jitter_p50_ms,
            "jitter_p99_ms": s.jitter_p99_ms, "jitter_max_ms": s.jitter_max_ms}
