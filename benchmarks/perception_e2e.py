"""End-to-end perception latency: sensor stamp of a PointCloud2 -> the TrackedObjectArray of that
scan published on /perception/objects, through the ``lidar_detector`` and ``tracker`` node
processes (started as the launch file starts them, shipped parameter files) and real DDS topics.

    .venv/bin/python benchmarks/perception_e2e.py [--seconds 30] [--scans 6] [--rate 10]

The scans: the simulator's district along the patrol loop with cars and pedestrians around the
ego (``perception_lidar.make_scans``: 120 000 returns each), replayed at 10 Hz with the current
time as stamp, with the matching odometry at 50 Hz (the lidar_detector needs it for its map-frame
output). The latency of a scan is the arrival time of its TrackedObjectArray in this process
minus its stamp (the tracker keeps the scan's stamp), so it includes serialisation and transport
of the cloud, the lidar pipeline, the map transform, the tracker and the transport back. The
lidar_detector uses the committed ONNX model when ``models/point_classifier.onnx`` exists, else
the geometric classifier (said in the output). The machine is shared: read the figures with the
load (``loadavg``) they were measured under.

Progress on stderr; one JSON object as the last line of stdout:
{"name": "perception_e2e", "n": ..., "median_ms": ..., "p95_ms": ..., "max_ms": ..., "published": ...,
 "received": ..., "rate_hz": ..., "classifier": ..., "points": 120000, "loadavg": ...}
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from perception_lidar import POINTS, make_scans

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "src" / "perception" / "config"
MODEL = ROOT / "models" / "point_classifier.onnx"
NS = 1_000_000_000


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds (after a 5 s warm-up)")
    ap.add_argument("--scans", type=int, default=6)
    ap.add_argument("--rate", type=float, default=10.0,
                    help="scans per second (10 = the sensor; lower it where the machine cannot keep up, or the "
                         "queue of scans, not the chain, is measured)")
    a = ap.parse_args(argv)

    from lsv_common.testing import private_ros_env, start_node

    os.environ.update(private_ros_env())  # this process and the nodes share one private graph
    import rclpy
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from rclpy.qos import qos_profile_sensor_data
    from sim_sensors import patrol_poses

    from lsv_common.convert import POINT_XYZIR, to_pointcloud2
    from lsv_msgs.msg import DetectedObjectArray, TrackedObjectArray
    from lsv_sim.world import load_world

    log(f"making {a.scans} scans of {POINTS} points ...")
    scans = make_scans(a.scans)
    poses = patrol_poses(load_world(), a.scans, spacing_m=25.0)  # the poses make_scans used
    clouds = []
    for pts in scans:
        s = np.zeros(len(pts), POINT_XYZIR)
        for j, name in enumerate(("x", "y", "z", "intensity")):
            s[name] = pts[:, j]
        clouds.append(to_pointcloud2(s, "lidar"))
    classifier = "onnx" if MODEL.exists() else "geometric"
    logs = Path(tempfile.mkdtemp(prefix="perception_e2e_"))
    lidar = start_node("lsv_perception.lidar_node", name="lidar_detector", log_dir=logs,
                       params_file=CONFIG / "lidar_detector.param.yaml", params={"classifier.type": classifier},
                       remaps={"~/input/pointcloud": "/sensing/lidar/points",
                               "~/input/odometry": "/localization/odometry",
                               "~/output/objects": "/perception/lidar/objects",
                               "~/output/objects_map": "/perception/lidar/objects_map"})
    tracker = start_node("lsv_perception.tracker_node", name="tracker", log_dir=logs,
                         params_file=CONFIG / "tracker.param.yaml",
                         remaps={"~/input/lidar_objects": "/perception/lidar/objects_map",
                                 "~/input/odometry": "/localization/odometry",
                                 "~/output/objects": "/perception/objects"})
    rclpy.init()
    node = rclpy.create_node("perception_e2e_bench")
    latencies: list[float] = []
    received = 0
    measuring = {"on": False}

    def on_objects(msg: TrackedObjectArray) -> None:
        nonlocal received
        arrival = time.time_ns()
        received += 1
        if measuring["on"]:
            latencies.append((arrival - (msg.header.stamp.sec * NS + msg.header.stamp.nanosec)) / 1e6)

    node.create_subscription(TrackedObjectArray, "/perception/objects", on_objects, 10)
    seen = {"lidar": 0, "lidar_map": 0, "diag": {}}
    node.create_subscription(DetectedObjectArray, "/perception/lidar/objects",
                             lambda _m: seen.__setitem__("lidar", seen["lidar"] + 1), 10)
    node.create_subscription(DetectedObjectArray, "/perception/lidar/objects_map",
                             lambda _m: seen.__setitem__("lidar_map", seen["lidar_map"] + 1), 10)

    def on_diag(msg: DiagnosticArray) -> None:
        for st in msg.status:
            seen["diag"][st.name] = st.message + " " + str({kv.key: kv.value for kv in st.values})

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    cloud_pub = node.create_publisher(type(clouds[0]), "/sensing/lidar/points", qos_profile_sensor_data)
    odom_pub = node.create_publisher(Odometry, "/localization/odometry", 50)
    state = {"k": 0, "published": 0}

    def stamp_now() -> Time:
        t = time.time_ns()
        return Time(sec=t // NS, nanosec=t % NS)

    def on_odom() -> None:
        x, y, z, yaw = poses[state["k"] % len(poses)]
        o = Odometry()
        o.header.stamp, o.header.frame_id, o.child_frame_id = stamp_now(), "map", "base_link"
        o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z = float(x), float(y), float(z)
        o.pose.pose.orientation.z, o.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
        odom_pub.publish(o)

    def on_cloud() -> None:
        cloud = clouds[state["k"] % len(clouds)]
        cloud.header.stamp = stamp_now()
        cloud_pub.publish(cloud)
        state["published"] += 1
        state["k"] += 1

    node.create_timer(0.02, on_odom)
    node.create_timer(1.0 / a.rate, on_cloud)
    try:
        deadline = time.monotonic() + 180.0  # a start on a loaded machine takes long
        while received == 0 and time.monotonic() < deadline:  # both nodes up and matched
            rclpy.spin_once(node, timeout_sec=0.05)
        if received == 0:
            log(f"no TrackedObjectArray within 180 s; lidar objects received {seen['lidar']}, map-frame "
                f"{seen['lidar_map']}; diagnostics {seen['diag']}; node logs:\n{lidar.log()[-2000:]}"
                f"{tracker.log()[-2000:]}")
            return 1
        log("graph up; warm-up 5 s")
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        measuring["on"] = True
        published0 = state["published"]
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        published = state["published"] - published0
    finally:
        node.destroy_node()
        rclpy.shutdown()
        tracker.stop()
        lidar.stop()
    lat = np.asarray(latencies)
    out = {"name": "perception_e2e", "n": len(lat), "median_ms": round(float(np.median(lat)), 2),
           "p95_ms": round(float(np.percentile(lat, 95)), 2), "max_ms": round(float(lat.max()), 2),
           "published": published, "received": len(lat), "rate_hz": a.rate, "classifier": classifier,
           "points": POINTS,
           "loadavg": [round(v, 2) for v in os.getloadavg()]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
