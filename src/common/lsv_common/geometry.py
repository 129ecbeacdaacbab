"""Quaternions, yaw and angles in one place (pure: no rclpy).

Every node that reads an orientation from a message goes through ``checked_quaternion``: a
quaternion is only a rotation when its norm is 1. A zero quaternion would give yaw 0 and a
norm-2 one for 90 deg would give 127 deg if fed to the usual formulas, so such input is
rejected with ``QuaternionError`` (the caller drops the message and counts it). Within
``NORM_TOLERANCE`` of 1 (float32 rounding of real drivers, a hand-written 0.7071) the
quaternion is normalised and used.

Functions taking ``q`` accept anything with ``x``, ``y``, ``z``, ``w`` attributes
(``geometry_msgs/Quaternion``) so this module needs no message package.
"""

from __future__ import annotations

import math
from typing import Protocol

NORM_TOLERANCE = 0.01  # |norm - 1| up to this is rounding and normalised; beyond it the quaternion is rejected


class QuaternionError(ValueError):
    """A quaternion that is not a rotation (non-finite, zero, or norm far from 1)."""


class QuaternionLike(Protocol):
    x: float
    y: float
    z: float
    w: float


def checked_quaternion(x: float, y: float, z: float, w: float,
                       tolerance: float = NORM_TOLERANCE) -> tuple[float, float, float, float]:
    """(x, y, z, w) normalised to unit norm; ``QuaternionError`` when any component is not finite or the
    norm differs from 1 by more than ``tolerance``."""
    if not all(math.isfinite(v) for v in (x, y, z, w)):
        raise QuaternionError(f"quaternion has non-finite components ({x}, {y}, {z}, {w})")
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if abs(norm - 1.0) > tolerance:
        raise QuaternionError(f"quaternion norm {norm:.4g}, expected 1 +- {tolerance} "
                              f"(x={x:.4g}, y={y:.4g}, z={z:.4g}, w={w:.4g})")
    return x / norm, y / norm, z / norm, w / norm


def roll_pitch_yaw(q: QuaternionLike, tolerance: float = NORM_TOLERANCE) -> tuple[float, float, float]:
    """(roll, pitch, yaw) in rad of a checked quaternion (REP 103: pitch + = nose down)."""
    x, y, z, w = checked_quaternion(float(q.x), float(q.y), float(q.z), float(q.w), tolerance)
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(min(max(2.0 * (w * y - z * x), -1.0), 1.0))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def yaw_of(q: QuaternionLike, tolerance: float = NORM_TOLERANCE) -> float:
    """Heading in rad (+ left of x) of a checked quaternion."""
    return roll_pitch_yaw(q, tolerance)[2]


def yaw_pitch_of(q: QuaternionLike, tolerance: float = NORM_TOLERANCE) -> tuple[float, float]:
    """(yaw, pitch) in rad of a checked quaternion (pitch + = nose down)."""
    _, pitch, yaw = roll_pitch_yaw(q, tolerance)
    return yaw, pitch


def box_heading(q: QuaternionLike, length: float, width: float) -> tuple[float, float, float, bool]:
    """(yaw, length, width, ok) of an object's box. An orientation that is not a rotation cannot be read,
    but the object is still there: ok False with yaw 0 and a square footprint of side = the box's diagonal,
    which covers the box at any heading."""
    try:
        return yaw_of(q), length, width, True
    except QuaternionError:
        side = math.hypot(length, width)
        return 0.0, side, side, False


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of the rotation yaw about z, then pitch about y, then roll about x (ROS convention)."""
    cr, sr = math.cos(roll / 2.0), math.sin(roll / 2.0)
    cp, sp = math.cos(pitch / 2.0), math.sin(pitch / 2.0)
    cy, sy = math.cos(yaw / 2.0), math.sin(yaw / 2.0)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)


def quaternion_from_yaw(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by ``yaw`` rad about z."""
    return 0.0, 0.0, math.sin(yaw / 2.0), math.cos(yaw / 2.0)


def wrap_angle(a: float) -> float:
    """``a`` in rad wrapped to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi
