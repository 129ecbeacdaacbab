"""Simulated sensors (pure cores: numpy / Open3D, time and poses as arguments, no ROS).

- ``lidar.Lidar(params, world_mesh).scan(pose, actors, rng)`` -> POINT_XYZIR points (+ labels);
- ``camera.Camera(params, world_mesh).render(pose, actors, light, rng)`` -> rgb, depth, ids, classes;
- ``gnss_imu``: GNSS fix with noise and dropout zones, IMU with gravity seen through the road grade.

Poses: a sensor pose is ``T_map_sensor``, a 4x4 matrix taking points in the sensor frame to the
map frame (what TF calls the transform map -> sensor), or a tuple (x, y, z, roll, pitch, yaw)
of that frame (REP-103: roll about x, pitch about y, yaw about z, applied z-y-x; positive pitch
is nose down). Frames: ``base_link`` (rear axle on the ground, x forward, y left, z up),
``lidar``, ``camera`` (optical: z forward, x right, y down), ``gnss``, ``imu``; their
extrinsics are ``Extrinsics`` parameters and ``Extrinsics.matrix(frame)`` gives ``T_base_frame``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lsv_common.params import spec

#: rotation taking optical-frame vectors (z forward, x right, y down) to the body frame
#: (x forward, y left, z up) of the same camera
R_BODY_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])

FRAMES = ("lidar", "camera", "gnss", "imu")


def rotation_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """3x3 rotation R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, sr, cp, sp, cy, sy = (math.cos(roll), math.sin(roll), math.cos(pitch), math.sin(pitch),
                              math.cos(yaw), math.sin(yaw))
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def rpy_from_rotation(r: np.ndarray) -> tuple[float, float, float]:
    """Inverse of ``rotation_rpy`` (pitch in [-pi/2, pi/2])."""
    pitch = math.asin(max(-1.0, min(1.0, -float(r[2, 0]))))
    roll = math.atan2(float(r[2, 1]), float(r[2, 2]))
    yaw = math.atan2(float(r[1, 0]), float(r[0, 0]))
    return roll, pitch, yaw


def pose_matrix(x: float, y: float, z: float, roll: float = 0.0, pitch: float = 0.0, yaw: float = 0.0) -> np.ndarray:
    """4x4 homogeneous transform of a frame at (x, y, z) with roll, pitch, yaw."""
    t = np.eye(4)
    t[:3, :3] = rotation_rpy(roll, pitch, yaw)
    t[:3, 3] = (x, y, z)
    return t


def as_matrix(pose: np.ndarray | Sequence[float]) -> np.ndarray:
    """A 4x4 matrix, or (x, y, z, roll, pitch, yaw) -> 4x4 float64 matrix."""
    p = np.asarray(pose, dtype=np.float64)
    if p.shape == (4, 4):
        return p
    if p.shape == (6,):
        return pose_matrix(*p)
    raise ValueError(f"a pose is a 4x4 matrix or (x, y, z, roll, pitch, yaw), got shape {p.shape}")


def fill_rays(rays: np.ndarray, origin: np.ndarray, dirs: tuple[np.ndarray, np.ndarray, np.ndarray],
              rot: np.ndarray) -> np.ndarray:
    """Write (origin, rot @ d) for every direction into ``rays`` (N, 6) float32, in place.

    ``dirs`` are the x, y, z components as three contiguous (N,) float32 arrays. Done with
    element-wise numpy on purpose: a BLAS matrix product starts OpenBLAS threads that then fight
    Open3D's ray-casting threads for the cores (measured: 1.6 ms -> 80-100 ms per frame on 2 cores).
    """
    dx, dy, dz = dirs
    for i in range(3):  # one column at a time: a (N, 3) broadcast is 3x slower (0.17 vs 0.05 ms per 57 600 rays)
        rays[:, i] = origin[i]
    tmp = np.empty_like(dx)
    for i in range(3):
        col = np.multiply(dx, np.float32(rot[i, 0]), out=tmp)
        col += dy * np.float32(rot[i, 1])
        col += dz * np.float32(rot[i, 2])
        rays[:, 3 + i] = col
    return rays


def quaternion_from_rotation(r: np.ndarray) -> tuple[float, float, float, float]:
    """3x3 rotation -> quaternion (x, y, z, w), w >= 0."""
    m = np.asarray(r, float)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        w, x, y, z = 0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        w, x, y, z = (m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        w, x, y, z = (m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        w, x, y, z = (m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s
    q = np.array([x, y, z, w])
    q /= np.linalg.norm(q)
    if q[3] < 0:
        q = -q
    return tuple(float(v) for v in q)


@dataclass(frozen=True)
class Actor:
    """Something that moves, as the sensors see it: an oriented box (or a mesh in its own frame).

    ``pose`` is the centre of the box's bottom face in the map: (x, y, z, yaw) or a 4x4 matrix;
    ``size`` = (length, width, height) in m. With ``vertices``/``triangles`` given, they are in
    the actor's frame (origin at the bottom centre) and replace the box.
    """

    object_id: int  # > 0, unique in a frame; what the sensors report per point / pixel
    class_id: int  # lsv_sim.world.ObjectClass
    pose: Any
    size: tuple[float, float, float] = (4.5, 1.8, 1.5)
    vertices: np.ndarray | None = None
    triangles: np.ndarray | None = None

    def matrix(self) -> np.ndarray:
        p = np.asarray(self.pose, dtype=np.float64)
        if p.shape == (4, 4):
            return p
        if p.shape == (4,):
            return pose_matrix(p[0], p[1], p[2], 0.0, 0.0, p[3])
        return as_matrix(p)

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """(vertices (V, 3) float64 in the map, triangles (T, 3) int64)."""
        from lsv_sim.world import box_mesh

        if self.vertices is not None and self.triangles is not None:
            v, t = np.asarray(self.vertices, float), np.asarray(self.triangles, np.int64)
        else:
            v, t = box_mesh(np.array([0.0, 0.0, self.size[2] / 2.0]), self.size, 0.0)
        m = self.matrix()
        return v @ m[:3, :3].T + m[:3, 3], t


def actors_mesh(actors: Sequence[Actor]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All actors as one mesh: vertices (V, 3) float32, triangles (T, 3) uint32, object ids (T,)
    int32, class ids (T,) uint8."""
    vs, ts, oids, cids = [], [], [], []
    n = 0
    for a in actors:
        v, t = a.mesh()
        vs.append(v)
        ts.append(t + n)
        oids.append(np.full(len(t), a.object_id, np.int32))
        cids.append(np.full(len(t), a.class_id, np.uint8))
        n += len(v)
    if not vs:
        return (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), np.zeros(0, np.int32),
                np.zeros(0, np.uint8))
    return (np.concatenate(vs).astype(np.float32), np.concatenate(ts).astype(np.uint32), np.concatenate(oids),
            np.concatenate(cids))


def _ext(default: float, frame: str, axis: str, unit: str, lo: float, hi: float) -> Any:
    return field(default=default, metadata=spec(f"{frame} {axis} in base_link", unit=unit, min=lo, max=hi,
                                                optional=True, name=f"extrinsics.{frame}.{axis}"))


@dataclass(frozen=True)
class Extrinsics:
    """Sensor mounting in ``base_link`` (rear axle centre on the ground, x forward, y left, z up).

    Angles of the camera are those of its body (x forward, y left, z up); the published frame
    ``camera`` is the optical frame of that body (``R_BODY_OPTICAL``).
    """

    lidar_x: float = _ext(1.2, "lidar", "x", "m", -5.0, 10.0)
    lidar_y: float = _ext(0.0, "lidar", "y", "m", -3.0, 3.0)
    lidar_z: float = _ext(1.95, "lidar", "z", "m", 0.0, 5.0)
    lidar_roll: float = _ext(0.0, "lidar", "roll", "rad", -math.pi, math.pi)
    lidar_pitch: float = _ext(0.0, "lidar", "pitch", "rad", -math.pi / 2, math.pi / 2)
    lidar_yaw: float = _ext(0.0, "lidar", "yaw", "rad", -math.pi, math.pi)
    camera_x: float = _ext(2.1, "camera", "x", "m", -5.0, 10.0)
    camera_y: float = _ext(0.0, "camera", "y", "m", -3.0, 3.0)
    camera_z: float = _ext(1.6, "camera", "z", "m", 0.0, 5.0)
    camera_roll: float = _ext(0.0, "camera", "roll", "rad", -math.pi, math.pi)
    camera_pitch: float = _ext(0.05, "camera", "pitch", "rad", -math.pi / 2, math.pi / 2)
    camera_yaw: float = _ext(0.0, "camera", "yaw", "rad", -math.pi, math.pi)
    gnss_x: float = _ext(0.9, "gnss", "x", "m", -5.0, 10.0)
    gnss_y: float = _ext(0.0, "gnss", "y", "m", -3.0, 3.0)
    gnss_z: float = _ext(2.0, "gnss", "z", "m", 0.0, 5.0)
    imu_x: float = _ext(0.9, "imu", "x", "m", -5.0, 10.0)
    imu_y: float = _ext(0.0, "imu", "y", "m", -3.0, 3.0)
    imu_z: float = _ext(0.5, "imu", "z", "m", 0.0, 5.0)

    def matrix(self, frame: str) -> np.ndarray:
        """``T_base_frame`` (4x4) of 'lidar', 'camera' (optical), 'gnss' or 'imu'."""
        if frame not in FRAMES:
            raise ValueError(f"unknown sensor frame '{frame}', expected one of {FRAMES}")
        g = lambda axis, d=0.0: float(getattr(self, f"{frame}_{axis}", d))  # noqa: E731
        t = pose_matrix(g("x"), g("y"), g("z"), g("roll"), g("pitch"), g("yaw"))
        if frame == "camera":
            t[:3, :3] = t[:3, :3] @ R_BODY_OPTICAL
        return t

    def tf(self, frame: str) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
        """(translation, quaternion x, y, z, w) of ``frame`` in base_link, for a static TF."""
        t = self.matrix(frame)
        return (float(t[0, 3]), float(t[1, 3]), float(t[2, 3])), quaternion_from_rotation(t[:3, :3])
