"""OutputDelay: outputs held back in simulated time by a fixed or a measured compute time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lsv_common.latency import NS, DelayQueue, OutputDelay, OutputDelayParams


class FakeNode:
    """A node whose clock the test moves (simulated time) and whose timer the test fires."""

    def __init__(self) -> None:
        self.now_ns = 0
        self.timers: list = []

    def get_clock(self):
        return SimpleNamespace(now=lambda: SimpleNamespace(nanoseconds=self.now_ns))

    def create_timer(self, period_s, callback):
        self.timers.append((period_s, callback))

    def tick(self, to_s: float) -> None:
        self.now_ns = int(to_s * NS)
        for _, callback in self.timers:
            callback()


class Pub:
    def __init__(self, node: FakeNode) -> None:
        self.node = node
        self.sent: list[tuple[float, str]] = []

    def publish(self, msg) -> None:
        self.sent.append((self.node.now_ns / NS, msg))


def test_none_publishes_at_once_and_leaves_callbacks_alone():
    node = FakeNode()
    delay = OutputDelay(node, OutputDelayParams())
    pub = Pub(node)

    def callback(x):
        return x

    assert delay.timed(callback) is callback and node.timers == []
    delay.publish(pub, "a")
    assert pub.sent == [(0.0, "a")]


def test_fixed_delay_counts_from_the_callbacks_start_in_simulated_time():
    node = FakeNode()
    delay = OutputDelay(node, OutputDelayParams(mode="fixed", fixed_s=0.05))
    pub = Pub(node)
    node.now_ns = 1 * NS
    delay.timed(lambda: delay.publish(pub, "objects"))()
    assert pub.sent == []  # lock-step: the clock did not move, the output waits
    node.tick(1.04)
    assert pub.sent == []
    node.tick(1.05)
    assert pub.sent == [(1.05, "objects")]
    assert delay.stats()["outputs_held"] == 1 and delay.stats()["waiting"] == 0


def test_an_output_whose_time_has_passed_goes_out_at_once():
    node = FakeNode()
    delay = OutputDelay(node, OutputDelayParams(mode="fixed", fixed_s=0.05))
    pub = Pub(node)

    def slow_callback():
        node.now_ns = int(0.08 * NS)  # the simulation ran on while this computed (real time)
        delay.publish(pub, "late anyway")

    delay.timed(slow_callback)()
    assert pub.sent == [(0.08, "late anyway")]


def test_measured_delay_is_the_callbacks_wall_time_scaled():
    node = FakeNode()
    wall = iter([10.0, 10.030])  # the callback starts, then publishes 30 ms of wall time later
    delay = OutputDelay(node, OutputDelayParams(mode="measured", scale=2.0), wall_clock=lambda: next(wall))
    pub = Pub(node)
    delay.timed(lambda: delay.publish(pub, "m"))()
    node.tick(0.05)
    assert pub.sent == []
    node.tick(0.06)  # 2 x 30 ms
    assert pub.sent == [(0.06, "m")]
    assert delay.stats()["max_delay_s"] == pytest.approx(0.06)


def test_queue_releases_in_time_order_and_keeps_publish_order_on_ties():
    q = DelayQueue()
    out: list[str] = []
    q.push(30, out.append, "c")
    q.push(10, out.append, "a")
    q.push(10, out.append, "b")
    assert q.release(9) == 0 and out == []
    assert q.release(10) == 2 and out == ["a", "b"]
    assert q.release(100) == 1 and out == ["a", "b", "c"] and len(q) == 0
