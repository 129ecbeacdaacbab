"""GNSS and IMU models, sensor extrinsics, and the standard messages with frames and stamps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sensor_msgs.msg import NavSatFix, NavSatStatus

from lsv_common.convert import from_pointcloud2
from lsv_sim.sensors import Extrinsics, as_matrix, pose_matrix, quaternion_from_rotation, rpy_from_rotation
from lsv_sim.sensors import messages as m
from lsv_sim.sensors.camera import CameraFrame
from lsv_sim.sensors.camera import CameraInfo as PinholeInfo
from lsv_sim.sensors.gnss_imu import (
    STATUS_FIX,
    STATUS_NO_FIX,
    DropoutZone,
    GnssParams,
    ImuParams,
    gnss_measure,
    imu_measure,
    vehicle_imu_truth,
)
from lsv_sim.sensors.lidar import LidarScan
from lsv_sim.world import World, load_world


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


def test_imu_pitch_and_specific_force_show_the_grade(world: World) -> None:
    x, y, yaw = 1.75, 125.0, math.pi / 2  # mid-climb of the north hill
    grade = world.grade_at(x, y, yaw)
    assert grade > 0.10
    truth = vehicle_imu_truth(yaw, speed_mps=0.0, accel_mps2=0.0, yaw_rate_rps=0.0, grade=grade)
    s = imu_measure(ImuParams(gyro_std_rps=0.0, accel_std_mps2=0.0, orientation_std_rad=0.0), truth,
                    np.random.default_rng(0))
    theta = math.atan(grade)
    # at rest nose-up: the accelerometer reads g sin(theta) forward, g cos(theta) up
    assert s.linear_acceleration[0] == pytest.approx(9.80665 * math.sin(theta), abs=1e-9)
    assert s.linear_acceleration[2] == pytest.approx(9.80665 * math.cos(theta), abs=1e-9)
    qx, qy, qz, qw = s.orientation_xyzw
    r = np.array([[1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qz * qw), 2 * (qx * qz + qy * qw)],
                  [2 * (qx * qy + qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qx * qw)],
                  [2 * (qx * qz - qy * qw), 2 * (qy * qz + qx * qw), 1 - 2 * (qx * qx + qy * qy)]])
    roll, pitch, yaw_q = rpy_from_rotation(r)
    assert pitch == pytest.approx(-theta, abs=1e-9)  # REP-103: nose up is negative pitch
    assert yaw_q == pytest.approx(yaw) and roll == pytest.approx(0.0, abs=1e-12)
    # downhill the other way round
    down = imu_measure(ImuParams(accel_std_mps2=0.0), vehicle_imu_truth(-yaw, 0, 0, 0, world.grade_at(x, y, -yaw)),
                       np.random.default_rng(0))
    assert down.linear_acceleration[0] == pytest.approx(-9.80665 * math.sin(theta), abs=1e-9)


def test_imu_motion_and_noise_statistics() -> None:
    truth = vehicle_imu_truth(0.3, speed_mps=4.0, accel_mps2=0.5, yaw_rate_rps=0.2, grade=0.0)
    params = ImuParams(gyro_std_rps=0.01, accel_std_mps2=0.05, gyro_bias_rps=(0.0, 0.0, 0.003))
    rng = np.random.default_rng(3)
    samples = [imu_measure(params, truth, rng) for _ in range(4000)]
    acc = np.array([s.linear_acceleration for s in samples])
    gyro = np.array([s.angular_velocity for s in samples])
    assert acc.mean(axis=0) == pytest.approx([0.5, 0.8, 9.80665], abs=0.005)  # centripetal v * omega = 0.8
    assert acc.std(axis=0) == pytest.approx([0.05] * 3, rel=0.06)
    assert gyro.mean(axis=0) == pytest.approx([0.0, 0.0, 0.203], abs=0.001)
    assert gyro.std(axis=0) == pytest.approx([0.01] * 3, rel=0.06)


def test_gnss_fix_noise_and_dropout_zone(world: World) -> None:
    zone = world.gnss_dropout_zones[0]
    assert zone.contains(*zone.center)
    params = GnssParams(horizontal_std_m=0.5, vertical_std_m=1.0)
    rng = np.random.default_rng(7)
    inside = gnss_measure(params, (*zone.center, 27.0), world.to_geodetic, world.gnss_dropout_zones, rng)
    assert inside.status == STATUS_NO_FIX and math.isnan(inside.latitude_deg)
    # far from any zone: unbiased, with the configured spread, in the map's projection
    x, y, z = 100.0, 0.0, 13.0
    fixes = [gnss_measure(params, (x, y, z), world.to_geodetic, world.gnss_dropout_zones, rng) for _ in range(1500)]
    assert all(f.status == STATUS_FIX for f in fixes)
    xy = np.array([world.from_latlon(f.latitude_deg, f.longitude_deg) for f in fixes])
    alt = np.array([f.altitude_m for f in fixes])
    assert xy.mean(axis=0) == pytest.approx([x, y], abs=0.05)
    assert xy.std(axis=0) == pytest.approx([0.5, 0.5], rel=0.08)
    assert alt.mean() == pytest.approx(z, abs=0.1) and alt.std() == pytest.approx(1.0, rel=0.08)
    assert fixes[0].covariance[0] == pytest.approx(0.25)
    # near the zone: degraded (wider spread, larger covariance)
    near = gnss_measure(params, (zone.center[0] + zone.radius_m + 5.0, zone.center[1], 27.0), world.to_geodetic,
                        world.gnss_dropout_zones, rng)
    assert near.status == STATUS_FIX and near.covariance[0] == pytest.approx((0.5 * params.degraded_factor) ** 2)


def test_polygon_zone_and_random_outages() -> None:
    zone = DropoutZone("underpass", polygon=((0.0, -5.0), (30.0, -5.0), (30.0, 5.0), (0.0, 5.0)))
    assert zone.contains(10.0, 0.0) and not zone.contains(-1.0, 0.0)
    assert zone.distance(-3.0, 0.0) == pytest.approx(3.0)
    geo = lambda x, y, z: (30.0 + y * 1e-5, 120.0 + x * 1e-5, z)  # noqa: E731
    rng = np.random.default_rng(0)
    params = GnssParams(dropout_probability=0.3, degraded_margin_m=0.0)
    fixes = [gnss_measure(params, (100.0, 0.0, 0.0), geo, [zone], rng) for _ in range(2000)]
    assert np.mean([f.status == STATUS_NO_FIX for f in fixes]) == pytest.approx(0.3, abs=0.03)


def test_extrinsics_frames() -> None:
    ext = Extrinsics()
    lidar = ext.matrix("lidar")
    assert lidar[:3, 3] == pytest.approx([1.2, 0.0, 1.95])  # on the roof
    cam = ext.matrix("camera")
    # optical frame: z forward, x right, y down (for zero pitch: exactly base x, -y, -z)
    flat = Extrinsics(camera_pitch=0.0).matrix("camera")[:3, :3]
    assert flat[:, 2] == pytest.approx([1, 0, 0]) and flat[:, 0] == pytest.approx([0, -1, 0])
    assert flat[:, 1] == pytest.approx([0, 0, -1])
    t, q = ext.tf("camera")
    assert t == pytest.approx(tuple(cam[:3, 3])) and np.linalg.norm(q) == pytest.approx(1.0)
    assert quaternion_from_rotation(np.eye(3)) == (0.0, 0.0, 0.0, 1.0)
    assert as_matrix((1, 2, 3, 0.1, -0.2, 0.3)) == pytest.approx(pose_matrix(1, 2, 3, 0.1, -0.2, 0.3))
    with pytest.raises(ValueError, match="unknown sensor frame"):
        ext.matrix("radar")


def test_messages_carry_frames_and_the_sample_time() -> None:
    from lsv_common.convert import POINT_XYZIR

    stamp_ns = 12_345_678_901
    pts = np.zeros(3, POINT_XYZIR)
    pts["x"], pts["ring"] = (1.0, 2.0, 3.0), (0, 5, 31)
    cloud = m.pointcloud(LidarScan(pts, np.zeros(3, np.int32), np.zeros(3, np.uint8)), stamp_ns)
    assert cloud.header.frame_id == "lidar" and (cloud.header.stamp.sec, cloud.header.stamp.nanosec) == (12, 345678901)
    back = from_pointcloud2(cloud)
    assert list(back["ring"]) == [0, 5, 31] and [f.name for f in cloud.fields] == ["x", "y", "z", "intensity", "ring"]
    frame = CameraFrame(np.zeros((4, 6, 3), np.uint8), np.full((4, 6), np.inf, np.float32), np.zeros((4, 6), np.int32),
                        np.zeros((4, 6), np.uint8))
    img, depth = m.image(frame, stamp_ns), m.depth_image(frame, stamp_ns)
    assert (img.encoding, img.header.frame_id, img.width) == ("rgb8", "camera", 6)
    assert depth.encoding == "32FC1" and depth.header.stamp == img.header.stamp
    info = m.camera_info(PinholeInfo(6, 4, (3.0, 0, 2.5, 0, 3.0, 1.5, 0, 0, 1), (0.0,) * 5, (1, 0, 0, 0, 1, 0, 0, 0, 1),
                                     (3.0, 0, 2.5, 0, 0, 3.0, 1.5, 0, 0, 0, 1, 0)), stamp_ns)
    assert info.header.frame_id == "camera" and info.k[0] == 3.0 and info.header.stamp == img.header.stamp
    from lsv_sim.sensors.gnss_imu import GnssFix, ImuSample

    nofix = m.navsatfix(GnssFix(STATUS_NO_FIX, math.nan, math.nan, math.nan, (0.0,) * 9), stamp_ns)
    assert nofix.status.status == NavSatStatus.STATUS_NO_FIX and nofix.header.frame_id == "gnss"
    assert nofix.position_covariance_type == NavSatFix.COVARIANCE_TYPE_UNKNOWN
    imu = m.imu(ImuSample((0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.1), (0.0, 0.0, 9.8), 1e-4, 1e-6, 1e-3), stamp_ns)
    assert imu.header.frame_id == "imu" and imu.angular_velocity.z == 0.1
    assert imu.linear_acceleration_covariance[4] == 1e-3


def test_sensors_param_file_builds_every_sensor_params_class() -> None:
    from pathlib import Path

    import yaml

    from lsv_common.params import build_params, flatten
    from lsv_sim.sensors.camera import CameraParams
    from lsv_sim.sensors.lidar import LidarParams

    path = Path(__file__).resolve().parent.parent / "config" / "sensors.param.yaml"
    flat = flatten(yaml.safe_load(path.read_text())["/**"]["ros__parameters"])
    for cls in (LidarParams, CameraParams, GnssParams, ImuParams, Extrinsics):
        assert build_params(cls, flat, str(path)) == cls()
