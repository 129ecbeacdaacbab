"""Build -> parse round trips of commands and status for both chassis, counter wrap-around."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import ChassisConfig, load_chassis_config
from lsv_can_bridge.receiver import ACCEPTED, COUNTER_SKIP, FrameReceiver
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import Command, Status

CONFIGS = {name: load_chassis_config(f"dbc/{name}.yaml") for name in ("lsv_chassis", "lsv_chassis_b")}


def decode_commands(config: ChassisConfig, out_frames: list[frames.Frame]) -> dict:
    receiver = FrameReceiver(config.commands)
    fields: dict = {}
    for frame_id, data in out_frames:
        st = receiver.update(0, frame_id, data)
        assert st is not None, hex(frame_id)
        frames.signals_to_fields(st.mm, st.decoded, fields)
    return fields


def test_command_round_trip(config: ChassisConfig) -> None:
    cmd = Command(acceleration_mps2=-1.25, speed_limit_mps=4.0, steering_angle_rad=0.123, steering_rate_rps=0.5,
                  gear=1, parking_brake=True, enable=True, emergency_stop=True, lights=4 | 16 | 32, horn=True,
                  work_tool=1 | 4)
    fields = decode_commands(config, frames.build_command_frames(config, cmd, {}))
    for name in ("gear", "parking_brake", "enable", "emergency_stop", "lights", "horn", "work_tool"):
        assert fields[name] == getattr(cmd, name), name
    assert fields["acceleration_mps2"] == pytest.approx(-1.25, abs=0.01)
    assert fields["speed_limit_mps"] == pytest.approx(4.0, abs=0.01)
    assert fields["steering_angle_rad"] == pytest.approx(0.123, abs=1e-3)
    assert fields["steering_rate_rps"] == pytest.approx(0.5, abs=2e-3)


@settings(max_examples=200, deadline=None)
@given(accel=st.floats(-5.0, 3.0), angle=st.floats(-0.9, 0.9), gear=st.integers(0, 3),
       lights=st.integers(0, 63), tool=st.integers(0, 7), name=st.sampled_from(sorted(CONFIGS)))
def test_command_round_trip_property(accel: float, angle: float, gear: int, lights: int, tool: int,
                                     name: str) -> None:
    config = CONFIGS[name]
    cmd = Command(acceleration_mps2=accel, steering_angle_rad=angle, gear=gear, lights=lights, work_tool=tool)
    fields = decode_commands(config, frames.build_command_frames(config, cmd, {}))
    assert fields["acceleration_mps2"] == pytest.approx(accel, abs=0.006)
    assert fields["steering_angle_rad"] == pytest.approx(angle, abs=2e-4)
    assert (fields["gear"], fields["lights"], fields["work_tool"]) == (gear, lights, tool)


def test_out_of_range_values_are_clamped_to_the_signal_not_wrapped(config: ChassisConfig) -> None:
    cmd = Command(acceleration_mps2=-100.0, speed_limit_mps=1e9, steering_angle_rad=math.inf,
                  steering_rate_rps=math.nan)
    fields = decode_commands(config, frames.build_command_frames(config, cmd, {}))
    assert fields["acceleration_mps2"] < -4.0  # the most negative the signal holds, not a wrapped positive
    assert fields["speed_limit_mps"] > 10.0
    assert fields["steering_angle_rad"] > 0.5
    assert fields["steering_rate_rps"] == pytest.approx(0.0)


def test_status_round_trip(config: ChassisConfig) -> None:
    status = Status(speed_mps=-1.5, wheel_speeds_mps=(1.0, 1.1, -0.9, 0.95), steering_angle_rad=-0.2, gear=1,
                    parking_brake=True, mode=2, fault_bits=16 | 64, state_of_charge_pct=76.5,
                    battery_voltage_v=72.4)
    parser = StatusParser(config)
    assert parser.state(0) is None
    for frame_id, data in frames.build_status_frames(config, status, {}):
        assert parser.update(0, frame_id, data)
    got = parser.state(0)
    assert got is not None and not got.stale
    assert got.speed_mps == pytest.approx(-1.5, abs=0.01)
    assert got.wheel_speeds_mps == pytest.approx((1.0, 1.1, -0.9, 0.95), abs=0.02)
    assert got.steering_angle_rad == pytest.approx(-0.2, abs=2e-4)
    assert (got.gear, got.parking_brake, got.mode, got.fault_bits) == (1, True, 2, 16 | 64)
    assert got.state_of_charge_pct == pytest.approx(76.5, abs=0.5)
    assert got.battery_voltage_v == pytest.approx(72.4, abs=0.1)


def test_counter_wraps_around(config: ChassisConfig) -> None:
    mm = config.command("drive")
    counters: dict[int, int] = {}
    seen = []
    receiver = FrameReceiver(config.commands)
    for _ in range(40):
        frame_id, data = frames.build_command_frames(config, Command(), counters)[0]
        st = receiver.update(0, frame_id, data)
        assert st is not None
        seen.append(int(st.decoded[mm.counter]))
    assert seen[:17] == [*range(16), 0]
    assert receiver.counts[ACCEPTED] == 40 and receiver.counts[COUNTER_SKIP] == 0
