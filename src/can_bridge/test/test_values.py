"""The constants the cores use match the message definitions."""

from lsv_can_bridge import values
from lsv_msgs.msg import VehicleCommand, VehicleStatus


def test_command_constants_match_message() -> None:
    for name in ("MODE_ACCELERATION", "MODE_PEDAL", "GEAR_PARK", "GEAR_REVERSE", "GEAR_NEUTRAL", "GEAR_DRIVE",
                 "LIGHT_HEAD", "LIGHT_BRAKE", "LIGHT_TURN_LEFT", "LIGHT_TURN_RIGHT", "LIGHT_HAZARD",
                 "LIGHT_BEACON", "TOOL_BRUSH", "TOOL_VACUUM", "TOOL_SPRAY"):
        assert getattr(values, name) == getattr(VehicleCommand, name), name


def test_status_constants_match_message() -> None:
    for name in ("MODE_MANUAL", "MODE_AUTO", "MODE_ESTOP", "MODE_FAULT"):
        assert getattr(values, f"STATUS_{name}") == getattr(VehicleStatus, name), name
    for name in ("FAULT_STEERING", "FAULT_DRIVE_MOTOR", "FAULT_BRAKE", "FAULT_BATTERY", "FAULT_COMMAND_TIMEOUT",
                 "FAULT_COMMAND_INVALID", "FAULT_BUMPER"):
        assert getattr(values, name) == getattr(VehicleStatus, name), name


def test_dataclasses_carry_every_message_field() -> None:
    cmd_fields = set(VehicleCommand.get_fields_and_field_types()) - {"header"}
    st_fields = set(VehicleStatus.get_fields_and_field_types()) - {"header"}
    assert cmd_fields == set(values.COMMAND_FIELDS)
    assert st_fields == set(values.STATUS_FIELDS) | {"stale"}
