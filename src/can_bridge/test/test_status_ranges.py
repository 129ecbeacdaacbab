"""Status values outside the DBC signal range (or not finite) never reach the controller.

A frame whose counter and checksum are right can still carry nonsense: a chassis firmware bug,
a DBC that does not match the firmware, or a corruption the 8-bit checksum does not catch. The
DBC says what a signal may hold (``[minimum|maximum]``); a frame with any signal outside that is
rejected whole, counted per message and per reason, and changes nothing the node publishes.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

import pytest

from lsv_can_bridge import checksums, frames
from lsv_can_bridge.chassis_config import PACKAGE_ROOT, ChassisConfig, MessageMap, load_chassis_config
from lsv_can_bridge.receiver import ACCEPTED, NON_FINITE, OUT_OF_RANGE, FrameReceiver
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import MODE_PEDAL, Command, Status

MS = 1_000_000
GOOD = Status(speed_mps=2.0, mode=1, state_of_charge_pct=50.0, battery_voltage_v=70.0)
#: the speed signal of the first status message of each shipped chassis
SPEED_SIGNAL = {"VEHICLE_STATUS": "VEHICLE_STATUS_Speed", "VCU_Status": "VCU_Speed"}


def primed(config: ChassisConfig) -> tuple[StatusParser, dict[int, int]]:
    """A parser that has seen every status message once (speed 2.0 m/s)."""
    parser = StatusParser(config)
    counters: dict[int, int] = {}
    for frame_id, data in frames.build_status_frames(config, GOOD, counters):
        assert parser.update(0, frame_id, data)
    return parser, counters


def speed_frame(config: ChassisConfig, counters: dict[int, int], dbc_speed: float) -> tuple[MessageMap, bytes]:
    """The next speed-carrying frame (page 0 of a multiplexed message) with the speed signal set
    to ``dbc_speed`` in DBC units, unclamped, with the next alive counter and a right checksum."""
    mm = config.status[0]
    signals = frames.fields_to_signals(mm, GOOD, mm.pages[0] if mm.pages else None)
    signals[SPEED_SIGNAL[mm.name]] = dbc_speed
    counter = (counters.get(mm.frame_id, -1) + 1) % mm.counter_modulo
    counters[mm.frame_id] = counter
    return mm, frames.encode_frame(mm, signals, counter)


@pytest.mark.parametrize("dbc_speed", [327.67, -327.68, 20.5])
def test_status_speed_outside_dbc_range_never_reaches_controller(config: ChassisConfig, dbc_speed: float) -> None:
    """Counter and checksum right, speed signal outside its DBC range (chassis A: [-20, 20] m/s,
    chassis B: [-80, 80] km/h): rejected, counted as out_of_range for that message, the published
    speed stays the last good one, and the next good frame is taken (the bad one used no counter)."""
    sig = SPEED_SIGNAL[config.status[0].name]
    if config.yaml_path.name == "lsv_chassis_b.yaml" and dbc_speed == 20.5:
        dbc_speed = 80.5  # just outside chassis B's range in km/h
    parser, counters = primed(config)
    accepted_before = parser.counts[ACCEPTED]
    mm, data = speed_frame(config, counters, dbc_speed)
    decoded = mm.dbc_message.decode(data, decode_choices=False)
    assert decoded[sig] == pytest.approx(dbc_speed)  # the frame really carries the value (no clamping)
    assert data[mm.checksum_byte] == checksums.compute(mm.checksum_fn, data, mm.checksum_byte)

    assert not parser.update(1 * MS, mm.frame_id, data)
    state = parser.state(1 * MS)
    assert state is not None and state.speed_mps == pytest.approx(2.0)  # the controller sees the last good speed
    assert parser.counts[OUT_OF_RANGE] == 1 and parser.counts[ACCEPTED] == accepted_before
    assert parser.receiver.states[(mm.frame_id, mm.is_extended)].counts[OUT_OF_RANGE] == 1
    assert parser.receiver.per_message()[mm.name] == {OUT_OF_RANGE: 1}
    assert sig in (parser.receiver.last_rejection or "")
    assert parser.receiver.dropped() == 1

    # the counter of the rejected frame was not taken: a good frame with the same counter is
    counters[mm.frame_id] -= 1
    scale = 3.6 if config.yaml_path.name == "lsv_chassis_b.yaml" else 1.0
    _, good = speed_frame(config, counters, 3.0 * scale)
    assert parser.update(2 * MS, mm.frame_id, good)
    assert parser.state(2 * MS).speed_mps == pytest.approx(3.0, abs=0.01)


def test_values_on_the_range_limits_are_taken(config: ChassisConfig) -> None:
    """The limits themselves are in range (the check must not eat a chassis at full speed)."""
    lo, hi = (-20.0, 20.0) if config.yaml_path.name == "lsv_chassis.yaml" else (-80.0, 80.0)
    parser, counters = primed(config)
    for t, v in enumerate((hi, lo), start=1):
        mm, data = speed_frame(config, counters, v)
        assert parser.update(t * MS, mm.frame_id, data), parser.receiver.last_rejection
    assert parser.counts.get(OUT_OF_RANGE, 0) == 0


def test_frames_the_bridge_and_the_ecu_build_always_pass_the_range_check(config: ChassisConfig) -> None:
    """Whatever the fields say (clamped on encode), our own frames are never rejected as out of range."""
    wild = Status(speed_mps=1e6, wheel_speeds_mps=(-1e6, 1e6, math.nan, 0.0), steering_angle_rad=-50.0,
                  gear=3, mode=1, fault_bits=0xFFFF, state_of_charge_pct=1e3, battery_voltage_v=-5.0)
    parser = StatusParser(config)
    counters: dict[int, int] = {}
    for t in range(3):
        for frame_id, data in frames.build_status_frames(config, wild, counters):
            assert parser.update(t * 20 * MS, frame_id, data), parser.receiver.last_rejection
    state = parser.state(40 * MS)
    assert state is not None and abs(state.speed_mps) <= 80.0 / 3.6 + 1e-6


# --- non-finite values: a chassis with an IEEE float speed signal -------------------------------

def float_speed_chassis(tmp_path: Path, declared_range: str) -> ChassisConfig:
    """Chassis A with VEHICLE_STATUS_Speed as a 32-bit IEEE float (``SIG_VALTYPE_ ... : 1``)."""
    dbc = (PACKAGE_ROOT / "dbc" / "lsv_chassis.dbc").read_text()
    old = (' SG_ VEHICLE_STATUS_Speed : 0|16@1- (0.01,0) [-20|20] "m/s" STACK\n'
           ' SG_ VEHICLE_STATUS_SteerAngle : 16|16@1- (0.0001,0) [-1|1] "rad" STACK\n')
    new = (f' SG_ VEHICLE_STATUS_Speed : 0|32@1- (1,0) {declared_range} "m/s" STACK\n'
           ' SG_ VEHICLE_STATUS_SteerAngle : 38|14@1- (0.0001,0) [-0.8|0.8] "rad" STACK\n')
    assert old in dbc
    dbc = dbc.replace(old, new) + "\nSIG_VALTYPE_ 513 VEHICLE_STATUS_Speed : 1;\n"
    (tmp_path / "lsv_chassis.dbc").write_text(dbc)
    (tmp_path / "float.yaml").write_text((PACKAGE_ROOT / "dbc" / "lsv_chassis.yaml").read_text())
    return load_chassis_config(tmp_path / "float.yaml")


@pytest.mark.parametrize("declared_range", ["[-20|20]", "[0|0]"])  # [0|0]: no range declared
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_status_speed_nan_or_inf_never_reaches_controller(tmp_path: Path, declared_range: str, bad: float) -> None:
    config = float_speed_chassis(tmp_path, declared_range)
    mm = config.status[0]
    assert next(s for s in mm.dbc_message.signals if s.name == "VEHICLE_STATUS_Speed").is_float
    parser, counters = primed(config)
    mm, data = speed_frame(config, counters, 1.5)
    assert parser.update(1 * MS, mm.frame_id, data)  # a finite float speed is taken
    assert parser.state(1 * MS).speed_mps == pytest.approx(1.5)

    _, data = speed_frame(config, counters, 0.0)
    raw = bytearray(data)
    raw[0:4] = struct.pack("<f", bad)
    raw[mm.checksum_byte] = checksums.compute(mm.checksum_fn, raw, mm.checksum_byte)
    assert not parser.update(2 * MS, mm.frame_id, bytes(raw))
    assert parser.counts[NON_FINITE] == 1
    assert parser.receiver.per_message()[mm.name] == {NON_FINITE: 1}
    state = parser.state(2 * MS)
    assert state is not None and state.speed_mps == pytest.approx(1.5)
    assert all(math.isfinite(getattr(state, f.name)) for f in dataclasses.fields(state)
               if isinstance(getattr(state, f.name), float))


def test_float_speed_inside_and_outside_a_declared_range(tmp_path: Path) -> None:
    config = float_speed_chassis(tmp_path, "[-20|20]")
    parser, counters = primed(config)
    mm, data = speed_frame(config, counters, 25.0)
    assert not parser.update(1 * MS, mm.frame_id, data)
    assert parser.counts[OUT_OF_RANGE] == 1
    mm, data = speed_frame(config, counters, -19.5)
    assert parser.update(2 * MS, mm.frame_id, data)
    assert parser.state(2 * MS).speed_mps == pytest.approx(-19.5)


def test_own_frames_stay_inside_a_range_whose_limit_is_between_two_raw_steps(tmp_path: Path) -> None:
    """A DBC limit off the raw grid (throttle [0|99.75] at 0.5 % per bit): clamping to 99.75 and
    rounding to the grid would send 100.0, which the receiving side rejects; the clamp snaps inwards."""
    dbc = (PACKAGE_ROOT / "dbc" / "lsv_chassis.dbc").read_text()
    old = 'SG_ DRIVE_CMD_Throttle : 24|8@1+ (0.5,0) [0|100] "%"'
    assert old in dbc
    (tmp_path / "lsv_chassis.dbc").write_text(dbc.replace(old, old.replace("[0|100]", "[0|99.75]")))
    (tmp_path / "c.yaml").write_text((PACKAGE_ROOT / "dbc" / "lsv_chassis.yaml").read_text())
    config = load_chassis_config(tmp_path / "c.yaml")
    mm = config.command("drive")
    assert next(s for s in mm.signals if s.signal == "DRIVE_CMD_Throttle").maximum == pytest.approx(99.5)
    receiver = FrameReceiver(config.commands)
    for counter, (frame_id, data) in enumerate(frames.build_command_frames(
            config, Command(mode=MODE_PEDAL, throttle_pct=250.0, speed_limit_mps=3.0), {})):
        assert receiver.update(counter * MS, frame_id, data) is not None, receiver.last_rejection
