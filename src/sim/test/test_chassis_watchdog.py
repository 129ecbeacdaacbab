"""The chassis brakes by itself when the stack is gone (DESIGN.md section 5): no bridge and no
controller on the bus, only the simulated ECU, which must brake within its 200 ms watchdog plus
one of its step periods after the last valid drive frame.

Measured (this machine, flat road, ECU defaults of ``config/chassis.param.yaml``: watchdog
200 ms, own stop at 3.0 m/s^2, step 10 ms; vehicle brake lag 0.1 s), both chassis alike:

- pure core, frames at every phase of the 10 ms step: brake command 200-210 ms after the last
  valid drive frame (207 ms at a 3 ms phase); the deceleration reaches 90 % of 3.0 m/s^2
  120 ms later, peaks at 3.65 m/s^2 (the brake integral catching up the lag), and averages
  3.0-3.1 m/s^2 from the brake command to standstill: from 2.5 m/s the vehicle stands 0.81 s
  after the brake command and 1.58 m after the last frame (4.17 m/s: 1.37 s, 3.72 m);
- python-can virtual bus, the real-time ``chassis`` node in this process, from 3.25 m/s: brake
  command 201.7-210.2 ms after the last drive frame was received (four runs: 206.9, 209.9,
  201.7, 208.1 ms; sent -> received 0.1-0.4 ms), standstill 1.06 s later, 3.07-3.08 m/s^2 on
  average (``test_chassis_node_brakes_itself_on_a_silent_bus`` prints its run's figures).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import can
import pytest
import yaml

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import ChassisConfig, load_chassis_config
from lsv_can_bridge.values import (
    CHASSIS_WATCHDOG,
    FAULT_COMMAND_INVALID,
    FAULT_COMMAND_TIMEOUT,
    GEAR_DRIVE,
    STATUS_MODE_AUTO,
    STATUS_MODE_FAULT,
    Command,
)
from lsv_sim.chassis_ecu import ChassisEcu, EcuParams
from lsv_sim.dynamics import Actuators, VehicleState

MS = 1_000_000
SIM_CONFIG = Path(__file__).resolve().parent.parent / "config" / "chassis.param.yaml"
NODE_PARAMS = yaml.safe_load(SIM_CONFIG.read_text())["/**"]["ros__parameters"]
STEP_NS = int(NODE_PARAMS["step_period_ms"] * MS)  # the chassis node's step period
WATCHDOG_NS = int(NODE_PARAMS["ecu"]["watchdog_ms"] * MS)
DECEL = NODE_PARAMS["ecu"]["watchdog_decel_mps2"]  # m/s^2, the chassis' own stop
DRIVE = Command(speed_limit_mps=4.17, steering_rate_rps=0.5, gear=GEAR_DRIVE, enable=True)


def braking(act: Actuators) -> bool:
    return act.brake_force_n > 0.0 and act.drive_force_n == 0.0


@dataclasses.dataclass
class Stop:
    """What happened after the last valid drive frame (times in ns, speeds in m/s)."""

    t_last_frame: int
    t_brake: int  # first ECU cycle that asks for the brake
    v_brake: float
    t_still: int  # first cycle at standstill
    x_last_frame: float
    x_still: float
    peak_decel: float
    t_90: int  # first cycle whose deceleration reaches 90 % of the ECU's own stop

    @property
    def delay_ms(self) -> float:
        return (self.t_brake - self.t_last_frame) / MS

    @property
    def mean_decel(self) -> float:
        return self.v_brake / ((self.t_still - self.t_brake) / 1e9)


def drive_then_go_silent(config: ChassisConfig, target_mps: float, phase_ns: int) -> Stop:
    """ECU + dynamics stepped every STEP_NS; drive frames every 20 ms at ``phase_ns`` into the
    step, from a speed controller, until the vehicle holds ``target_mps``; then nothing at all."""
    ecu = ChassisEcu(config, EcuParams())
    vs = VehicleState(brake_force_n=ecu.dyn.p.max_brake_force_n)
    counters: dict[int, int] = {}
    now, next_frame, silent_from = 0, phase_ns, 8_000 * MS
    t_last = t_brake = t_still = t_90 = None
    x_last = v_brake = 0.0
    peak = 0.0
    while t_still is None and now < 20_000 * MS:
        while next_frame <= now and next_frame < silent_from:
            cmd = dataclasses.replace(DRIVE, acceleration_mps2=max(-2.0, min(1.5, target_mps - vs.speed_mps)))
            for frame_id, data in frames.build_command_frames(config, cmd, counters):
                assert ecu.on_frame(next_frame, frame_id, data)
            t_last, x_last, next_frame = next_frame, vs.x_m, next_frame + 20 * MS
        act = ecu.control(now, vs, STEP_NS / 1e9)
        if t_last is not None and now > silent_from:
            if t_brake is None and braking(act) and ecu.state.mode == STATUS_MODE_FAULT:
                t_brake, v_brake = now, vs.speed_mps
            if t_brake is None:
                assert now - t_last <= WATCHDOG_NS and ecu.state.mode == STATUS_MODE_AUTO  # not too early
            elif vs.speed_mps == 0.0:
                t_still = now
        vs = ecu.dyn.step(vs, act, 0.0, STEP_NS / 1e9)
        if t_brake is not None:
            peak = max(peak, -vs.accel_mps2)
            if t_90 is None and -vs.accel_mps2 >= 0.9 * DECEL:
                t_90 = now
        now += STEP_NS
    assert t_last is not None and t_brake is not None and t_still is not None and t_90 is not None
    assert ecu.state.mode == STATUS_MODE_FAULT and ecu.state.watchdog_trips == 1
    return Stop(t_last, t_brake, v_brake, t_still, x_last, vs.x_m, peak, t_90)


@pytest.mark.parametrize("phase_ms", [0.0, 3.0, 9.9])
@pytest.mark.parametrize("chassis", ["dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml"])
def test_chassis_brakes_itself_when_controller_and_bridge_are_gone(chassis: str, phase_ms: float) -> None:
    """Brake command 200 ms < delay <= 200 ms + one ECU step after the last valid drive frame,
    then the ECU's own 3.0 m/s^2 stop on average (figures in the module docstring)."""
    stop = drive_then_go_silent(load_chassis_config(chassis), 2.5, int(phase_ms * MS))
    assert stop.v_brake == pytest.approx(2.5, abs=0.1)
    assert WATCHDOG_NS / MS < stop.delay_ms <= (WATCHDOG_NS + STEP_NS) / MS
    assert round(CHASSIS_WATCHDOG * 1e9) == WATCHDOG_NS  # the parameter file agrees with values.py
    assert stop.mean_decel == pytest.approx(DECEL, rel=0.1)
    assert (stop.t_90 - stop.t_brake) / MS <= 150  # brake lag 0.1 s: 90 % of the stop within 150 ms
    assert stop.peak_decel <= 1.3 * DECEL
    # from the last frame: the watchdog at speed, the lag, then the stop (10 % margin)
    dead_time = stop.delay_ms / 1000 + 0.1
    assert stop.x_still - stop.x_last_frame <= 1.1 * (2.5 * dead_time + 2.5**2 / (2 * DECEL))


def test_figures_in_the_docstring_are_the_measured_ones() -> None:
    """The docstring quotes 207 ms, 0.81 s and 1.58 m from 2.5 m/s at a 3 ms phase: keep it true."""
    stop = drive_then_go_silent(load_chassis_config("dbc/lsv_chassis.yaml"), 2.5, 3 * MS)
    assert stop.delay_ms == pytest.approx(207.0)
    assert (stop.t_still - stop.t_brake) / 1e9 == pytest.approx(0.81, abs=0.015)
    assert stop.x_still - stop.x_last_frame == pytest.approx(1.58, abs=0.015)
    assert stop.mean_decel == pytest.approx(3.09, abs=0.015) and stop.peak_decel == pytest.approx(3.65, abs=0.015)
    assert (stop.t_90 - stop.t_brake) / MS == pytest.approx(120.0)


def test_drive_frames_outside_the_dbc_range_count_as_no_commands() -> None:
    """Counter and checksum right, target acceleration 30 m/s^2 on a [-6|4] signal: the ECU takes
    none of them, so its watchdog stops the vehicle as if the bus were silent."""
    config = load_chassis_config("dbc/lsv_chassis.yaml")
    mm = config.command("drive")
    ecu = ChassisEcu(config, EcuParams())
    vs = VehicleState(brake_force_n=ecu.dyn.p.max_brake_force_n)
    counters: dict[int, int] = {}
    t_good = None
    checked = 0
    for now in range(0, 12_000 * MS, STEP_NS):
        if now % (20 * MS) == 0:
            wild = now >= 8_000 * MS
            cmd = dataclasses.replace(DRIVE, acceleration_mps2=max(-2.0, min(1.5, 2.5 - vs.speed_mps)))
            for frame_id, data in frames.build_command_frames(config, cmd, counters):
                if wild and frame_id == mm.frame_id:
                    signals = frames.fields_to_signals(mm, cmd) | {"DRIVE_CMD_TargetAccel": 30.0}
                    data = frames.encode_frame(mm, signals, counters[frame_id])
                t_good = now if ecu.on_frame(now, frame_id, data) and frame_id == mm.frame_id else t_good
        act = ecu.control(now, vs, STEP_NS / 1e9)
        if now >= 8_000 * MS and now == t_good + WATCHDOG_NS:  # t_good: the last good drive frame, at 7.98 s
            assert act.drive_force_n > 0.0 and ecu.state.mode == STATUS_MODE_AUTO  # inside the watchdog
            checked += 1
        if now >= 8_000 * MS and now == t_good + WATCHDOG_NS + STEP_NS:
            assert braking(act) and ecu.state.mode == STATUS_MODE_FAULT
            checked += 1
        vs = ecu.dyn.step(vs, act, 0.0, STEP_NS / 1e9)
    assert t_good is not None and t_good < 8_000 * MS and checked == 2
    assert ecu.receiver.counts["out_of_range"] == 4_000 / 20 and vs.speed_mps == 0.0
    assert ecu.state.fault_bits & FAULT_COMMAND_INVALID and ecu.state.fault_bits & FAULT_COMMAND_TIMEOUT
    assert ecu.command().acceleration_mps2 < 2.0  # the 30 m/s^2 never became the command


# --- the same over python-can's virtual bus, with the real-time chassis node -----------------------

CHANNEL = "lsv_chassis_watchdog_test"


def test_chassis_node_brakes_itself_on_a_silent_bus() -> None:
    """The ``chassis`` node (real time, 10 ms steps) on a virtual bus; this test sends drive
    frames for 3 s and then nothing: no bridge, no controller. Its ECU must ask for the brake
    200 ms after the last frame it received and never before; the margin over one step is for
    scheduling on a loaded 2-core machine."""
    import rclpy

    from lsv_sim.chassis_node import ChassisNode

    rclpy.init(args=["--ros-args", "--params-file", str(SIM_CONFIG), "-p", "bus.interface:=virtual",
                     "-p", f"bus.channel:={CHANNEL}"])
    sender = can.Bus(interface="virtual", channel=CHANNEL)
    node = None
    try:
        node = ChassisNode()
        log: list[tuple[int, Actuators, float, int]] = []
        lock = threading.Lock()
        control = node.ecu.control

        def recording_control(now_ns: int, vs: VehicleState, dt: float) -> Actuators:
            act = control(now_ns, vs, dt)
            with lock:
                log.append((now_ns, act, vs.speed_mps, node.ecu.state.mode))
            return act

        node.ecu.control = recording_control  # type: ignore[method-assign]
        config = node.ecu.config
        counters: dict[int, int] = {}
        cmd = dataclasses.replace(DRIVE, acceleration_mps2=1.0)
        next_send = time.monotonic()
        end = next_send + 3.0
        t_sent = 0
        while next_send < end:
            t_sent = time.monotonic_ns()  # the drive frame goes first
            for frame_id, data in frames.build_command_frames(config, cmd, counters):
                sender.send(can.Message(arbitration_id=frame_id, data=data, is_extended_id=False))
            next_send += 0.02
            time.sleep(max(0.0, next_send - time.monotonic()))
        time.sleep(3.0)  # silence: the vehicle must stop by itself
        with lock:
            entries = list(log)
        t_rx = node.ecu.last_drive_ns
        assert t_rx is not None and t_rx >= t_sent
        before = [e for e in entries if t_rx < e[0] <= t_rx + WATCHDOG_NS]
        after = [e for e in entries if e[0] > t_rx + WATCHDOG_NS]
        assert before and all(m == STATUS_MODE_AUTO and not braking(a) for _, a, _, m in before)  # not too early
        t_brake, v_brake = next((t, v) for t, a, v, m in after if braking(a) and m == STATUS_MODE_FAULT)
        t_still = next(t for t, _, v, _ in after if v == 0.0 and t > t_brake)
        delay_ms, from_send_ms = (t_brake - t_rx) / MS, (t_brake - t_sent) / MS
        print(f"\nchassis node on a virtual bus: brake command {delay_ms:.1f} ms after the last drive frame "
              f"was received ({from_send_ms:.1f} ms after it was sent) at {v_brake:.2f} m/s; standstill "
              f"{(t_still - t_brake) / 1e9:.2f} s later, mean {v_brake / ((t_still - t_brake) / 1e9):.2f} m/s^2")
        assert v_brake > 2.0
        assert WATCHDOG_NS / MS < delay_ms <= (WATCHDOG_NS + STEP_NS) / MS + 40.0
        assert v_brake / ((t_still - t_brake) / 1e9) == pytest.approx(DECEL, rel=0.15)
        assert node.ecu.state.mode == STATUS_MODE_FAULT and node.vs.speed_mps == 0.0
    finally:
        if node is not None:
            node.close()
            node.destroy_node()
        sender.shutdown()
        rclpy.try_shutdown()
