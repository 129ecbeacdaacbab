"""The planner's trajectory as numpy arrays, and the geometric queries the controller needs (pure).

``TrajectoryArrays`` holds one ``lsv_msgs/Trajectory`` as columns (the node converts the message
once, at 10 Hz); ``nearest_index`` finds the point the vehicle is at, gated by heading so that a
path that crosses itself (a figure-of-eight) never snaps to the other branch; ``point_at_distance``
interpolates along the path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lsv_common.geometry import wrap_angle


@dataclass(frozen=True)
class TrajectoryArrays:
    """One trajectory; every array has shape (N,) float64.

    x_m, y_m: positions in the map frame; yaw_rad: heading; speed_mps: planned speed (>= 0);
    accel_mps2: planned acceleration; grade: rise over run (0 = unknown); s_m: arc length from
    the first point.
    """

    x_m: np.ndarray
    y_m: np.ndarray
    yaw_rad: np.ndarray
    speed_mps: np.ndarray
    accel_mps2: np.ndarray
    grade: np.ndarray
    s_m: np.ndarray

    @property
    def size(self) -> int:
        return int(self.x_m.shape[0])

    @staticmethod
    def from_columns(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, speed: np.ndarray,
                     accel: np.ndarray | None = None, grade: np.ndarray | None = None) -> TrajectoryArrays:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n = x.shape[0]
        zeros = np.zeros(n)
        seg = np.hypot(np.diff(x), np.diff(y)) if n > 1 else np.zeros(0)
        s = np.concatenate(([0.0], np.cumsum(seg))) if n else zeros
        return TrajectoryArrays(x, y, np.asarray(yaw, dtype=np.float64), np.asarray(speed, dtype=np.float64),
                                zeros if accel is None else np.asarray(accel, dtype=np.float64),
                                zeros if grade is None else np.asarray(grade, dtype=np.float64), s)

    def valid(self) -> bool:
        """Non-empty, all finite, speeds not negative (forward driving only)."""
        if self.size == 0:
            return False
        cols = (self.x_m, self.y_m, self.yaw_rad, self.speed_mps, self.accel_mps2, self.grade)
        return all(bool(np.isfinite(c).all()) for c in cols) and bool((self.speed_mps >= 0.0).all())


def nearest_index(traj: TrajectoryArrays, x: float, y: float, yaw: float, max_heading_error_rad: float) -> int | None:
    """Index of the closest point whose heading is within ``max_heading_error_rad`` of ``yaw``.

    None when no point qualifies (the vehicle points away from the whole path).
    """
    d2 = (traj.x_m - x) ** 2 + (traj.y_m - y) ** 2
    dh = np.abs((traj.yaw_rad - yaw + np.pi) % (2.0 * np.pi) - np.pi)
    d2 = np.where(dh <= max_heading_error_rad, d2, np.inf)
    i = int(np.argmin(d2))
    return None if not math.isfinite(float(d2[i])) else i


def projection(traj: TrajectoryArrays, i: int, x: float, y: float) -> tuple[float, float]:
    """(arc length, signed lateral error, + = vehicle left of the path) of (x, y) projected near point ``i``."""
    n = traj.size
    if n == 1:
        h = traj.yaw_rad[0]
        dx, dy = x - traj.x_m[0], y - traj.y_m[0]
        return float(traj.s_m[0] + dx * math.cos(h) + dy * math.sin(h)), float(-dx * math.sin(h) + dy * math.cos(h))
    best: tuple[float, float, float] | None = None
    for j in (i - 1, i):  # the two segments touching point i
        if j < 0 or j + 1 >= n:
            continue
        x0, y0, x1, y1 = traj.x_m[j], traj.y_m[j], traj.x_m[j + 1], traj.y_m[j + 1]
        sx, sy = x1 - x0, y1 - y0
        length2 = sx * sx + sy * sy
        if length2 <= 1e-12:
            continue
        t = ((x - x0) * sx + (y - y0) * sy) / length2
        at_end = (j == 0 and t < 0.0) or (j + 1 == n - 1 and t > 1.0)
        tc = t if at_end else min(max(t, 0.0), 1.0)  # extrapolate beyond the path's ends only
        px, py = x0 + tc * sx, y0 + tc * sy
        length = math.sqrt(length2)
        lateral = ((x - x0) * sy * -1.0 + (y - y0) * sx) / length
        dist = math.hypot(x - px, y - py) if not at_end else abs(lateral)
        if best is None or dist < best[0]:
            best = (dist, float(traj.s_m[j] + tc * length), float(lateral))
    if best is None:
        return float(traj.s_m[i]), math.hypot(x - traj.x_m[i], y - traj.y_m[i])
    return best[1], best[2]


def interpolate(traj: TrajectoryArrays, s: float) -> tuple[float, float, float, float, float, float]:
    """(x, y, yaw, speed, accel, grade) at arc length ``s``; beyond the end, extended along the last heading."""
    n = traj.size
    if n == 1 or s <= traj.s_m[0]:
        i, t = 0, 0.0
    elif s >= traj.s_m[-1]:
        extra = s - traj.s_m[-1]
        h = traj.yaw_rad[-1]
        return (float(traj.x_m[-1] + extra * math.cos(h)), float(traj.y_m[-1] + extra * math.sin(h)), float(h),
                float(traj.speed_mps[-1]), float(traj.accel_mps2[-1]), float(traj.grade[-1]))
    else:
        i = int(np.searchsorted(traj.s_m, s, side="right")) - 1
        i = min(max(i, 0), n - 2)
        ds = traj.s_m[i + 1] - traj.s_m[i]
        t = 0.0 if ds <= 1e-9 else (s - traj.s_m[i]) / ds
    j = min(i + 1, n - 1)

    def lerp(a: np.ndarray) -> float:
        return float(a[i] + t * (a[j] - a[i]))

    yaw = float(traj.yaw_rad[i] + t * wrap_angle(float(traj.yaw_rad[j] - traj.yaw_rad[i])))
    return lerp(traj.x_m), lerp(traj.y_m), yaw, lerp(traj.speed_mps), lerp(traj.accel_mps2), lerp(traj.grade)
