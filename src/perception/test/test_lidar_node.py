"""The lidar_detector node process over real topics: objects in the lidar frame with the cloud's
stamp, the same objects in map with the odometry, empty and NaN clouds, a bad model at start-up."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node
from lsv_perception.lidar.classifier import CLASS_IDS

PARAMS = Path(__file__).resolve().parents[1] / "config" / "lidar_detector.param.yaml"
REMAPS = {"~/input/pointcloud": "/sensing/lidar/points", "~/input/odometry": "/localization/odometry",
          "~/output/objects": "/perception/lidar/objects", "~/output/objects_map": "/perception/lidar/objects_map"}


def test_class_table_matches_the_message_constants():
    from lsv_msgs.msg import DetectedObject

    for name, value in CLASS_IDS.items():
        assert getattr(DetectedObject, f"CLASS_{name.upper()}") == value


def _core_tests():
    """test_lidar_core.py as a module (its synthetic scenes), whatever pytest's import mode."""
    spec = importlib.util.spec_from_file_location("lidar_core_tests", Path(__file__).with_name("test_lidar_core.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cloud(points: np.ndarray, stamp_s: float):
    from builtin_interfaces.msg import Time

    from lsv_common.convert import POINT_XYZIR, to_pointcloud2

    s = np.zeros(len(points), POINT_XYZIR)
    for i, n in enumerate(("x", "y", "z", "intensity")):
        s[n] = points[:, i]
    return to_pointcloud2(s, "lidar", Time(sec=int(stamp_s), nanosec=round((stamp_s % 1) * 1e9)))


def _statuses(diags: MessageRecorder) -> list:
    return [s for d in diags.messages for s in d.status if s.name == "lidar_detector: pipeline"]


@pytest.mark.slow
def test_node_publishes_objects_in_lidar_and_map_frames(tmp_path: Path) -> None:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import PointCloud2

    from lsv_msgs.msg import DetectedObject, DetectedObjectArray

    points, truth = _core_tests().synthetic_scene(np.random.default_rng(6), grade=0.0)
    # fixed stamps (100 s ...) on the node's wall clock: the age check off (max_cloud_age_s 0), or every cloud
    # would be dropped as decades old
    proc = start_node("lsv_perception.lidar_node", name="lidar_detector", params_file=PARAMS, log_dir=tmp_path,
                      params={"max_cloud_age_s": 0.0}, remaps=REMAPS)
    rclpy.init()
    node = rclpy.create_node("lidar_node_test")
    try:
        objs = MessageRecorder(node, DetectedObjectArray, "/perception/lidar/objects")
        objs_map = MessageRecorder(node, DetectedObjectArray, "/perception/lidar/objects_map")
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        cloud_pub = node.create_publisher(PointCloud2, "/sensing/lidar/points", qos_profile_sensor_data)
        odom_pub = node.create_publisher(Odometry, "/localization/odometry", 50)

        # 1. no odometry yet: lidar-frame objects only, and diagnostics say so
        for _ in range(300):  # until the node has started and matched (slow on a loaded machine)
            cloud_pub.publish(_cloud(points, 100.0))
            if spin_until(node, lambda: objs.count > 0, 0.1):
                break
        assert objs.count > 0, proc.log()
        m = objs.messages[-1]
        assert m.header.frame_id == "lidar" and (m.header.stamp.sec, m.header.stamp.nanosec) == (100, 0)
        assert len(m.objects) == len(truth)
        for o in m.objects:
            assert o.source == DetectedObject.SOURCE_LIDAR and o.has_box_3d and not o.has_box_2d
            assert o.classification in CLASS_IDS.values() and 0.0 < o.score <= 1.0
        centres = np.array([[o.pose.position.x, o.pose.position.y] for o in m.objects])
        for c, size, _, _ in truth:
            k = int(np.argmin(np.hypot(*(centres - c).T)))
            assert math.hypot(*(centres[k] - c)) < 0.25
            assert m.objects[k].dimensions.x == pytest.approx(size[0], abs=0.3)
        assert objs_map.count == 0
        assert spin_until(node, lambda: any("no odometry" in s.message for s in _statuses(diags)), 5.0), \
            [s.message for s in _statuses(diags)]

        # 2. odometry at the cloud's stamp: the same objects in map
        odom = Odometry()
        odom.header.frame_id = "map"
        odom.header.stamp.sec = 101
        odom.pose.pose.position.x, odom.pose.pose.position.y, odom.pose.pose.position.z = 100.0, 50.0, 10.0
        odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = math.sin(0.25), math.cos(0.25)  # yaw 0.5
        odom_pub.publish(odom)
        spin_until(node, lambda: False, 0.3)
        for _ in range(50):
            cloud_pub.publish(_cloud(points, 101.02))
            if spin_until(node, lambda: objs_map.count > 0, 0.2):
                break
        assert objs_map.count > 0, proc.log()
        mm = objs_map.messages[-1]
        assert mm.header.frame_id == "map" and (mm.header.stamp.sec, mm.header.stamp.nanosec) == (101, 20_000_000)
        lidar_msg = next(x for x in reversed(objs.messages) if x.header.stamp.sec == 101)
        assert len(mm.objects) == len(lidar_msg.objects) == len(truth)
        c, s = math.cos(0.5), math.sin(0.5)
        for a, b in zip(lidar_msg.objects, mm.objects, strict=True):
            x, y, z = a.pose.position.x + 1.2, a.pose.position.y, a.pose.position.z + 1.95  # base_link
            assert b.pose.position.x == pytest.approx(100.0 + c * x - s * y, abs=1e-3)
            assert b.pose.position.y == pytest.approx(50.0 + s * x + c * y, abs=1e-3)
            assert b.pose.position.z == pytest.approx(10.0 + z, abs=1e-3)
            yaw_a = 2 * math.atan2(a.pose.orientation.z, a.pose.orientation.w)
            yaw_b = 2 * math.atan2(b.pose.orientation.z, b.pose.orientation.w)
            assert math.remainder(yaw_b - yaw_a - 0.5, 2 * math.pi) == pytest.approx(0.0, abs=1e-4)
            assert (b.classification, b.score, b.dimensions.x) == (a.classification, a.score, a.dimensions.x)

        # 3. empty and all-NaN clouds: empty outputs, the node stays up
        for pts, stamp in ((np.zeros((0, 4), np.float32), 102.0), (np.full((500, 4), np.nan, np.float32), 103.0)):
            cloud_pub.publish(_cloud(pts, stamp))
            assert spin_until(node, lambda st=stamp: any(x.header.stamp.sec == int(st) for x in objs.messages), 10.0)
            assert next(x for x in objs.messages if x.header.stamp.sec == int(stamp)).objects == []
        assert proc.alive()
        st = _statuses(diags)[-1]
        assert {"processing_ms_last", "points_in", "objects"} <= {kv.key for kv in st.values}
    finally:
        node.destroy_node()
        rclpy.shutdown()
        proc.stop()


@pytest.mark.slow
def test_bad_model_stops_the_node_at_start_up_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model.onnx"
    proc = start_node("lsv_perception.lidar_node", name="lidar_detector", params_file=PARAMS, log_dir=tmp_path,
                      params={"classifier.model_path": str(missing)})
    try:
        proc.popen.wait(60)
    finally:
        proc.stop()
    assert proc.popen.returncode == 2, proc.log()
    assert f"point classifier model not found: {missing}" in proc.log()
