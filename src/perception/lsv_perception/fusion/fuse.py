"""Camera-lidar fusion of one frame, and V2X objects as a measurement source.

``fuse_camera`` projects the lidar boxes (map frame) into the image with the vehicle pose and
the calibration, matches them with the camera's 2D detections by IoU (Hungarian on 1 - IoU),
and merges classes and scores:

- the same class on both sides: that class, score = 1 - (1 - s_lidar)(1 - s_camera) (two
  independent sensors agree);
- different classes: the side with the larger weighted score (``camera_weight * s_camera`` vs
  ``lidar_weight * s_lidar``; a lidar UNKNOWN never wins against a camera class) gives class and score;
- every matched object becomes ``SOURCE_FUSION``; unmatched lidar objects pass unchanged;
  unmatched camera boxes have no 3D position and are only counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from lsv_common.params import spec
from lsv_perception.fusion.projection import Calibration, box_corners, iou_matrix, project_boxes
from lsv_perception.tracking.params import CLASS_UNKNOWN, SOURCE_FUSION, SOURCE_V2X
from lsv_perception.tracking.tracker import Measurements


@dataclass(frozen=True)
class FusionParams:
    min_iou: float = field(default=0.3, metadata=spec(
        "smallest IoU of a projected lidar box and a camera box that counts as the same object", min=0.01,
        max=1.0, optional=True))
    camera_weight: float = field(default=1.0, metadata=spec(
        "weight of the camera's score when the classes disagree", min=0.0, max=10.0, optional=True))
    lidar_weight: float = field(default=0.8, metadata=spec(
        "weight of the lidar's score when the classes disagree", min=0.0, max=10.0, optional=True))
    max_camera_lag_s: float = field(default=0.15, metadata=spec(
        "camera detections further than this in time from the lidar scan are not fused", unit="s", min=0.0,
        max=2.0, optional=True))
    min_depth_m: float = field(default=0.5, metadata=spec(
        "a box with a corner closer than this to the camera plane (or behind it) is not projected", unit="m",
        min=0.01, max=10.0, optional=True))


@dataclass
class FusionResult:
    measurements: Measurements  # the lidar objects with merged classes, scores and sources
    boxes_2d: np.ndarray        # (N, 4) projected lidar boxes (pixels)
    projected: np.ndarray       # (N,) bool: box in front of the camera and inside the image
    lidar_idx: np.ndarray       # (K,) matched lidar rows
    camera_idx: np.ndarray      # (K,) matched camera rows
    unmatched_camera: int = 0


def match_iou(iou: np.ndarray, min_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairs maximising the total IoU, each pair with IoU >= ``min_iou``."""
    if iou.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cost = np.where(iou >= min_iou, 1.0 - iou, 1e6)
    rows, cols = linear_sum_assignment(cost)
    ok = iou[rows, cols] >= min_iou
    return rows[ok].astype(np.int64), cols[ok].astype(np.int64)


def merge_classes(lidar_cls: np.ndarray, lidar_score: np.ndarray, cam_cls: np.ndarray, cam_score: np.ndarray,
                  camera_weight: float, lidar_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Class and score of K matched pairs (all (K,) arrays) by the rules of the module docstring."""
    same = lidar_cls == cam_cls
    lidar_vote = np.where(lidar_cls == CLASS_UNKNOWN, -1.0, lidar_weight * lidar_score)
    camera_wins = camera_weight * cam_score >= lidar_vote
    cls = np.where(same, lidar_cls, np.where(camera_wins, cam_cls, lidar_cls))
    score = np.where(same, 1.0 - (1.0 - lidar_score) * (1.0 - cam_score),
                     np.where(camera_wins, cam_score, lidar_score))
    return cls.astype(np.int64), np.clip(score, 0.0, 1.0)


def fuse_camera(lidar: Measurements, cam_boxes: np.ndarray, cam_classes: np.ndarray, cam_scores: np.ndarray,
                calib: Calibration, t_map_base: np.ndarray, params: FusionParams) -> FusionResult:
    """Fuse one lidar frame (map frame) with one camera frame (cam_boxes (M, 4) pixels)."""
    cam_boxes = np.asarray(cam_boxes, np.float64).reshape(-1, 4)
    n, m = len(lidar), len(cam_boxes)
    centers = np.column_stack([lidar.xy, lidar.z]) if n else np.zeros((0, 3))
    corners = box_corners(centers, lidar.dims, lidar.yaw)
    boxes, valid = project_boxes(corners, calib.t_camera_map(t_map_base), calib, params.min_depth_m)
    rows = cols = np.zeros(0, np.int64)
    if n and m and valid.any():
        iou = iou_matrix(boxes, cam_boxes)
        iou[~valid] = 0.0
        rows, cols = match_iou(iou, params.min_iou)
    out = replace(lidar, class_ids=lidar.class_ids.copy(), scores=lidar.scores.copy(), sources=lidar.sources.copy())
    if len(rows):
        cls, score = merge_classes(lidar.class_ids[rows], lidar.scores[rows], np.asarray(cam_classes)[cols],
                                   np.asarray(cam_scores, np.float64)[cols], params.camera_weight, params.lidar_weight)
        out.class_ids[rows] = cls
        out.scores[rows] = score
        out.sources[rows] = SOURCE_FUSION
    return FusionResult(out, boxes, valid, rows, cols, m - len(cols))


def as_v2x(meas: Measurements) -> Measurements:
    """V2X remote objects as tracker measurements: the same boxes, source V2X (its own noise;
    it may start tracks of objects the lidar cannot see, see ``TrackerParams.v2x_birth``)."""
    return replace(meas, sources=np.full(len(meas), SOURCE_V2X, np.int64))
