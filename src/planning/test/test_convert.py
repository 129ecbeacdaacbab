"""Message conversions: odometry, signals, hints, objects, goals in; trajectory and decision out."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from nav_msgs.msg import Odometry

from lsv_common.convert import yaw_quaternion_msg
from lsv_common.geometry import QuaternionError
from lsv_msgs.msg import (
    MissionGoal,
    TrackedObject,
    TrackedObjectArray,
    TrafficSignal,
    TrafficSignalArray,
    V2xHint,
    V2xHintArray,
)
from lsv_planning import convert
from lsv_planning.decision import DecisionState
from lsv_planning.inputs import NS
from lsv_planning.mission import GoalKind, MissionError
from lsv_planning.planner import Decision, TrajectoryPoints


def test_odometry_and_stamp_fallback():
    m = Odometry()
    m.pose.pose.position.x, m.pose.pose.position.y = 3.0, 4.0
    m.pose.pose.orientation = yaw_quaternion_msg(0.7)
    m.twist.twist.linear.x = 2.5
    e = convert.ego_from_odometry(m, 42)
    assert (e.x, e.y, e.speed, e.stamp_ns) == (3.0, 4.0, 2.5, 42) and e.yaw == pytest.approx(0.7)
    m.header.stamp = Time(sec=5, nanosec=7)
    assert convert.ego_from_odometry(m, 42).stamp_ns == 5 * NS + 7


def test_signals_hints_objects():
    sa = TrafficSignalArray(signals=[TrafficSignal(intersection_id=101, phase_id=2, state=3, lanelet_id=1016,
                                                   max_end_time=Time(sec=9))])
    sa.header.stamp = Time(sec=1)
    s = convert.signals_from_msg(sa, 0)
    assert s.stamp_ns == NS and s.items[0].max_end_ns == 9 * NS and s.items[0].lanelet_id == 1016
    h = V2xHint(type=5, speed_limit_mps=2.0, zone=[Point(x=0.0, y=0.0), Point(x=1.0, y=0.0), Point(x=0.0, y=1.0)],
                valid_until=Time(sec=3), intersection_id=101)
    hs = convert.hints_from_msg(V2xHintArray(hints=[h]), 5)
    assert hs.stamp_ns == 5 and hs.items[0].zone.shape == (3, 2) and hs.items[0].valid_until_ns == 3 * NS
    assert hs.items[0].intersection_id == 101
    o = TrackedObject(object_id=7, classification=6, score=0.8)
    o.pose.pose.orientation = yaw_quaternion_msg(-1.0)
    o.velocity.twist.linear.x = 1.5
    o.dimensions.x, o.dimensions.y = 0.6, 0.5
    objs, bad = convert.objects_from_msg(TrackedObjectArray(objects=[o]), 1)
    ob = objs.items[0]
    assert bad == 0
    assert (ob.object_id, ob.classification, ob.vx, ob.length) == (7, 6, 1.5, pytest.approx(0.6))
    assert ob.yaw == pytest.approx(-1.0)


def test_goal_from_msg():
    g = MissionGoal(goal_id="drop", kind=MissionGoal.KIND_PATROL_LOOP, dwell_time_s=3.0, lanelet_id=1009)
    g.pose.position.x = 1.0
    goal = convert.goal_from_msg(g)
    assert goal.kind == GoalKind.PATROL and goal.yaw == 0.0 and goal.lanelet_id == 1009  # identity quaternion
    g.pose.orientation = yaw_quaternion_msg(math.pi / 2)
    assert convert.goal_from_msg(g).yaw == pytest.approx(math.pi / 2)
    g.kind = 9
    with pytest.raises(MissionError, match="kind 9"):
        convert.goal_from_msg(g)


def test_trajectory_and_decision_messages():
    n = 3
    a = np.arange(n, dtype=float)
    pts = TrajectoryPoints(a, a, a, a * 0.1, a + 1.0, -a, a * 1.25, a * 0.01, a * 0.02)
    msg = convert.trajectory_msg(pts, Time(sec=10))
    assert msg.header.frame_id == "map" and len(msg.points) == 3
    p = msg.points[2]
    assert (p.time_from_start.sec, p.time_from_start.nanosec) == (2, 500_000_000)
    assert p.longitudinal_velocity_mps == 3.0 and p.acceleration_mps2 == -2.0
    assert p.curvature == pytest.approx(0.02) and p.grade == pytest.approx(0.04)
    assert convert.yaw_of(p.pose.orientation) == pytest.approx(0.2)
    assert len(convert.trajectory_msg(TrajectoryPoints.empty(), Time()).points) == 0
    d = json.loads(convert.decision_msg(Decision(5, DecisionState.STOPPED, "red_light", "x", {"k": 1})).data)
    assert d == {"stamp_ns": 5, "state": "stopped", "reason": "red_light", "detail": "x", "k": 1}


def test_odometry_with_zero_or_unnormalised_quaternion_is_rejected_not_read_as_a_heading():
    """Hazard: a zero quaternion read as yaw 0, a norm-2 one for 90 deg read as 127 deg."""
    m = Odometry()
    m.pose.pose.orientation.w = 0.0  # all zero
    with pytest.raises(QuaternionError):
        convert.ego_from_odometry(m, 1)
    s = math.sqrt(2.0)
    m.pose.pose.orientation.z, m.pose.pose.orientation.w = s, s
    with pytest.raises(QuaternionError):
        convert.ego_from_odometry(m, 1)


def test_object_with_bad_orientation_stays_an_obstacle_with_a_heading_free_footprint():
    o = TrackedObject(object_id=3, classification=2)
    o.dimensions.x, o.dimensions.y = 4.0, 3.0
    o.pose.pose.orientation.w = 0.0  # all zero
    objs, bad = convert.objects_from_msg(TrackedObjectArray(objects=[o]), 1)
    assert bad == 1 and len(objs.items) == 1
    ob = objs.items[0]
    assert ob.length == pytest.approx(5.0) and ob.width == pytest.approx(5.0)  # the diagonal covers any heading


def test_goal_with_a_bad_quaternion_is_a_mission_error():
    g = MissionGoal(goal_id="drop", kind=MissionGoal.KIND_STOP)
    g.pose.orientation.z, g.pose.orientation.w = 2.0, 0.0
    with pytest.raises(MissionError, match=r"drop.*norm 2"):
        convert.goal_from_msg(g)
    g.pose.orientation.z, g.pose.orientation.w = 0.0, 0.0  # all zero: any heading
    assert convert.goal_from_msg(g).yaw is None
