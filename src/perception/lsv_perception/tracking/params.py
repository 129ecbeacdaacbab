"""Parameters of the multi-object tracker (``config/tracker.param.yaml``), with units and ranges.

Motion noise is per class group (``MOTION_GROUPS``): a car turns on a circle (constant turn
rate, ``yaw_accel_std_rps2`` > 0), a pedestrian walks straight with random accelerations
(constant velocity: ``yaw_accel_std_rps2`` = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lsv_common.params import spec

# lsv_msgs/DetectedObject CLASS_* values (the numbers are the message's; no rclpy import here)
CLASS_UNKNOWN, CLASS_CAR, CLASS_TRUCK, CLASS_BUS, CLASS_CYCLIST, CLASS_MOTORCYCLE = 0, 1, 2, 3, 4, 5
CLASS_PEDESTRIAN, CLASS_ANIMAL, CLASS_EMERGENCY_VEHICLE, CLASS_STATIC_OBSTACLE = 6, 7, 8, 9
N_CLASSES = 10
SOURCE_UNKNOWN, SOURCE_CAMERA, SOURCE_LIDAR, SOURCE_FUSION, SOURCE_V2X = 0, 1, 2, 3, 4

#: motion groups, in the order of the per-group parameter arrays
MOTION_GROUPS = ("unknown", "vehicle", "two_wheeler", "pedestrian", "static")
#: class id -> motion group index
GROUP_OF_CLASS = np.array([0, 1, 1, 1, 2, 2, 3, 3, 1, 4], dtype=np.int64)


def _g(default: float, group: str, what: str, unit: str, lo: float, hi: float, attr: str):
    return field(default=default, metadata=spec(f"{group}: {what}", unit=unit, min=lo, max=hi, optional=True,
                                                name=f"motion.{group}.{attr}"))


@dataclass(frozen=True)
class TrackerParams:
    """Association, life cycle, measurement and motion noise of the tracker."""

    confirm_hits: int = field(default=3, metadata=spec(
        "measurements a tentative track needs to be confirmed", min=1, max=20, optional=True))
    tentative_timeout_s: float = field(default=0.25, metadata=spec(
        "a tentative track without a measurement for longer is deleted", unit="s", min=0.0, max=5.0, optional=True))
    coast_timeout_s: float = field(default=1.0, metadata=spec(
        "a confirmed track without a measurement for longer is deleted", unit="s", min=0.05, max=10.0,
        optional=True))
    gate_chi2: float = field(default=13.8, metadata=spec(
        "Mahalanobis gate on the position innovation (chi-square, 2 dof; 13.8 = 99.9 %)", min=1.0, max=100.0,
        optional=True))
    class_mismatch_cost: float = field(default=4.0, metadata=spec(
        "cost added when track and measurement are of different motion groups (both known)", min=0.0,
        max=100.0, optional=True))
    birth_min_score: float = field(default=0.3, metadata=spec(
        "measurements below this score never start a track", min=0.0, max=1.0, optional=True))
    birth_min_distance_m: float = field(default=1.0, metadata=spec(
        "no track is born this close to an existing track's centre or to another new one (split clusters, "
        "duplicate V2X reports)", unit="m", min=0.0, max=10.0, optional=True))
    birth_box_margin_m: float = field(default=0.2, metadata=spec(
        "no track is born inside an existing track's box grown by this (a fragment of a car seen in two "
        "clusters); small, so that a pedestrian next to a parked car still starts a track", unit="m", min=0.0,
        max=5.0, optional=True))
    birth_along_margin_m: float = field(default=1.0, metadata=spec(
        "no track is born from a sliver along a long side of a longer track's box (or of a longer detection of "
        "the same scan) reaching up to this beyond its ends: a face seen at a grazing angle, cut into pieces; "
        "a sliver is every corner within birth_box_margin_m of the side's line", unit="m", min=0.0, max=5.0,
        optional=True))
    shape_change_m: float = field(default=0.05, metadata=spec(
        "a measured box whose extent differs by more than this from the track's last one moved by its least "
        "moving corner, not its centre (a face coming into view slides the centre of a static object)",
        unit="m", min=0.0, max=10.0, optional=True))
    motion_min_distance_m: float = field(default=1.0, metadata=spec(
        "a vehicle track publishes a velocity (and a heading from it) only once every corner of its box moved "
        "this far from its first box; until then it stands: a box centre sliding along a face as more or less of "
        "it is in view is no motion (pedestrians, two-wheelers and the rest: their velocity at once)", unit="m",
        min=0.0, max=10.0, optional=True))
    v2x_birth: bool = field(default=True, metadata=spec(
        "V2X objects may start tracks (objects the lidar cannot see); false: V2X only updates", optional=True))
    max_tracks: int = field(default=500, metadata=spec(
        "tracks kept at most (births beyond are dropped and counted)", min=1, max=10000, optional=True))
    lidar_std_m: float = field(default=0.25, metadata=spec(
        "position noise of a lidar (or fused) measurement, 1 sigma per axis", unit="m", min=0.01, max=10.0,
        optional=True))
    size_std_factor: float = field(default=0.3, metadata=spec(
        "extra position noise per m of half the box's larger side: a lidar sees one or two faces of a car, so "
        "its box centre moves by up to half the car's size as the view changes", min=0.0, max=2.0, optional=True))
    v2x_std_m: float = field(default=0.7, metadata=spec(
        "position noise of a V2X object, 1 sigma per axis", unit="m", min=0.01, max=20.0, optional=True))
    initial_yaw_rate_std_rps: float = field(default=0.5, metadata=spec(
        "yaw-rate uncertainty of a new turning track", unit="rad/s", min=0.0, max=5.0, optional=True))
    dimension_smoothing: float = field(default=0.3, metadata=spec(
        "weight of a new measurement in the box size and height (exponential smoothing)", min=0.0, max=1.0,
        optional=True))
    score_smoothing: float = field(default=0.5, metadata=spec(
        "weight of a new measurement's score in the track's existence score", min=0.0, max=1.0, optional=True))
    score_miss_decay: float = field(default=0.85, metadata=spec(
        "existence score factor per cycle without a measurement", min=0.0, max=1.0, optional=True))
    class_memory: float = field(default=0.9, metadata=spec(
        "factor on the past class votes at each measurement (1 = never forget)", min=0.0, max=1.0, optional=True))
    min_speed_for_heading_mps: float = field(default=0.5, metadata=spec(
        "above this speed the yaw is the direction of travel, below it the measured box yaw", unit="m/s",
        min=0.0, max=10.0, optional=True))
    max_measurement_lag_s: float = field(default=0.3, metadata=spec(
        "a measurement older than the tracker's time by up to this is applied now; older ones are dropped",
        unit="s", min=0.0, max=5.0, optional=True))

    unknown_accel_std_mps2: float = _g(2.0, "unknown", "acceleration noise (1 sigma)", "m/s^2", 0.0, 20.0,
                                       "accel_std_mps2")
    unknown_yaw_accel_std_rps2: float = _g(0.0, "unknown", "yaw acceleration noise; 0 = constant velocity model",
                                           "rad/s^2", 0.0, 10.0, "yaw_accel_std_rps2")
    unknown_gate_m: float = _g(3.0, "unknown", "largest distance a measurement may be from the predicted track",
                               "m", 0.1, 20.0, "gate_m")
    unknown_init_speed_std_mps: float = _g(3.0, "unknown", "speed uncertainty of a new track", "m/s", 0.1, 40.0,
                                           "init_speed_std_mps")
    vehicle_accel_std_mps2: float = _g(2.0, "vehicle", "acceleration noise (1 sigma)", "m/s^2", 0.0, 20.0,
                                       "accel_std_mps2")
    vehicle_yaw_accel_std_rps2: float = _g(0.5, "vehicle", "yaw acceleration noise; 0 = constant velocity model",
                                           "rad/s^2", 0.0, 10.0, "yaw_accel_std_rps2")
    vehicle_gate_m: float = _g(4.0, "vehicle", "largest distance a measurement may be from the predicted track",
                               "m", 0.1, 20.0, "gate_m")
    vehicle_init_speed_std_mps: float = _g(8.0, "vehicle", "speed uncertainty of a new track", "m/s", 0.1, 40.0,
                                           "init_speed_std_mps")
    two_wheeler_accel_std_mps2: float = _g(2.0, "two_wheeler", "acceleration noise (1 sigma)", "m/s^2", 0.0, 20.0,
                                           "accel_std_mps2")
    two_wheeler_yaw_accel_std_rps2: float = _g(1.0, "two_wheeler",
                                               "yaw acceleration noise; 0 = constant velocity model", "rad/s^2",
                                               0.0, 10.0, "yaw_accel_std_rps2")
    two_wheeler_gate_m: float = _g(3.0, "two_wheeler",
                                   "largest distance a measurement may be from the predicted track", "m", 0.1, 20.0,
                                   "gate_m")
    two_wheeler_init_speed_std_mps: float = _g(5.0, "two_wheeler", "speed uncertainty of a new track", "m/s", 0.1,
                                               40.0, "init_speed_std_mps")
    pedestrian_accel_std_mps2: float = _g(1.5, "pedestrian", "acceleration noise (1 sigma)", "m/s^2", 0.0, 20.0,
                                          "accel_std_mps2")
    pedestrian_yaw_accel_std_rps2: float = _g(0.0, "pedestrian",
                                              "yaw acceleration noise; 0 = constant velocity model", "rad/s^2",
                                              0.0, 10.0, "yaw_accel_std_rps2")
    pedestrian_gate_m: float = _g(2.0, "pedestrian",
                                  "largest distance a measurement may be from the predicted track", "m", 0.1, 20.0,
                                  "gate_m")
    pedestrian_init_speed_std_mps: float = _g(2.0, "pedestrian", "speed uncertainty of a new track", "m/s", 0.1,
                                              40.0, "init_speed_std_mps")
    static_accel_std_mps2: float = _g(0.3, "static", "acceleration noise (1 sigma)", "m/s^2", 0.0, 20.0,
                                      "accel_std_mps2")
    static_yaw_accel_std_rps2: float = _g(0.0, "static", "yaw acceleration noise; 0 = constant velocity model",
                                          "rad/s^2", 0.0, 10.0, "yaw_accel_std_rps2")
    static_gate_m: float = _g(1.5, "static", "largest distance a measurement may be from the predicted track", "m",
                              0.1, 20.0, "gate_m")
    static_init_speed_std_mps: float = _g(0.5, "static", "speed uncertainty of a new track", "m/s", 0.1, 40.0,
                                          "init_speed_std_mps")

    def group_array(self, attr: str) -> np.ndarray:
        """(len(MOTION_GROUPS),) float64 of one per-group parameter, e.g. ``group_array('gate_m')``."""
        return np.array([getattr(self, f"{g}_{attr}") for g in MOTION_GROUPS], dtype=np.float64)
