"""Lateral control: pure pursuit with a speed-dependent look-ahead (pure, no ROS).

The reference point is the rear axle (``base_link``). The goal point is the trajectory point
``lookahead`` metres of arc length ahead of the vehicle's projection on the path; the steering
angle puts the rear axle on the circle through that point (Coulter 1992):
``delta = atan(2 L sin(alpha) / l_d)``. The look-ahead grows with speed,
``l_d = clamp(min, gain * v + min_lookahead, max)``, so that tracking stays calm at speed and tight
when slow. Steering-rate and angle limits are the command gate's job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lsv_common.geometry import wrap_angle
from lsv_common.params import spec
from lsv_control.trajectory import TrajectoryArrays, interpolate


@dataclass(frozen=True)
class PurePursuitParams:
    wheelbase_m: float = field(
        metadata=spec(
            name="lateral.wheelbase_m", description="wheelbase (rear axle to front axle)", unit="m", min=0.5, max=6.0
        )
    )
    min_lookahead_m: float = field(
        metadata=spec(
            name="lateral.min_lookahead_m", description="look-ahead at standstill", unit="m", min=0.5, max=20.0
        )
    )
    lookahead_gain_s: float = field(
        metadata=spec(
            name="lateral.lookahead_gain_s", description="look-ahead added per m/s of speed", unit="s", min=0.0, max=5.0
        )
    )
    max_lookahead_m: float = field(
        metadata=spec(name="lateral.max_lookahead_m", description="look-ahead upper bound", unit="m", min=1.0, max=50.0)
    )
    max_steer_rad: float = field(
        metadata=spec(
            name="lateral.max_steer_rad",
            description="steering angle the geometry may ask for",
            unit="rad",
            min=0.05,
            max=1.2,
        )
    )

    def __post_init__(self) -> None:
        if self.max_lookahead_m < self.min_lookahead_m:
            raise ValueError(f"max_lookahead_m ({self.max_lookahead_m}) < min_lookahead_m ({self.min_lookahead_m})")


def lookahead_distance(p: PurePursuitParams, speed_mps: float) -> float:
    """Look-ahead distance in m at ``speed_mps``."""
    return min(max(p.min_lookahead_m + p.lookahead_gain_s * abs(speed_mps), p.min_lookahead_m), p.max_lookahead_m)


def steering_to_point(p: PurePursuitParams, x: float, y: float, yaw: float, gx: float, gy: float) -> float:
    """Pure-pursuit front wheel angle (rad, + left) that drives the rear axle at (x, y, yaw) through (gx, gy)."""
    dx, dy = gx - x, gy - y
    ld = math.hypot(dx, dy)
    if ld < 1e-6:
        return 0.0
    alpha = wrap_angle(math.atan2(dy, dx) - yaw)
    delta = math.atan2(2.0 * p.wheelbase_m * math.sin(alpha), ld)
    return min(max(delta, -p.max_steer_rad), p.max_steer_rad)


def pure_pursuit(
    p: PurePursuitParams, traj: TrajectoryArrays, s_vehicle_m: float, x: float, y: float, yaw: float, speed_mps: float
) -> tuple[float, float, float]:
    """(steering angle rad, goal x, goal y) for a vehicle at arc length ``s_vehicle_m`` of ``traj``."""
    ld = lookahead_distance(p, speed_mps)
    gx, gy, *_ = interpolate(traj, s_vehicle_m + ld)
    return steering_to_point(p, x, y, yaw, gx, gy), gx, gy
