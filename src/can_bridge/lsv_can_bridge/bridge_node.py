"""``can_bridge`` node: VehicleCommand -> CAN command frames every 20 ms, CAN status frames
-> VehicleStatus at 50 Hz, counters/checksums/watchdogs reported on /diagnostics.

Thin shell: the decisions are in ``controller`` (what to send), ``frames`` (how it looks on
the wire) and ``status_parser`` (what the chassis said). Safety timing uses the monotonic
clock, not the ROS clock: a watchdog must not stop when simulated time stops.
"""

from __future__ import annotations

import threading
import time

import can
from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.clock import Clock, ClockType
from rclpy.node import Node

from lsv_can_bridge import frames
from lsv_can_bridge.bus import BusLogger, BusOpenError, BusReader, open_bus
from lsv_can_bridge.chassis_config import ChassisConfigError, load_chassis_config
from lsv_can_bridge.controller import CommandWatchdog
from lsv_can_bridge.params import BridgeParams
from lsv_can_bridge.status_parser import StatusParser
from lsv_can_bridge.values import Command, CommandSource, Status
from lsv_common.node import ERROR, OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError
from lsv_common.rate import FixedRateLoop, set_realtime_priority
from lsv_msgs.msg import VehicleCommand, VehicleStatus


def command_from_msg(msg: VehicleCommand) -> Command:
    return Command(
        mode=msg.mode, acceleration_mps2=msg.acceleration_mps2, throttle_pct=msg.throttle_pct,
        brake_pct=msg.brake_pct, speed_limit_mps=msg.speed_limit_mps, steering_angle_rad=msg.steering_angle_rad,
        steering_rate_rps=msg.steering_rate_rps, gear=msg.gear, parking_brake=msg.parking_brake,
        enable=msg.enable, emergency_stop=msg.emergency_stop, lights=msg.lights, horn=msg.horn,
        work_tool=msg.work_tool)


def status_to_msg(st: Status, msg: VehicleStatus) -> VehicleStatus:
    msg.speed_mps = st.speed_mps
    msg.wheel_speeds_mps = [float(w) for w in st.wheel_speeds_mps]
    msg.steering_angle_rad = st.steering_angle_rad
    msg.gear = st.gear & 0xFF
    msg.parking_brake = st.parking_brake
    msg.mode = st.mode & 0xFF
    msg.fault_bits = st.fault_bits & 0xFFFFFFFF
    msg.state_of_charge_pct = st.state_of_charge_pct
    msg.battery_voltage_v = st.battery_voltage_v
    msg.stale = st.stale
    return msg


class CanBridge(Node):
    def __init__(self) -> None:
        super().__init__("can_bridge")
        # 1. parameters and chassis description: any problem stops the node here, clearly
        self.params = load_params(self, BridgeParams)
        try:
            self.config = load_chassis_config(self.params.chassis_config)
        except ChassisConfigError as err:
            raise ParameterError(f"chassis_config: {err}") from err
        p = self.params
        self.limits = p.limits
        self.pedal_supported = "throttle_pct" in self.config.command_fields()
        self._own_ids = self.config.command_ids
        self._rt_applied = False
        self._lock = threading.Lock()
        self.watchdog = CommandWatchdog(int(p.command_timeout_ms * 1e6), p.timeout_decel_mps2, p.estop_decel_mps2)
        self.parser = StatusParser(self.config, p.stale_periods)
        self._counters: dict[int, int] = {}
        self._source = CommandSource.NO_COMMAND
        self._tx_frames = 0
        self._tx_errors = 0
        self._last_warn_ns = 0
        self._last_dropped = 0
        # 2. the bus
        try:
            self.bus = open_bus(p.bus)
        except BusOpenError as err:
            raise ParameterError(f"bus: {err}") from err
        self.bus_log = BusLogger(p.bus_log_path) if p.bus_log_path else None
        # 3. topics
        self.status_pub = self.create_publisher(VehicleStatus, "~/output/status", 10)
        self.create_subscription(VehicleCommand, "~/input/command", self._on_command, 10)
        # steady clock: the status keeps flowing when simulated time (use_sim_time) stalls
        self.create_timer(1.0 / p.status_rate_hz, self._publish_status, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.diagnostics = Diagnostics(self, self._diagnostics)
        # 4. receive thread and the fixed-period send loop
        self.reader = BusReader(self.bus, self._on_frame, name="can-bridge-rx").start()
        self.loop = FixedRateLoop(p.command_period_ms / 1000.0, self._send_step, name="can-bridge-tx").start()
        self.get_logger().info(
            f"chassis {self.config.yaml_path.name} on {p.bus.kwargs()}: commands "
            f"{[m.name for m in self.config.commands]} every {p.command_period_ms:g} ms, "
            f"status {[m.name for m in self.config.status]}")

    # --- inputs ---
    def _on_command(self, msg: VehicleCommand) -> None:
        cmd = command_from_msg(msg)
        with self._lock:
            self.watchdog.on_command(time.monotonic_ns(), cmd)

    def _on_frame(self, now_ns: int, msg: can.Message) -> None:
        if self.bus_log is not None and msg.arbitration_id not in self._own_ids:
            self.bus_log.write(msg)  # our own frames looped back by the transport are logged once, as Tx
        with self._lock:
            self.parser.update(now_ns, msg.arbitration_id, msg.data, msg.is_extended_id)

    # --- the 20 ms loop ---
    def _send_step(self, now_ns: int) -> None:
        if not self._rt_applied:
            self._rt_applied = True
            problem = set_realtime_priority(self.params.realtime_priority)
            if problem:
                self.get_logger().warning(f"{problem}; the command loop runs with normal scheduling")
        with self._lock:
            st = self.parser.state(now_ns)
            speed = st.speed_mps if st is not None and not st.stale else None
            cmd, source = self.watchdog.select(now_ns, self.limits, speed, self.pedal_supported)
            out = frames.build_command_frames(self.config, cmd, self._counters)
            previous, self._source = self._source, source
        if source is not previous:  # two call sites: rclpy refuses one call site with two severities
            text = f"command source: {previous.value} -> {source.value}"
            if source is CommandSource.STACK:
                self.get_logger().info(text)
            else:
                self.get_logger().warning(text + " (sending a braking command)")
        for frame_id, data in out:
            msg = can.Message(arbitration_id=frame_id, data=data, is_extended_id=frame_id > 0x7FF,
                              timestamp=time.time(), is_rx=False)
            try:
                self.bus.send(msg, timeout=0.005)
                self._tx_frames += 1
            except can.CanError as err:
                self._tx_errors += 1
                self._warn_throttled(f"CAN send failed ({self._tx_errors} so far): {err}")
            if self.bus_log is not None:
                self.bus_log.write(msg)

    # --- outputs ---
    def _publish_status(self) -> None:
        with self._lock:
            st = self.parser.state(time.monotonic_ns())
            dropped = self.parser.receiver.dropped()
            last = self.parser.receiver.last_rejection
            per_message = self.parser.receiver.per_message()
        if dropped != self._last_dropped:
            self._last_dropped = dropped
            self._warn_throttled(f"dropped status frames ({dropped} so far, per message {per_message}); "
                                 f"last: {last}")
        if st is None:
            return
        msg = status_to_msg(st, VehicleStatus())
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = "base_link"
        self.status_pub.publish(msg)

    def _warn_throttled(self, text: str) -> None:
        now = time.monotonic_ns()
        if now - self._last_warn_ns > 1_000_000_000:
            self._last_warn_ns = now
            self.get_logger().warning(text)

    def _diagnostics(self) -> list[DiagnosticStatus]:
        now = time.monotonic_ns()
        with self._lock:
            st = self.parser.state(now)
            counts = self.parser.counts
            per_message = self.parser.receiver.per_message()
            sources = dict(self.watchdog.counts)
            source = self._source
        stats = self.loop.monitor.stats()
        if source is CommandSource.STACK:
            cmd_level, cmd_text = OK, "forwarding the stack's commands"
        else:
            cmd_level, cmd_text = WARN, f"sending a braking command ({source.value})"
        if st is None:
            st_level, st_text = ERROR, "no valid status from the chassis yet"
        elif st.stale:
            st_level, st_text = ERROR, "chassis status stale"
        else:
            st_level, st_text = (WARN, "bad status frames seen") if self.parser.receiver.dropped() else (OK, "ok")
        status_values = {k: counts.get(k, 0) for k in (
            "accepted", "bad_counter", "bad_checksum", "bad_length", "undecodable", "out_of_range", "non_finite",
            "unknown_id", "counter_skip", "timeouts", "ignored_own")}
        status_values["bus_errors"] = self.reader.errors
        # dropped frames per message and reason, e.g. "VEHICLE_STATUS.out_of_range"
        status_values.update({f"{name}.{reason}": n for name, reasons in sorted(per_message.items())
                              for reason, n in sorted(reasons.items())})
        return [
            status("command", cmd_level, cmd_text, {f"periods_{k}": v for k, v in sources.items()}),
            status("status", st_level, st_text, status_values),
            status("send loop", WARN if stats.overruns else OK, "fixed-period command loop", {
                "cycles": stats.cycles, "overruns": stats.overruns, "skipped": stats.skipped,
                "jitter_p50_ms": stats.jitter_p50_ms, "jitter_p99_ms": stats.jitter_p99_ms,
                "tx_frames": self._tx_frames, "tx_errors": self._tx_errors}),
        ]

    def close(self) -> None:
        self.loop.stop()
        self.reader.stop()
        if self.bus_log is not None:
            self.bus_log.close()
        self.bus.shutdown()


def main(args: list[str] | None = None) -> int:
    return run_node(CanBridge, args)


if __name__ == "__main__":
    raise SystemExit(main())
