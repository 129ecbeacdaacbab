"""Sensor outputs -> standard ROS messages with frame ids and stamps (no node, no clock).

The simulator node stamps every message with the simulated time at which the sensor sampled
(``stamp_ns``), never the time of publication. Frames: ``lidar``, ``camera`` (optical),
``gnss``, ``imu`` (the ``Extrinsics`` give their poses in ``base_link``).
"""

from __future__ import annotations

import math

from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image, Imu, NavSatFix, NavSatStatus, PointCloud2

from lsv_common.convert import to_image, to_pointcloud2
from lsv_sim.sensors.camera import CameraFrame
from lsv_sim.sensors.camera import CameraInfo as PinholeInfo
from lsv_sim.sensors.gnss_imu import STATUS_NO_FIX, GnssFix, ImuSample
from lsv_sim.sensors.lidar import LidarScan

LIDAR_FRAME = "lidar"
CAMERA_FRAME = "camera"
GNSS_FRAME = "gnss"
IMU_FRAME = "imu"


def stamp(stamp_ns: int) -> Time:
    """Nanoseconds (simulated time) -> builtin_interfaces/Time."""
    return Time(sec=int(stamp_ns // 1_000_000_000), nanosec=int(stamp_ns % 1_000_000_000))


def pointcloud(scan: LidarScan, stamp_ns: int, frame_id: str = LIDAR_FRAME) -> PointCloud2:
    """x, y, z, intensity, ring in the lidar frame (the labels stay out: ground truth only)."""
    return to_pointcloud2(scan.points, frame_id, stamp(stamp_ns))


def image(frame: CameraFrame, stamp_ns: int, frame_id: str = CAMERA_FRAME) -> Image:
    return to_image(frame.rgb, "rgb8", frame_id, stamp(stamp_ns))


def depth_image(frame: CameraFrame, stamp_ns: int, frame_id: str = CAMERA_FRAME) -> Image:
    """32FC1 depth in m along the optical axis (+inf: nothing in range, REP 118)."""
    return to_image(frame.depth, "32FC1", frame_id, stamp(stamp_ns))


def camera_info(info: PinholeInfo, stamp_ns: int, frame_id: str = CAMERA_FRAME) -> CameraInfo:
    msg = CameraInfo(width=info.width, height=info.height, distortion_model=info.distortion_model,
                     d=list(info.d), k=list(info.k), r=list(info.r), p=list(info.p))
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp(stamp_ns)
    return msg


def navsatfix(fix: GnssFix, stamp_ns: int, frame_id: str = GNSS_FRAME) -> NavSatFix:
    msg = NavSatFix()
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp(stamp_ns)
    msg.status.status = NavSatStatus.STATUS_NO_FIX if fix.status == STATUS_NO_FIX else NavSatStatus.STATUS_FIX
    msg.status.service = NavSatStatus.SERVICE_GPS | NavSatStatus.SERVICE_COMPASS  # COMPASS = BeiDou
    msg.latitude, msg.longitude, msg.altitude = fix.latitude_deg, fix.longitude_deg, fix.altitude_m
    msg.position_covariance = list(fix.covariance)
    msg.position_covariance_type = (NavSatFix.COVARIANCE_TYPE_UNKNOWN if fix.status == STATUS_NO_FIX
                                    else NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN)
    return msg


def imu(sample: ImuSample, stamp_ns: int, frame_id: str = IMU_FRAME) -> Imu:
    msg = Imu()
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp(stamp_ns)
    q = msg.orientation
    q.x, q.y, q.z, q.w = sample.orientation_xyzw
    w = msg.angular_velocity
    w.x, w.y, w.z = sample.angular_velocity
    a = msg.linear_acceleration
    a.x, a.y, a.z = sample.linear_acceleration
    diag = (0, 4, 8)
    for name, var in (("orientation_covariance", sample.orientation_var),
                      ("angular_velocity_covariance", sample.angular_velocity_var),
                      ("linear_acceleration_covariance", sample.linear_acceleration_var)):
        cov = [0.0] * 9
        for i in diag:
            cov[i] = float(var) if math.isfinite(var) else -1.0
        setattr(msg, name, cov)
    return msg
