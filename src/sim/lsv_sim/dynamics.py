"""Longitudinal + lateral vehicle dynamics for the simulator (pure, no ROS, no hidden time).

Kinematic bicycle (reference point: rear axle) with a steering actuator that is rate
limited and lags (first order); a drive motor and a service brake, each a first-order lag
on its force request; rolling resistance, aerodynamic drag and road grade. Brake and rolling
resistance are dissipative: they can hold the vehicle at rest up to their capacity, but a
grade steeper than rolling resistance alone can hold makes an unbraked vehicle roll back.

``Dynamics(params).step(state, actuators, grade, dt) -> state`` is all a caller needs; the
real-time chassis node and a later synchronous simulator both step it with their own dt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from lsv_common.params import spec

G = 9.81  # m/s^2
STANDSTILL = 1e-3  # m/s, below this the vehicle is at rest


def _vp(default: float, description: str, unit: str, lo: float, hi: float, name: str) -> Any:
    """A VehicleParams field: ROS parameter ``vehicle.<name>``, optional (the default applies)."""
    return field(default=default, metadata=spec(description, unit=unit, min=lo, max=hi, optional=True,
                                                name=f"vehicle.{name}"))


@dataclass(frozen=True)
class VehicleParams:
    """Defaults: a 1.2 t last-mile delivery vehicle with a 1.9 m wheelbase."""

    mass_kg: float = _vp(1200.0, "vehicle mass", "kg", 100.0, 10000.0, "mass_kg")
    wheelbase_m: float = _vp(1.9, "wheelbase", "m", 0.5, 6.0, "wheelbase_m")
    track_m: float = _vp(1.3, "track width", "m", 0.5, 3.0, "track_m")
    max_steer_rad: float = _vp(0.6, "mechanical steering limit", "rad", 0.1, 1.2, "max_steer_rad")
    max_steer_rate_rps: float = _vp(0.8, "steering actuator rate limit", "rad/s", 0.05, 5.0, "max_steer_rate_rps")
    steer_time_constant_s: float = _vp(0.10, "steering actuator lag", "s", 0.0, 2.0, "steer_time_constant_s")
    max_drive_force_n: float = _vp(4500.0, "motor force at the wheels", "N", 0.0, 50000.0, "max_drive_force_n")
    drive_time_constant_s: float = _vp(0.15, "motor force lag", "s", 0.0, 2.0, "drive_time_constant_s")
    max_brake_force_n: float = _vp(9000.0, "service brake force", "N", 0.0, 100000.0, "max_brake_force_n")
    brake_time_constant_s: float = _vp(0.10, "brake force lag", "s", 0.0, 2.0, "brake_time_constant_s")
    rolling_resistance: float = _vp(0.015, "rolling resistance coefficient", "", 0.0, 0.2, "rolling_resistance")
    drag_area_m2: float = _vp(1.6, "drag coefficient x frontal area", "m^2", 0.0, 20.0, "drag_area_m2")
    air_density_kgpm3: float = _vp(1.2, "air density", "kg/m^3", 0.5, 1.5, "air_density_kgpm3")


@dataclass(frozen=True)
class VehicleState:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0
    speed_mps: float = 0.0  # signed, negative = rolling backwards
    accel_mps2: float = 0.0  # along the heading, last step
    yaw_rate_rps: float = 0.0
    steer_rad: float = 0.0  # actual front wheel angle
    drive_force_n: float = 0.0  # actual motor force at the wheels, signed (negative = reverse)
    brake_force_n: float = 0.0  # actual brake force, >= 0
    distance_m: float = 0.0  # odometer, always increasing


@dataclass(frozen=True)
class Actuators:
    """What the chassis ECU asks of the actuators."""

    drive_force_n: float = 0.0  # signed motor force request
    brake_force_n: float = 0.0  # brake force request, >= 0
    steer_rad: float = 0.0  # front wheel angle request
    steer_rate_rps: float = math.inf  # requested max steering rate (the actuator limit still applies)


def _lag(current: float, target: float, tau: float, dt: float) -> float:
    if tau <= 0.0:
        return target
    return current + (target - current) * (1.0 - math.exp(-dt / tau))


class Dynamics:
    def __init__(self, params: VehicleParams | None = None):
        self.p = params or VehicleParams()

    def resistance_n(self, speed_mps: float) -> float:
        """Rolling resistance magnitude at ``speed_mps`` on flat ground (for feed-forward)."""
        return self.p.rolling_resistance * self.p.mass_kg * G

    def step(self, state: VehicleState, act: Actuators, grade: float, dt: float) -> VehicleState:
        """Advance ``state`` by ``dt`` s; ``grade`` is rise/run along the heading (0.15 = 15 % uphill)."""
        p = self.p
        if dt <= 0.0:
            return state
        # steering: the commanded rate and the actuator's own limit, then a first-order lag
        target = min(max(act.steer_rad, -p.max_steer_rad), p.max_steer_rad)
        rate = min(max(act.steer_rate_rps, 0.0), p.max_steer_rate_rps)
        desired = _lag(state.steer_rad, target, p.steer_time_constant_s, dt)
        steer = state.steer_rad + min(max(desired - state.steer_rad, -rate * dt), rate * dt)

        drive = _lag(state.drive_force_n, min(max(act.drive_force_n, -p.max_drive_force_n), p.max_drive_force_n),
                     p.drive_time_constant_s, dt)
        brake = _lag(state.brake_force_n, min(max(act.brake_force_n, 0.0), p.max_brake_force_n),
                     p.brake_time_constant_s, dt)

        theta = math.atan(grade)
        v = state.speed_mps
        # forces that act whatever the motion: motor, gravity along the slope, drag (signed)
        f_active = drive - p.mass_kg * G * math.sin(theta) - 0.5 * p.air_density_kgpm3 * p.drag_area_m2 * v * abs(v)
        # dissipative forces: oppose motion, or hold at rest up to their capacity
        f_dissipative = brake + p.rolling_resistance * p.mass_kg * G * math.cos(theta)
        if abs(v) < STANDSTILL:
            if abs(f_active) <= f_dissipative:
                accel, v_new = 0.0, 0.0
            else:
                accel = (f_active - math.copysign(f_dissipative, f_active)) / p.mass_kg
                v_new = accel * dt
        else:
            accel = (f_active - math.copysign(f_dissipative, v)) / p.mass_kg
            v_new = v + accel * dt
            if v_new * v < 0.0:
                # crossing zero within the step: stop here, the next step decides from rest
                v_new = 0.0
                accel = -v / dt
        v_avg = 0.5 * (v + v_new)
        yaw_rate = v_avg * math.tan(steer) / p.wheelbase_m
        yaw = state.yaw_rad + yaw_rate * dt
        yaw_mid = state.yaw_rad + 0.5 * yaw_rate * dt
        return replace(
            state,
            x_m=state.x_m + v_avg * math.cos(yaw_mid) * dt,
            y_m=state.y_m + v_avg * math.sin(yaw_mid) * dt,
            yaw_rad=math.atan2(math.sin(yaw), math.cos(yaw)),
            speed_mps=v_new, accel_mps2=accel, yaw_rate_rps=yaw_rate, steer_rad=steer,
            drive_force_n=drive, brake_force_n=brake, distance_m=state.distance_m + abs(v_avg) * dt)

    def wheel_speeds(self, state: VehicleState) -> tuple[float, float, float, float]:
        """Wheel speeds FL, FR, RL, RR (m/s, signed) from the kinematic model."""
        half = 0.5 * self.p.track_m
        w = state.yaw_rate_rps
        rl, rr = state.speed_mps - w * half, state.speed_mps + w * half
        c = math.cos(state.steer_rad) or 1e-6
        return (rl / c, rr / c, rl, rr)
