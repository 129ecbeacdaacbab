"""Frames for the lidar node (pure): base_link -> lidar extrinsic, map <- base_link from odometry
picked by stamp, and boxes moved between frames (array-wide)."""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec


def pose_matrix(x: float, y: float, z: float, roll: float = 0.0, pitch: float = 0.0, yaw: float = 0.0) -> np.ndarray:
    """4x4 homogeneous transform of a translation and ZYX Euler angles (rad)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw),
                              math.sin(yaw))
    m = np.eye(4)
    m[:3, :3] = [[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                 [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                 [-sp, cp * sr, cp * cr]]
    m[:3, 3] = (x, y, z)
    return m


def matrix_from_pose(position: tuple[float, float, float], quaternion: tuple[float, float, float, float]) -> np.ndarray:
    """4x4 transform of a position and a quaternion (x, y, z, w; normalised here)."""
    q = np.asarray(quaternion, dtype=np.float64)
    n = float(np.linalg.norm(q))
    x, y, z, w = q / n if n > 0 else (0.0, 0.0, 0.0, 1.0)
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = position
    return m


def boxes_to_frame(t: np.ndarray, centers: np.ndarray, yaws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box centres (M, 3) and yaws (M,) -> the frame ``t`` maps into (4x4). The yaw is the heading of
    the box's length axis after rotation, projected on the target frame's x/y plane."""
    c = centers @ t[:3, :3].T + t[:3, 3]
    heading = np.stack([np.cos(yaws), np.sin(yaws), np.zeros_like(yaws)], axis=1) @ t[:3, :3].T
    return c, np.arctan2(heading[:, 1], heading[:, 0])


def _ext(default: float, axis: str, unit: str, lo: float, hi: float):
    return field(default=default, metadata=spec(f"lidar {axis} in base_link (default: the simulator's mounting, "
                                                f"src/sim/config/sensors.param.yaml)", unit=unit, min=lo, max=hi,
                                                optional=True, name=f"extrinsics.lidar.{axis}"))


@dataclass(frozen=True)
class LidarExtrinsics:
    """Mounting of the lidar on base_link (rear axle centre on the ground, x forward, y left, z up)."""

    x: float = _ext(1.2, "x", "m", -5.0, 10.0)
    y: float = _ext(0.0, "y", "m", -3.0, 3.0)
    z: float = _ext(1.95, "z", "m", 0.0, 5.0)
    roll: float = _ext(0.0, "roll", "rad", -math.pi, math.pi)
    pitch: float = _ext(0.0, "pitch", "rad", -math.pi / 2, math.pi / 2)
    yaw: float = _ext(0.0, "yaw", "rad", -math.pi, math.pi)

    def matrix(self) -> np.ndarray:
        """T_base_lidar (4x4)."""
        return pose_matrix(self.x, self.y, self.z, self.roll, self.pitch, self.yaw)


class PoseBuffer:
    """The last ``capacity`` poses (stamp in ns, 4x4 T_map_base) in stamp order; ``nearest`` finds the
    one closest to a cloud's stamp."""

    def __init__(self, capacity: int = 200):
        self._stamps: deque[int] = deque(maxlen=capacity)
        self._poses: deque[np.ndarray] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp_ns: int, t_map_base: np.ndarray) -> None:
        if self._stamps and stamp_ns < self._stamps[-1]:  # time went back (bag loop, sim reset): start over
            self._stamps.clear()
            self._poses.clear()
        self._stamps.append(stamp_ns)
        self._poses.append(t_map_base)

    def nearest(self, stamp_ns: int) -> tuple[np.ndarray, float] | None:
        """(T_map_base, |stamp difference| in s) of the pose closest in time, or None when empty."""
        if not self._stamps:
            return None
        stamps = list(self._stamps)
        i = bisect.bisect_left(stamps, stamp_ns)
        best = min((j for j in (i - 1, i) if 0 <= j < len(stamps)), key=lambda j: abs(stamps[j] - stamp_ns))
        return self._poses[best], abs(stamps[best] - stamp_ns) * 1e-9
