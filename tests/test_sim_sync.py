"""Synchronous mode is deterministic: the same scenario twice gives the same summary.json.

Processes: the simulator node (sync mode, chassis ECU on a udp_multicast CAN bus) and the
stack's can_bridge; this test is the controller: on every 20 ms tick of /clock it publishes an
open-loop VehicleCommand (drive off, cruise, brake for the pedestrian) stamped with that tick,
and, like the stack's controller, its minimal-risk state on /control/mrm_state (an emergency
stop from the braking to the standstill, which the comfort figures must leave out).
The simulator waits at each tick until that command has come back to it as CAN frames from
the bridge, so the run does not depend on how fast or busy the machine is.

Needs the private network namespace (multicast on lo): `make test`, or
`scripts/netns_sandbox.sh .venv/bin/python -m pytest tests/test_sim_sync.py`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsv_common.testing import needs_netns

pytestmark = [pytest.mark.slow, needs_netns]

REPO = Path(__file__).resolve().parent.parent
BRIDGE_PARAMS = REPO / "src/can_bridge/config/can_bridge.param.yaml"
SIM_PARAMS = REPO / "src/sim/config/simulator.param.yaml"
CONTROL_PERIOD_NS = 20_000_000
START_UTC_NS = 1_780_300_800 * 1_000_000_000  # simulator.param.yaml start_time_utc_s

SCENARIO = """
name: sync_determinism
duration_s: 9
seed: 11
map:
  world: synthetic
  bounds_m: [-20, -20, 80, 20]
  roads: [{centerline: [[-20, 0], [80, 0]], width_m: 7}]
ego: {start: {x: 0, y: -1.75, yaw_deg: 0}}
mission: {goals: [{id: stop-1, x: 11, y: -1.75, kind: stop, tolerance_m: 3}]}
crosswalks: [{id: cw, polygon: [[18, -5], [21, -5], [21, 5], [18, 5]]}]
actors:
- {id: ped, type: pedestrian, waypoints: [[19.5, -6], [19.5, 6]], speed_mps: 1.2, trigger: {ego_within_m: 16}}
- {id: parked, type: parked_car, waypoints: [[10, -4.6]], yaw_deg: 0}
pass: {no_collision: true, goal_reached: true, min_distance_m: 1.0}
"""


MRM_STATES = {0: "NORMAL", 5_000_000_000: "EMERGENCY_STOP: test brake", 7_000_000_000: "STOPPED"}  # from t (ns)


def command_for(t_ns: int) -> tuple[float, bool]:
    """Open-loop plan: hold 0.5 s, accelerate 1 m/s^2 for 2.5 s, cruise, brake 1.5 m/s^2 from 5 s."""
    t = t_ns / 1e9
    if t < 0.5:
        return 0.0, True
    if t < 3.0:
        return 1.0, True
    if t < 5.0:
        return 0.0, True
    return -1.5, True


@pytest.fixture
def ros() -> Iterator:
    import rclpy

    rclpy.init()
    node = rclpy.create_node("test_sim_sync_controller")
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


def run_once(node, tmp_path: Path, run: int, group: str) -> dict:
    from rosgraph_msgs.msg import Clock
    from std_msgs.msg import String

    from lsv_common.testing import spin_until, start_node
    from lsv_msgs.msg import VehicleCommand

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    report = tmp_path / f"run{run}"
    bus = {"bus.interface": "udp_multicast", "bus.channel": group, "chassis_config": "dbc/lsv_chassis.yaml"}
    bridge = start_node("lsv_can_bridge.bridge_node", name="can_bridge", params_file=BRIDGE_PARAMS,
                        params={**bus, "command_period_ms": 5.0, "command_timeout_ms": 1000.0,
                                "realtime_priority": 0, "use_sim_time": True},
                        remaps={"~/input/command": "/vehicle/command"}, log_dir=tmp_path / f"log{run}")
    pub = node.create_publisher(VehicleCommand, "/vehicle/command", 10)
    mrm_pub = node.create_publisher(String, "/control/mrm_state", 10)
    sent: list[int] = []

    def on_clock(msg: Clock) -> None:
        t_ns = msg.clock.sec * 1_000_000_000 + msg.clock.nanosec - START_UTC_NS
        if t_ns % CONTROL_PERIOD_NS or (sent and sent[-1] >= t_ns):
            return
        if t_ns in MRM_STATES:  # before the command: the simulator still stands at this tick when it arrives
            mrm_pub.publish(String(data=MRM_STATES[t_ns]))
        accel, enable = command_for(t_ns)
        cmd = VehicleCommand(mode=VehicleCommand.MODE_ACCELERATION, acceleration_mps2=accel, speed_limit_mps=4.0,
                             steering_angle_rad=0.0, steering_rate_rps=0.5, gear=VehicleCommand.GEAR_DRIVE,
                             enable=enable)
        cmd.header.stamp = msg.clock
        pub.publish(cmd)
        sent.append(t_ns)

    sub = node.create_subscription(Clock, "/clock", on_clock, 10)
    sim = start_node("lsv_sim.sim_node", name="simulator", params_file=SIM_PARAMS,
                     params={**bus, "scenario": str(scenario), "report_dir": str(report), "mode": "sync",
                             "sync.timeout_s": 10.0, "sync.startup_wait_s": 30.0,
                             # the bridge sends every 5 ms here: 10 frames = 45-50 ms for the command to reach
                             # it over DDS before the gate opens (4 frames were not always enough on a loaded
                             # 2-core machine: a command one step late in one run only made the runs differ)
                             "sync.frames_after_command": 10},
                     remaps={"~/input/command": "/vehicle/command", "~/input/mrm_state": "/control/mrm_state"},
                     log_dir=tmp_path / f"log{run}")
    try:
        t0 = time.monotonic()
        done = spin_until(node, lambda: not sim.alive(), 120.0, step_s=0.002)
        assert done, f"simulator still running after {time.monotonic() - t0:.0f} s\n{sim.log()[-3000:]}"
        assert sim.popen.returncode == 0, sim.log()[-3000:]
        assert "sync timeouts" not in (report / "run_info.txt").read_text().replace("sync timeouts 0", ""), \
            (report / "run_info.txt").read_text()
    finally:
        sim.stop()
        bridge.stop()
        node.destroy_subscription(sub)
        node.destroy_publisher(pub)
        node.destroy_publisher(mrm_pub)
    return json.loads((report / "summary.json").read_text())


def test_sync_mode_gives_the_same_summary_twice(ros, tmp_path: Path) -> None:
    group = f"239.74.164.{os.getpid() % 200 + 1}"
    first = run_once(ros, tmp_path, 1, group)
    second = run_once(ros, tmp_path, 2, group)
    # the commands really drove the vehicle (over CAN, through the bridge)...
    assert first["distance_m"] > 5.0, first
    assert first["max_speed_mps"] == pytest.approx(2.5, abs=0.3)
    # the emergency stop the MRM state announced is left out of the comfort figures, with its
    # margins: the braking onset at 5 s and the end of the stop (~6.7 s) are not the comfort maximum
    comfort = first["comfort"]
    assert comfort["excluded"] == [{"start_s": 5.0, "end_s": 7.0, "cause": "mrm EMERGENCY_STOP: test brake"}]
    jerk = comfort["longitudinal_jerk_mps3"]
    assert not 4.8 <= jerk["max_t_s"] <= 7.5, comfort
    assert 0.0 < jerk["p95"] <= jerk["max"] < first["jerk_mps3"]["max"], (comfort, first["jerk_mps3"])
    assert comfort["stop_and_go_cycles"] == 0 and comfort["lateral_accel_mps2"]["max"] < 0.05  # straight, one stop
    # ... and both runs are identical to the last digit
    assert (tmp_path / "run1/summary.json").read_bytes() == (tmp_path / "run2/summary.json").read_bytes(), (
        json.dumps(first, indent=1)[:2000], json.dumps(second, indent=1)[:2000])
    assert (tmp_path / "run1/trajectory.png").stat().st_size > 0
