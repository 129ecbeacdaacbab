"""Lidar boxes matched with camera boxes (IoU, Hungarian) and their classes and scores merged."""

import numpy as np
import pytest

from lsv_perception.fusion.fuse import FusionParams, as_v2x, fuse_camera, match_iou, merge_classes
from lsv_perception.fusion.projection import Calibration, box_corners, camera_extrinsic, project_boxes
from lsv_perception.tracking import Measurements
from lsv_perception.tracking.params import (
    CLASS_CAR,
    CLASS_CYCLIST,
    CLASS_PEDESTRIAN,
    CLASS_UNKNOWN,
    SOURCE_FUSION,
    SOURCE_LIDAR,
    SOURCE_V2X,
)

K = np.array([[320.0, 0.0, 320.0], [0.0, 320.0, 240.0], [0.0, 0.0, 1.0]])
CALIB = Calibration(K, 640, 480, camera_extrinsic(2.0, 0.0, 1.5, 0.0, 0.0, 0.0))


def lidar(xy, classes, scores, dims=(0.6, 0.6, 1.7)):
    n = len(xy)
    return Measurements(np.asarray(xy, float), np.full(n, dims[2] / 2), np.tile(dims, (n, 1)), np.zeros(n),
                        np.asarray(classes), np.asarray(scores, float), np.full(n, SOURCE_LIDAR))


def projected(m):
    corners = box_corners(np.column_stack([m.xy, m.z]), m.dims, m.yaw)
    return project_boxes(corners, CALIB.t_camera_map(np.eye(4)), CALIB)[0]


def test_match_iou_is_one_to_one_and_thresholded():
    iou = np.array([[0.9, 0.8], [0.85, 0.1], [0.05, 0.2]])
    rows, cols = match_iou(iou, 0.3)
    # the total 1.65 beats the greedy 0.9 + 0.1
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert match_iou(np.zeros((0, 2)), 0.3)[0].size == 0


@pytest.mark.parametrize(("l_cls", "l_s", "c_cls", "c_s", "cls", "score"), [
    (CLASS_PEDESTRIAN, 0.6, CLASS_PEDESTRIAN, 0.5, CLASS_PEDESTRIAN, 0.8),   # agree: noisy-or
    (CLASS_UNKNOWN, 0.9, CLASS_CYCLIST, 0.4, CLASS_CYCLIST, 0.4),           # lidar unknown: camera names it
    (CLASS_PEDESTRIAN, 0.5, CLASS_CYCLIST, 0.7, CLASS_CYCLIST, 0.7),        # camera more confident
    (CLASS_CAR, 0.95, CLASS_PEDESTRIAN, 0.5, CLASS_CAR, 0.95),              # lidar more confident
])
def test_merge_rules(l_cls, l_s, c_cls, c_s, cls, score):
    got_cls, got_score = merge_classes(np.array([l_cls]), np.array([l_s]), np.array([c_cls]), np.array([c_s]),
                                       1.0, 0.8)
    assert got_cls[0] == cls and got_score[0] == pytest.approx(score)


def test_fuse_camera_matches_the_right_boxes():
    m = lidar([[12.0, 0.0], [15.0, 3.0], [-10.0, 0.0]], [CLASS_UNKNOWN, CLASS_PEDESTRIAN, CLASS_PEDESTRIAN],
              [0.6, 0.6, 0.6])
    boxes = projected(m)
    # camera boxes: object 1 (shifted by 2 px), object 0 (named cyclist), and one with no lidar object
    cam = np.array([boxes[1] + 2.0, boxes[0], [0.0, 0.0, 20.0, 20.0]])
    res = fuse_camera(m, cam, np.array([CLASS_PEDESTRIAN, CLASS_CYCLIST, CLASS_CAR]), np.array([0.7, 0.8, 0.9]),
                      CALIB, np.eye(4), FusionParams())
    assert res.projected.tolist() == [True, True, False]   # the third is behind the camera
    assert sorted(zip(res.lidar_idx.tolist(), res.camera_idx.tolist(), strict=True)) == [(0, 1), (1, 0)]
    out = res.measurements
    assert out.class_ids.tolist() == [CLASS_CYCLIST, CLASS_PEDESTRIAN, CLASS_PEDESTRIAN]
    assert out.sources.tolist() == [SOURCE_FUSION, SOURCE_FUSION, SOURCE_LIDAR]
    assert out.scores[1] == pytest.approx(1 - 0.4 * 0.3)
    assert res.unmatched_camera == 1
    assert m.class_ids.tolist() == [CLASS_UNKNOWN, CLASS_PEDESTRIAN, CLASS_PEDESTRIAN]  # input untouched
    np.testing.assert_array_equal(out.xy, m.xy)  # fusion changes semantics, never positions


def test_fuse_camera_with_empty_inputs():
    m = lidar(np.zeros((0, 2)), np.zeros(0, int), np.zeros(0))
    res = fuse_camera(m, np.zeros((0, 4)), np.zeros(0), np.zeros(0), CALIB, np.eye(4), FusionParams())
    assert len(res.measurements) == 0 and res.unmatched_camera == 0
    m = lidar([[12.0, 0.0]], [CLASS_PEDESTRIAN], [0.5])
    res = fuse_camera(m, np.zeros((0, 4)), np.zeros(0), np.zeros(0), CALIB, np.eye(4), FusionParams())
    assert res.measurements.sources.tolist() == [SOURCE_LIDAR]


def test_v2x_objects_become_v2x_measurements():
    m = as_v2x(lidar([[50.0, 0.0]], [CLASS_CAR], [0.9]))
    assert m.sources.tolist() == [SOURCE_V2X]
