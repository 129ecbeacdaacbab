"""Lidar and camera faults through the perception processes (issue #8, fault injection):
``lidar_detector``, ``camera_detector`` and ``tracker`` started as in launch/stack.launch.yaml,
fed at 10 Hz by this test, then each sensor frozen (its driver re-sending the last message,
same stamp) and dropped.

Expected (DESIGN.md section 5): a frozen or missing lidar stops ``/perception/objects`` (the
planner and the controller then see perception stale and stop the vehicle: their own tests) and
the tracker reports ERROR; a frozen or missing camera only switches camera fusion off (WARN),
tracking goes on from the lidar. Each fault names its cause on /diagnostics, and when the sensor
comes back everything recovers.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node

PKG = Path(__file__).resolve().parents[1] / "src" / "perception"
CONFIG = PKG / "config"
K = [320.0, 0.0, 319.5, 0.0, 320.0, 239.5, 0.0, 0.0, 1.0]
NODES = {
    "lidar_detector": ("lsv_perception.lidar_node", {
        "~/input/pointcloud": "/sensing/lidar/points", "~/input/odometry": "/localization/odometry",
        "~/output/objects": "/perception/lidar/objects", "~/output/objects_map": "/perception/lidar/objects_map"}),
    "camera_detector": ("lsv_perception.camera_node", {
        "~/input/image": "/sensing/camera/image_raw", "~/output/objects": "/perception/camera/objects",
        "~/output/debug_image": "/perception/camera/debug_image"}),
    "tracker": ("lsv_perception.tracker_node", {
        "~/input/lidar_objects": "/perception/lidar/objects_map",
        "~/input/camera_objects": "/perception/camera/objects",
        "~/input/camera_info": "/sensing/camera/camera_info", "~/input/v2x_objects": "/v2x/objects",
        "~/input/odometry": "/localization/odometry", "~/output/objects": "/perception/objects",
        "~/output/markers": "/perception/markers"}),
}


def _scene() -> np.ndarray:
    """(N, 4) float32 points of test_lidar_core's synthetic scene (flat ground, a car, a pedestrian, a cyclist)."""
    path = PKG / "test" / "test_lidar_core.py"
    spec = importlib.util.spec_from_file_location("lidar_core_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    points, _ = module.synthetic_scene(np.random.default_rng(6), grade=0.0)
    return points


@pytest.mark.slow
def test_lidar_and_camera_freeze_and_dropout(tmp_path: Path) -> None:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from lsv_common.convert import POINT_XYZIR, to_image, to_pointcloud2
    from lsv_common.node import ERROR, OK, WARN, level_of
    from lsv_msgs.msg import TrackedObjectArray

    procs = [start_node(module, name=name, params_file=CONFIG / f"{name}.param.yaml", log_dir=tmp_path, remaps=remaps)
             for name, (module, remaps) in NODES.items()]
    rclpy.init()
    node = rclpy.create_node("sensor_faults_test")
    points = _scene()
    cloud = np.zeros(len(points), POINT_XYZIR)
    for i, n in enumerate(("x", "y", "z", "intensity")):
        cloud[n] = points[:, i]
    image = np.full((480, 640, 3), 96, np.uint8)
    try:
        objects = MessageRecorder(node, TrackedObjectArray, "/perception/objects")
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        pubs = {"cloud": node.create_publisher(PointCloud2, "/sensing/lidar/points", qos_profile_sensor_data),
                "image": node.create_publisher(Image, "/sensing/camera/image_raw", qos_profile_sensor_data),
                "info": node.create_publisher(CameraInfo, "/sensing/camera/camera_info", 2),
                "odom": node.create_publisher(Odometry, "/localization/odometry", 10)}
        mode = {"lidar": "live", "camera": "live"}  # live | frozen | off
        last: dict[str, object] = {}

        def tick() -> None:
            stamp = node.get_clock().now().to_msg()
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, "map", "base_link"
            odom.pose.pose.orientation.w = 1.0
            pubs["odom"].publish(odom)
            info = CameraInfo(width=640, height=480, k=K)
            info.header.stamp, info.header.frame_id = stamp, "camera"
            pubs["info"].publish(info)
            for sensor, make in (("lidar", lambda: to_pointcloud2(cloud, "lidar", stamp)),
                                 ("camera", lambda: to_image(image, "rgb8", "camera", stamp))):
                if mode[sensor] == "live" or sensor not in last:
                    last[sensor] = make()
                if mode[sensor] != "off":
                    pubs["cloud" if sensor == "lidar" else "image"].publish(last[sensor])

        node.create_timer(0.1, tick)

        def status_of(name: str, since: int) -> list:
            return [s for d in diags.messages[since:] for s in d.status
                    if s.name == name or s.name.startswith(f"{name}:")]

        def reports(name: str, since: int, level: int, text: str) -> bool:
            return any(level_of(s) == level and text in s.message for s in status_of(name, since))

        def saw(name: str, since: int, level: int, text: str, timeout_s: float) -> bool:
            return spin_until(node, lambda: reports(name, since, level, text), timeout_s)

        def flowing(seconds: float) -> int:
            n0 = objects.count
            spin_until(node, lambda: False, seconds)
            return objects.count - n0

        # 1. everything live: tracked objects at ~10 Hz, the tracker healthy
        assert spin_until(node, lambda: reports("tracker", 0, OK, "tracking"), 90.0), \
            ([s.message for s in status_of("tracker", 0)][-5:], diags.count, objects.count,
             sorted({s.name for d in diags.messages for s in d.status}))
        assert flowing(2.0) >= 10
        assert objects.last.objects, "the synthetic scene's objects are tracked"

        # 2. camera frozen, then dropped: fusion off (WARN), tracking goes on from the lidar
        for fault, detector_says in (("frozen", "camera frozen"), ("off", "no camera frames")):
            mode["camera"], d0 = fault, diags.count
            assert saw("tracker", d0, WARN, "camera stale: no camera fusion", 5.0), \
                (fault, [s.message for s in status_of("tracker", d0)])
            assert saw("camera_detector", d0, WARN, detector_says, 6.0), \
                (fault, [s.message for s in status_of("camera_detector", d0)])
            assert flowing(1.5) >= 8, f"camera {fault}: tracking must go on from the lidar"
            mode["camera"], d1 = "live", diags.count
            assert saw("tracker", d1, OK, "tracking", 10.0), f"recovery after {fault}"

        # 3. lidar frozen, then dropped: no tracked objects at all (a frozen world must not look alive), ERROR
        for fault, detector_says in (("frozen", "lidar frozen"), ("off", "no point cloud for")):
            mode["lidar"], d0 = fault, diags.count
            spin_until(node, lambda: False, 0.5)  # what was in flight
            assert flowing(2.0) == 0, f"lidar {fault}: /perception/objects must stop"
            assert saw("tracker", d0, ERROR, "lidar objects stale", 5.0), \
                (fault, [s.message for s in status_of("tracker", d0)])
            assert saw("lidar_detector", d0, ERROR, detector_says, 5.0), \
                (fault, [s.message for s in status_of("lidar_detector", d0)])
            mode["lidar"], d1 = "live", diags.count
            assert saw("tracker", d1, OK, "tracking", 10.0), f"recovery after {fault}"
            assert flowing(1.5) >= 8

        repeated = {kv.key: kv.value for s in status_of("lidar_detector: pipeline", 0)[-1:] for kv in s.values}
        assert int(repeated["repeated_clouds"]) >= 10
        assert all(p.alive() for p in procs), "\n".join(p.log()[-2000:] for p in procs)
        assert objects.last.objects and all(math.isfinite(o.pose.pose.position.x) for o in objects.last.objects)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        for p in procs:
            p.stop()


@pytest.mark.slow
def test_camera_blinded_lidar_occluded_and_lidar_clock_ahead(tmp_path: Path) -> None:
    """Issue #15 through the same three processes: a blinded camera (the simulator's glare) gives no
    detections and "camera blinded" (WARN), tracking goes on from the lidar; a lidar without returns over
    120 deg ahead is "lidar occluded: sector -60..60 deg" (ERROR: the controller stops on it); a lidar whose
    stamps run 0.5 s ahead has every cloud dropped ("stamps ahead of clock by 0.5 s", ERROR) and
    /perception/objects stops. Each recovers when the fault ends."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from rclpy.duration import Duration
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    from lsv_common.convert import POINT_XYZIR, to_image, to_pointcloud2
    from lsv_common.node import ERROR, OK, WARN, level_of
    from lsv_msgs.msg import TrackedObjectArray
    from lsv_sim.sensor_faults import blind, occluded

    procs = [start_node(module, name=name, params_file=CONFIG / f"{name}.param.yaml", log_dir=tmp_path, remaps=remaps)
             for name, (module, remaps) in NODES.items()]
    rclpy.init()
    node = rclpy.create_node("sensor_faults_issue15_test")
    points = _scene()
    cloud = np.zeros(len(points), POINT_XYZIR)
    for i, n in enumerate(("x", "y", "z", "intensity")):
        cloud[n] = points[:, i]
    gap = cloud[~occluded(cloud, 120.0)]
    image = np.full((480, 640, 3), 96, np.uint8)
    try:
        objects = MessageRecorder(node, TrackedObjectArray, "/perception/objects")
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        pubs = {"cloud": node.create_publisher(PointCloud2, "/sensing/lidar/points", qos_profile_sensor_data),
                "image": node.create_publisher(Image, "/sensing/camera/image_raw", qos_profile_sensor_data),
                "info": node.create_publisher(CameraInfo, "/sensing/camera/camera_info", 2),
                "odom": node.create_publisher(Odometry, "/localization/odometry", 10)}
        mode = {"lidar": "live", "camera": "live"}  # lidar: live | occluded | ahead; camera: live | blinded

        def tick() -> None:
            now = node.get_clock().now()
            stamp = now.to_msg()
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp, "map", "base_link"
            odom.pose.pose.orientation.w = 1.0
            pubs["odom"].publish(odom)
            info = CameraInfo(width=640, height=480, k=K)
            info.header.stamp, info.header.frame_id = stamp, "camera"
            pubs["info"].publish(info)
            pixels = blind(image, 1.0) if mode["camera"] == "blinded" else image
            pubs["image"].publish(to_image(pixels, "rgb8", "camera", stamp))
            lidar_stamp = (now + Duration(seconds=0.5)).to_msg() if mode["lidar"] == "ahead" else stamp
            pubs["cloud"].publish(to_pointcloud2(gap if mode["lidar"] == "occluded" else cloud, "lidar", lidar_stamp))

        node.create_timer(0.1, tick)

        def status_of(name: str, since: int) -> list:
            return [s for d in diags.messages[since:] for s in d.status if s.name.startswith(f"{name}")]

        def saw(name: str, since: int, level: int, text: str, timeout_s: float) -> bool:
            return spin_until(node, lambda: any(level_of(s) == level and text in s.message
                                                for s in status_of(name, since)), timeout_s)

        def flowing(seconds: float) -> int:
            n0 = objects.count
            spin_until(node, lambda: False, seconds)
            return objects.count - n0

        assert saw("tracker", 0, OK, "tracking", 90.0), [s.message for s in status_of("tracker", 0)][-5:]
        assert flowing(2.0) >= 10

        # 1. camera blinded: no detections, WARN; the tracker fuses nothing (camera stale) and goes on
        mode["camera"], d0 = "blinded", diags.count
        assert saw("camera_detector", d0, WARN, "camera blinded", 5.0), \
            [s.message for s in status_of("camera_detector", d0)]
        assert saw("tracker", d0, WARN, "camera stale: no camera fusion", 5.0)
        assert flowing(1.5) >= 8, "camera blinded: tracking goes on from the lidar"
        mode["camera"], d1 = "live", diags.count
        assert saw("tracker", d1, OK, "tracking", 10.0) and saw("camera_detector", d1, OK, "detecting", 5.0)

        # 2. lidar occluded over 120 deg ahead: ERROR naming the sector, clear again when the returns are back
        mode["lidar"], d0 = "occluded", diags.count
        assert saw("lidar_detector: occlusion", d0, ERROR, "lidar occluded: sector -60..60 deg", 5.0), \
            [s.message for s in status_of("lidar_detector", d0)]
        mode["lidar"], d1 = "live", diags.count
        assert saw("lidar_detector: occlusion", d1, OK, "no blocked sector", 5.0)

        # 3. lidar stamps 0.5 s ahead of the clock: every cloud dropped, ERROR; /perception/objects stops
        mode["lidar"], d0 = "ahead", diags.count
        spin_until(node, lambda: False, 0.5)  # what was in flight
        assert flowing(2.0) == 0, "lidar stamps ahead: /perception/objects must stop"
        assert saw("lidar_detector: pipeline", d0, ERROR, "stamps ahead of clock by 0.5 s", 5.0), \
            [s.message for s in status_of("lidar_detector", d0)]
        assert saw("tracker", d0, ERROR, "lidar objects stale", 5.0)
        mode["lidar"], d1 = "live", diags.count
        assert saw("tracker", d1, OK, "tracking", 10.0)
        assert flowing(1.5) >= 8
        last = {kv.key: kv.value for s in status_of("lidar_detector: pipeline", 0)[-1:] for kv in s.values}
        assert int(last["dropped_stamp_ahead"]) >= 15
        assert all(p.alive() for p in procs), "\n".join(p.log()[-2000:] for p in procs)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        for p in procs:
            p.stop()
