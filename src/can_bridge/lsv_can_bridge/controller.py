"""What the bridge sends each period (opendbc ``carcontroller.py`` role). Pure, time is an argument.

- ``CommandWatchdog``: the stack's command if it is fresh, else a braking command.
- ``clamp_command``: every field inside the bridge's limits, whatever the input says.
- ``braking_command``: the explicit safe command (DESIGN.md section 5).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from lsv_can_bridge.params import Limits
from lsv_can_bridge.values import (
    GEAR_DRIVE,
    GEAR_PARK,
    LIGHT_BRAKE,
    LIGHT_HAZARD,
    MODE_ACCELERATION,
    MODE_PEDAL,
    Command,
    CommandSource,
)

_FLOAT_FIELDS = ("acceleration_mps2", "throttle_pct", "brake_pct", "speed_limit_mps",
                 "steering_angle_rad", "steering_rate_rps")


def is_valid(cmd: Command) -> bool:
    """Finite numbers and known enums: anything else is not acted on."""
    return (all(math.isfinite(getattr(cmd, f)) for f in _FLOAT_FIELDS)
            and cmd.mode in (MODE_ACCELERATION, MODE_PEDAL) and GEAR_PARK <= cmd.gear <= GEAR_DRIVE)


def clamp_command(cmd: Command, limits: Limits, measured_speed_mps: float | None = None,
                  pedal_supported: bool = True) -> Command:
    """``cmd`` with every field inside ``limits``; pedal commands become accelerations on a
    chassis without pedal signals; no positive acceleration above the speed limit."""
    accel = min(max(cmd.acceleration_mps2, -limits.max_decel_mps2), limits.max_accel_mps2)
    throttle = min(max(cmd.throttle_pct, 0.0), 100.0)
    brake = min(max(cmd.brake_pct, 0.0), 100.0)
    mode = cmd.mode
    if mode == MODE_PEDAL and not pedal_supported:
        accel = throttle / 100.0 * limits.max_accel_mps2 - brake / 100.0 * limits.max_decel_mps2
        accel = min(max(accel, -limits.max_decel_mps2), limits.max_accel_mps2)
        mode, throttle, brake = MODE_ACCELERATION, 0.0, 0.0
    speed_limit = min(max(cmd.speed_limit_mps, 0.0), limits.max_speed_mps)
    if measured_speed_mps is not None and abs(measured_speed_mps) > speed_limit:
        accel = min(accel, 0.0)
        throttle = 0.0
    return dataclasses.replace(
        cmd, mode=mode, acceleration_mps2=accel, throttle_pct=throttle, brake_pct=brake,
        speed_limit_mps=speed_limit,
        steering_angle_rad=min(max(cmd.steering_angle_rad, -limits.max_steer_angle_rad), limits.max_steer_angle_rad),
        steering_rate_rps=min(max(cmd.steering_rate_rps, 0.0), limits.max_steer_rate_rps))


def braking_command(last: Command | None, decel_mps2: float, emergency: bool, limits: Limits) -> Command:
    """Brake at ``decel_mps2`` in acceleration mode, keep the steering where it was asked,
    hazard and brake lights on; ``emergency`` also sets the e-stop bit."""
    base = last if last is not None and is_valid(last) else Command()
    return dataclasses.replace(
        base, mode=MODE_ACCELERATION, acceleration_mps2=-min(decel_mps2, limits.max_decel_mps2),
        throttle_pct=0.0, brake_pct=100.0, speed_limit_mps=0.0,
        steering_angle_rad=min(max(base.steering_angle_rad, -limits.max_steer_angle_rad), limits.max_steer_angle_rad),
        steering_rate_rps=min(max(base.steering_rate_rps, 0.0), limits.max_steer_rate_rps),
        emergency_stop=emergency or base.emergency_stop, lights=base.lights | LIGHT_HAZARD | LIGHT_BRAKE,
        horn=False)


@dataclass
class CommandWatchdog:
    """Keeps the latest command and its arrival time; ``select`` says what to send now."""

    timeout_ns: int
    timeout_decel_mps2: float
    estop_decel_mps2: float
    last: Command | None = None
    last_ns: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in CommandSource})

    def on_command(self, now_ns: int, cmd: Command) -> None:
        self.last = cmd
        self.last_ns = now_ns

    def select(self, now_ns: int, limits: Limits, measured_speed_mps: float | None = None,
               pedal_supported: bool = True) -> tuple[Command, CommandSource]:
        """The command to send at ``now_ns`` and why."""
        if self.last is None or self.last_ns is None:
            source = CommandSource.NO_COMMAND
        elif now_ns - self.last_ns > self.timeout_ns:
            source = CommandSource.TIMEOUT
        elif not is_valid(self.last):
            source = CommandSource.INVALID
        elif self.last.emergency_stop:
            source = CommandSource.EMERGENCY_STOP
        else:
            source = CommandSource.STACK
        self.counts[source.value] += 1
        if source is CommandSource.STACK:
            assert self.last is not None
            return clamp_command(self.last, limits, measured_speed_mps, pedal_supported), source
        if source is CommandSource.EMERGENCY_STOP:
            return braking_command(self.last, self.estop_decel_mps2, True, limits), source
        return braking_command(self.last, self.timeout_decel_mps2, False, limits), source
