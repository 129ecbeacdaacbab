"""The localizer core against a simulated drive: convergence, 10 s GNSS dropout (bounded drift,
covariance that bounds the error), outlier rejection by the Mahalanobis gate, initialisation,
health levels, the GNSS antenna's mounting (lever arm) from the simulator's extrinsics file.

The simulated GNSS antenna sits where the simulator mounts it (``extrinsics.gnss`` of
src/sim/config/sensors.param.yaml, 0.9 m ahead of base_link), read here independently of the
localizer's own configuration: a localizer that ignored the lever arm would be 0.9 m off."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_common.paramfile import params_from_file
from lsv_localization.checks import Drop
from lsv_localization.localizer import ERROR, OK, WARN, Localizer, configured_localizer
from lsv_localization.params import params_from_yaml
from lsv_sim.dynamics import Dynamics, VehicleState
from lsv_sim.sensors import Extrinsics

NS = 1_000_000_000
STEP_NS = 10_000_000  # 100 Hz truth and IMU
LP, EP = params_from_yaml()
SIM_SENSORS = Path(__file__).resolve().parents[2] / "sim" / "config" / "sensors.param.yaml"
(SIM_EXT,) = params_from_file(SIM_SENSORS, Extrinsics)  # what the simulator mounts (sim.launch.yaml loads this file)
ANTENNA = (SIM_EXT.gnss_x, SIM_EXT.gnss_y)  # m, GNSS antenna in base_link (x forward, y left)


def antenna_xy(x: float, y: float, yaw: float, mount: tuple[float, float] = ANTENNA) -> tuple[float, float]:
    """Map position of the antenna of a vehicle whose base_link is at (x, y, yaw)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * mount[0] - s * mount[1], y + s * mount[0] + c * mount[1]


class Drive:
    """Truth from lsv_sim's kinematic bicycle (steering sine, 4 m/s) and noisy sensors."""

    def __init__(self, seed: int = 1, gyro_bias: float = 0.01, speed: float = 4.0):
        self.rng = np.random.default_rng(seed)
        self.dyn = Dynamics()
        self.vs = VehicleState(x_m=10.0, y_m=-5.0, yaw_rad=0.3, speed_mps=speed)
        self.speed = speed
        self.gyro_bias = gyro_bias
        self.now = 0
        self.loc = configured_localizer(LP, EP)  # as the node builds it: lever arm from the extrinsics file

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        return self.loc.projection.inverse_point(x, y)

    def run(self, seconds: float, gnss: bool = True, gnss_offset: tuple[float, float] = (0.0, 0.0),
            gnss_sigma: float = 0.3) -> list[tuple[int, float, float, float, float, float]]:
        """Steps; returns (t, true x, y, yaw, est x, est y) per 100 ms."""
        from lsv_sim.dynamics import Actuators

        out = []
        for _ in range(int(seconds * NS / STEP_NS)):
            t = self.now / NS
            steer = 0.15 * math.sin(0.3 * t)
            # speed held by the ideal drive: keep the kinematics, set the speed directly
            self.vs = dataclasses.replace(self.dyn.step(self.vs, Actuators(steer_rad=steer), 0.0, STEP_NS / NS),
                                          speed_mps=self.speed)
            self.now += STEP_NS
            vs, rng, loc = self.vs, self.rng, self.loc
            loc.on_imu(self.now, vs.yaw_rate_rps + self.gyro_bias + rng.normal(0, 0.005), None, 0.0)
            if self.now % (20 * 1_000_000) == 0:
                loc.on_vehicle_status(self.now, vs.speed_mps * 1.005 + rng.normal(0, 0.03),
                                      vs.steer_rad + rng.normal(0, 0.005))
            if self.now % (100 * 1_000_000) == 0:
                if gnss:
                    ax, ay = antenna_xy(vs.x_m, vs.y_m, vs.yaw_rad)
                    lat, lon = self.latlon(ax + gnss_offset[0] + rng.normal(0, gnss_sigma),
                                           ay + gnss_offset[1] + rng.normal(0, gnss_sigma))
                    loc.on_gnss(self.now, lat, lon, True, np.eye(2) * gnss_sigma**2)
                est = loc.estimate(self.now)
                if est is not None:
                    out.append((self.now, vs.x_m, vs.y_m, vs.yaw_rad, est.x_m, est.y_m))
        return out

    def error(self) -> tuple[float, float]:
        est = self.loc.estimate(self.now)
        assert est is not None
        return (math.hypot(est.x_m - self.vs.x_m, est.y_m - self.vs.y_m),
                abs((est.yaw_rad - self.vs.yaw_rad + math.pi) % (2 * math.pi) - math.pi))


def initialised_drive(**kw: float) -> Drive:
    d = Drive(**kw)
    d.loc.on_initial_pose(0, d.vs.x_m, d.vs.y_m, d.vs.yaw_rad)
    return d


def test_projection_of_the_map_origin_is_zero() -> None:
    loc = Localizer(LP, EP)
    x, y = loc.projection.forward_point(30.2741, 120.1551)
    assert abs(x) < 1e-6 and abs(y) < 1e-6
    x, y = loc.projection.forward_point(30.2741 + 0.001, 120.1551)
    assert abs(x) < 0.01 and y == pytest.approx(110.9, abs=0.5)  # 0.001 deg north is ~111 m


def test_converges_and_learns_the_gyro_bias() -> None:
    d = initialised_drive()
    d.run(40.0)
    pos_err, yaw_err = d.error()
    assert pos_err < 0.3 and yaw_err < 0.03
    est = d.loc.estimate(d.now)
    assert est is not None and est.gyro_bias_rps == pytest.approx(0.01, abs=0.004)
    assert d.loc.health(d.now)[0] == OK


def test_gnss_dropout_of_10_s_drifts_little_and_the_covariance_bounds_it() -> None:
    d = initialised_drive()
    d.run(40.0)
    d.run(10.0, gnss=False)
    pos_err, _ = d.error()
    sigma = d.loc.ekf.position_sigma_m()
    assert pos_err < 1.0  # m after 10 s (40 m driven on a curving road) of dead reckoning
    assert pos_err < 3.0 * sigma  # the reported covariance is honest
    level, message, _ = d.loc.health(d.now)
    assert level == WARN and "dead reckoning" in message
    d.run(5.0)  # GNSS back: re-converges, the fixes are not gated out after the dropout
    assert d.error()[0] < 0.3
    assert d.loc.health(d.now)[0] == OK


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_dropout_drift_bounded_over_seeds(seed: int) -> None:
    d = initialised_drive(seed=seed)
    d.run(30.0)
    d.run(10.0, gnss=False)
    assert d.error()[0] < 1.0


def test_single_gnss_outlier_rejected() -> None:
    d = initialised_drive()
    d.run(20.0)
    before = d.loc.estimate(d.now)
    rejected = d.loc.counters.gnss_rejected
    lat, lon = d.latlon(d.vs.x_m + 15.0, d.vs.y_m - 10.0)  # multipath jump
    assert d.loc.on_gnss(d.now, lat, lon, True, np.eye(2) * 0.09) is False
    after = d.loc.estimate(d.now)
    assert before is not None and after is not None
    assert math.hypot(after.x_m - before.x_m, after.y_m - before.y_m) < 1e-9
    assert d.loc.counters.gnss_rejected == rejected + 1
    assert d.loc.last_mahalanobis2 > EP.gnss_gate_chi2


def test_persistent_gnss_offset_is_an_error_not_a_jump() -> None:
    d = initialised_drive()
    d.run(20.0)
    d.run(7.0, gnss_offset=(20.0, 0.0))
    assert d.error()[0] < 1.0  # the estimate did not follow the offset fixes
    level, message, _ = d.loc.health(d.now)
    assert level == ERROR and "GNSS disagrees" in message


def test_no_fix_is_a_dropout() -> None:
    d = initialised_drive()
    d.run(5.0)
    n = d.loc.counters.gnss_accepted
    assert d.loc.on_gnss(d.now, 30.0, 120.0, False, None) is None
    assert d.loc.counters.gnss_accepted == n and d.loc.counters.gnss_no_fix == 1


def test_not_initialised_without_heading_then_from_gnss_course() -> None:
    d = Drive()
    d.run(0.5)
    assert d.loc.estimate(d.now) is None
    assert d.loc.health(d.now)[0] == ERROR
    d.run(3.0)  # 4 m/s: 3 m of course after ~1 s
    assert d.loc.estimate(d.now) is not None and d.loc.init_source == "GNSS course"
    d.run(20.0)
    assert d.error()[0] < 0.5


def test_initialised_from_imu_yaw_when_configured() -> None:
    d = Drive(speed=0.0)
    d.loc = configured_localizer(dataclasses.replace(LP, use_imu_yaw_for_init=True), EP)
    q = (0.0, 0.0, math.sin(0.15), math.cos(0.15))
    d.loc.on_imu(0, 0.0, q, None)
    lat, lon = d.latlon(*antenna_xy(10.0, -5.0, 0.3))
    d.loc.on_gnss(1, lat, lon, True, None)
    est = d.loc.estimate(1)
    assert est is not None and est.yaw_rad == pytest.approx(0.3) and d.loc.init_source == "GNSS + IMU yaw"
    # base_link (rear axle) where it is, not where the antenna is
    assert est.x_m == pytest.approx(10.0, abs=1e-6) and est.y_m == pytest.approx(-5.0, abs=1e-6)


def test_wheel_speed_missing_is_an_error() -> None:
    d = initialised_drive()
    d.run(5.0)
    assert d.loc.health(d.now + int(0.1 * NS))[0] == OK
    level, message, _ = d.loc.health(d.now + int(1.0 * NS))
    assert level == ERROR and "wheel speed" in message


def test_pitch_from_accelerometer_on_a_12_percent_slope() -> None:
    loc = Localizer(LP, EP)
    up = math.atan(0.12)
    for i in range(200):
        loc.on_vehicle_status(i * 20_000_000, 2.0, 0.0)  # constant speed
        loc.on_imu(i * 20_000_000, 0.0, None, 9.81 * math.sin(up))
    assert loc.pitch_rad == pytest.approx(-up, abs=1e-3)  # uphill = negative pitch (REP 103)


def test_non_finite_inputs_are_counted_not_fused() -> None:
    d = initialised_drive()
    d.run(2.0)
    d.loc.on_vehicle_status(d.now, float("nan"), 0.0)
    d.loc.on_imu(d.now, float("inf"), None, None)
    est = d.loc.estimate(d.now)
    assert est is not None and np.isfinite(est.covariance).all() and math.isfinite(est.x_m)
    dropped = d.loc.counters.dropped
    assert dropped[Drop.WHEEL_SPEED_NON_FINITE] == 1 and dropped[Drop.IMU_YAW_RATE] == 1
    assert sum(dropped.values()) == 2


def test_non_finite_initial_pose_ignored_and_a_diverged_filter_publishes_nothing() -> None:
    d = initialised_drive()
    d.run(1.0)
    d.loc.on_initial_pose(d.now, float("nan"), 0.0, 0.0)
    assert d.loc.estimate(d.now) is not None and d.loc.counters.dropped[Drop.INITIAL_POSE] == 1
    d.loc.ekf.P[0, 0] = float("nan")  # a numerical failure
    assert d.loc.estimate(d.now) is None
    level, message, _ = d.loc.health(d.now)
    assert level == ERROR and "not finite" in message


# -- the GNSS antenna's mounting: one source of truth with the simulator -------------------------


def test_gnss_lever_arm_is_the_mounting_in_the_simulator_extrinsics_file() -> None:
    """The localizer's configuration names the extrinsics file the simulator reads, and the lever
    arm in use is its ``extrinsics.gnss`` (0.9 m ahead of base_link), never a second copy."""
    from lsv_common.share import resolve_package_url

    found, _ = resolve_package_url(LP.extrinsics_file)
    assert found is not None and found.resolve() == SIM_SENSORS.resolve()
    loc = configured_localizer(LP, EP)  # what the node runs
    assert loc.ekf.antenna_m == pytest.approx(ANTENNA)
    assert math.hypot(*loc.ekf.antenna_m) > 0.5  # the simulated antenna is 0.9 m ahead: 0 is the old bug


def test_gnss_antenna_ahead_of_the_rear_axle_is_not_reported_as_the_rear_axle() -> None:
    """With the lever arm at 0 the localizer reported the antenna (0.9 m ahead) as base_link."""
    d = initialised_drive()
    out = d.run(40.0)
    along = [(ex - tx) * math.cos(tyaw) + (ey - ty) * math.sin(tyaw) for _, tx, ty, tyaw, ex, ey in out[-100:]]
    assert abs(float(np.median(along))) < 0.1  # m, no bias along the heading (was +0.9 m)
    assert d.error()[0] < 0.3


def test_gnss_course_initialisation_places_the_rear_axle_behind_the_antenna() -> None:
    d = Drive()
    d.run(3.5)
    assert d.loc.init_source == "GNSS course"
    d.run(0.5)
    assert d.error()[0] < 0.6  # m, fresh from the course (was the 0.9 m lever arm plus noise)


def test_diagnostics_show_the_gnss_lever_arm_in_use() -> None:
    d = initialised_drive()
    d.run(1.0)
    _, _, values = d.loc.health(d.now)
    assert values["gnss_antenna_x_m"] == pytest.approx(ANTENNA[0])
    assert values["gnss_antenna_y_m"] == pytest.approx(ANTENNA[1])
    assert values["extrinsics_file"] == LP.extrinsics_file


def test_extrinsics_file_without_a_gnss_mount_fails_naming_file_and_parameter(tmp_path: Path) -> None:
    from lsv_localization.extrinsics import ExtrinsicsError, load_gnss_mount

    f = tmp_path / "vehicle_extrinsics.param.yaml"
    f.write_text("/**:\n  ros__parameters:\n    extrinsics:\n      lidar: {x: 1.0, y: 0.0, z: 2.0}\n")
    with pytest.raises(ExtrinsicsError, match=r"vehicle_extrinsics.param.yaml(.|\n)*extrinsics.gnss.x"):
        load_gnss_mount(str(f))
    with pytest.raises(ExtrinsicsError, match="no_such_file"):
        load_gnss_mount(str(tmp_path / "no_such_file.yaml"))
    f.write_text("/**:\n  ros__parameters:\n    extrinsics:\n      gnss: {x: 0.4, y: -0.2, z: 1.5}\n")
    mount = load_gnss_mount(str(f))
    assert (mount.x_m, mount.y_m) == (0.4, -0.2)
    loc = configured_localizer(dataclasses.replace(LP, extrinsics_file=str(f)), EP)
    assert loc.ekf.antenna_m == (0.4, -0.2)
