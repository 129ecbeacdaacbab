import threading
import time
from itertools import pairwise

import pytest

from lsv_common.rate import FixedRateLoop, PeriodMonitor


def test_monitor_counts_overruns_and_jitter():
    m = PeriodMonitor(0.02)  # 20 ms, overrun when more than 10 ms late
    t = 0
    for period_ms in [20, 20, 21, 19, 35, 20]:
        t += period_ms * 1_000_000
        m.tick(t)
    s = m.stats()
    assert s.cycles == 6 and s.overruns == 1  # only the 35 ms period
    assert s.jitter_max_ms == pytest.approx(15.0)
    assert s.jitter_p50_ms == pytest.approx(1.0)


def test_monitor_rejects_bad_period():
    with pytest.raises(ValueError):
        PeriodMonitor(0.0)


def test_loop_keeps_period_and_survives_a_failing_step():
    calls: list[int] = []
    done = threading.Event()

    def step(now_ns: int) -> None:
        calls.append(now_ns)
        if len(calls) == 3:
            raise RuntimeError("bad cycle")
        if len(calls) >= 25:
            done.set()

    loop = FixedRateLoop(0.01, step).start()
    assert done.wait(3.0)
    loop.stop()
    assert loop.errors == 1
    periods = [(b - a) / 1e6 for a, b in pairwise(calls)]
    # the average period is exact (absolute deadlines), whatever single cycles did
    assert sum(periods) / len(periods) == pytest.approx(10.0, abs=1.5)


def test_loop_skips_missed_periods_instead_of_bursting():
    calls: list[int] = []

    def step(now_ns: int) -> None:
        calls.append(now_ns)
        if len(calls) == 2:
            time.sleep(0.055)  # miss five 10 ms deadlines

    loop = FixedRateLoop(0.01, step).start()
    time.sleep(0.2)
    loop.stop()
    assert loop.monitor.skipped >= 4
    gaps = [(b - a) / 1e6 for a, b in pairwise(calls)]
    assert min(gaps[2:]) > 5.0  # no burst of back-to-back catch-up cycles
