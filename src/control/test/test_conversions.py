"""Message <-> core conversions of the controller node (no ROS graph)."""

from __future__ import annotations

import math

import pytest

from lsv_control.command_gate import Command
from lsv_control.control_node import command_to_msg, objects_from_msg, odometry_from_msg, trajectory_from_msg


def test_empty_trajectory_is_stop_and_hold() -> None:
    from lsv_msgs.msg import Trajectory

    assert trajectory_from_msg(Trajectory()) is None


def test_trajectory_columns_and_heading() -> None:
    from lsv_msgs.msg import Trajectory, TrajectoryPoint

    msg = Trajectory()
    for i in range(3):
        p = TrajectoryPoint(longitudinal_velocity_mps=2.0, acceleration_mps2=0.5, grade=0.1)
        p.pose.position.x = float(i)
        p.pose.orientation.z, p.pose.orientation.w = math.sin(0.2), math.cos(0.2)
        msg.points.append(p)
    traj = trajectory_from_msg(msg)
    assert traj is not None and traj.size == 3
    assert traj.yaw_rad[1] == pytest.approx(0.4) and traj.s_m[-1] == pytest.approx(2.0)
    assert traj.speed_mps[0] == 2.0 and traj.accel_mps2[0] == 0.5 and traj.grade[0] == pytest.approx(0.1)


def test_odometry_uphill_pitch_is_positive_grade() -> None:
    from nav_msgs.msg import Odometry

    msg = Odometry()
    pitch = -math.atan(0.12)  # nose up (REP 103)
    msg.pose.pose.orientation.y, msg.pose.pose.orientation.w = math.sin(pitch / 2), math.cos(pitch / 2)
    msg.twist.twist.linear.x = 2.5
    odo = odometry_from_msg(msg, 7)
    assert odo.grade == pytest.approx(0.12) and odo.yaw_rad == pytest.approx(0.0) and odo.speed_mps == 2.5


def test_objects_keep_their_oriented_footprint() -> None:
    from lsv_msgs.msg import TrackedObject, TrackedObjectArray

    msg = TrackedObjectArray()
    o = TrackedObject()
    o.pose.pose.position.x, o.pose.pose.position.y = 3.0, 4.0
    o.pose.pose.orientation.z, o.pose.pose.orientation.w = math.sin(0.3), math.cos(0.3)  # yaw 0.6 rad
    o.dimensions.x, o.dimensions.y = 4.5, 1.8
    msg.objects.append(o)
    objs, bad = objects_from_msg(msg, 1)
    assert bad == 0
    assert objs.xy.tolist() == [[3.0, 4.0]] and objs.size.tolist() == [[4.5, 1.8]]
    assert objs.yaw[0] == pytest.approx(0.6) and objs.finite().all()


def test_odometry_with_zero_or_norm_two_quaternion_is_rejected_not_read_as_a_heading() -> None:
    """Hazard: a zero quaternion read as yaw 0, a norm-2 one for 90 deg read as 127 deg."""
    from nav_msgs.msg import Odometry

    from lsv_common.geometry import QuaternionError

    msg = Odometry()
    msg.pose.pose.orientation.w = 0.0
    with pytest.raises(QuaternionError):
        odometry_from_msg(msg, 1)
    msg.pose.pose.orientation.z = msg.pose.pose.orientation.w = math.sqrt(2.0)
    with pytest.raises(QuaternionError):
        odometry_from_msg(msg, 1)


def test_trajectory_with_a_bad_quaternion_is_invalid() -> None:
    from lsv_msgs.msg import Trajectory, TrajectoryPoint

    msg = Trajectory()
    for i in range(3):
        p = TrajectoryPoint(longitudinal_velocity_mps=2.0)
        p.pose.position.x = float(i)
        msg.points.append(p)
    assert trajectory_from_msg(msg).valid()
    msg.points[1].pose.orientation.w = 0.0  # zero quaternion
    assert not trajectory_from_msg(msg).valid()


def test_object_with_a_bad_quaternion_stays_an_obstacle_covering_every_heading() -> None:
    from lsv_msgs.msg import TrackedObject, TrackedObjectArray

    o = TrackedObject()
    o.pose.pose.orientation.w = 0.0
    o.dimensions.x, o.dimensions.y = 4.0, 3.0
    objs, bad = objects_from_msg(TrackedObjectArray(objects=[o]), 1)
    assert bad == 1 and objs.finite().all() and objs.size.tolist() == [[5.0, 5.0]]


def test_command_fields() -> None:
    from lsv_msgs.msg import VehicleCommand

    msg = command_to_msg(Command(acceleration_mps2=-1.0, speed_limit_mps=4.0, steering_angle_rad=0.1,
                                 steering_rate_rps=0.8, parking_brake=True, lights=16), VehicleCommand())
    assert msg.mode == VehicleCommand.MODE_ACCELERATION and msg.gear == VehicleCommand.GEAR_DRIVE
    assert msg.acceleration_mps2 == pytest.approx(-1.0) and msg.parking_brake and msg.enable
    assert msg.lights == VehicleCommand.LIGHT_HAZARD and not msg.emergency_stop


def test_core_constants_match_the_messages() -> None:
    from diagnostic_msgs.msg import DiagnosticStatus

    from lsv_control import controller
    from lsv_msgs.msg import VehicleCommand, VehicleStatus

    assert controller.GEAR_DRIVE == VehicleCommand.GEAR_DRIVE
    assert controller.LIGHT_HAZARD == VehicleCommand.LIGHT_HAZARD
    assert controller.STATUS_MODE_ESTOP == VehicleStatus.MODE_ESTOP
    assert controller.STATUS_MODE_FAULT == VehicleStatus.MODE_FAULT
    assert controller.FAULT_BUMPER == VehicleStatus.FAULT_BUMPER
    assert bytes([controller.DIAG_ERROR]) == DiagnosticStatus.ERROR
    assert bytes([controller.DIAG_STALE]) == DiagnosticStatus.STALE
