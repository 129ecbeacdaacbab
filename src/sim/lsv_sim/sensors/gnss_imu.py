"""GNSS receiver and IMU models (pure: the true state and an rng in, a measurement out).

GNSS: the antenna's true map position -> latitude, longitude, ellipsoid height with Gaussian
noise; inside a dropout zone (urban canyon, underpass) there is no fix, near one (within
``degraded_margin_m``) the noise grows; random outages with ``dropout_probability``.
IMU: REP-145 conventions - angular velocity and *specific force* (kinematic acceleration minus
gravity) in the IMU frame, so that a vehicle at rest on a 10 % uphill grade reads
+g sin(atan 0.1) on x; orientation as a quaternion of the IMU frame in the ENU map frame
(pitch is negative nose-up, REP-103).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec
from lsv_sim.sensors import quaternion_from_rotation, rotation_rpy

G = 9.80665  # m/s^2, standard gravity

STATUS_NO_FIX = -1  # sensor_msgs/NavSatStatus
STATUS_FIX = 0


@dataclass(frozen=True)
class DropoutZone:
    """Where the GNSS has no fix: a circle (``center``, ``radius_m``) or a polygon in map x, y."""

    name: str = ""
    center: tuple[float, float] = (0.0, 0.0)
    radius_m: float = 0.0
    polygon: tuple[tuple[float, float], ...] = ()

    def distance(self, x: float, y: float) -> float:
        """Signed distance to the zone's edge (negative inside), m."""
        if self.polygon:
            from matplotlib.path import Path as MplPath

            poly = np.asarray(self.polygon, float)
            edges = np.roll(poly, -1, axis=0) - poly
            t = np.clip(np.einsum("ij,ij->i", (x, y) - poly, edges) / np.maximum(
                np.einsum("ij,ij->i", edges, edges), 1e-12), 0.0, 1.0)
            d = float(np.min(np.linalg.norm(poly + edges * t[:, None] - (x, y), axis=1)))
            return -d if MplPath(poly).contains_point((x, y)) else d
        return math.hypot(x - self.center[0], y - self.center[1]) - self.radius_m

    def contains(self, x: float, y: float) -> bool:
        return self.distance(x, y) <= 0.0


@dataclass(frozen=True)
class GnssParams:
    rate_hz: float = field(default=10.0, metadata=spec("fix rate", unit="Hz", min=0.1, max=100.0, optional=True,
                                                       name="gnss.rate_hz"))
    horizontal_std_m: float = field(default=0.3, metadata=spec("horizontal noise (1 sigma, per axis)", unit="m",
                                                               min=0.0, max=50.0, optional=True,
                                                               name="gnss.horizontal_std_m"))
    vertical_std_m: float = field(default=0.6, metadata=spec("vertical noise (1 sigma)", unit="m", min=0.0,
                                                             max=100.0, optional=True, name="gnss.vertical_std_m"))
    degraded_margin_m: float = field(default=15.0, metadata=spec("distance around a dropout zone with degraded fixes",
                                                                 unit="m", min=0.0, max=500.0, optional=True,
                                                                 name="gnss.degraded_margin_m"))
    degraded_factor: float = field(default=5.0, metadata=spec("noise multiplier near a dropout zone", min=1.0,
                                                              max=100.0, optional=True, name="gnss.degraded_factor"))
    dropout_probability: float = field(default=0.0, metadata=spec("chance that a fix is missing anywhere", min=0.0,
                                                                  max=1.0, optional=True,
                                                                  name="gnss.dropout_probability"))


@dataclass(frozen=True)
class GnssFix:
    status: int  # STATUS_FIX or STATUS_NO_FIX (NavSatStatus)
    latitude_deg: float  # NaN without a fix
    longitude_deg: float
    altitude_m: float  # above the WGS84 ellipsoid
    covariance: tuple[float, ...]  # 9 values, row-major ENU, m^2 (NavSatFix.position_covariance)


def gnss_measure(params: GnssParams, antenna_xyz: Sequence[float],
                 to_geodetic: Callable[[float, float, float], tuple[float, float, float]],
                 zones: Sequence[DropoutZone], rng: np.random.Generator) -> GnssFix:
    """One GNSS fix of the antenna at map ``antenna_xyz``; ``to_geodetic`` is the map's projector
    (``World.to_geodetic``)."""
    x, y, z = (float(v) for v in antenna_xyz)
    nearest = min((zn.distance(x, y) for zn in zones), default=math.inf)
    if nearest <= 0.0 or rng.random() < params.dropout_probability:
        return GnssFix(STATUS_NO_FIX, math.nan, math.nan, math.nan, (0.0,) * 9)
    scale = params.degraded_factor if nearest < params.degraded_margin_m else 1.0
    sh, sv = params.horizontal_std_m * scale, params.vertical_std_m * scale
    n = rng.normal(0.0, 1.0, 3) * (sh, sh, sv)
    lat, lon, alt = to_geodetic(x + n[0], y + n[1], z + n[2])
    return GnssFix(STATUS_FIX, lat, lon, alt, (sh * sh, 0.0, 0.0, 0.0, sh * sh, 0.0, 0.0, 0.0, sv * sv))


@dataclass(frozen=True)
class ImuParams:
    rate_hz: float = field(default=100.0, metadata=spec("sample rate", unit="Hz", min=1.0, max=1000.0, optional=True,
                                                        name="imu.rate_hz"))
    gyro_std_rps: float = field(default=0.002, metadata=spec("angular velocity noise (1 sigma)", unit="rad/s",
                                                             min=0.0, max=1.0, optional=True, name="imu.gyro_std_rps"))
    accel_std_mps2: float = field(default=0.02, metadata=spec("specific force noise (1 sigma)", unit="m/s^2",
                                                              min=0.0, max=10.0, optional=True,
                                                              name="imu.accel_std_mps2"))
    orientation_std_rad: float = field(default=0.003, metadata=spec("orientation noise (1 sigma per axis)",
                                                                    unit="rad", min=0.0, max=1.0, optional=True,
                                                                    name="imu.orientation_std_rad"))
    gyro_bias_rps: tuple[float, ...] = field(default=(0.0, 0.0, 0.0), metadata=spec(
        "constant gyro bias x, y, z", unit="rad/s", min=-1.0, max=1.0, optional=True, name="imu.gyro_bias_rps"))
    accel_bias_mps2: tuple[float, ...] = field(default=(0.0, 0.0, 0.0), metadata=spec(
        "constant accelerometer bias x, y, z", unit="m/s^2", min=-5.0, max=5.0, optional=True,
        name="imu.accel_bias_mps2"))


@dataclass(frozen=True)
class ImuTruth:
    """The true motion of the IMU frame: orientation in the map, body rates, kinematic acceleration."""

    roll: float  # rad
    pitch: float  # rad, positive = nose down (REP-103)
    yaw: float  # rad
    angular_velocity: tuple[float, float, float]  # rad/s in the IMU frame
    acceleration: tuple[float, float, float]  # m/s^2 kinematic, in the IMU frame (no gravity)


@dataclass(frozen=True)
class ImuSample:
    orientation_xyzw: tuple[float, float, float, float]
    angular_velocity: tuple[float, float, float]  # rad/s
    linear_acceleration: tuple[float, float, float]  # m/s^2 specific force (gravity included, +z up at rest)
    orientation_var: float  # rad^2, per axis
    angular_velocity_var: float
    linear_acceleration_var: float


def vehicle_imu_truth(yaw: float, speed_mps: float, accel_mps2: float, yaw_rate_rps: float, grade: float,
                      cross_slope: float = 0.0) -> ImuTruth:
    """The IMU truth of a car-like vehicle (IMU at the body, aligned with base_link) on a road with
    ``grade`` (rise/run along the heading) and ``cross_slope`` (rise/run to the left): pitch
    follows the grade, the acceleration is along the heading plus the centripetal term."""
    pitch = -math.atan(grade)
    roll = math.atan(cross_slope)
    return ImuTruth(roll, pitch, yaw, (0.0, 0.0, yaw_rate_rps), (accel_mps2, speed_mps * yaw_rate_rps, 0.0))


def imu_measure(params: ImuParams, truth: ImuTruth, rng: np.random.Generator) -> ImuSample:
    """One IMU sample: noise and bias on the true rates and specific force, noisy orientation."""
    r = rotation_rpy(truth.roll, truth.pitch, truth.yaw)
    gravity_reaction = r.T @ np.array([0.0, 0.0, G])  # what an accelerometer at rest reads
    f = np.asarray(truth.acceleration, float) + gravity_reaction
    f += np.asarray(params.accel_bias_mps2, float) + rng.normal(0.0, params.accel_std_mps2, 3)
    w = np.asarray(truth.angular_velocity, float) + np.asarray(params.gyro_bias_rps, float)
    w += rng.normal(0.0, params.gyro_std_rps, 3)
    dr = rng.normal(0.0, params.orientation_std_rad, 3)
    q = quaternion_from_rotation(r @ rotation_rpy(*dr))
    return ImuSample(q, (float(w[0]), float(w[1]), float(w[2])), (float(f[0]), float(f[1]), float(f[2])),
                     params.orientation_std_rad ** 2, params.gyro_std_rps ** 2, params.accel_std_mps2 ** 2)
