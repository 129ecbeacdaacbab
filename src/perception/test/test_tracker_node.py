"""The tracker node process over real topics: lidar objects (map frame) fused with camera boxes
become confirmed tracks with stable ids, the camera's class and a velocity; empty frames give
empty outputs; a wrong frame is refused; lidar silence stops the output and raises ERROR."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node

PARAMS = Path(__file__).resolve().parents[1] / "config" / "tracker.param.yaml"
K = [320.0, 0.0, 319.5, 0.0, 320.0, 239.5, 0.0, 0.0, 1.0]


@pytest.mark.slow
def test_tracker_node_over_topics(tmp_path: Path) -> None:
    import rclpy
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticArray
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import CameraInfo
    from visualization_msgs.msg import MarkerArray

    from lsv_common.node import ERROR, level_of
    from lsv_msgs.msg import DetectedObject, DetectedObjectArray, TrackedObjectArray
    from lsv_perception.fusion.projection import (
        Calibration,
        box_corners,
        camera_extrinsic,
        pose_to_matrix,
        project_boxes,
    )

    remaps = {"~/input/lidar_objects": "/perception/lidar/objects_map",
              "~/input/camera_objects": "/perception/camera/objects",
              "~/input/camera_info": "/sensing/camera/camera_info", "~/input/v2x_objects": "/v2x/objects",
              "~/input/odometry": "/localization/odometry", "~/output/objects": "/perception/objects",
              "~/output/markers": "/perception/markers"}
    proc = start_node("lsv_perception.tracker_node", name="tracker", params_file=PARAMS, log_dir=tmp_path,
                      remaps=remaps)
    rclpy.init()
    node = rclpy.create_node("tracker_node_test")
    try:
        out = MessageRecorder(node, TrackedObjectArray, "/perception/objects")
        markers = MessageRecorder(node, MarkerArray, "/perception/markers")
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        lidar_pub = node.create_publisher(DetectedObjectArray, "/perception/lidar/objects_map", 5)
        cam_pub = node.create_publisher(DetectedObjectArray, "/perception/camera/objects", 5)
        info_pub = node.create_publisher(CameraInfo, "/sensing/camera/camera_info", 2)
        odom_pub = node.create_publisher(Odometry, "/localization/odometry", 10)
        # the vehicle at (50, 20) heading +y (yaw 90 deg); a pedestrian 12 m ahead walking right (-x) at 1.2 m/s
        yaw = math.pi / 2
        t_map_base = pose_to_matrix(50.0, 20.0, 0.0, 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))
        calib = Calibration(np.array(K).reshape(3, 3), 640, 480, camera_extrinsic(2.1, 0.0, 1.6, 0.0, 0.05, 0.0))
        start = node.get_clock().now().nanoseconds
        state = {"k": 0, "silent": False, "empty": False}

        def feed() -> None:
            if state["silent"]:
                return
            k = state["k"]
            state["k"] += 1
            t_ns = start + k * 100_000_000
            stamp = Time(sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id = stamp, "map"
            odom.pose.pose.position.x, odom.pose.pose.position.y = 50.0, 20.0
            odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
            odom_pub.publish(odom)
            info = CameraInfo(width=640, height=480, k=K)
            info.header.stamp, info.header.frame_id = stamp, "camera"
            info_pub.publish(info)
            lidar = DetectedObjectArray()
            lidar.header.stamp, lidar.header.frame_id = stamp, "map"
            cam = DetectedObjectArray()
            cam.header.stamp, cam.header.frame_id = stamp, "camera"
            if not state["empty"]:
                x, y = 50.0 - 1.2 * k * 0.1 + 1.0, 20.0 + 2.1 + 12.0
                o = DetectedObject(classification=DetectedObject.CLASS_UNKNOWN, score=0.6,
                                   source=DetectedObject.SOURCE_LIDAR, has_box_3d=True)
                o.pose.position.x, o.pose.position.y, o.pose.position.z = x, y, 0.85
                o.pose.orientation.w = 1.0
                o.dimensions.x, o.dimensions.y, o.dimensions.z = 0.6, 0.6, 1.7
                lidar.objects.append(o)
                corners = box_corners(np.array([[x, y, 0.85]]), np.array([[0.6, 0.6, 1.7]]), np.zeros(1))
                box, valid = project_boxes(corners, calib.t_camera_map(t_map_base), calib)
                if not valid[0]:  # walked out of the image (only on a very slow run)
                    return
                c = DetectedObject(classification=DetectedObject.CLASS_PEDESTRIAN, score=0.9,
                                   source=DetectedObject.SOURCE_CAMERA, has_box_2d=True)
                c.x_min, c.y_min, c.x_max, c.y_max = (float(v) for v in box[0] + np.array([1.0, -1.0, 2.0, 1.0]))
                cam.objects.append(c)
            cam_pub.publish(cam)
            lidar_pub.publish(lidar)


        # start feeding once the node is up (its heartbeat is on /diagnostics), so that the scene
        # is still in front of the camera when the first frames arrive, however slow the start
        assert spin_until(node, lambda: any(s.name.startswith("tracker") for d in diags.messages for s in d.status),
                          30.0), proc.log()
        start = node.get_clock().now().nanoseconds
        node.create_timer(0.1, feed)
        assert spin_until(node, lambda: any(m.objects for m in out.messages), 20.0), proc.log()
        # a tracker that has just started says nothing until it could confirm what is there: its first output
        # already holds the pedestrian, never an empty list that would mean "the road is clear"
        assert out.messages[0].objects and out.messages[0].objects[0].confirmed
        spin_until(node, lambda: False, 1.5)
        last = out.messages[-1]
        assert last.header.frame_id == "map" and len(last.objects) == 1
        o = last.objects[0]
        assert o.confirmed and o.classification == DetectedObject.CLASS_PEDESTRIAN  # the camera named it
        assert o.source_mask & (1 << DetectedObject.SOURCE_FUSION)
        assert o.velocity.twist.linear.x == pytest.approx(-1.2, abs=0.4)
        assert abs(o.velocity.twist.linear.y) < 0.4
        assert o.pose.covariance[0] > 0.0 and o.hits >= 3
        ids = {ob.object_id for m in out.messages for ob in m.objects}
        assert ids == {o.object_id}, f"the pedestrian changed id: {ids}"
        assert spin_until(node, lambda: markers.count > 0, 3.0)
        assert any(mk.type == mk.CUBE for mk in markers.last.markers)
        # empty lidar frames: the track coasts, then the output is empty (not missing)
        state["empty"] = True
        assert spin_until(node, lambda: out.count > 0 and not out.last.objects, 5.0), proc.log()
        n = out.count
        spin_until(node, lambda: False, 0.5)
        assert out.count > n and not out.last.objects
        # a lidar frame in the wrong frame is refused
        wrong = DetectedObjectArray(objects=[DetectedObject(has_box_3d=True)])
        wrong.header.frame_id = "lidar"
        state["silent"] = True
        spin_until(node, lambda: False, 0.3)
        n = out.count
        lidar_pub.publish(wrong)
        spin_until(node, lambda: False, 0.5)
        assert out.count == n
        # lidar silent: nothing published, ERROR on /diagnostics
        diags.messages.clear()

        def tracker_error() -> bool:
            return any(s.name.startswith("tracker") and level_of(s) == ERROR and "lidar" in s.message
                       for d in diags.messages for s in d.status)

        assert spin_until(node, tracker_error, 5.0)
        assert out.count == n
        assert proc.alive()
    finally:
        node.destroy_node()
        rclpy.shutdown()
        proc.stop()


def test_detection_with_a_bad_quaternion_stays_an_obstacle_with_a_heading_free_box() -> None:
    """Hazard (safety review, quaternions): the tracker read headings with the unchecked formula (a zero
    quaternion = heading 0, a norm-2 one for 90 deg = 127 deg). Such a box is kept, square, with its diagonal
    as side: it covers the object at any heading."""
    from lsv_msgs.msg import DetectedObject, DetectedObjectArray
    from lsv_perception.tracker_node import measurements_from_msg

    o = DetectedObject(classification=DetectedObject.CLASS_CAR, score=0.7, has_box_3d=True)
    o.dimensions.x, o.dimensions.y, o.dimensions.z = 4.0, 3.0, 1.5
    for z, w in ((0.0, 0.0), (math.sqrt(2.0), math.sqrt(2.0))):
        o.pose.orientation.z, o.pose.orientation.w = z, w
        m = measurements_from_msg(DetectedObjectArray(objects=[o]))
        assert len(m) == 1 and m.yaw[0] == 0.0
        assert m.dims[0, :2].tolist() == pytest.approx([5.0, 5.0])


def test_message_conversions_without_a_graph() -> None:
    """DetectedObjectArray -> Measurements (3D boxes only), 2D boxes (bad ones dropped), Tracks ->
    TrackedObjectArray and markers."""
    from builtin_interfaces.msg import Time

    from lsv_msgs.msg import DetectedObject, DetectedObjectArray
    from lsv_perception.tracker_node import boxes_2d_from_msg, markers_msg, measurements_from_msg, tracks_to_msg
    from lsv_perception.tracking import MultiObjectTracker, TrackerParams

    msg = DetectedObjectArray()
    o = DetectedObject(classification=DetectedObject.CLASS_CAR, score=0.7, source=DetectedObject.SOURCE_LIDAR,
                       has_box_3d=True)
    o.pose.position.x, o.pose.position.y, o.pose.position.z = 3.0, 4.0, 0.75
    o.pose.orientation.z, o.pose.orientation.w = math.sin(0.25), math.cos(0.25)
    o.dimensions.x, o.dimensions.y, o.dimensions.z = 4.5, 1.8, 1.5
    flat = DetectedObject(has_box_2d=True, x_min=10.0, y_min=20.0, x_max=30.0, y_max=60.0, score=0.9,
                          classification=DetectedObject.CLASS_PEDESTRIAN)
    bad = DetectedObject(has_box_2d=True, x_min=30.0, y_min=20.0, x_max=10.0, y_max=60.0)  # x_max < x_min
    msg.objects = [o, flat, bad]
    m = measurements_from_msg(msg)
    assert len(m) == 1 and m.xy.tolist() == [[3.0, 4.0]] and m.yaw[0] == pytest.approx(0.5)
    assert m.class_ids.tolist() == [DetectedObject.CLASS_CAR] and m.sources.tolist() == [DetectedObject.SOURCE_LIDAR]
    boxes, classes, scores = boxes_2d_from_msg(msg)
    assert scores.tolist() == pytest.approx([0.9])
    assert boxes.tolist() == [[10.0, 20.0, 30.0, 60.0]] and classes.tolist() == [DetectedObject.CLASS_PEDESTRIAN]
    assert len(measurements_from_msg(DetectedObjectArray())) == 0

    tracker = MultiObjectTracker(TrackerParams(confirm_hits=1))
    tracker.update(0, m)
    out = tracks_to_msg(tracker.tracks(), Time(sec=5), 0.5)
    assert out.header.frame_id == "map" and out.header.stamp.sec == 5 and len(out.objects) == 1
    t = out.objects[0]
    assert t.object_id == 1 and t.classification == DetectedObject.CLASS_CAR and t.confirmed
    assert (t.pose.pose.position.x, t.pose.pose.position.y) == (3.0, 4.0)
    assert t.pose.covariance[0] > 0.0 and t.velocity.covariance[0] > 0.0
    assert t.source_mask == 1 << DetectedObject.SOURCE_LIDAR
    mk = markers_msg(out)
    assert mk.markers[0].action == mk.markers[0].DELETEALL and len(mk.markers) == 3
    assert len(tracks_to_msg(MultiObjectTracker().tracks(), Time(), 0.5).objects) == 0
