"""Validation of the localizer's inputs (pure, no ROS, time as argument).

Every field the localizer uses is checked before it reaches the filter: quaternions through
``lsv_common.geometry.checked_quaternion`` (non-finite, zero or not unit norm: not a rotation),
yaw rate, acceleration, GNSS position and covariance, wheel speed and steering. A sample with a
bad field is dropped as a whole (a driver that corrupts one field is not trusted with the others)
and counted under its reason (``Drop``); the localizer remembers when each reason last happened so
that its health WARNs while bad samples keep arriving.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from lsv_common.geometry import QuaternionError, yaw_pitch_of


class Drop(StrEnum):
    """Why an input was dropped (the value is the counter's name on /diagnostics)."""

    IMU_YAW_RATE = "imu_bad_yaw_rate"
    IMU_ORIENTATION = "imu_bad_orientation"
    IMU_ACCEL = "imu_bad_accel"
    GNSS_POSITION = "gnss_bad_position"
    GNSS_COVARIANCE = "gnss_bad_covariance"
    WHEEL_SPEED_NON_FINITE = "wheel_speed_non_finite"
    WHEEL_SPEED_OUT_OF_RANGE = "wheel_speed_out_of_range"
    WHEEL_SPEED_GATED = "wheel_speed_gated"
    STEERING_NON_FINITE = "steering_non_finite"
    INITIAL_POSE = "initial_pose_bad"


TEXT = {Drop.IMU_YAW_RATE: "IMU yaw rate not finite",
        Drop.IMU_ORIENTATION: "IMU orientation not a rotation",
        Drop.IMU_ACCEL: "IMU accel not finite",
        Drop.GNSS_POSITION: "GNSS position invalid",
        Drop.GNSS_COVARIANCE: "GNSS covariance invalid",
        Drop.WHEEL_SPEED_NON_FINITE: "wheel speed not finite",
        Drop.WHEEL_SPEED_OUT_OF_RANGE: "wheel speed out of range",
        Drop.WHEEL_SPEED_GATED: "wheel speed gated (innovation)",
        Drop.STEERING_NON_FINITE: "steering not finite",
        Drop.INITIAL_POSE: "initial pose invalid"}


class Quaternion(NamedTuple):
    """(x, y, z, w), the attributes lsv_common.geometry reads."""

    x: float
    y: float
    z: float
    w: float


class ImuSample(NamedTuple):
    yaw_rate_rps: float
    yaw_rad: float | None  # from the orientation (None: no orientation)
    pitch_rad: float | None  # REP 103: + = nose down
    accel_x_mps2: float | None


def check_imu(yaw_rate_rps: float, orientation: Sequence[float] | None,
              accel_x_mps2: float | None) -> ImuSample | Drop:
    """The sample with yaw and pitch read from a checked quaternion (x, y, z, w), or why it is dropped."""
    if not math.isfinite(yaw_rate_rps):
        return Drop.IMU_YAW_RATE
    if accel_x_mps2 is not None and not math.isfinite(accel_x_mps2):
        return Drop.IMU_ACCEL
    yaw = pitch = None
    if orientation is not None:
        try:
            yaw, pitch = yaw_pitch_of(Quaternion(*(float(v) for v in orientation)))
        except QuaternionError:
            return Drop.IMU_ORIENTATION
    return ImuSample(yaw_rate_rps, yaw, pitch, accel_x_mps2)


def check_pose(x_m: float, y_m: float, orientation: Sequence[float]) -> float | Drop:
    """The heading of an initial pose (orientation (x, y, z, w) checked), or Drop.INITIAL_POSE."""
    if not (math.isfinite(x_m) and math.isfinite(y_m)):
        return Drop.INITIAL_POSE
    try:
        return yaw_pitch_of(Quaternion(*(float(v) for v in orientation)))[0]
    except QuaternionError:
        return Drop.INITIAL_POSE


def check_gnss(lat_deg: float, lon_deg: float, cov_en: np.ndarray | None) -> Drop | None:
    """None for a usable fix: finite latitude/longitude in range and, when given, a finite,
    symmetric-enough, positive semi-definite (2, 2) east/north covariance in m^2."""
    if not (math.isfinite(lat_deg) and math.isfinite(lon_deg) and abs(lat_deg) <= 90.0 and abs(lon_deg) <= 180.0):
        return Drop.GNSS_POSITION
    if cov_en is not None:
        c = np.asarray(cov_en, dtype=np.float64)
        if c.shape != (2, 2) or not np.isfinite(c).all():
            return Drop.GNSS_COVARIANCE
        c = 0.5 * (c + c.T)
        if c[0, 0] < 0.0 or c[1, 1] < 0.0 or c[0, 0] * c[1, 1] - c[0, 1] ** 2 < -1e-12:
            return Drop.GNSS_COVARIANCE
    return None


def check_status(speed_mps: float, steer_rad: float) -> Drop | None:
    """None when wheel speed and steering are finite (the speed's range and gate are the filter's)."""
    if not math.isfinite(speed_mps):
        return Drop.WHEEL_SPEED_NON_FINITE
    if not math.isfinite(steer_rad):
        return Drop.STEERING_NON_FINITE
    return None

