"""``chassis`` node: a simulated chassis ECU on the CAN bus, driving the vehicle dynamics in
real time. It speaks the DBC of the chassis mapping the bridge uses, on the same python-can
bus configuration, and publishes the ground truth so tests can measure what the vehicle did.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import can
from diagnostic_msgs.msg import DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node

from lsv_can_bridge.bus import BusOpenError, BusReader, open_bus
from lsv_can_bridge.chassis_config import ChassisConfigError, load_chassis_config
from lsv_can_bridge.params import BusParams
from lsv_common.node import OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError, spec
from lsv_common.rate import FixedRateLoop
from lsv_sim.chassis_ecu import ChassisEcu, EcuParams
from lsv_sim.dynamics import Dynamics, VehicleParams, VehicleState


@dataclass(frozen=True)
class ChassisNodeParams:
    chassis_config: str = field(metadata=spec(
        "chassis mapping YAML of lsv_can_bridge (relative paths resolve against that package's folder)"))
    bus_interface: str = field(metadata=spec("python-can interface", name="bus.interface"))
    bus_channel: str = field(metadata=spec("python-can channel", name="bus.channel"))
    bus_bitrate: int = field(metadata=spec("CAN bitrate", unit="bit/s", min=10_000, max=1_000_000,
                                           name="bus.bitrate"))
    step_period_ms: float = field(metadata=spec("dynamics step period", unit="ms", min=1.0, max=50.0))
    grade_pct: float = field(metadata=spec("road grade along the heading, positive uphill", unit="%",
                                           min=-30.0, max=30.0))
    ground_truth_rate_hz: float = field(metadata=spec("ground-truth Odometry publish rate", unit="Hz",
                                                      min=1.0, max=200.0))


def _odometry(vs: VehicleState, stamp: object) -> Odometry:
    msg = Odometry()
    msg.header.stamp = stamp
    msg.header.frame_id = "map"
    msg.child_frame_id = "base_link"
    msg.pose.pose.position.x = vs.x_m
    msg.pose.pose.position.y = vs.y_m
    msg.pose.pose.orientation.z = math.sin(vs.yaw_rad / 2.0)
    msg.pose.pose.orientation.w = math.cos(vs.yaw_rad / 2.0)
    msg.twist.twist.linear.x = vs.speed_mps
    msg.twist.twist.angular.z = vs.yaw_rate_rps
    return msg


class ChassisNode(Node):
    def __init__(self) -> None:
        super().__init__("chassis")
        # 1. parameters: node, ECU, vehicle
        self.params = load_params(self, ChassisNodeParams)
        ecu_params = load_params(self, EcuParams)
        vehicle = load_params(self, VehicleParams)
        try:
            config = load_chassis_config(self.params.chassis_config)
        except ChassisConfigError as err:
            raise ParameterError(f"chassis_config: {err}") from err
        p = self.params
        self.dynamics = Dynamics(vehicle)
        self.ecu = ChassisEcu(config, ecu_params, self.dynamics)
        self.vs = VehicleState(brake_force_n=vehicle.max_brake_force_n)  # starts parked, brake applied
        self._lock = threading.Lock()
        self._inbox: list[tuple[int, can.Message]] = []
        self._dt = p.step_period_ms / 1000.0
        self._last_step_ns: int | None = None
        self._tx_errors = 0
        self._steps = 0
        # 2. bus
        try:
            self.bus = open_bus(BusParams(p.bus_interface, p.bus_channel, p.bus_bitrate))
        except BusOpenError as err:
            raise ParameterError(f"bus: {err}") from err
        # 3. topics
        self.truth_pub = self.create_publisher(Odometry, "~/output/ground_truth", 10)
        self.create_timer(1.0 / p.ground_truth_rate_hz, self._publish_truth)
        self.diagnostics = Diagnostics(self, self._diagnostics)
        # 4. receive thread and the real-time step loop
        self.reader = BusReader(self.bus, self._on_frame, name="chassis-rx").start()
        self.loop = FixedRateLoop(self._dt, self._step, name="chassis-step").start()
        self.get_logger().info(f"simulated chassis {config.yaml_path.name} on {p.bus_channel}, "
                               f"grade {p.grade_pct:g} %, step {p.step_period_ms:g} ms")

    def _on_frame(self, now_ns: int, msg: can.Message) -> None:
        with self._lock:
            self._inbox.append((now_ns, msg))

    def _step(self, now_ns: int) -> None:
        with self._lock:
            inbox, self._inbox = self._inbox, []
        for t_ns, msg in inbox:
            self.ecu.on_frame(t_ns, msg.arbitration_id, msg.data, msg.is_extended_id)
        # real time: integrate the time that really passed, in steps of at most one period
        elapsed = self._dt if self._last_step_ns is None else (now_ns - self._last_step_ns) / 1e9
        self._last_step_ns = now_ns
        n = max(1, min(10, round(elapsed / self._dt)))
        grade = self.params.grade_pct / 100.0
        vs = self.vs
        for _ in range(n):
            act = self.ecu.control(now_ns, vs, self._dt)
            vs = self.dynamics.step(vs, act, grade, self._dt)
            self.ecu.update_battery(vs, self._dt)
        with self._lock:
            self.vs = vs
            self._steps += 1
        for frame_id, data in self.ecu.status_frames(now_ns, vs):
            try:
                self.bus.send(can.Message(arbitration_id=frame_id, data=data, is_extended_id=frame_id > 0x7FF),
                              timeout=0.005)
            except can.CanError:
                self._tx_errors += 1

    def _publish_truth(self) -> None:
        with self._lock:
            vs = self.vs
        self.truth_pub.publish(_odometry(vs, self.get_clock().now().to_msg()))

    def _diagnostics(self) -> list[DiagnosticStatus]:
        s = self.ecu.state
        stats = self.loop.monitor.stats()
        counts = dict(self.ecu.receiver.counts)
        return [
            status("ecu", OK if s.fault_bits == 0 else WARN, f"mode {s.mode}", {
                "mode": s.mode, "fault_bits": s.fault_bits, "gear": s.gear, "watchdog_trips": s.watchdog_trips,
                "speed_mps": self.vs.speed_mps, **counts}),
            status("step loop", WARN if stats.overruns else OK, "real-time dynamics loop", {
                "cycles": stats.cycles, "overruns": stats.overruns, "jitter_p99_ms": stats.jitter_p99_ms,
                "tx_errors": self._tx_errors, "bus_errors": self.reader.errors}),
        ]

    def close(self) -> None:
        self.loop.stop()
        self.reader.stop()
        self.bus.shutdown()


def main(args: list[str] | None = None) -> int:
    return run_node(ChassisNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
