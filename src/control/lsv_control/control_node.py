"""``controller`` node: Trajectory + Odometry + VehicleStatus + TrackedObjectArray + /diagnostics
-> VehicleCommand at 50 Hz, the minimal-risk manoeuvre state on ``~/output/state``.

Thin shell around ``controller.Controller``: 1. parameters, 2. subscriptions that convert each
message once and stamp it with the ROS time it arrived, 3. a 50 Hz ``FixedRateLoop`` that reads the
ROS clock (``use_sim_time`` works), calls the core and publishes, 4. ``/diagnostics`` at 1 Hz with the
MRM state, its cause and the loop's overruns/jitter. A cycle that fails publishes an explicit stop.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node
from std_msgs.msg import String

from lsv_common.geometry import QuaternionError, box_heading, yaw_of, yaw_pitch_of
from lsv_common.heartbeat import RUN_ID_KEY, RestartTracker
from lsv_common.node import ERROR, OK, WARN, Diagnostics, level_of, load_params, run_node, status
from lsv_common.rate import FixedRateLoop, set_realtime_priority
from lsv_control.command_gate import Command, GateParams
from lsv_control.controller import (
    ControlInputs,
    Controller,
    ControllerParams,
    ControlOutput,
    DiagEntry,
    ObjectsInput,
    OdometryInput,
    StatusInput,
    TrajectoryInput,
)
from lsv_control.longitudinal import LongitudinalParams
from lsv_control.mrm import MrmParams, MrmState
from lsv_control.pure_pursuit import PurePursuitParams
from lsv_control.trajectory import TrajectoryArrays
from lsv_msgs.msg import TrackedObjectArray, Trajectory, VehicleCommand, VehicleStatus

NS = 1_000_000_000
RESTART_REPORT_NS = 10 * NS  # a node restart stays a WARN on 'controller: heartbeats' this long (ROS time)


MAP_FRAME = "map"
BASE_FRAME = "base_link"


def _yaw_or_nan(q) -> float:
    try:
        return yaw_of(q)
    except QuaternionError:
        return math.nan


def trajectory_from_msg(msg: Trajectory) -> TrajectoryArrays | None:
    """Columns of a Trajectory message; None for an empty one ("stop and hold"). A point whose orientation
    is not a rotation gets a NaN heading, which makes the whole trajectory invalid (a cause to stop)."""
    pts = msg.points
    if not pts:
        return None
    x = np.fromiter((p.pose.position.x for p in pts), np.float64, len(pts))
    y = np.fromiter((p.pose.position.y for p in pts), np.float64, len(pts))
    yaw = np.fromiter((_yaw_or_nan(p.pose.orientation) for p in pts), np.float64, len(pts))
    v = np.fromiter((p.longitudinal_velocity_mps for p in pts), np.float64, len(pts))
    a = np.fromiter((p.acceleration_mps2 for p in pts), np.float64, len(pts))
    g = np.fromiter((p.grade for p in pts), np.float64, len(pts))
    return TrajectoryArrays.from_columns(x, y, yaw, v, a, g)


def odometry_from_msg(msg: Odometry, received_ns: int) -> OdometryInput:
    """Raises ``QuaternionError`` for an orientation that is not a rotation."""
    yaw, pitch = yaw_pitch_of(msg.pose.pose.orientation)
    return OdometryInput(msg.pose.pose.position.x, msg.pose.pose.position.y, yaw, msg.twist.twist.linear.x,
                         -math.tan(pitch), received_ns)


def objects_from_msg(msg: TrackedObjectArray, received_ns: int) -> tuple[ObjectsInput, int]:
    """The objects and how many had an orientation that is not a rotation: those keep their position with a
    heading-free footprint, a square of side = the box's diagonal (covers it at any heading)."""
    n = len(msg.objects)
    xy = np.empty((n, 2))
    yaw = np.empty(n)
    size = np.empty((n, 2))
    bad = 0
    for i, o in enumerate(msg.objects):
        xy[i] = (o.pose.pose.position.x, o.pose.pose.position.y)
        yaw[i], size[i, 0], size[i, 1], ok = box_heading(o.pose.pose.orientation, o.dimensions.x, o.dimensions.y)
        bad += not ok
    return ObjectsInput(xy, yaw, size, received_ns), bad


def command_to_msg(cmd: Command, msg: VehicleCommand) -> VehicleCommand:
    msg.mode = VehicleCommand.MODE_ACCELERATION
    msg.acceleration_mps2 = float(cmd.acceleration_mps2)
    msg.speed_limit_mps = float(cmd.speed_limit_mps)
    msg.steering_angle_rad = float(cmd.steering_angle_rad)
    msg.steering_rate_rps = float(cmd.steering_rate_rps)
    msg.gear = cmd.gear
    msg.parking_brake = cmd.parking_brake
    msg.enable = cmd.enable
    msg.emergency_stop = cmd.emergency_stop
    msg.lights = cmd.lights
    return msg


class ControllerNode(Node):
    def __init__(self) -> None:
        super().__init__("controller")
        # 1. parameters
        self.params = load_params(self, ControllerParams)
        self.core = Controller(self.params, load_params(self, PurePursuitParams), load_params(self, LongitudinalParams),
                               load_params(self, GateParams), load_params(self, MrmParams))
        self._lock = threading.Lock()
        self._odometry: OdometryInput | None = None
        self._trajectory: TrajectoryInput | None = None
        self._status: StatusInput | None = None
        self._objects: ObjectsInput | None = None
        self._diagnostics: dict[str, DiagEntry] = {}
        self._restarts = RestartTracker()
        self._last: ControlOutput | None = None
        self._last_state_pub_ns = 0
        self._last_warn_ns: dict[str, int] = {}
        self._errors = 0
        self._invalid = 0  # input messages (or objects) dropped: non-finite values, bad orientation, wrong frame
        self._bad_orientations = 0  # tracked objects kept with a heading-free footprint
        self._gate_counts = {"non_finite": 0, "accel": 0, "jerk": 0, "steer": 0, "steer_rate": 0}
        self._step_ms = 0.0
        self._rt_applied = False
        # 2. inputs and outputs
        self.create_subscription(Trajectory, "~/input/trajectory", self._on_trajectory, 1)
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 1)
        self.create_subscription(VehicleStatus, "~/input/vehicle_status", self._on_status, 1)
        self.create_subscription(TrackedObjectArray, "~/input/objects", self._on_objects, 1)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.command_pub = self.create_publisher(VehicleCommand, "~/output/command", 1)
        self.state_pub = self.create_publisher(String, "~/output/state", 10)
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)
        # 3. the 50 Hz loop
        self.loop = FixedRateLoop(self.params.period_s, self._step, name="controller").start()

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _apply_realtime(self) -> None:
        prio = self.params.realtime_priority
        if prio <= 0:
            return
        problem = set_realtime_priority(prio)
        if problem is not None:
            self.get_logger().warning(f"{problem}; the control loop runs with normal scheduling")

    # --- inputs: convert once, stamp with the ROS time of arrival ---
    def _on_trajectory(self, msg: Trajectory) -> None:
        now = self._now_ns()
        if msg.points and msg.header.frame_id not in ("", "map"):
            self._warn_throttled("frame", f"trajectory in frame '{msg.header.frame_id}', expected 'map': ignored")
            return
        traj = trajectory_from_msg(msg)
        with self._lock:
            self._trajectory = TrajectoryInput(traj, now)

    def _on_odometry(self, msg: Odometry) -> None:
        if (msg.header.frame_id, msg.child_frame_id) != (MAP_FRAME, BASE_FRAME):
            self._invalid += 1
            self._warn_throttled("frame", f"odometry of '{msg.child_frame_id}' in frame '{msg.header.frame_id}', "
                                 f"expected '{BASE_FRAME}' in '{MAP_FRAME}': dropped ({self._invalid} inputs)")
            return
        try:
            odo = odometry_from_msg(msg, self._now_ns())
        except QuaternionError as err:
            self._invalid += 1
            self._warn_throttled("odometry", f"odometry dropped: {err} ({self._invalid} inputs)")
            return
        if not all(math.isfinite(v) for v in (odo.x_m, odo.y_m, odo.yaw_rad, odo.speed_mps, odo.grade)):
            self._invalid += 1
            self._warn_throttled("odometry", f"odometry with non-finite values dropped ({self._invalid} inputs)")
            return  # not stored: the last good one ages and goes stale
        with self._lock:
            self._odometry = odo

    def _on_status(self, msg: VehicleStatus) -> None:
        st = StatusInput(msg.speed_mps, msg.steering_angle_rad, msg.mode, msg.fault_bits, msg.stale, self._now_ns())
        if not (math.isfinite(st.speed_mps) and math.isfinite(st.steering_angle_rad)):
            self._invalid += 1
            self._warn_throttled("status", f"vehicle status with non-finite values dropped ({self._invalid} inputs)")
            return
        with self._lock:
            self._status = st

    def _on_objects(self, msg: TrackedObjectArray) -> None:
        if msg.objects and msg.header.frame_id not in ("", "map"):
            self._warn_throttled("frame", f"objects in frame '{msg.header.frame_id}', expected 'map': ignored")
            return
        objs, bad = objects_from_msg(msg, self._now_ns())
        if bad:
            self._bad_orientations += bad
            self._warn_throttled("orientation", f"{bad} tracked objects with an orientation that is not a rotation: "
                                 f"kept with a heading-free footprint ({self._bad_orientations} so far)")
        ok = objs.finite()
        if not ok.all():  # a track without a usable position cannot be checked: dropped, counted, logged
            self._invalid += int((~ok).sum())
            self._warn_throttled("objects", f"tracked objects with non-finite pose dropped ({self._invalid} inputs)")
            objs = objs.select(ok)
        with self._lock:
            self._objects = objs

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        now = self._now_ns()
        own = self.get_name()
        entries = {}
        runs = {}
        for s in msg.status:
            node = s.name.split(":", 1)[0].strip()
            if node == own:
                continue
            entries[s.name] = DiagEntry(node, level_of(s), s.message, now)
            runs.update((node, kv.value) for kv in s.values if kv.key == RUN_ID_KEY)
        horizon = now - int(10 * self.params.diagnostics_timeout_s * NS)
        with self._lock:
            self._diagnostics.update(entries)
            for node, run_id in runs.items():
                if self._restarts.update(node, run_id, now):
                    self.get_logger().warning(f"{node} restarted (a new process on /diagnostics)")
            for name in [k for k, e in self._diagnostics.items() if e.received_ns < horizon]:
                del self._diagnostics[name]

    # --- the loop ---
    def _step(self, _mono_ns: int) -> None:
        if not self.context.ok():  # shutting down (Ctrl-C reached rclpy first): nothing can be published
            return
        if not self._rt_applied:
            self._rt_applied = True
            self._apply_realtime()
        now = self._now_ns()
        t0 = time.perf_counter()
        msg = VehicleCommand()
        msg.header.stamp = self.get_clock().now().to_msg()
        try:
            with self._lock:
                restarted = tuple(self._restarts.recent(now, round(self.params.restart_hold_s * NS)))
                inputs = ControlInputs(self._odometry, self._trajectory, self._status, self._objects,
                                       dict(self._diagnostics), restarted)
            out = self.core.step(now, inputs)
            command_to_msg(out.command, msg)
        except Exception as err:  # noqa: BLE001 - never leave the chassis without an explicit command
            self._errors += 1
            self._warn_throttled("step", f"control step failed ({self._errors} so far), commanding a stop: {err!r}")
            command_to_msg(Command(acceleration_mps2=-self.core.mrm_p.comfortable_decel_mps2, speed_limit_mps=0.0,
                                   steering_angle_rad=self.core.gate.steer_rad or 0.0, steering_rate_rps=0.2,
                                   lights=16), msg)
            self.command_pub.publish(msg)
            return
        self.command_pub.publish(msg)
        self._step_ms = (time.perf_counter() - t0) * 1e3
        self._last = out
        for key, hit in (("non_finite", out.gate.non_finite), ("accel", out.gate.accel_limited),
                         ("jerk", out.gate.jerk_limited), ("steer", out.gate.steer_limited),
                         ("steer_rate", out.gate.steer_rate_limited)):
            self._gate_counts[key] += int(hit)
        if out.transitioned:
            text = f"MRM state {out.mrm.state.value}" + (f": {out.mrm.cause}" if out.mrm.cause else "")
            if out.mrm.state is MrmState.NORMAL:
                self.get_logger().info(text)
            else:
                self.get_logger().warning(text)
        if out.transitioned or now - self._last_state_pub_ns >= NS or now < self._last_state_pub_ns:
            self._last_state_pub_ns = now
            text = out.mrm.state.value + (f": {out.mrm.cause}" if out.mrm.cause else "")
            active = out.emergency_causes + out.comfortable_causes
            if out.mrm.state is MrmState.STOPPED and active:
                text += " (waiting for: " + "; ".join(active) + ")"
            self.state_pub.publish(String(data=text))

    def _warn_throttled(self, key: str, text: str) -> None:
        now = time.monotonic_ns()
        if now - self._last_warn_ns.get(key, 0) >= NS:
            self._last_warn_ns[key] = now
            self.get_logger().warning(text)

    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        stats = self.loop.monitor.stats()
        out = self._last
        loop_values = {"cycles": stats.cycles, "overruns": stats.overruns, "skipped": stats.skipped,
                       "jitter_p50_ms": stats.jitter_p50_ms, "jitter_p99_ms": stats.jitter_p99_ms,
                       "jitter_max_ms": stats.jitter_max_ms, "step_ms": self._step_ms, "step_errors": self._errors,
                       "invalid_inputs_dropped": self._invalid,
                       "objects_without_orientation": self._bad_orientations}
        loop_level = OK if self._errors == 0 and self.loop.running else (ERROR if not self.loop.running else WARN)
        statuses = [status("loop", loop_level, "50 Hz loop" if loop_level == OK else "loop errors", loop_values)]
        now = self._now_ns()
        with self._lock:
            diagnostics = dict(self._diagnostics)
            restarted = self._restarts.recent(now, RESTART_REPORT_NS)
            restarts = dict(self._restarts.restarts)
        silent = self.core.silent_nodes(self.params.advisory_nodes, diagnostics, now)
        advisory_errors = self.core.advisory_errors(diagnostics, now)
        problems = ([f"silent on /diagnostics: {', '.join(silent)}"] if silent else []) + (
            [f"restarted: {', '.join(restarted)}"] if restarted else []) + (
            [f"advisory error: {'; '.join(advisory_errors)}"] if advisory_errors else [])
        statuses.append(status("heartbeats", WARN if problems else OK,
                               "; ".join(problems) if problems else "advisory nodes alive, no restarts",
                               {"advisory_nodes": ", ".join(self.params.advisory_nodes) or "-",
                                "silent": ", ".join(silent) or "-",
                                "restarts": ", ".join(f"{n} x{c}" for n, c in sorted(restarts.items())) or "-"}))
        if out is None:
            statuses.append(status("mrm", WARN, "no control cycle yet"))
            return statuses
        state = out.mrm.state
        level = {MrmState.NORMAL: OK, MrmState.COMFORTABLE_STOP: WARN, MrmState.STOPPED: WARN,
                 MrmState.EMERGENCY_STOP: ERROR}[state]
        values = {"state": state.value, "cause": out.mrm.cause or "-", "longitudinal": out.long_state.value,
                  "lateral_error_m": out.lateral_error_m, "reference_speed_mps": out.reference_speed_mps,
                  "accel_cmd_mps2": out.command.acceleration_mps2, "steer_cmd_rad": out.command.steering_angle_rad,
                  "active_causes": "; ".join(out.emergency_causes + out.comfortable_causes) or "-"}
        values.update({f"gate_{k}_limited": v for k, v in self._gate_counts.items()})
        statuses.append(status("mrm", level, f"{state.value}" + (f": {out.mrm.cause}" if out.mrm.cause else ""),
                               values))
        return statuses

    def close(self) -> None:
        self.loop.stop()


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: ControllerNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
