"""Messages <-> the planner's dataclasses, in one place (no rclpy: message types only)."""

from __future__ import annotations

import json
import math

import numpy as np
from builtin_interfaces.msg import Duration, Time
from nav_msgs.msg import Odometry
from std_msgs.msg import String

from lsv_common.convert import yaw_quaternion_msg
from lsv_common.geometry import QuaternionError, box_heading, yaw_of
from lsv_msgs.msg import (
    MissionGoal,
    TrackedObjectArray,
    TrafficSignalArray,
    Trajectory,
    TrajectoryPoint,
    V2xHintArray,
)
from lsv_planning.inputs import NS, SOURCE_V2X_AUTHENTICATED, EgoState, Hint, Signal, Stamped, TrackedObj
from lsv_planning.mission import KIND_FROM_MSG, Goal, MissionError
from lsv_planning.planner import Decision, TrajectoryPoints

MAP_FRAME = "map"


def time_ns(t: Time) -> int:
    return int(t.sec) * NS + int(t.nanosec)


def to_time(ns: int) -> Time:
    return Time(sec=ns // NS, nanosec=ns % NS) if ns > 0 else Time()


def ego_from_odometry(msg: Odometry, receive_ns: int) -> EgoState:
    """Raises ``QuaternionError`` for an orientation that is not a rotation (the node drops the message)."""
    p = msg.pose.pose
    stamp = time_ns(msg.header.stamp) or receive_ns
    return EgoState(float(p.position.x), float(p.position.y), yaw_of(p.orientation),
                    float(msg.twist.twist.linear.x), stamp)


def signals_from_msg(msg: TrafficSignalArray, receive_ns: int) -> Stamped:
    """Only ``source == SOURCE_V2X_AUTHENTICATED`` marks a state authenticated (recordings made before that
    constant existed carry SOURCE_V2X: unauthenticated)."""
    items = tuple(Signal(int(s.intersection_id), int(s.phase_id), int(s.state), int(s.lanelet_id), int(s.region_id),
                         time_ns(s.min_end_time), time_ns(s.likely_end_time), time_ns(s.max_end_time),
                         int(s.source) == SOURCE_V2X_AUTHENTICATED)
                  for s in msg.signals)
    return Stamped(time_ns(msg.header.stamp) or receive_ns, items)


def hints_from_msg(msg: V2xHintArray, receive_ns: int) -> Stamped:
    items = []
    for h in msg.hints:
        zone = np.array([[p.x, p.y] for p in h.zone], dtype=np.float64) if len(h.zone) >= 3 else None
        items.append(Hint(int(h.type), float(h.position.x), float(h.position.y), time_ns(h.valid_until),
                          int(h.hint_id), str(h.source_id), float(h.radius), zone, float(h.velocity.x),
                          float(h.velocity.y), float(h.speed_limit_mps), float(h.distance), float(h.time_to_path),
                          int(h.intersection_id)))
    return Stamped(time_ns(msg.header.stamp) or receive_ns, tuple(items))


def objects_from_msg(msg: TrackedObjectArray, receive_ns: int) -> tuple[Stamped, int]:
    """The objects and how many of them had an orientation that is not a rotation. Such an object is
    kept (it is still an obstacle) with a heading-free footprint: a square of side = its diagonal, which
    covers the box at any heading."""
    items, bad = [], 0
    for o in msg.objects:
        yaw, length, width, ok = box_heading(o.pose.pose.orientation, float(o.dimensions.x), float(o.dimensions.y))
        bad += not ok
        items.append(TrackedObj(int(o.object_id), int(o.classification), float(o.pose.pose.position.x),
                                float(o.pose.pose.position.y), yaw, float(o.velocity.twist.linear.x),
                                float(o.velocity.twist.linear.y), length, width, float(o.score)))
    return Stamped(time_ns(msg.header.stamp) or receive_ns, tuple(items)), bad


def goal_from_msg(msg: MissionGoal) -> Goal:
    kind = KIND_FROM_MSG.get(int(msg.kind))
    if kind is None:
        raise MissionError(f"MissionGoal '{msg.goal_id}': kind {msg.kind} is not one of 1 (stop), 2 (patrol loop), "
                           f"3 (park)")
    q = msg.pose.orientation
    has_yaw = abs(q.x) + abs(q.y) + abs(q.z) + abs(q.w) > 1e-9  # all zero: "any heading"
    try:
        yaw = yaw_of(q) if has_yaw else None
    except QuaternionError as err:
        raise MissionError(f"MissionGoal '{msg.goal_id}': pose.orientation: {err} (all zero means any heading)") \
            from err
    return Goal(msg.goal_id or "goal", kind, float(msg.pose.position.x), float(msg.pose.position.y), yaw,
                int(msg.lanelet_id), max(0.0, float(msg.dwell_time_s)))


def trajectory_msg(points: TrajectoryPoints, stamp: Time) -> Trajectory:
    msg = Trajectory()
    msg.header.stamp = stamp
    msg.header.frame_id = MAP_FRAME
    out = []
    for i in range(len(points)):
        tp = TrajectoryPoint()
        t = float(points.t[i])
        sec = math.floor(t)
        tp.time_from_start = Duration(sec=sec, nanosec=min(int((t - sec) * NS), NS - 1))
        tp.pose.position.x = float(points.x[i])
        tp.pose.position.y = float(points.y[i])
        tp.pose.position.z = float(points.z[i])
        tp.pose.orientation = yaw_quaternion_msg(float(points.yaw[i]))
        tp.longitudinal_velocity_mps = float(points.v[i])
        tp.acceleration_mps2 = float(points.a[i])
        tp.curvature = float(points.curvature[i])
        tp.grade = float(points.grade[i])
        out.append(tp)
    msg.points = out
    return msg


def decision_msg(decision: Decision) -> String:
    """The decision as one JSON object (std_msgs/String): state, reason, detail and the details."""
    return String(data=json.dumps(decision.to_dict(), separators=(",", ":"), default=str))
