"""Stepping of the simulated clock (pure: wall time and events are arguments).

- ``SimClock``: simulated time advancing in fixed steps (integer ns: no drift over a run).
- ``RealTimePacer``: when the next step is due on the wall clock for a given real-time factor;
  re-anchors (and counts it) when the simulator falls too far behind instead of bursting.
- ``SyncGate``: the synchronous (lock-step) mode, like CARLA's: at every control period the
  simulator publishes the new time and waits until the stack's command for that time has
  arrived *over CAN* (the command topic is only watched to know that the stack answered;
  the ECU acts on the CAN frames alone). ``transition`` is a pure state machine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

NS = 1_000_000_000


class SimClock:
    """Simulated time in ns, advanced by whole steps of ``step_ns``."""

    def __init__(self, step_ns: int, start_ns: int = 0):
        if step_ns <= 0:
            raise ValueError(f"step_ns must be > 0, got {step_ns}")
        self.step_ns = int(step_ns)
        self.start_ns = int(start_ns)
        self.steps = 0

    @property
    def now_ns(self) -> int:
        return self.start_ns + self.steps * self.step_ns

    @property
    def elapsed_s(self) -> float:
        return self.steps * self.step_ns / NS

    def advance(self) -> int:
        self.steps += 1
        return self.now_ns


class RealTimePacer:
    """Wall-clock deadlines for simulated steps at ``factor`` x real time (0 = as fast as possible)."""

    def __init__(self, factor: float = 1.0, max_lag_s: float = 0.5):
        if factor < 0.0:
            raise ValueError(f"factor must be >= 0, got {factor}")
        self.factor = factor
        self.max_lag_ns = int(max_lag_s * NS)
        self._anchor_wall_ns: int | None = None
        self._anchor_sim_ns = 0
        self.resyncs = 0  # times the simulator fell more than max_lag behind and re-anchored

    def delay_ns(self, sim_ns: int, wall_ns: int) -> int:
        """How long to wait on the wall clock before simulated time ``sim_ns`` may be published."""
        if self.factor == 0.0:
            return 0
        if self._anchor_wall_ns is None:
            self._anchor_wall_ns, self._anchor_sim_ns = wall_ns, sim_ns
            return 0
        due = self._anchor_wall_ns + int((sim_ns - self._anchor_sim_ns) / self.factor)
        if wall_ns - due > self.max_lag_ns:  # far behind: give up catching up, keep going from here
            self.resyncs += 1
            self._anchor_wall_ns, self._anchor_sim_ns = wall_ns, sim_ns
            return 0
        return max(0, due - wall_ns)


class GateState(enum.Enum):
    OPEN = "open"  # the step may run
    WAIT_COMMAND = "wait_command"  # waiting for the stack's command stamped >= the step time
    WAIT_FRAMES = "wait_frames"  # command seen; waiting for drive frames sent after it


@dataclass(frozen=True)
class GateStatus:
    state: GateState = GateState.OPEN
    step_ns: int = 0  # simulated time the gate waits for
    frames: int = 0  # valid drive frames received since the command was seen
    since_wall_ns: int = 0  # when the wait began (wall clock)
    timed_out: bool = False  # the last wait ended by timeout rather than by the command


@dataclass(frozen=True)
class GateInputs:
    wall_ns: int
    command_stamp_ns: int | None = None  # newest /vehicle/command stamp seen (sim time), None = none ever
    new_frames: int = 0  # valid drive frames received since the last call
    expect_command: bool = True  # a command publisher exists; False = only wait for the bridge's frames


@dataclass(frozen=True)
class SyncParams:
    frames_after_command: int = 2  # drive frames after the command before the step may run
    timeout_ns: int = NS  # wall time after which the step runs anyway (counted)


def begin(step_ns: int, wall_ns: int) -> GateStatus:
    """Close the gate for a new step at simulated time ``step_ns``."""
    return GateStatus(GateState.WAIT_COMMAND, step_ns, 0, wall_ns, False)


def transition(st: GateStatus, inp: GateInputs, p: SyncParams) -> GateStatus:
    """The next gate status given what arrived since the last call."""
    if st.state is GateState.OPEN:
        return st
    if inp.wall_ns - st.since_wall_ns >= p.timeout_ns:
        return replace(st, state=GateState.OPEN, timed_out=True)
    if st.state is GateState.WAIT_COMMAND:
        answered = inp.command_stamp_ns is not None and inp.command_stamp_ns >= st.step_ns
        if answered or not inp.expect_command:
            # frames that arrived before the command do not carry it: count from here
            st = replace(st, state=GateState.WAIT_FRAMES, frames=0)
            inp = replace(inp, new_frames=0)
        else:
            return st
    frames = st.frames + inp.new_frames
    needed = p.frames_after_command if inp.expect_command else 1
    if frames >= needed:
        return replace(st, state=GateState.OPEN, frames=frames, timed_out=False)
    return replace(st, frames=frames)
