"""Stepping: simulated clock, real-time pacing and the synchronous gate (every transition)."""

from __future__ import annotations

import pytest

from lsv_sim.clock import GateInputs, GateState, RealTimePacer, SimClock, SyncParams, begin, transition

MS = 1_000_000
P = SyncParams(frames_after_command=2, timeout_ns=1000 * MS)


def test_sim_clock_integer_steps_do_not_drift() -> None:
    c = SimClock(10 * MS)
    for _ in range(360_000):  # one hour of 10 ms steps
        c.advance()
    assert c.now_ns == 3600 * 1_000_000_000
    assert c.elapsed_s == 3600.0
    with pytest.raises(ValueError):
        SimClock(0)


def test_pacer_real_time_and_factor() -> None:
    p = RealTimePacer(1.0)
    assert p.delay_ns(0, 1_000 * MS) == 0  # anchors
    assert p.delay_ns(10 * MS, 1_000 * MS) == 10 * MS  # due 10 ms after the anchor
    assert p.delay_ns(10 * MS, 1_004 * MS) == 6 * MS
    assert p.delay_ns(10 * MS, 1_020 * MS) == 0  # late: no wait
    fast = RealTimePacer(2.0)
    fast.delay_ns(0, 0)
    assert fast.delay_ns(100 * MS, 0) == 50 * MS
    assert RealTimePacer(0.0).delay_ns(10**12, 0) == 0  # as fast as possible


def test_pacer_reanchors_when_far_behind_instead_of_bursting() -> None:
    p = RealTimePacer(1.0, max_lag_s=0.5)
    p.delay_ns(0, 0)
    assert p.delay_ns(10 * MS, 2_000 * MS) == 0  # 1.99 s behind
    assert p.resyncs == 1
    assert p.delay_ns(20 * MS, 2_000 * MS) == 10 * MS  # paced again from the new anchor


def test_gate_waits_for_the_command_then_for_frames_sent_after_it() -> None:
    g = begin(step_ns=200 * MS, wall_ns=0)
    assert g.state is GateState.WAIT_COMMAND
    # frames before the command (the bridge repeating the old command) do not count
    g = transition(g, GateInputs(1 * MS, command_stamp_ns=180 * MS, new_frames=3), P)
    assert g.state is GateState.WAIT_COMMAND
    g = transition(g, GateInputs(2 * MS, command_stamp_ns=200 * MS, new_frames=5), P)
    assert g.state is GateState.WAIT_FRAMES and g.frames == 0
    g = transition(g, GateInputs(3 * MS, command_stamp_ns=200 * MS, new_frames=1), P)
    assert g.state is GateState.WAIT_FRAMES and g.frames == 1
    g = transition(g, GateInputs(4 * MS, command_stamp_ns=200 * MS, new_frames=1), P)
    assert g.state is GateState.OPEN and not g.timed_out


def test_gate_newer_command_also_answers() -> None:
    g = transition(begin(200 * MS, 0), GateInputs(1 * MS, command_stamp_ns=220 * MS), P)
    assert g.state is GateState.WAIT_FRAMES


def test_gate_without_a_command_publisher_waits_for_one_frame() -> None:
    g = transition(begin(0, 0), GateInputs(1 * MS, None, 0, expect_command=False), P)
    assert g.state is GateState.WAIT_FRAMES
    g = transition(g, GateInputs(2 * MS, None, 1, expect_command=False), P)
    assert g.state is GateState.OPEN


def test_gate_times_out_from_either_wait() -> None:
    g = transition(begin(0, 0), GateInputs(1000 * MS, None), P)
    assert g.state is GateState.OPEN and g.timed_out
    g = transition(begin(0, 0), GateInputs(1 * MS, 0), P)
    assert g.state is GateState.WAIT_FRAMES
    g = transition(g, GateInputs(1001 * MS, 0, 1), P)
    assert g.state is GateState.OPEN and g.timed_out


def test_open_gate_stays_open() -> None:
    g = transition(begin(0, 0), GateInputs(1000 * MS, None), P)
    assert transition(g, GateInputs(2000 * MS, None), P) == g
