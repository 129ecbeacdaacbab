"""Traffic lights with fixed-time timing plans (pure, time is an argument).

A ``TimingPlan`` is a cycle of (state, duration) steps shifted by an offset; a light can be
forced dark (a fault). ``LightState`` values are the SPaT ``MovementPhaseState`` /
``lsv_msgs/TrafficSignal.STATE_*`` numbers, so ground truth, V2X and the stack's messages
use the same codes.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np


class LightState(enum.IntEnum):
    """Numbered as TrafficSignal.STATE_* (and the SPaT MovementPhaseState)."""

    UNAVAILABLE = 0
    DARK = 1
    FLASHING_RED = 2
    RED = 3
    FLASHING_GREEN = 4
    PERMISSIVE_GREEN = 5
    GREEN = 6  # protected green
    YELLOW = 7
    FLASHING_YELLOW = 8

    @classmethod
    def parse(cls, name: str) -> LightState:
        """'red' / 'green' / 'yellow' / 'dark' ... (case-insensitive) -> LightState."""
        key = name.strip().upper().replace("-", "_").replace(" ", "_")
        if key == "PROTECTED_GREEN":
            key = "GREEN"
        if key == "AMBER":
            key = "YELLOW"
        return cls[key]

    @property
    def stop_required(self) -> bool:
        """Traffic facing this state must not cross the stop line (red and flashing red)."""
        return self in (LightState.RED, LightState.FLASHING_RED)


PLAN_STATES = ("red", "yellow", "green", "permissive_green", "flashing_yellow", "flashing_red", "dark")


@dataclass(frozen=True)
class PlanStep:
    state: LightState
    duration_s: float


@dataclass(frozen=True)
class TimingPlan:
    """A fixed-time cycle: ``steps`` in order, starting ``offset_s`` into the scenario."""

    steps: tuple[PlanStep, ...]
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a timing plan needs at least one step")
        if any(s.duration_s <= 0.0 for s in self.steps):
            raise ValueError("every step of a timing plan needs a duration > 0")

    @property
    def cycle_s(self) -> float:
        return sum(s.duration_s for s in self.steps)

    def _locate(self, t_s: float) -> tuple[int, float, float]:
        """(step index, time into the cycle, start of that step in the cycle) at ``t_s``."""
        tc = math.fmod(t_s + self.offset_s, self.cycle_s)
        if tc < 0.0:
            tc += self.cycle_s
        start = 0.0
        for i, s in enumerate(self.steps):
            if tc < start + s.duration_s:
                return i, tc, start
            start += s.duration_s
        return len(self.steps) - 1, tc, start - self.steps[-1].duration_s  # rounding at the cycle end

    def state_at(self, t_s: float) -> LightState:
        return self.steps[self._locate(t_s)[0]].state

    def time_to_change_s(self, t_s: float) -> float:
        """Seconds until the current step ends (> 0)."""
        i, tc, start = self._locate(t_s)
        return max(start + self.steps[i].duration_s - tc, 1e-9)

    def upcoming(self, t_s: float, count: int = 3) -> list[tuple[LightState, float, float]]:
        """The current step and the next ones as (state, start_in_s, end_in_s) from ``t_s``
        (start_in_s of the current step is 0)."""
        i, tc, start = self._locate(t_s)
        out = []
        begin = 0.0
        end = start + self.steps[i].duration_s - tc
        for k in range(count):
            out.append((self.steps[(i + k) % len(self.steps)].state, begin, end))
            begin = end
            end = end + self.steps[(i + k + 1) % len(self.steps)].duration_s
        return out


@dataclass(frozen=True)
class TrafficLight:
    """A signal head controlling the traffic that crosses ``stop_line`` ((2, 2) m, map frame).

    ``heading_rad`` is the direction of the traffic the light faces (crossing the stop line
    in that direction under a red light is a violation).
    """

    light_id: str
    intersection_id: int
    phase_id: int
    stop_line: tuple[tuple[float, float], tuple[float, float]]
    heading_rad: float
    plan: TimingPlan

    def state_at(self, t_s: float, dark: bool = False) -> LightState:
        return LightState.DARK if dark else self.plan.state_at(t_s)


def segment_crossed(p0: np.ndarray, p1: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """True when the move p0 -> p1 crosses the segment a-b (touching the end counts)."""
    d = p1 - p0
    e = b - a
    denom = d[0] * e[1] - d[1] * e[0]
    if abs(denom) < 1e-12:
        return False
    w = a - p0
    t = (w[0] * e[1] - w[1] * e[0]) / denom
    u = (w[0] * d[1] - w[1] * d[0]) / denom
    return 0.0 < t <= 1.0 and 0.0 <= u <= 1.0
