"""Simulated chassis ECU: command checks, the 200 ms watchdog, its own limits, status periods."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import ChassisConfig, load_chassis_config
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import (
    FAULT_COMMAND_INVALID,
    FAULT_COMMAND_TIMEOUT,
    GEAR_DRIVE,
    STATUS_MODE_AUTO,
    STATUS_MODE_ESTOP,
    STATUS_MODE_FAULT,
    Command,
)
from lsv_sim.chassis_ecu import ChassisEcu, EcuParams, stopping_distance
from lsv_sim.dynamics import VehicleState

MS = 1_000_000
STEP_NS = 10 * MS
DRIVE = Command(acceleration_mps2=1.0, speed_limit_mps=3.0, steering_rate_rps=0.5, gear=GEAR_DRIVE, enable=True)


@pytest.fixture(params=["dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml"], ids=["chassis_a", "chassis_b"])
def config(request: pytest.FixtureRequest) -> ChassisConfig:
    return load_chassis_config(request.param)


class Rig:
    """ECU + dynamics stepped at 10 ms, fed by the bridge's frame builder every 20 ms."""

    def __init__(self, config: ChassisConfig, grade: float = 0.0):
        self.config = config
        self.ecu = ChassisEcu(config, EcuParams())
        self.vs = VehicleState(brake_force_n=9000.0)
        self.grade = grade
        self.now = 0
        self.counters: dict[int, int] = {}
        self.parser = StatusParser(config)
        self.sent: list[tuple[int, int, bytes]] = []

    def run(self, seconds: float, cmd: Command | None, corrupt=None, speed_target: float | None = None) -> None:
        for _ in range(round(seconds * 1e9 / STEP_NS)):
            if cmd is not None and self.now % (20 * MS) == 0:
                c = cmd
                if speed_target is not None:  # a simple speed controller, as the stack would run
                    accel = max(-2.0, min(1.5, speed_target - self.vs.speed_mps))
                    c = dataclasses.replace(cmd, acceleration_mps2=accel)
                for frame_id, data in frames.build_command_frames(self.config, c, self.counters):
                    self.ecu.on_frame(self.now, frame_id, corrupt(frame_id, data) if corrupt else data)
            act = self.ecu.control(self.now, self.vs, STEP_NS / 1e9)
            self.vs = self.ecu.dyn.step(self.vs, act, self.grade, STEP_NS / 1e9)
            for frame_id, data in self.ecu.status_frames(self.now, self.vs):
                self.sent.append((self.now, frame_id, data))
                assert self.parser.update(self.now, frame_id, data)
            self.now += STEP_NS


def test_follows_a_speed_command(config: ChassisConfig) -> None:
    rig = Rig(config)
    rig.run(8.0, DRIVE, speed_target=2.5)
    assert rig.vs.speed_mps == pytest.approx(2.5, abs=0.1)
    assert rig.ecu.state.mode == STATUS_MODE_AUTO and rig.ecu.state.fault_bits == 0
    status = rig.parser.state(rig.now)
    assert status.speed_mps == pytest.approx(rig.vs.speed_mps, abs=0.05) and status.mode == STATUS_MODE_AUTO


@pytest.mark.parametrize("grade", [0.0, 0.15, -0.15])
def test_brakes_by_itself_200_ms_after_the_last_drive_command(config: ChassisConfig, grade: float) -> None:
    rig = Rig(config, grade)
    rig.run(8.0, DRIVE, speed_target=3.0)
    v0, x0 = rig.vs.speed_mps, rig.vs.x_m
    assert v0 > 2.8
    rig.run(0.19, None)  # still inside the watchdog: keeps driving
    assert rig.ecu.state.mode == STATUS_MODE_AUTO and rig.vs.speed_mps > 2.8
    rig.run(0.03, None)
    assert rig.ecu.state.mode == STATUS_MODE_FAULT and rig.ecu.state.fault_bits & FAULT_COMMAND_TIMEOUT
    rig.run(5.0, None)
    assert rig.vs.speed_mps == 0.0
    # 200 ms watchdog + 100 ms brake lag at speed, then the chassis' own 3 m/s^2 stop (10 % margin)
    assert rig.vs.x_m - x0 <= 1.1 * stopping_distance(v0, 3.0, 0.3)
    x_stop = rig.vs.x_m
    rig.run(3.0, None)
    assert rig.vs.x_m == pytest.approx(x_stop, abs=1e-3)  # and holds, also on the hill
    assert rig.parser.state(rig.now).fault_bits & FAULT_COMMAND_TIMEOUT


def flip_checksum(frame_id: int, data: bytes) -> bytes:
    b = bytearray(data)
    b[-1 if b[-1] else 0] ^= 0xFF  # a byte that holds the checksum on both chassis
    return bytes(b)


def test_commands_with_bad_checksums_count_as_no_commands(config: ChassisConfig) -> None:
    rig = Rig(config)
    rig.run(5.0, DRIVE, speed_target=2.0)
    mm = config.command("drive")

    def corrupt(frame_id: int, data: bytes) -> bytes:
        b = bytearray(data)
        b[mm.checksum_byte] ^= 0x5A
        return bytes(b)

    rig.run(3.0, DRIVE, corrupt=corrupt, speed_target=2.0)
    assert rig.vs.speed_mps == 0.0
    assert rig.ecu.state.fault_bits & FAULT_COMMAND_INVALID and rig.ecu.state.fault_bits & FAULT_COMMAND_TIMEOUT
    assert rig.ecu.receiver.counts["bad_checksum"] > 100


def test_frozen_counter_counts_as_no_commands(config: ChassisConfig) -> None:
    rig = Rig(config)
    rig.run(5.0, DRIVE, speed_target=2.0)
    frozen: dict[int, bytes] = {}

    def replay(frame_id: int, data: bytes) -> bytes:
        return frozen.setdefault(frame_id, data)  # the same frame again and again

    rig.run(3.0, DRIVE, corrupt=replay, speed_target=2.0)
    assert rig.vs.speed_mps == 0.0 and rig.ecu.receiver.counts["bad_counter"] > 100


def test_enforces_its_own_limits(config: ChassisConfig) -> None:
    rig = Rig(config)
    wild = dataclasses.replace(DRIVE, acceleration_mps2=4.0, speed_limit_mps=20.0, steering_angle_rad=0.9,
                               steering_rate_rps=5.0)
    rig.run(0.5, wild)
    assert abs(rig.vs.steer_rad) <= 0.8 * 0.5 + 1e-6  # 0.8 rad/s ECU rate limit
    peak_accel = 0.0
    for _ in range(100):
        rig.run(0.1, wild)
        peak_accel = max(peak_accel, rig.vs.accel_mps2)
    assert peak_accel <= EcuParams().max_accel_mps2 + 0.5  # speed loop margin on top of the limit
    assert rig.vs.steer_rad == pytest.approx(EcuParams().max_steer_rad, abs=1e-3)
    assert rig.vs.speed_mps <= EcuParams().max_speed_mps + 0.1


def test_emergency_stop(config: ChassisConfig) -> None:
    rig = Rig(config)
    rig.run(6.0, DRIVE, speed_target=3.0)
    rig.run(3.0, dataclasses.replace(DRIVE, emergency_stop=True))
    assert rig.ecu.state.mode == STATUS_MODE_ESTOP and rig.vs.speed_mps == 0.0
    assert rig.parser.state(rig.now).mode == STATUS_MODE_ESTOP


def test_holds_on_a_hill_when_asked_to_stand_still(config: ChassisConfig) -> None:
    rig = Rig(config, grade=0.15)
    rig.run(3.0, dataclasses.replace(DRIVE, acceleration_mps2=0.0))
    assert abs(rig.vs.x_m) < 0.05 and rig.vs.speed_mps == 0.0


def test_status_frames_at_their_dbc_periods(config: ChassisConfig) -> None:
    rig = Rig(config)
    rig.run(2.0, DRIVE)
    per_id = Counter(frame_id for t, frame_id, _ in rig.sent if t >= 1_000_000_000)
    for mm in config.status:
        assert per_id[mm.frame_id] == pytest.approx(1e9 / mm.period_ns, abs=1)
    if config.status[0].pages:  # multiplexed pages take turns
        mm = config.status[0]
        pages = [mm.dbc_message.decode(d)[mm.multiplexer] for _, fid, d in rig.sent[:6]]
        assert pages == [0, 1, 2, 0, 1, 2]


def test_repeated_status_frames_keep_the_bridge_fed_while_time_stands_still(config: ChassisConfig) -> None:
    """Synchronous mode: while the simulator waits for the stack, the ECU repeats its status
    frames; the bridge's parser takes them as fresh (alive counters advance, checksums hold)
    and reads the same vehicle state."""
    rig = Rig(config)
    rig.run(1.0, DRIVE)
    before = rig.parser.state(rig.now)
    for k in range(1, 6):  # five repeats at the same simulated time, 20 ms of wall time apart in the node
        for frame_id, data in rig.ecu.repeat_status_frames(rig.vs):
            assert rig.parser.update(rig.now + k * 20 * MS, frame_id, data)
    after = rig.parser.state(rig.now + 5 * 20 * MS)
    assert after is not None and before is not None
    assert after.speed_mps == pytest.approx(before.speed_mps, abs=0.02)
    assert not after.stale
