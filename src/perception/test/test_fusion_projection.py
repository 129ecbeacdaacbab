"""Projection of 3D boxes into the image with a known calibration, checked by hand and against
the simulator's own camera, and the vectorized IoU."""

import math

import numpy as np
import pytest

from lsv_perception.fusion.projection import (
    Calibration,
    CalibrationError,
    box_corners,
    camera_extrinsic,
    iou_matrix,
    matrix_of_pose,
    pose_to_matrix,
    project_boxes,
)

K = np.array([[320.0, 0.0, 320.0], [0.0, 320.0, 240.0], [0.0, 0.0, 1.0]])  # 640 x 480, 90 deg hfov


def level_camera():
    return Calibration(K, 640, 480, camera_extrinsic(2.0, 0.0, 1.5, 0.0, 0.0, 0.0))


def test_box_corners():
    c = box_corners(np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, 2.0, 1.0]]), np.array([math.pi / 2]))
    assert c.shape == (1, 8, 3)
    np.testing.assert_allclose(c[0].min(axis=0), [0.0, 0.0, 2.5], atol=1e-12)  # rotated: length along y
    np.testing.assert_allclose(c[0].max(axis=0), [2.0, 4.0, 3.5], atol=1e-12)


def test_projection_with_a_known_calibration():
    calib = level_camera()
    # a 1 m cube 10 m ahead of the camera, centred on its axis: +-0.5 m at 9.5..10.5 m depth
    corners = box_corners(np.array([[12.0, 0.0, 1.5]]), np.array([[1.0, 1.0, 1.0]]), np.zeros(1))
    boxes, valid = project_boxes(corners, calib.t_camera_map(np.eye(4)), calib)
    assert valid.tolist() == [True]
    half = 320.0 * 0.5 / 9.5  # nearest face spans the widest
    np.testing.assert_allclose(boxes[0], [320 - half, 240 - half, 320 + half, 240 + half])
    # the vehicle at (100, 50) facing +y: the same cube in map coordinates projects the same way
    t_map_base = pose_to_matrix(100.0, 50.0, 0.0, 0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4))
    corners_map = box_corners(np.array([[100.0, 62.0, 1.5]]), np.array([[1.0, 1.0, 1.0]]), np.array([math.pi / 2]))
    boxes_map, _ = project_boxes(corners_map, calib.t_camera_map(t_map_base), calib)
    np.testing.assert_allclose(boxes_map, boxes, atol=1e-9)
    # a box to the left (+y in base_link) appears left in the image (smaller u)
    left, _ = project_boxes(box_corners(np.array([[12.0, 2.0, 1.5]]), np.ones((1, 3)), np.zeros(1)),
                            calib.t_camera_map(np.eye(4)), calib)
    assert left[0, 2] < 320.0


def test_boxes_behind_or_outside_the_image_are_not_valid():
    calib = level_camera()
    centers = np.array([[-5.0, 0.0, 1.5], [2.3, 0.0, 1.5], [12.0, 40.0, 1.5], [12.0, 5.0, 1.5]])
    boxes, valid = project_boxes(box_corners(centers, np.ones((4, 3)), np.zeros(4)), calib.t_camera_map(np.eye(4)),
                                 calib)
    assert valid.tolist() == [False, False, False, True]  # behind, straddling the camera plane, out of view
    assert (boxes[:, [0, 2]] >= 0).all() and (boxes[:, [0, 2]] <= 640).all()  # clipped to the image
    empty, ok = project_boxes(np.zeros((0, 8, 3)), np.eye(4), calib)
    assert empty.shape == (0, 4) and ok.shape == (0,)


def test_bad_calibration_is_refused():
    with pytest.raises(CalibrationError, match="focal"):
        Calibration(np.zeros((3, 3)), 640, 480, np.eye(4))
    with pytest.raises(CalibrationError, match="size"):
        Calibration(K, 0, 480, np.eye(4))


def test_projection_matches_the_simulated_camera():
    """The simulator's camera (same extrinsics, its K) renders a pedestrian and a car: the
    projected boxes cover the pixels it drew for them."""
    from lsv_sim.sensors import Actor, Extrinsics
    from lsv_sim.sensors.camera import Camera
    from lsv_sim.world import ObjectClass

    ext = Extrinsics()
    t_base_cam = camera_extrinsic(ext.camera_x, ext.camera_y, ext.camera_z, ext.camera_roll, ext.camera_pitch,
                                  ext.camera_yaw)
    np.testing.assert_allclose(t_base_cam, ext.matrix("camera"), atol=1e-12)
    # a static world of one small triangle far out of view (the caster needs at least one)
    far = (np.array([[-900.0, -900.0, -50.0], [-899.0, -900.0, -50.0], [-900.0, -899.0, -50.0]], np.float32),
           np.array([[0, 1, 2]], np.uint32), np.array([1], np.uint8))
    cam = Camera(static_mesh=far)
    info = cam.camera_info()
    calib = Calibration(np.array(info.k).reshape(3, 3), info.width, info.height, t_base_cam)
    t_map_base = pose_to_matrix(10.0, 5.0, 0.0, 0.0, 0.0, math.sin(0.15), math.cos(0.15))  # yaw 0.3 rad
    # (x, y, bottom z, yaw), (length, width, height) in the map
    objs = [((22.0, 9.0, 0.0, 0.4), (0.6, 0.6, 1.7)), ((28.0, 4.0, 0.0, 1.2), (4.5, 1.8, 1.5))]
    actors = [Actor(i + 1, int(c), pose, size)
              for i, ((pose, size), c) in enumerate(zip(objs, (ObjectClass.PEDESTRIAN, ObjectClass.CAR), strict=True))]
    frame = cam.render(t_map_base @ t_base_cam, actors, None, None)
    centers = np.array([[p[0], p[1], p[2] + s[2] / 2] for p, s in objs])
    corners = box_corners(centers, np.array([s for _, s in objs]), np.array([p[3] for p, _ in objs]))
    boxes, valid = project_boxes(corners, calib.t_camera_map(t_map_base), calib)
    assert valid.all()
    for i in range(2):
        v, u = np.nonzero(frame.object_id == i + 1)
        assert len(u) > 50
        drawn = np.array([u.min(), v.min(), u.max() + 1, v.max() + 1], float)
        np.testing.assert_allclose(boxes[i], drawn, atol=2.0)


def test_matrix_of_a_pose_message_and_bad_ones():
    from types import SimpleNamespace as NS

    def pose(x, y, z, qx, qy, qz, qw):
        return NS(position=NS(x=x, y=y, z=z), orientation=NS(x=qx, y=qy, z=qz, w=qw))

    t = matrix_of_pose(pose(1.0, 2.0, 3.0, 0.0, 0.0, math.sin(0.25), math.cos(0.25)))  # yaw 0.5 rad
    np.testing.assert_allclose(t[:3, 3], [1.0, 2.0, 3.0])
    assert math.atan2(t[1, 0], t[0, 0]) == pytest.approx(0.5)
    with pytest.raises(CalibrationError, match="not a rotation"):
        matrix_of_pose(pose(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))
    with pytest.raises(CalibrationError, match="non-finite"):
        matrix_of_pose(pose(float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0, 1.0))


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [100, 100, 110, 110]], float)
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)
    assert iou_matrix(np.array([[0, 0, 0, 0.0]]), np.array([[0, 0, 0, 0.0]]))[0, 0] == 0.0  # degenerate: no NaN
