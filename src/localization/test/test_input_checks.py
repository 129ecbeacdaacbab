"""Bad inputs never reach the filter: every field the localizer uses is checked (quaternions through
lsv_common.geometry, yaw rate, acceleration, GNSS position and covariance, wheel speed and
steering), a bad sample is dropped and counted per reason, and the health says so (WARN while
they arrive). Wheel speed is also bounded by a physical limit and gated by the Mahalanobis
distance of its innovation, like GNSS. Each test is named after the hazard it guards against."""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_common.paramfile import params_from_file
from lsv_localization.checks import Drop
from lsv_localization.localizer import ERROR, OK, WARN, Localizer, configured_localizer
from lsv_localization.params import params_from_yaml
from lsv_sim.sensors import Extrinsics

NS = 1_000_000_000
LP, EP = params_from_yaml()
NAN = float("nan")
(SIM_EXT,) = params_from_file(Path(__file__).resolve().parents[2] / "sim" / "config" / "sensors.param.yaml", Extrinsics)


class Straight:
    """base_link driving east along y = 0 at a constant speed: IMU 100 Hz, wheel speed 50 Hz, GNSS
    10 Hz (noise-free, at the configured antenna)."""

    def __init__(self, speed: float = 4.0, lp=LP, ep=EP, initialise: bool = True):
        self.loc = configured_localizer(lp, ep)
        self.speed = speed
        self.x = 0.0
        self.now = 0
        if initialise:
            self.loc.on_initial_pose(0, 0.0, 0.0, 0.0)

    def run(self, seconds: float) -> None:
        loc = self.loc
        for _ in range(int(seconds * 100)):
            self.now += 10_000_000
            self.x += self.speed * 0.01
            loc.on_imu(self.now, 0.0, None, 0.0)
            if self.now % 20_000_000 == 0:
                loc.on_vehicle_status(self.now, self.speed, 0.0)
            if self.now % 100_000_000 == 0:
                lat, lon = loc.projection.inverse_point(self.x + SIM_EXT.gnss_x, SIM_EXT.gnss_y)
                loc.on_gnss(self.now, lat, lon, True, np.eye(2) * 0.01)

    def est(self):
        e = self.loc.estimate(self.now)
        assert e is not None
        return e


def _warns_about(loc: Localizer, now: int, *words: str) -> tuple[str, dict]:
    level, message, values = loc.health(now)
    assert level == WARN, (level, message)
    for w in words:
        assert w in message, message
    return message, values


# -- IMU ------------------------------------------------------------------------------------------


def test_nan_imu_orientation_does_not_make_the_pitch_nan_for_good_and_health_warns() -> None:
    d = Straight()
    d.run(2.0)
    d.loc.on_imu(d.now, 0.0, (NAN, 0.0, 0.0, 1.0), None)
    assert math.isfinite(d.loc.pitch_rad) and math.isfinite(d.est().pitch_rad)
    assert d.loc.counters.dropped[Drop.IMU_ORIENTATION] == 1
    _, values = _warns_about(d.loc, d.now, "IMU", "orientation")
    assert values[Drop.IMU_ORIENTATION.value] == 1
    d.run(0.5)
    assert math.isfinite(d.est().pitch_rad)
    d.run(LP.bad_input_hold_s + 0.1)  # no more bad samples: OK again
    assert d.loc.health(d.now)[0] == OK


def test_nan_imu_orientation_before_initialisation_does_not_start_the_filter_with_a_nan_heading() -> None:
    loc = configured_localizer(dataclasses.replace(LP, use_imu_yaw_for_init=True), EP)
    loc.on_imu(0, 0.0, (0.0, 0.0, NAN, NAN), None)
    lat, lon = loc.projection.inverse_point(5.0, 5.0)
    loc.on_gnss(1, lat, lon, True, None)
    assert not loc.ekf.initialized and loc.estimate(1) is None
    assert loc.counters.dropped[Drop.IMU_ORIENTATION] == 1
    loc.on_imu(2, 0.0, (0.0, 0.0, math.sin(0.2), math.cos(0.2)), None)  # a good one: initialises
    loc.on_gnss(3, lat, lon, True, None)
    est = loc.estimate(3)
    assert est is not None and est.yaw_rad == pytest.approx(0.4) and np.isfinite(est.covariance).all()


@pytest.mark.parametrize("yaw_rate, accel, reason", [(float("inf"), 0.0, Drop.IMU_YAW_RATE),
                                                      (NAN, 0.0, Drop.IMU_YAW_RATE),
                                                      (0.0, NAN, Drop.IMU_ACCEL),
                                                      (0.0, float("-inf"), Drop.IMU_ACCEL)])
def test_non_finite_imu_yaw_rate_or_accel_is_dropped_and_counted_per_reason(yaw_rate: float, accel: float,
                                                                            reason: Drop) -> None:
    d = Straight()
    d.run(2.0)
    before = d.est()
    imu_msgs = d.loc.counters.imu_msgs
    d.loc.on_imu(d.now, yaw_rate, None, accel)
    after = d.est()
    assert after.yaw_rate_rps == before.yaw_rate_rps and after.pitch_rad == before.pitch_rad
    assert d.loc.counters.dropped[reason] == 1 and d.loc.counters.imu_msgs == imu_msgs
    assert sum(d.loc.counters.dropped.values()) == 1
    _warns_about(d.loc, d.now, "IMU", reason.value.removeprefix("imu_bad_").replace("_", " "))


# -- quaternions: read only through lsv_common.geometry's checked conversion --------------------


def test_unnormalised_imu_quaternion_is_dropped_not_read_as_a_rotation() -> None:
    """A norm-2 quaternion for 90 deg reads as 127 deg through the bare formula."""
    loc = configured_localizer(dataclasses.replace(LP, use_imu_yaw_for_init=True), EP)
    s = 2.0 * math.sin(math.pi / 4)
    loc.on_imu(0, 0.0, (0.0, 0.0, s, s), None)
    lat, lon = loc.projection.inverse_point(0.0, 0.0)
    loc.on_gnss(1, lat, lon, True, None)
    assert not loc.ekf.initialized
    assert loc.counters.dropped[Drop.IMU_ORIENTATION] == 1


def test_unnormalised_initial_pose_quaternion_is_dropped_not_used() -> None:
    loc = configured_localizer(LP, EP)
    loc.on_initial_pose_quaternion(0, 1.0, 2.0, (0.0, 0.0, 0.0, 0.0))  # an all-zero (unset) orientation
    loc.on_initial_pose_quaternion(0, 1.0, 2.0, (0.0, 0.0, 1.0, 1.0))  # norm 1.41
    assert not loc.ekf.initialized and loc.counters.dropped[Drop.INITIAL_POSE] == 2
    level, message, values = loc.health(0)
    assert level == ERROR and "initial pose" in message and values[Drop.INITIAL_POSE.value] == 2
    loc.on_initial_pose_quaternion(0, 1.0, 2.0, (0.0, 0.0, math.sin(0.25), math.cos(0.25)))
    est = loc.estimate(0)
    assert est is not None and est.yaw_rad == pytest.approx(0.5) and (est.x_m, est.y_m) == (1.0, 2.0)


def test_localizer_node_has_no_quaternion_conversion_of_its_own() -> None:
    from nav_msgs.msg import Odometry

    from lsv_common.geometry import quaternion_from_rpy
    from lsv_localization import localizer_node
    from lsv_localization.localizer import Estimate

    assert not hasattr(localizer_node, "quaternion")
    assert "atan2" not in inspect.getsource(localizer_node)  # orientations are read through lsv_common.geometry
    est = Estimate(0, 1.0, 2.0, 0.7, 3.0, 0.1, -0.05, np.eye(6), 0.0)
    o = localizer_node.odometry_msg(est, Odometry()).pose.pose.orientation
    assert (o.x, o.y, o.z, o.w) == pytest.approx(quaternion_from_rpy(0.0, -0.05, 0.7))


# -- GNSS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lat, lon", [(NAN, 120.1551), (30.2741, float("inf")), (95.0, 120.1551)])
def test_bad_gnss_position_is_dropped_as_bad_not_counted_as_a_dropout_and_warns(lat: float, lon: float) -> None:
    d = Straight()
    d.run(2.0)
    no_fix = d.loc.counters.gnss_no_fix
    assert d.loc.on_gnss(d.now, lat, lon, True, np.eye(2)) is None
    assert d.loc.counters.dropped[Drop.GNSS_POSITION] == 1 and d.loc.counters.gnss_no_fix == no_fix
    _warns_about(d.loc, d.now, "GNSS", "position")


@pytest.mark.parametrize("cov", [np.array([[NAN, 0.0], [0.0, 1.0]]), np.array([[-1.0, 0.0], [0.0, 1.0]]),
                                 np.array([[1.0, 5.0], [5.0, 1.0]])])
def test_bad_gnss_covariance_is_dropped_not_replaced_by_the_default_sigma(cov: np.ndarray) -> None:
    d = Straight()
    d.run(2.0)
    before = d.est()
    accepted = d.loc.counters.gnss_accepted
    # a fix 0.5 m off: the gate would take it with the default sigma and move the estimate
    lat, lon = d.loc.projection.inverse_point(d.x + SIM_EXT.gnss_x + 0.5, SIM_EXT.gnss_y + 0.3)
    assert d.loc.on_gnss(d.now, lat, lon, True, cov) is None
    after = d.est()
    assert (after.x_m, after.y_m) == (before.x_m, before.y_m) and d.loc.counters.gnss_accepted == accepted
    assert d.loc.counters.dropped[Drop.GNSS_COVARIANCE] == 1
    _warns_about(d.loc, d.now, "GNSS", "covariance")


# -- wheel speed ------------------------------------------------------------------------------------


def test_non_finite_wheel_speed_or_steering_is_dropped_counted_and_health_warns() -> None:
    d = Straight()
    d.run(2.0)
    status = d.loc.counters.status_msgs
    d.loc.on_vehicle_status(d.now, NAN, 0.0)
    d.loc.on_vehicle_status(d.now, 4.0, float("inf"))
    assert d.loc.counters.status_msgs == status
    assert d.loc.counters.dropped[Drop.WHEEL_SPEED_NON_FINITE] == 1
    assert d.loc.counters.dropped[Drop.STEERING_NON_FINITE] == 1
    _warns_about(d.loc, d.now, "wheel speed", "steering")


def test_wheel_speed_of_327_mps_out_of_range_is_rejected_not_fused() -> None:
    """A CAN speed signal at its raw maximum (327.67 m/s): neither the speed nor, through the
    steering model, the yaw rate may follow it."""
    d = Straight()
    d.run(3.0)
    before = d.est()
    for _ in range(10):
        d.now += 20_000_000
        d.loc.on_vehicle_status(d.now, 327.67, 0.05)
    after = d.est()
    assert after.speed_mps == pytest.approx(4.0, abs=0.05)
    assert abs(after.yaw_rate_rps - before.yaw_rate_rps) < 0.01
    assert d.loc.counters.dropped[Drop.WHEEL_SPEED_OUT_OF_RANGE] == 10
    _warns_about(d.loc, d.now, "wheel speed", "range")
    assert EP.max_wheel_speed_mps < 327.0
    d.loc.on_vehicle_status(d.now, -327.67, 0.0)  # reverse too
    assert d.loc.counters.dropped[Drop.WHEEL_SPEED_OUT_OF_RANGE] == 11


def test_wheel_speed_out_of_range_before_initialisation_does_not_start_the_course() -> None:
    loc = configured_localizer(LP, EP)
    loc.on_vehicle_status(0, 300.0, 0.0)
    assert loc._last_speed is None and loc.counters.dropped[Drop.WHEEL_SPEED_OUT_OF_RANGE] == 1


def test_sudden_wheel_speed_jump_is_gated_by_its_mahalanobis_distance() -> None:
    d = Straight()
    d.run(3.0)
    d.now += 20_000_000
    d.loc.on_vehicle_status(d.now, 8.0, 0.0)  # 4 -> 8 m/s in 20 ms: 200 m/s^2
    assert d.est().speed_mps == pytest.approx(4.0, abs=0.02)
    assert d.loc.counters.dropped[Drop.WHEEL_SPEED_GATED] == 1
    assert d.loc.last_wheel_speed_mahalanobis2 > EP.wheel_speed_gate_chi2
    _, values = _warns_about(d.loc, d.now, "wheel speed", "gated")
    assert values[Drop.WHEEL_SPEED_GATED.value] == 1


def test_wheel_speed_rejected_persistently_is_missing_wheel_speed_error() -> None:
    d = Straight()
    d.run(3.0)
    for _ in range(50):  # 1 s of a stuck raw maximum
        d.now += 20_000_000
        d.loc.on_vehicle_status(d.now, 327.67, 0.0)
    level, message, _ = d.loc.health(d.now)
    assert level == ERROR and "wheel speed" in message


def test_hard_braking_wheel_speed_is_not_gated() -> None:
    """The gate must not reject real dynamics: -3 m/s^2 (the emergency stop) from 4 m/s to rest."""
    d = Straight()
    d.run(3.0)
    v = 4.0
    while v > 0.0:
        d.now += 20_000_000
        v = max(0.0, v - 3.0 * 0.02)
        d.loc.on_imu(d.now, 0.0, None, -3.0)
        d.loc.on_vehicle_status(d.now, v, 0.0)
    assert d.loc.counters.dropped[Drop.WHEEL_SPEED_GATED] == 0
    assert d.est().speed_mps == pytest.approx(0.0, abs=0.1)
