"""Sensor stamps against the node's clock (pure, no rclpy; ``now_ns`` is an argument).

A sensor whose clock is off (a PTP/NTP failure, a driver stamping with its own clock) sends
data that look fresh but cannot be placed in time: the odometry looked up for its stamp, the
tracker's prediction and every age check go wrong. A message stamped more than ``max_ahead_s``
after the node's clock, or older than ``max_age_s``, is dropped and counted, and the offset is
kept for /diagnostics ("stamps ahead of clock by 0.5 s").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NS = 1_000_000_000


class Stamp(enum.Enum):
    OK = "ok"
    AHEAD = "ahead"  # stamped after the node's clock by more than max_ahead_s
    BEHIND = "behind"  # older than max_age_s


@dataclass(frozen=True)
class StampLimits:
    max_ahead_s: float  # s; 0 = no check
    max_age_s: float  # s; 0 = no check


def classify(stamp_ns: int, now_ns: int, limits: StampLimits) -> Stamp:
    """Where a message stamped ``stamp_ns`` stands at ``now_ns`` (both ns of the same clock). A clock at 0
    has not started (``use_sim_time`` before the first /clock): nothing to compare with, OK."""
    if now_ns <= 0:
        return Stamp.OK
    ahead = stamp_ns - now_ns
    if limits.max_ahead_s > 0.0 and ahead > limits.max_ahead_s * NS:
        return Stamp.AHEAD
    if limits.max_age_s > 0.0 and -ahead > limits.max_age_s * NS:
        return Stamp.BEHIND
    return Stamp.OK


class StampCheck:
    """``classify`` with counts per outcome and the offset of the last dropped message, for /diagnostics."""

    def __init__(self, limits: StampLimits):
        self.limits = limits
        self.counts = {s: 0 for s in Stamp}
        self.last_offset_s = 0.0  # stamp - clock of the last message dropped, s (+ = ahead)
        self.last_dropped: Stamp | None = None

    def check(self, stamp_ns: int, now_ns: int) -> bool:
        """True when the message may be used; a dropped one is counted and its offset kept."""
        verdict = classify(stamp_ns, now_ns, self.limits)
        self.counts[verdict] += 1
        if verdict is Stamp.OK:
            return True
        self.last_offset_s = (stamp_ns - now_ns) / NS
        self.last_dropped = verdict
        return False

    @property
    def dropped(self) -> int:
        return self.counts[Stamp.AHEAD] + self.counts[Stamp.BEHIND]

    def describe(self) -> str:
        """The last drop in words: 'stamps ahead of clock by 0.5 s' / 'stamps behind clock by 1.2 s' (0.1 s steps: the
        message stays the same while the offset does)."""
        if self.last_dropped is Stamp.AHEAD:
            return f"stamps ahead of clock by {self.last_offset_s:.1f} s"
        if self.last_dropped is Stamp.BEHIND:
            return f"stamps behind clock by {-self.last_offset_s:.1f} s"
        return "stamps on time"

    def values(self) -> dict[str, object]:
        """Counters for a DiagnosticStatus (``dropped*``: the simulator logs them going up)."""
        return {"dropped_stamp_ahead": self.counts[Stamp.AHEAD], "dropped_stamp_behind": self.counts[Stamp.BEHIND]}
