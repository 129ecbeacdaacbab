"""Frozen sensor drivers (pure: no rclpy).

A driver that hangs often keeps re-sending its last message: the data look alive, the header
stamp does not move. ``RepeatedStamps`` tells such a repeat from a new sample so that a node
can drop it and count it: the sensor then ages and goes stale downstream exactly as if it had
stopped, and ``/diagnostics`` says why.
"""

from __future__ import annotations

NS = 1_000_000_000


def stamp_to_ns(stamp) -> int:
    """builtin_interfaces/Time (anything with ``sec`` and ``nanosec``) -> int nanoseconds."""
    return int(stamp.sec) * NS + int(stamp.nanosec)


class RepeatedStamps:
    """Per sensor: the last stamp seen, repeats in total and since the last new sample."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self.repeated: dict[str, int] = {}  # sensor -> repeats in total
        self.in_a_row: dict[str, int] = {}  # sensor -> repeats since the last new sample

    def is_new(self, sensor: str, stamp_ns: int) -> bool:
        """False for a sample whose stamp equals the previous one of that sensor. Unstamped samples (0)
        cannot be told apart and count as new."""
        if stamp_ns != 0 and stamp_ns == self._last.get(sensor):
            self.repeated[sensor] = self.repeated.get(sensor, 0) + 1
            self.in_a_row[sensor] = self.in_a_row.get(sensor, 0) + 1
            return False
        self._last[sensor] = stamp_ns
        self.in_a_row[sensor] = 0
        return True
