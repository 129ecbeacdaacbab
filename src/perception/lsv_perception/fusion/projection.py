"""3D boxes -> image boxes with a pinhole calibration, and IoU of image boxes (vectorized)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec

#: rotation taking optical-frame vectors (z forward, x right, y down) to the body frame of the
#: same camera (x forward, y left, z up); the simulator and REP-103 use the same convention
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])

#: the 8 corners of a unit box centred at the origin (signs of +-length/2, +-width/2, +-height/2)
_CORNER_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)


class CalibrationError(ValueError):
    """A camera calibration that cannot be used (K singular, image size zero, ...)."""


def rotation_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """3x3 R = Rz(yaw) Ry(pitch) Rx(roll) (REP-103)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch), math.cos(yaw),
                              math.sin(yaw))
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def camera_extrinsic(x: float, y: float, z: float, roll: float, pitch: float, yaw: float) -> np.ndarray:
    """``T_base_camera`` (4x4) of the optical frame of a camera body mounted at (x, y, z, roll,
    pitch, yaw) in base_link: the simulator's ``extrinsics.camera`` parameters."""
    t = np.eye(4)
    t[:3, :3] = rotation_rpy(roll, pitch, yaw) @ R_BODY_OPTICAL
    t[:3, 3] = (x, y, z)
    return t


def _mount(default: float, axis: str, unit: str, lo: float, hi: float):
    return field(default=default, metadata=spec(f"camera (body) {axis} in base_link; default: the simulator's",
                                                unit=unit, min=lo, max=hi, optional=True, name=f"camera.{axis}"))


@dataclass(frozen=True)
class CameraMountParams:
    """Where the camera body sits in base_link (parameters ``camera.x`` ... ``camera.yaw``)."""

    camera_x: float = _mount(2.1, "x", "m", -5.0, 10.0)
    camera_y: float = _mount(0.0, "y", "m", -3.0, 3.0)
    camera_z: float = _mount(1.6, "z", "m", 0.0, 5.0)
    camera_roll: float = _mount(0.0, "roll", "rad", -math.pi, math.pi)
    camera_pitch: float = _mount(0.05, "pitch", "rad", -math.pi / 2, math.pi / 2)
    camera_yaw: float = _mount(0.0, "yaw", "rad", -math.pi, math.pi)

    def t_base_camera(self) -> np.ndarray:
        """``T_base_camera`` (4x4) of the optical frame."""
        return camera_extrinsic(self.camera_x, self.camera_y, self.camera_z, self.camera_roll, self.camera_pitch,
                                self.camera_yaw)


def pose_to_matrix(x: float, y: float, z: float, qx: float, qy: float, qz: float, qw: float) -> np.ndarray:
    """4x4 transform of a position and a quaternion (normalised here)."""
    q = np.array([qx, qy, qz, qw], dtype=np.float64)
    norm = float(np.linalg.norm(q))
    if not math.isfinite(norm) or norm < 1e-9:
        raise CalibrationError(f"pose quaternion {tuple(q)} is not a rotation")
    qx, qy, qz, qw = q / norm
    t = np.eye(4)
    t[:3, :3] = [[1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
                 [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
                 [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)]]
    t[:3, 3] = (x, y, z)
    return t


def matrix_of_pose(pose) -> np.ndarray:
    """4x4 transform of a ``geometry_msgs/Pose`` (read by attribute: no message import here), e.g.
    an odometry's ``pose.pose``. Raises CalibrationError for a quaternion that is not a rotation
    or a non-finite value."""
    p, q = pose.position, pose.orientation
    t = pose_to_matrix(p.x, p.y, p.z, q.x, q.y, q.z, q.w)
    if not np.isfinite(t).all():
        raise CalibrationError(f"pose ({p.x}, {p.y}, {p.z}) has non-finite values")
    return t


@dataclass(frozen=True)
class Calibration:
    """Pinhole camera: K (3x3), image size, and ``T_base_camera`` (optical frame in base_link).

    Images are assumed rectified (the simulator's camera has no distortion); the distortion
    coefficients of a CameraInfo are not applied.
    """

    k: np.ndarray
    width: int
    height: int
    t_base_camera: np.ndarray

    def __post_init__(self) -> None:
        k = np.asarray(self.k, np.float64).reshape(3, 3)
        if self.width <= 0 or self.height <= 0:
            raise CalibrationError(f"camera image size {self.width}x{self.height} is empty")
        if not np.isfinite(k).all() or k[0, 0] <= 0.0 or k[1, 1] <= 0.0:
            raise CalibrationError(f"camera K {k.ravel().tolist()} has no positive focal lengths")
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "t_base_camera", np.asarray(self.t_base_camera, np.float64).reshape(4, 4))

    def t_camera_map(self, t_map_base: np.ndarray) -> np.ndarray:
        """``T_camera_map``: map points -> optical camera frame, given the vehicle pose ``T_map_base``."""
        return np.linalg.inv(np.asarray(t_map_base, np.float64) @ self.t_base_camera)


def calibration_from_msg(msg, t_base_camera: np.ndarray) -> Calibration:
    """Calibration of a ``sensor_msgs/CameraInfo`` (read by attribute: K, width, height) and the mount
    ``T_base_camera``. Raises CalibrationError for an unusable one."""
    return Calibration(np.array(msg.k, dtype=np.float64).reshape(3, 3), int(msg.width), int(msg.height),
                       t_base_camera)


def box_corners(centers: np.ndarray, dims: np.ndarray, yaws: np.ndarray) -> np.ndarray:
    """(N, 8, 3) corners of boxes with centre (N, 3), size (N, 3) length, width, height and yaw (N,)."""
    half = 0.5 * np.asarray(dims, np.float64)[:, None, :] * _CORNER_SIGNS[None, :, :]  # (N, 8, 3)
    c, s = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
    out = np.empty_like(half)
    out[..., 0] = c * half[..., 0] - s * half[..., 1]
    out[..., 1] = s * half[..., 0] + c * half[..., 1]
    out[..., 2] = half[..., 2]
    return out + np.asarray(centers, np.float64)[:, None, :]


def project_boxes(corners: np.ndarray, t_camera_from: np.ndarray, calib: Calibration,
                  min_depth_m: float = 0.5, min_size_px: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Image boxes of 3D boxes: corners (N, 8, 3) in some frame, ``t_camera_from`` that frame ->
    optical camera frame. Returns (N, 4) float64 x_min, y_min, x_max, y_max clipped to the image,
    and (N,) bool valid: every corner at least ``min_depth_m`` in front of the camera and the
    clipped box at least ``min_size_px`` wide and high."""
    n = len(corners)
    if n == 0:
        return np.zeros((0, 4)), np.zeros(0, bool)
    pts = corners.reshape(-1, 3) @ t_camera_from[:3, :3].T + t_camera_from[:3, 3]
    depth = pts[:, 2]
    safe = np.where(depth > 1e-6, depth, 1.0)
    k = calib.k
    u = k[0, 0] * pts[:, 0] / safe + k[0, 1] * pts[:, 1] / safe + k[0, 2]
    v = k[1, 1] * pts[:, 1] / safe + k[1, 2]
    u, v, depth = u.reshape(n, 8), v.reshape(n, 8), depth.reshape(n, 8)
    boxes = np.stack([u.min(axis=1), v.min(axis=1), u.max(axis=1), v.max(axis=1)], axis=1)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, calib.width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, calib.height)
    valid = ((depth >= min_depth_m).all(axis=1) & (boxes[:, 2] - boxes[:, 0] >= min_size_px)
             & (boxes[:, 3] - boxes[:, 1] >= min_size_px))
    return boxes, valid


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of image boxes a (N, 4) and b (M, 4) (x_min, y_min, x_max, y_max)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0.0, None) * np.clip(ih, 0.0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0.0, None) * np.clip(a[:, 3] - a[:, 1], 0.0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0.0, None) * np.clip(b[:, 3] - b[:, 1], 0.0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)
