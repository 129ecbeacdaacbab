"""``planner`` node: mission, route, behaviour and velocity profile -> lsv_msgs/Trajectory at 10 Hz.

1. Parameters: ``config/planner.param.yaml`` -> ``PlannerParams``; the Lanelet2 map from
   ``map_path`` with the projector origin ``map_origin_lat_deg`` / ``map_origin_lon_deg``; an
   optional ``mission_file``. A bad value or an unreadable map stops the node at start-up with
   one message (exit status 2).
2. Inputs (stored with their stamps; the core decides what is stale): ``~/input/odometry``,
   ``~/input/traffic_signals`` (V2X), ``~/input/perceived_signals`` (camera light states),
   ``~/input/v2x_hints``, ``~/input/objects``,
   ``~/input/mission_goal`` (transient local, like the simulator's latched goals).
3. Every 0.1 s (ROS clock, so ``use_sim_time`` works): ``Planner.plan(now_ns, inputs)``;
   publish ``~/output/trajectory`` (empty = stop and hold) and ``~/output/decision``
   (std_msgs/String, one JSON object); ``/diagnostics`` at 1 Hz.
"""

from __future__ import annotations

import logging
import time

from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from lsv_common.geometry import QuaternionError
from lsv_common.latency import OutputDelay, OutputDelayParams
from lsv_common.node import ERROR, OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError
from lsv_msgs.msg import MissionGoal, TrackedObjectArray, TrafficSignalArray, Trajectory, V2xHintArray
from lsv_planning import convert
from lsv_planning.decision import DecisionState
from lsv_planning.inputs import PlannerInputs
from lsv_planning.lanelet_map import MapError, load_road_map
from lsv_planning.mission import MissionError, load_yaml
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner, TrajectoryPoints

PERIOD_S = 0.1  # 10 Hz trajectory


class PlannerNode(Node):
    def __init__(self) -> None:
        super().__init__("planner")
        # 1. parameters, map, mission
        self.params = load_params(self, PlannerParams)
        p = self.params
        try:
            road_map = load_road_map(p.map_path, p.map_origin_lat_deg, p.map_origin_lon_deg, p.map_origin_alt_m)
        except MapError as err:
            raise ParameterError(f"map_path: {err}") from err
        goals = []
        if p.mission_file:
            try:
                goals = load_yaml(p.mission_file)
            except MissionError as err:
                raise ParameterError(f"mission_file: {err}") from err
        self.core = Planner(p, road_map, goals)
        # 2. inputs
        self.ego = None
        self.signals = None
        self.perceived_signals = None
        self.hints = None
        self.objects = None
        self.create_subscription(Odometry, "~/input/odometry", self._on_odometry, 10)
        self.create_subscription(TrafficSignalArray, "~/input/traffic_signals", self._on_signals, 10)
        self.create_subscription(TrafficSignalArray, "~/input/perceived_signals", self._on_perceived_signals, 10)
        self.create_subscription(V2xHintArray, "~/input/v2x_hints", self._on_hints, 10)
        self.create_subscription(TrackedObjectArray, "~/input/objects", self._on_objects, 10)
        latched = QoSProfile(depth=50, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(MissionGoal, "~/input/mission_goal", self._on_goal, latched)
        # 3. outputs
        self.traj_pub = self.create_publisher(Trajectory, "~/output/trajectory", 10)
        self.decision_pub = self.create_publisher(String, "~/output/decision", 10)
        self.diagnostics = Diagnostics(self, self._diagnostics)
        self.last_decision = None
        self.cycles = 0
        self.errors = 0
        self.ignored_frames = 0
        self.bad_orientations = 0  # odometry dropped + objects given a heading-free footprint
        self.plan_ms_max = 0.0
        self.plan_ms_last = 0.0
        self._last_state: DecisionState | None = None
        # synchronous simulation: the trajectory waits for the planning time (lsv_common.latency)
        self.delay = OutputDelay(self, load_params(self, OutputDelayParams))
        self.timer = self.create_timer(PERIOD_S, self.delay.timed(self._on_timer))
        self.get_logger().info(f"planner ready: map {p.map_path}, {len(goals)} goals from the mission file")

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _frame_ok(self, frame: str, what: str) -> bool:
        if frame in ("", convert.MAP_FRAME):
            return True
        self.ignored_frames += 1
        self.get_logger().warning(f"{what} in frame '{frame}', expected 'map': ignored",
                                  throttle_duration_sec=5.0)
        return False

    # -- inputs ------------------------------------------------------------------------------
    def _on_odometry(self, msg: Odometry) -> None:
        if not self._frame_ok(msg.header.frame_id, "odometry"):
            return
        try:
            self.ego = convert.ego_from_odometry(msg, self._now_ns())
        except QuaternionError as err:  # not stored: the last good pose ages and goes stale
            self.bad_orientations += 1
            self.get_logger().warning(f"odometry dropped: {err} ({self.bad_orientations} bad orientations)",
                                      throttle_duration_sec=1.0)

    def _on_signals(self, msg: TrafficSignalArray) -> None:
        self.signals = convert.signals_from_msg(msg, self._now_ns())

    def _on_perceived_signals(self, msg: TrafficSignalArray) -> None:
        self.perceived_signals = convert.signals_from_msg(msg, self._now_ns())

    def _on_hints(self, msg: V2xHintArray) -> None:
        if self._frame_ok(msg.header.frame_id, "V2X hints"):
            self.hints = convert.hints_from_msg(msg, self._now_ns())

    def _on_objects(self, msg: TrackedObjectArray) -> None:
        if self._frame_ok(msg.header.frame_id, "tracked objects"):
            self.objects, bad = convert.objects_from_msg(msg, self._now_ns())
            if bad:
                self.bad_orientations += bad
                self.get_logger().warning(f"{bad} tracked objects with an orientation that is not a rotation: "
                                          f"kept with a heading-free footprint ({self.bad_orientations} bad "
                                          "orientations)", throttle_duration_sec=1.0)

    def _on_goal(self, msg: MissionGoal) -> None:
        if not self._frame_ok(msg.header.frame_id, "mission goal"):
            return
        try:
            goal = convert.goal_from_msg(msg)
        except MissionError as err:
            self.get_logger().error(str(err))
            return
        self.core.add_goal(goal, bool(msg.append))
        self.get_logger().info(f"mission goal '{goal.goal_id}' ({goal.kind.value}) at ({goal.x:.1f}, {goal.y:.1f}),"
                               f" {'appended' if msg.append else 'replaces the mission'}")

    # -- cycle -------------------------------------------------------------------------------
    def _on_timer(self) -> None:
        now = self.get_clock().now()
        now_ns = now.nanoseconds
        stamp = now.to_msg()
        t0 = time.perf_counter()
        try:
            inputs = PlannerInputs(self.ego, self.signals, self.hints, self.objects,
                                   perceived_signals=self.perceived_signals)
            points, decision = self.core.plan(now_ns, inputs)
        except Exception as err:  # noqa: BLE001 - the loop must survive a core bug: hold the vehicle and report
            self.errors += 1
            self.get_logger().error(f"planning failed, holding the vehicle: {err!r}", throttle_duration_sec=1.0)
            self.delay.publish(self.traj_pub, convert.trajectory_msg(TrajectoryPoints.empty(), stamp))
            return
        self.plan_ms_last = (time.perf_counter() - t0) * 1e3
        self.plan_ms_max = max(self.plan_ms_max, self.plan_ms_last)
        self.cycles += 1
        self.delay.publish(self.traj_pub, convert.trajectory_msg(points, stamp))
        self.delay.publish(self.decision_pub, convert.decision_msg(decision))
        if decision.state != self._last_state:
            self.get_logger().info(f"decision: {decision.state.value} ({decision.reason}: {decision.detail})")
            self._last_state = decision.state
        self.last_decision = decision

    def _diagnostics(self) -> list:
        d = self.last_decision
        values = {"cycles": self.cycles, "internal_errors": self.errors, "plan_ms_last": self.plan_ms_last,
                  "plan_ms_max": self.plan_ms_max, "ignored_frames": self.ignored_frames,
                  "bad_orientations": self.bad_orientations, **(self.delay.stats() if self.delay.enabled else {})}
        self.plan_ms_max = 0.0
        if d is None:
            return [status("", WARN if self.errors == 0 else ERROR, "no plan yet", values)]
        values.update(state=d.state.value, reason=d.reason)
        inputs = d.info.get("inputs", {})
        values.update({f"input.{k}": v for k, v in inputs.items()})
        level, msg = OK, f"{d.state.value}: {d.reason}"
        if self.errors:
            level, msg = ERROR, f"{self.errors} planning cycles failed"
        elif d.state in (DecisionState.NO_ODOMETRY, DecisionState.NO_ROUTE):
            level, msg = WARN, f"{d.state.value}: {d.detail}"
        elif not inputs.get("objects", True):
            # V2X signals and hints are optional (no road-side unit in range is normal): their staleness is
            # reported as values only; a signalised stop line without a signal shows as reason unknown_signal
            level, msg = WARN, f"{d.state.value}; tracked objects stale or missing: holding"
        self.errors = 0
        return [status("", level, msg, values)]


def main(args: list[str] | None = None) -> int:
    logging.getLogger("lsv_planning").setLevel(logging.INFO)
    return run_node(lambda: PlannerNode(), args)


if __name__ == "__main__":
    raise SystemExit(main())
