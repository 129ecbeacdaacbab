"""A vehicle that follows the planner's trajectory exactly (no controller, no dynamics): for tests
and benchmarks of the planner in closed loop (pure: no rclpy)."""

from __future__ import annotations

import numpy as np

from lsv_planning.inputs import EgoState


class ToyVehicle:
    """Moves ``dt`` seconds along the last trajectory at its planned speed (perfect tracking)."""

    def __init__(self, x: float, y: float, yaw: float, v: float = 0.0, dt: float = 0.1):
        self.x, self.y, self.yaw, self.v, self.dt = x, y, yaw, v, dt

    def follow(self, pts) -> None:
        """``pts``: the planner's TrajectoryPoints (empty or one point = stop where it stands)."""
        if len(pts) < 2:
            self.v = 0.0
            return
        v1 = float(np.interp(self.dt, pts.t, pts.v))
        d = 0.5 * (self.v + v1) * self.dt if np.isfinite(pts.t[1]) else 0.0
        s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(pts.x), np.diff(pts.y)))])
        d = min(d, s[-1])
        self.x, self.y = float(np.interp(d, s, pts.x)), float(np.interp(d, s, pts.y))
        self.yaw = float(np.interp(d, s, np.unwrap(pts.yaw)))
        self.v = v1

    def ego(self, now_ns: int) -> EgoState:
        return EgoState(self.x, self.y, self.yaw, self.v, now_ns)
