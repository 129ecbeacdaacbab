"""Closed loop over a real (simulated) CAN bus: the can_bridge node and the simulated chassis
node in separate processes on a python-can udp_multicast bus, this test as the controller.

- a speed command is followed (ground truth from the simulator);
- killing the bridge process stops the vehicle by the chassis' own 200 ms watchdog, within
  200 ms + the braking distance;
- stopping the commands (bridge alive) stops the vehicle by the bridge's 100 ms watchdog.

Needs the private network namespace (multicast on lo): `make test`, or
`scripts/netns_sandbox.sh .venv/bin/python -m pytest tests/test_can_closed_loop.py`.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsv_common.testing import needs_netns

pytestmark = [pytest.mark.slow, needs_netns]

REPO = Path(__file__).resolve().parent.parent
BRIDGE_PARAMS = REPO / "src/can_bridge/config/can_bridge.param.yaml"
CHASSIS_PARAMS = REPO / "src/sim/config/chassis.param.yaml"
TARGET_SPEED = 2.5  # m/s
CHASSIS_WATCHDOG = 0.2  # s, chassis side
BRIDGE_TIMEOUT = 0.1  # s, bridge side
DECEL = 3.0  # m/s^2, both the chassis' own stop and the bridge's braking command (parameter files)
LAG = 0.1 + 0.04  # s, brake actuator lag + ground-truth sampling (50 Hz) and transport
_groups = itertools.count(20)
log = logging.getLogger(__name__)


def stop_distance(v: float, delay_s: float) -> float:
    return v * (delay_s + LAG) + v * v / (2 * DECEL) + 0.2  # 0.2 m: sampling of the kill position


@pytest.fixture
def ros() -> Iterator:
    import rclpy

    rclpy.init()
    node = rclpy.create_node("test_can_closed_loop")
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


class Loop:
    """Starts chassis + bridge, publishes commands like a controller, records the outcome."""

    def __init__(self, node, tmp_path: Path, chassis: str):
        from nav_msgs.msg import Odometry

        from lsv_common.testing import MessageRecorder, start_node
        from lsv_msgs.msg import VehicleCommand, VehicleStatus

        self.node = node
        group = f"239.74.163.{next(_groups) + os.getpid() % 100}"
        bus = {"bus.interface": "udp_multicast", "bus.channel": group, "chassis_config": chassis}
        self.chassis = start_node("lsv_sim.chassis_node", name="chassis", params_file=CHASSIS_PARAMS,
                                  params=bus, log_dir=tmp_path)
        self.bridge = start_node("lsv_can_bridge.bridge_node", name="can_bridge", params_file=BRIDGE_PARAMS,
                                 params=bus, log_dir=tmp_path)
        self.status = MessageRecorder(node, VehicleStatus, "/can_bridge/output/status")
        self.truth = MessageRecorder(node, Odometry, "/chassis/output/ground_truth")
        self.pub = node.create_publisher(VehicleCommand, "/can_bridge/input/command", 10)
        self.VehicleCommand = VehicleCommand
        self.sending = True
        node.create_timer(0.02, self._send)

    def _send(self) -> None:
        if not self.sending or not self.bridge.alive():
            return
        speed = self.status.last.speed_mps if self.status.last is not None else 0.0
        cmd = self.VehicleCommand(mode=0, acceleration_mps2=max(-2.0, min(1.2, 1.0 * (TARGET_SPEED - speed))),
                                  speed_limit_mps=4.0, steering_angle_rad=0.0, steering_rate_rps=0.5,
                                  gear=self.VehicleCommand.GEAR_DRIVE, enable=True)
        cmd.header.stamp = self.node.get_clock().now().to_msg()
        self.pub.publish(cmd)

    def spin_until(self, predicate, timeout_s: float) -> bool:
        from lsv_common.testing import spin_until

        return spin_until(self.node, predicate, timeout_s)

    @property
    def v(self) -> float:
        return self.truth.last.twist.twist.linear.x

    @property
    def x(self) -> float:
        return self.truth.last.pose.pose.position.x

    def reach_target_speed(self) -> None:
        assert self.spin_until(lambda: self.status.count > 0 and self.truth.count > 0, 30.0), (
            f"no VehicleStatus/ground truth\n--- bridge:\n{self.bridge.log()}\n--- chassis:\n{self.chassis.log()}")
        assert self.spin_until(lambda: abs(self.v - TARGET_SPEED) < 0.1, 20.0), f"speed {self.v:.2f} m/s"
        self.spin_until(lambda: False, 1.0)  # settle
        assert self.v == pytest.approx(TARGET_SPEED, abs=0.15)
        assert self.status.last.speed_mps == pytest.approx(self.v, abs=0.15)
        assert not self.status.last.stale and self.status.last.mode == self.status.last.MODE_AUTO

    def wait_stopped(self) -> float:
        """Spin until the vehicle stands still; return the distance since now."""
        x0 = self.x
        assert self.spin_until(lambda: abs(self.v) < 1e-3, 5.0), f"still moving at {self.v:.2f} m/s"
        x_stop = self.x
        self.spin_until(lambda: False, 1.0)
        assert self.x == pytest.approx(x_stop, abs=0.01)  # and stays stopped
        return self.x - x0

    def close(self) -> None:
        self.bridge.stop()
        self.chassis.stop()


@pytest.mark.parametrize("chassis", ["dbc/lsv_chassis.yaml", "dbc/lsv_chassis_b.yaml"])
def test_speed_is_followed_and_killing_the_bridge_stops_the_vehicle(ros, tmp_path: Path, chassis: str) -> None:
    loop = Loop(ros, tmp_path, chassis)
    try:
        loop.reach_target_speed()
        v_kill = loop.v
        loop.bridge.kill()  # SIGKILL: nothing more from the stack on the bus
        distance = loop.wait_stopped()
        log.info("bridge killed at %.2f m/s: stopped after %.2f m (bound %.2f m)", v_kill, distance,
                 stop_distance(v_kill, CHASSIS_WATCHDOG))
        assert 0.0 < distance <= stop_distance(v_kill, CHASSIS_WATCHDOG), (
            f"stopped after {distance:.2f} m from {v_kill:.2f} m/s")
    finally:
        loop.close()


def test_silent_stack_stops_the_vehicle_through_the_bridge_watchdog(ros, tmp_path: Path) -> None:
    loop = Loop(ros, tmp_path, "dbc/lsv_chassis.yaml")
    try:
        loop.reach_target_speed()
        v_stop = loop.v
        loop.sending = False  # the controller goes silent; the bridge stays up
        distance = loop.wait_stopped()
        log.info("commands stopped at %.2f m/s: stopped after %.2f m (bound %.2f m)", v_stop, distance,
                 stop_distance(v_stop, BRIDGE_TIMEOUT + 0.02))
        assert 0.0 < distance <= stop_distance(v_stop, BRIDGE_TIMEOUT + 0.02), (
            f"stopped after {distance:.2f} m from {v_stop:.2f} m/s")
        # the bridge braked (the chassis kept receiving valid frames): no chassis timeout fault
        assert loop.spin_until(lambda: loop.status.count > 0, 1.0)
        assert not loop.status.last.fault_bits & loop.status.last.FAULT_COMMAND_TIMEOUT
        assert loop.bridge.alive()
    finally:
        loop.close()
