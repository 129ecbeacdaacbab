"""Constants of the vehicle interface and the pure data types it exchanges (no rclpy).

``Command`` and ``Status`` mirror ``lsv_msgs/VehicleCommand`` and ``VehicleStatus`` field
by field, so that the cores (frame builders, parser, watchdog, simulated ECU) never import
ROS; the node converts between messages and these dataclasses in one place.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

COMMAND_PERIOD = 0.020  # s, drive/steering/body command period on the bus
COMMAND_TIMEOUT = 0.100  # s, bridge side: no fresh VehicleCommand -> braking command
CHASSIS_WATCHDOG = 0.200  # s, chassis side: no valid drive frame -> the chassis brakes by itself
STALE_PERIODS = 10  # a status message not seen for this many of its periods is stale
HARD_SPEED_CAP = 25.0 / 3.6  # m/s, DESIGN.md: hard cap 25 km/h whatever the configuration says

# lsv_msgs/VehicleCommand constants (duplicated here so the cores need no ROS import;
# test_values.py checks they match the message definition).
MODE_ACCELERATION = 0
MODE_PEDAL = 1
GEAR_PARK, GEAR_REVERSE, GEAR_NEUTRAL, GEAR_DRIVE = 0, 1, 2, 3
LIGHT_HEAD, LIGHT_BRAKE, LIGHT_TURN_LEFT, LIGHT_TURN_RIGHT, LIGHT_HAZARD, LIGHT_BEACON = 1, 2, 4, 8, 16, 32
TOOL_BRUSH, TOOL_VACUUM, TOOL_SPRAY = 1, 2, 4

# lsv_msgs/VehicleStatus constants
STATUS_MODE_MANUAL, STATUS_MODE_AUTO, STATUS_MODE_ESTOP, STATUS_MODE_FAULT = 0, 1, 2, 3
FAULT_STEERING = 1
FAULT_DRIVE_MOTOR = 2
FAULT_BRAKE = 4
FAULT_BATTERY = 8
FAULT_COMMAND_TIMEOUT = 16
FAULT_COMMAND_INVALID = 32
FAULT_BUMPER = 64


@dataclass(frozen=True)
class Command:
    """What the stack asks of the chassis (= lsv_msgs/VehicleCommand without the header)."""

    mode: int = MODE_ACCELERATION
    acceleration_mps2: float = 0.0
    throttle_pct: float = 0.0
    brake_pct: float = 0.0
    speed_limit_mps: float = 0.0
    steering_angle_rad: float = 0.0
    steering_rate_rps: float = 0.0
    gear: int = GEAR_PARK
    parking_brake: bool = False
    enable: bool = False
    emergency_stop: bool = False
    lights: int = 0
    horn: bool = False
    work_tool: int = 0


@dataclass(frozen=True)
class Status:
    """What the chassis reports (= lsv_msgs/VehicleStatus without the header)."""

    speed_mps: float = 0.0
    wheel_speeds_mps: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    steering_angle_rad: float = 0.0
    gear: int = GEAR_PARK
    parking_brake: bool = False
    mode: int = STATUS_MODE_MANUAL
    fault_bits: int = 0
    state_of_charge_pct: float = 0.0
    battery_voltage_v: float = 0.0
    stale: bool = False


class CommandSource(Enum):
    """Why the bridge sent what it sent this period (reported on /diagnostics)."""

    STACK = "stack"  # the stack's fresh command, clamped
    NO_COMMAND = "no_command"  # nothing received yet: braking command
    TIMEOUT = "timeout"  # last command older than the timeout: braking command
    EMERGENCY_STOP = "emergency_stop"  # the command asked for an e-stop: braking command
    INVALID = "invalid"  # NaN/inf or unknown enum in the command: braking command


def _field_types(cls: type) -> dict[str, str]:
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}


#: Field names the YAML mapping may use, with the number of elements for arrays (0 = scalar).
COMMAND_FIELDS: dict[str, int] = {name: 0 for name in _field_types(Command)}
STATUS_FIELDS: dict[str, int] = {name: 0 for name in _field_types(Status) if name != "stale"}
STATUS_FIELDS["wheel_speeds_mps"] = 4
INT_FIELDS = {"mode", "gear", "lights", "work_tool", "fault_bits"}
BOOL_FIELDS = {"parking_brake", "enable", "emergency_stop", "horn"}
