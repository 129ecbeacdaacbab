"""Command gate: the last stage every command passes, MRM commands included (pure, no ROS).

Whatever the follower or the minimal-risk manoeuvre asked for, the gate bounds it: speed limit,
acceleration, jerk (change of acceleration per second), steering angle and steering rate.
A non-finite field is replaced by a stop request (never passed on). Emergency commands get a
larger, still bounded, jerk so that the -3 m/s^2 stop is reached within a few cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from lsv_common.params import spec


@dataclass(frozen=True)
class GateParams:
    max_speed_mps: float = field(
        metadata=spec(
            name="gate.max_speed_mps",
            description="speed limit sent to the chassis (hard cap 25 km/h)",
            unit="m/s",
            min=0.1,
            max=25.0 / 3.6,
        )
    )
    max_accel_mps2: float = field(
        metadata=spec(
            name="gate.max_accel_mps2", description="largest acceleration request", unit="m/s^2", min=0.1, max=3.0
        )
    )
    max_decel_mps2: float = field(
        metadata=spec(
            name="gate.max_decel_mps2",
            description="largest deceleration request (positive number)",
            unit="m/s^2",
            min=0.5,
            max=8.0,
        )
    )
    max_jerk_mps3: float = field(
        metadata=spec(
            name="gate.max_jerk_mps3",
            description="acceleration change per second, normal driving",
            unit="m/s^3",
            min=0.1,
            max=50.0,
        )
    )
    emergency_jerk_mps3: float = field(
        metadata=spec(
            name="gate.emergency_jerk_mps3",
            description="acceleration change per second in an emergency stop",
            unit="m/s^3",
            min=0.1,
            max=200.0,
        )
    )
    max_steer_rad: float = field(
        metadata=spec(name="gate.max_steer_rad", description="steering angle limit", unit="rad", min=0.05, max=1.2)
    )
    max_steer_rate_rps: float = field(
        metadata=spec(
            name="gate.max_steer_rate_rps", description="steering rate limit", unit="rad/s", min=0.05, max=5.0
        )
    )


@dataclass(frozen=True)
class Command:
    """What the controller sends (mirrors lsv_msgs/VehicleCommand, MODE_ACCELERATION)."""

    acceleration_mps2: float = 0.0
    speed_limit_mps: float = 0.0
    steering_angle_rad: float = 0.0
    steering_rate_rps: float = 0.0
    gear: int = 3  # VehicleCommand.GEAR_DRIVE
    parking_brake: bool = False
    enable: bool = True
    emergency_stop: bool = False
    lights: int = 0


@dataclass(frozen=True)
class GateState:
    """The last command that left the gate (None before the first one)."""

    accel_mps2: float | None = None
    steer_rad: float | None = None


@dataclass(frozen=True)
class GateReport:
    """Which limits acted on this command (for diagnostics)."""

    non_finite: bool = False
    accel_limited: bool = False
    jerk_limited: bool = False
    steer_limited: bool = False
    steer_rate_limited: bool = False
    speed_limited: bool = False  # a positive request cut because the vehicle is above max_speed_mps


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def apply(
    cmd: Command,
    st: GateState,
    measured_steer_rad: float | None,
    dt: float,
    p: GateParams,
    emergency: bool = False,
    speed_mps: float = 0.0,
) -> tuple[Command, GateState, GateReport]:
    """Bound ``cmd``; ``dt`` (s) is the time since the previous command, ``speed_mps`` the measured speed
    (above ``max_speed_mps`` no positive acceleration passes). Returns (command, state, report)."""
    non_finite = not all(
        math.isfinite(v)
        for v in (cmd.acceleration_mps2, cmd.speed_limit_mps, cmd.steering_angle_rad, cmd.steering_rate_rps)
    )
    if non_finite:
        hold = st.steer_rad if st.steer_rad is not None else (measured_steer_rad or 0.0)
        cmd = replace(
            cmd,
            acceleration_mps2=-p.max_decel_mps2 if emergency else -1.0,
            speed_limit_mps=0.0,
            steering_angle_rad=hold,
            steering_rate_rps=p.max_steer_rate_rps,
        )
    a = _clamp(cmd.acceleration_mps2, -p.max_decel_mps2, p.max_accel_mps2)
    speed_limited = speed_mps > p.max_speed_mps and a > 0.0
    if speed_limited:
        a = 0.0
    accel_limited = a != cmd.acceleration_mps2
    jerk_limited = False
    dt = max(dt, 0.0)
    if st.accel_mps2 is not None:
        step = (p.emergency_jerk_mps3 if emergency else p.max_jerk_mps3) * dt
        limited = _clamp(a, st.accel_mps2 - step, st.accel_mps2 + step)
        jerk_limited = limited != a
        a = limited
    steer = _clamp(cmd.steering_angle_rad, -p.max_steer_rad, p.max_steer_rad)
    steer_limited = steer != cmd.steering_angle_rad
    base = st.steer_rad if st.steer_rad is not None else measured_steer_rad
    steer_rate_limited = False
    if base is not None:
        step = p.max_steer_rate_rps * dt
        limited = _clamp(steer, base - step, base + step)
        steer_rate_limited = limited != steer
        steer = limited
    out = replace(
        cmd,
        acceleration_mps2=a,
        speed_limit_mps=_clamp(cmd.speed_limit_mps, 0.0, p.max_speed_mps),
        steering_angle_rad=steer,
        steering_rate_rps=_clamp(cmd.steering_rate_rps, 0.0, p.max_steer_rate_rps),
    )
    return (
        out,
        GateState(a, steer),
        GateReport(non_finite, accel_limited, jerk_limited, steer_limited, steer_rate_limited, speed_limited),
    )
