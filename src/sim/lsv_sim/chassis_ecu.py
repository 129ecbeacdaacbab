"""Simulated chassis ECU (pure core): the other end of the CAN bridge, speaking the same DBC.

It checks the alive counter, checksum, length and DBC signal ranges of every command frame
with the same receiver the bridge uses for status frames, brakes by itself when no valid drive
command arrived for ``watchdog_ms`` (200 ms), enforces its own limits whatever the commands say,
turns the commands into actuator requests for ``dynamics.Dynamics`` and builds the status
frames at their DBC periods (multiplexed messages page by page). Time is an argument.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import ChassisConfig, MessageMap
from lsv_can_bridge.receiver import FrameReceiver
from lsv_can_bridge.values import (
    FAULT_COMMAND_INVALID,
    FAULT_COMMAND_TIMEOUT,
    GEAR_DRIVE,
    GEAR_NEUTRAL,
    GEAR_PARK,
    GEAR_REVERSE,
    MODE_PEDAL,
    STATUS_MODE_AUTO,
    STATUS_MODE_ESTOP,
    STATUS_MODE_FAULT,
    STATUS_MODE_MANUAL,
    Command,
    Status,
)
from lsv_common.params import spec
from lsv_sim.dynamics import Actuators, Dynamics, VehicleState

log = logging.getLogger(__name__)

BRAKE_KI = 4.0  # 1/s, integral gain of the chassis' own braking on the deceleration error


def _ep(default: float, description: str, unit: str, lo: float, hi: float, name: str) -> Any:
    return field(default=default, metadata=spec(description, unit=unit, min=lo, max=hi, optional=True,
                                                name=f"ecu.{name}"))


@dataclass(frozen=True)
class EcuParams:
    """The chassis' own limits and behaviour (ROS parameters ``ecu.<name>``)."""

    watchdog_ms: float = _ep(200.0, "no valid drive command for this long -> the chassis brakes", "ms",
                             20.0, 2000.0, "watchdog_ms")
    watchdog_decel_mps2: float = _ep(3.0, "deceleration of the chassis' own stop", "m/s^2", 0.5, 8.0,
                                     "watchdog_decel_mps2")
    max_accel_mps2: float = _ep(2.0, "acceleration limit", "m/s^2", 0.1, 5.0, "max_accel_mps2")
    max_decel_mps2: float = _ep(5.0, "deceleration limit (also the e-stop deceleration)", "m/s^2", 0.5, 8.0,
                                "max_decel_mps2")
    max_speed_mps: float = _ep(25.0 / 3.6, "speed limit of the chassis", "m/s", 0.5, 15.0, "max_speed_mps")
    max_steer_rad: float = _ep(0.55, "steering angle limit", "rad", 0.05, 1.2, "max_steer_rad")
    max_steer_rate_rps: float = _ep(0.8, "steering rate limit", "rad/s", 0.05, 5.0, "max_steer_rate_rps")
    speed_kp: float = _ep(1.5, "speed loop proportional gain", "1/s", 0.0, 20.0, "speed_kp")
    speed_ki: float = _ep(0.8, "speed loop integral gain", "1/s^2", 0.0, 20.0, "speed_ki")
    hold_speed_mps: float = _ep(0.05, "below this speed with no drive request the brake holds", "m/s",
                                0.0, 1.0, "hold_speed_mps")
    invalid_fault_ms: float = _ep(1000.0, "FAULT_COMMAND_INVALID stays set this long after a bad frame", "ms",
                                  0.0, 10000.0, "invalid_fault_ms")
    battery_capacity_kwh: float = _ep(10.0, "battery capacity", "kWh", 0.1, 500.0, "battery_capacity_kwh")


@dataclass
class EcuState:
    """What the ECU remembers between cycles (exposed for tests and diagnostics)."""

    mode: int = STATUS_MODE_MANUAL
    fault_bits: int = 0
    gear: int = GEAR_PARK
    parking_brake: bool = True
    v_ref: float = 0.0  # speed reference of the acceleration loop, along the gear direction
    integral: float = 0.0
    soc_pct: float = 80.0
    watchdog_trips: int = 0


class ChassisEcu:
    def __init__(self, config: ChassisConfig, params: EcuParams | None = None, dynamics: Dynamics | None = None):
        self.config = config
        self.p = params or EcuParams()
        self.dyn = dynamics or Dynamics()
        self.receiver = FrameReceiver(config.commands, stale_periods=10, ignore_ids=config.status_ids)
        self.fields: dict[str, Any] = dataclasses.asdict(Command())
        self.state = EcuState()
        self.last_drive_ns: int | None = None
        self.last_steer_ns: int | None = None
        self.last_invalid_ns: int | None = None
        self._watchdog_ns = int(self.p.watchdog_ms * 1e6)
        self._tripped = False
        self._counters: dict[int, int] = {}
        self.corrupt_counters = False  # fault injection: status frames keep their last alive counter
        self._due_ns: dict[int, int] = {}
        self._page_index: dict[int, int] = {}
        self._braking = False
        self._dt_last = 0.01

    # --- commands in ---
    def on_frame(self, now_ns: int, arbitration_id: int, data: bytes | bytearray, is_extended: bool = False) -> bool:
        """Check one received frame; True when it was a valid command frame."""
        dropped = self.receiver.dropped()
        st = self.receiver.update(now_ns, arbitration_id, data, is_extended)
        if st is None:
            if self.receiver.dropped() != dropped:
                self.last_invalid_ns = now_ns
            return False
        frames.signals_to_fields(st.mm, st.decoded or {}, self.fields)
        if st.mm.role == "drive":
            self.last_drive_ns = now_ns
        elif st.mm.role == "steering":
            self.last_steer_ns = now_ns
        return True

    def command(self) -> Command:
        """The last valid command fields (for tests and diagnostics)."""
        return Command(**self.fields)

    # --- actuators out ---
    def control(self, now_ns: int, vs: VehicleState, dt: float) -> Actuators:
        """Actuator requests for this cycle from the last valid commands and the vehicle state."""
        p, s, f = self.p, self.state, self.fields
        m = self.dyn.p.mass_kg
        timed_out = self.last_drive_ns is None or now_ns - self.last_drive_ns > self._watchdog_ns
        invalid_recent = (self.last_invalid_ns is not None
                          and now_ns - self.last_invalid_ns <= p.invalid_fault_ms * 1e6)
        s.fault_bits = FAULT_COMMAND_INVALID if invalid_recent else 0
        if timed_out and self.last_drive_ns is not None:
            s.fault_bits |= FAULT_COMMAND_TIMEOUT
            if not self._tripped:
                self._tripped = True
                s.watchdog_trips += 1
                log.warning("no valid drive command for %.0f ms: braking", p.watchdog_ms)
        elif not timed_out:
            self._tripped = False

        standstill = abs(vs.speed_mps) < p.hold_speed_mps
        if not timed_out and standstill and f["gear"] in (GEAR_PARK, GEAR_REVERSE, GEAR_NEUTRAL, GEAR_DRIVE):
            s.gear = int(f["gear"])  # gear changes only at standstill
        s.parking_brake = standstill and (s.gear == GEAR_PARK or bool(f["parking_brake"]) or timed_out
                                          or not f["enable"])

        steer_fresh = self.last_steer_ns is not None and now_ns - self.last_steer_ns <= self._watchdog_ns
        if timed_out:
            s.mode = STATUS_MODE_FAULT if self.last_drive_ns is not None else STATUS_MODE_MANUAL
            decel = p.watchdog_decel_mps2
        elif f["emergency_stop"]:
            s.mode, decel = STATUS_MODE_ESTOP, p.max_decel_mps2
        elif not f["enable"]:
            s.mode, decel = STATUS_MODE_MANUAL, p.watchdog_decel_mps2
        else:
            s.mode, decel = STATUS_MODE_AUTO, 0.0
        if s.mode == STATUS_MODE_AUTO and steer_fresh:
            steer = min(max(float(f["steering_angle_rad"]), -p.max_steer_rad), p.max_steer_rad)
            rate = min(max(float(f["steering_rate_rps"]), 0.0), p.max_steer_rate_rps)
        else:
            steer, rate = vs.steer_rad, 0.0  # hold the wheel where it is

        self._dt_last = dt
        direction = {GEAR_DRIVE: 1.0, GEAR_REVERSE: -1.0}.get(s.gear, 0.0)
        if s.mode == STATUS_MODE_AUTO and (direction == 0.0 or s.parking_brake):
            decel = p.watchdog_decel_mps2
        braking = s.mode != STATUS_MODE_AUTO or direction == 0.0 or s.parking_brake
        if braking:
            act = self._brake(vs, decel, steer, rate)
            self._braking = True
            return act
        if self._braking:
            self._braking = False
            s.integral = 0.0
        limit = min(max(float(f["speed_limit_mps"]), 0.0), p.max_speed_mps)
        along = vs.speed_mps * direction  # speed in the gear's direction
        fmax, bmax = self.dyn.p.max_drive_force_n, self.dyn.p.max_brake_force_n
        if f["mode"] == MODE_PEDAL:
            throttle = min(max(float(f["throttle_pct"]), 0.0), 100.0) / 100.0
            brake = min(max(float(f["brake_pct"]), 0.0), 100.0) / 100.0
            if along >= limit:
                throttle = 0.0
            drive = min(throttle * fmax, m * p.max_accel_mps2 + self.dyn.resistance_n(along))
            return Actuators(drive * direction, brake * bmax, steer, rate)

        a_target = min(max(float(f["acceleration_mps2"]), -p.max_decel_mps2), p.max_accel_mps2)
        s.v_ref = min(max(s.v_ref + a_target * dt, 0.0), limit)
        s.v_ref = min(max(s.v_ref, along - 1.0), along + 1.0)
        if s.v_ref <= 0.0 and a_target <= 0.0 and abs(along) < p.hold_speed_mps:
            s.v_ref, s.integral = 0.0, 0.0
            return Actuators(0.0, bmax, steer, rate)  # stand still on the service brake
        err = s.v_ref - along
        a_cmd = a_target + p.speed_kp * err
        if -p.max_decel_mps2 < a_cmd < p.max_accel_mps2:  # integrate only when not saturated (anti-windup)
            s.integral = min(max(s.integral + err * dt, -3.0), 3.0)
        a_cmd = min(max(a_cmd, -p.max_decel_mps2), p.max_accel_mps2)
        # the integral term stands for the force a grade or a load takes (not an acceleration)
        force = m * (a_cmd + p.speed_ki * s.integral) + (self.dyn.resistance_n(along) if along > 0.05 else 0.0)
        if force >= 0.0:
            return Actuators(min(force, fmax) * direction, 0.0, steer, rate)
        return Actuators(0.0, min(-force, bmax), steer, rate)

    def _brake(self, vs: VehicleState, decel: float, steer: float, rate: float) -> Actuators:
        """Brake at ``decel`` (feed-forward plus an integral on the measured deceleration, so a
        downhill grade does not stretch the stop); full brake to hold at standstill."""
        s = self.state
        s.v_ref = max(0.0, abs(vs.speed_mps))
        bmax = self.dyn.p.max_brake_force_n
        if abs(vs.speed_mps) < self.p.hold_speed_mps:
            s.integral = 0.0
            return Actuators(0.0, bmax, steer, rate)
        if not self._braking:
            s.integral = 0.0
        a_along = vs.accel_mps2 * math.copysign(1.0, vs.speed_mps)  # negative when slowing down
        s.integral = min(max(s.integral + (a_along + decel) * self._dt_last, -decel), 5.0)
        force = self.dyn.p.mass_kg * (decel + BRAKE_KI * s.integral)
        return Actuators(0.0, min(max(force, 0.0), bmax), steer, rate)

    def update_battery(self, vs: VehicleState, dt: float) -> None:
        energy_j = max(0.0, vs.drive_force_n * vs.speed_mps) * dt / 0.85
        self.state.soc_pct = max(0.0, self.state.soc_pct - energy_j / (self.p.battery_capacity_kwh * 3.6e6) * 100.0)

    # --- status out ---
    def status(self, vs: VehicleState) -> Status:
        s = self.state
        return Status(
            speed_mps=vs.speed_mps, wheel_speeds_mps=self.dyn.wheel_speeds(vs), steering_angle_rad=vs.steer_rad,
            gear=s.gear, parking_brake=s.parking_brake, mode=s.mode, fault_bits=s.fault_bits,
            state_of_charge_pct=s.soc_pct, battery_voltage_v=62.0 + 0.13 * s.soc_pct)

    def status_frames(self, now_ns: int, vs: VehicleState) -> list[frames.Frame]:
        """The status frames due at ``now_ns`` (each message at its DBC period)."""
        out: list[frames.Frame] = []
        status: Status | None = None
        for mm in self.config.status:
            due = self._due_ns.get(mm.frame_id)
            if due is not None and now_ns < due:
                continue
            # next deadline on the period grid; if we fell behind, restart from now
            self._due_ns[mm.frame_id] = now_ns + mm.period_ns if due is None or now_ns - due > mm.period_ns \
                else due + mm.period_ns
            status = status or self.status(vs)
            out.append((mm.frame_id, self._encode_status(mm, status)))
        return out

    def repeat_status_frames(self, vs: VehicleState) -> list[frames.Frame]:
        """Every status message once more, with its next alive counter, whatever is due.

        A real ECU keeps sending on its own clock while the simulated time stands still
        (synchronous mode waiting for a slow stack): without these the bridge's wall-clock
        staleness check would see a silent chassis that is not silent.
        """
        status = self.status(vs)
        return [(mm.frame_id, self._encode_status(mm, status)) for mm in self.config.status]

    def _encode_status(self, mm: MessageMap, status: Status) -> bytes:
        page = None
        if mm.pages:
            i = self._page_index.get(mm.frame_id, 0)
            page = mm.pages[i % len(mm.pages)]
            self._page_index[mm.frame_id] = i + 1
        counter = (self._counters.get(mm.frame_id, -1) + 1) % mm.counter_modulo
        if self.corrupt_counters and mm.frame_id in self._counters:
            counter = self._counters[mm.frame_id]  # stuck alive counter (fault injection): frames look repeated
        self._counters[mm.frame_id] = counter
        return frames.encode_frame(mm, frames.fields_to_signals(mm, status, page), counter)


def stopping_distance(speed_mps: float, decel_mps2: float, delay_s: float) -> float:
    """Distance covered from ``speed_mps`` with ``delay_s`` dead time then ``decel_mps2``."""
    return abs(speed_mps) * delay_s + speed_mps ** 2 / (2.0 * decel_mps2)


