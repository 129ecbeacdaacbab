"""The planner node process over real topics: a goal from ~/input/mission_goal gives a driving
trajectory at 10 Hz with a JSON decision; without odometry the trajectory is empty (stop and
hold); a missing map is a clear start-up error."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node

PARAMS = Path(__file__).resolve().parents[1] / "config" / "planner.param.yaml"
REMAPS = {"~/input/odometry": "/localization/odometry", "~/input/objects": "/perception/objects",
          "~/input/traffic_signals": "/v2x/traffic_signals", "~/input/v2x_hints": "/v2x/hints",
          "~/input/mission_goal": "/planning/mission_goal", "~/output/trajectory": "/planning/trajectory",
          "~/output/decision": "/planning/decision"}


@pytest.mark.slow
def test_node_plans_from_a_mission_goal_and_holds_without_odometry(tmp_path: Path) -> None:
    import rclpy
    from nav_msgs.msg import Odometry
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from std_msgs.msg import String

    from lsv_msgs.msg import MissionGoal, TrackedObjectArray, Trajectory

    proc = start_node("lsv_planning.planner_node", name="planner", params_file=PARAMS, log_dir=tmp_path,
                      remaps=REMAPS)
    rclpy.init()
    node = rclpy.create_node("planner_node_test")
    try:
        trajs = MessageRecorder(node, Trajectory, "/planning/trajectory")
        decisions = MessageRecorder(node, String, "/planning/decision")
        latched = QoSProfile(depth=50, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        goal_pub = node.create_publisher(MissionGoal, "/planning/mission_goal", latched)
        odom_pub = node.create_publisher(Odometry, "/localization/odometry", 10)
        obj_pub = node.create_publisher(TrackedObjectArray, "/perception/objects", 10)
        goal = MissionGoal(goal_id="parcel-drop", kind=MissionGoal.KIND_STOP, dwell_time_s=5.0, append=False)
        goal.header.frame_id = "map"
        goal.pose.position.x, goal.pose.position.y = -1.75, -72.9
        goal.pose.orientation.z, goal.pose.orientation.w = math.sin(-math.pi / 4), math.cos(-math.pi / 4)
        goal_pub.publish(goal)
        feed = {"odom": True}

        def publish() -> None:
            stamp = node.get_clock().now().to_msg()
            if feed["odom"]:
                odom = Odometry()
                odom.header.stamp = stamp
                odom.header.frame_id, odom.child_frame_id = "map", "base_link"
                odom.pose.pose.position.x, odom.pose.pose.position.y = -135.0, -1.75
                odom.pose.pose.orientation.w = 1.0
                odom_pub.publish(odom)
            objs = TrackedObjectArray()
            objs.header.stamp = stamp
            objs.header.frame_id = "map"
            obj_pub.publish(objs)

        node.create_timer(0.05, publish)

        def driving() -> bool:
            return any(json.loads(m.data)["state"] == "driving" for m in decisions.messages)

        assert spin_until(node, driving, 20.0), proc.log()
        n0 = trajs.count
        spin_until(node, lambda: False, 1.0)
        assert 6 <= trajs.count - n0 <= 14  # 10 Hz
        last = trajs.messages[-1]
        assert last.header.frame_id == "map" and len(last.points) > 50
        assert last.points[-1].longitudinal_velocity_mps > 0.0 or last.points[-1].time_from_start.sec > 0
        assert max(p.longitudinal_velocity_mps for p in last.points) <= 15 / 3.6 + 1e-3
        d = json.loads(decisions.messages[-1].data)
        assert d["mission"]["goal_id"] == "parcel-drop" and d["route"]["lanelets"] == [1016, 1030, 1009]

        feed["odom"] = False
        k = decisions.count
        assert spin_until(node, lambda: any(json.loads(m.data)["state"] == "no_odometry"
                                            for m in decisions.messages[k:]), 5.0)
        spin_until(node, lambda: False, 0.3)
        assert len(trajs.messages[-1].points) == 0  # empty = stop and hold
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        proc.stop()


@pytest.mark.slow
def test_missing_map_is_a_clear_startup_error(tmp_path: Path) -> None:
    from lsv_common.testing import private_ros_env

    r = subprocess.run([sys.executable, "-m", "lsv_planning.planner_node", "--ros-args", "--params-file",
                        str(PARAMS), "-p", f"map_path:={tmp_path / 'none.osm'}"],
                       env=private_ros_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "map_path" in r.stderr and "none.osm" in r.stderr
