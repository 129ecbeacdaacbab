"""rosbag2 recording over real topics: `lsv record` of publishers in this test process, and
`lsv sim --record`. Bags are read back with rosbags alone, decoded with the definitions the
bag embeds (no lsv code), as `ros2 bag` or Foxglove on another machine would."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from std_msgs.msg import String

from lsv_common.testing import needs_netns, private_ros_env
from lsv_msgs.msg import MissionGoal, VehicleStatus


def read_back(bag: Path) -> tuple[dict[str, str], dict[str, list]]:
    """({topic: type}, {topic: [decoded message]}) from the bag's embedded definitions only."""
    store = get_typestore(Stores.EMPTY)
    types: dict[str, str] = {}
    msgs: dict[str, list] = {}
    with Reader(bag) as reader:
        for conn in reader.connections:
            store.register(get_types_from_msg(conn.msgdef.data, conn.msgtype))
            types[conn.topic] = conn.msgtype
        for conn, _, raw in reader.messages():
            msgs.setdefault(conn.topic, []).append(store.deserialize_cdr(raw, conn.msgtype))
    return types, msgs


def lsv(*args: str) -> list[str]:
    return [sys.executable, "-m", "lsv_bringup.cli", *args]


@pytest.mark.slow
@needs_netns
def test_lsv_record_writes_the_topics_of_the_graph(ros_node, tmp_path):
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
    goal_pub = ros_node.create_publisher(MissionGoal, "/planning/mission_goal", latched)
    goal = MissionGoal()
    goal.goal_id = "dock-3"
    goal_pub.publish(goal)  # published once, before the recorder exists
    chatter = ros_node.create_publisher(String, "/chatter", 10)
    status_pub = ros_node.create_publisher(
        VehicleStatus, "/vehicle/status", QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
    bag = tmp_path / "bag"
    proc = subprocess.Popen(lsv("record", "-o", str(bag), "--storage", "sqlite3"), env=private_ros_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 8.0
        i = 0
        while time.monotonic() < deadline:
            chatter.publish(String(data=f"m{i}"))
            status_pub.publish(VehicleStatus(speed_mps=float(i), mode=VehicleStatus.MODE_AUTO))
            i += 1
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "/chatter" in out and "written to" in out
    types, msgs = read_back(bag)
    assert types["/vehicle/status"] == "lsv_msgs/msg/VehicleStatus"
    assert types["/planning/mission_goal"] == "lsv_msgs/msg/MissionGoal"
    assert [m.goal_id for m in msgs["/planning/mission_goal"]] == ["dock-3"]  # transient local
    assert len(msgs["/chatter"]) > 20 and len(msgs["/vehicle/status"]) > 20
    # messages published after the subscription are all there, in order (reliable, same host)
    first = int(msgs["/chatter"][0].data[1:])
    assert [m.data for m in msgs["/chatter"]] == [f"m{k}" for k in range(first, first + len(msgs["/chatter"]))]
    assert all(m.mode == VehicleStatus.MODE_AUTO for m in msgs["/vehicle/status"])


@pytest.mark.slow
@needs_netns
def test_lsv_sim_record_writes_a_bag_of_the_run(tmp_path):
    report = tmp_path / "report"
    args = ["sim", "--scenario", "default", "--report", str(report), "--log-dir", str(tmp_path / "log"),
            "--record", "duration_s:=5.0"]  # a launch argument after --record is not taken as DIR
    proc = subprocess.run(lsv(*args), env=private_ros_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bag = report / "bag"
    assert proc.stdout.index(f"bag written: {bag}") < proc.stdout.index("lsv sim: scenario")
    types, msgs = read_back(bag)
    assert types["/vehicle/status"] == "lsv_msgs/msg/VehicleStatus"
    assert types["/clock"] == "rosgraph_msgs/msg/Clock"
    assert types["/sim/ground_truth/odometry"] == "nav_msgs/msg/Odometry"
    for topic in ("/clock", "/vehicle/status", "/sim/ground_truth/odometry"):
        assert len(msgs.get(topic, [])) > 10, topic
    clock_s = [m.clock.sec + 1e-9 * m.clock.nanosec for m in msgs["/clock"]]
    assert clock_s == sorted(clock_s) and clock_s[-1] > 1.0  # simulated time advanced
    assert all(len(m.wheel_speeds_mps) == 4 for m in msgs["/vehicle/status"])
    # published once at the start with transient-local durability: the recorder still gets it
    assert [m.goal_id for m in msgs.get("/planning/mission_goal", [])], "latched mission goal not recorded"
