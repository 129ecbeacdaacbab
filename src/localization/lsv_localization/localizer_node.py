"""``localizer`` node: NavSatFix + Imu + VehicleStatus -> nav_msgs/Odometry (map -> base_link) at 50 Hz.

Thin shell around ``localizer.Localizer``: 1. parameters (and the GNSS antenna's mounting from the
extrinsics file they name), 2. subscriptions that hand each message to the core with the ROS time it
arrived (the core checks every field and drops bad samples), 3. a 50 Hz timer on the ROS clock
(``use_sim_time`` works) that predicts the state to now and publishes it, 4. /diagnostics at 1 Hz
with the covariance, the lever arm in use and the health. The ``map -> base_link`` transform is the
Odometry itself (header.frame_id "map", child_frame_id "base_link"): there is no tf2_msgs wheel here,
so no /tf message is published.
Nothing is published before the filter is initialised (the controller then stops: odometry missing).
"""

from __future__ import annotations

import numpy as np
from diagnostic_msgs.msg import DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import Imu, NavSatFix, NavSatStatus

from lsv_common.geometry import quaternion_from_rpy
from lsv_common.node import Diagnostics, load_params, run_node, status
from lsv_common.stamps import RepeatedStamps, stamp_to_ns
from lsv_localization.ekf import EkfParams
from lsv_localization.localizer import Estimate, LocalizerParams, configured_localizer
from lsv_msgs.msg import VehicleStatus


def odometry_msg(est: Estimate, msg: Odometry) -> Odometry:
    """Fill ``msg`` from the estimate (pose covariance rows x, y, z, roll, pitch, yaw)."""
    msg.header.frame_id = "map"
    msg.child_frame_id = "base_link"
    msg.pose.pose.position.x = est.x_m
    msg.pose.pose.position.y = est.y_m
    o = msg.pose.pose.orientation
    o.x, o.y, o.z, o.w = quaternion_from_rpy(0.0, est.pitch_rad, est.yaw_rad)
    P = est.covariance
    cov = np.zeros((6, 6))
    cov[0:2, 0:2] = P[0:2, 0:2]
    cov[0:2, 5] = P[0:2, 2]
    cov[5, 0:2] = P[2, 0:2]
    cov[5, 5] = P[2, 2]
    cov[2, 2] = 1e4  # height: not estimated
    cov[3, 3] = cov[4, 4] = 0.01  # roll, pitch: from the IMU, roughly
    msg.pose.covariance = [float(v) for v in cov.ravel()]
    msg.twist.twist.linear.x = est.speed_mps
    msg.twist.twist.angular.z = est.yaw_rate_rps
    tcov = np.zeros((6, 6))
    tcov[0, 0] = P[3, 3]
    tcov[5, 5] = P[4, 4]
    tcov[0, 5] = tcov[5, 0] = P[3, 4]
    tcov[1, 1] = tcov[2, 2] = 0.01  # no side slip or vertical speed in the model
    tcov[3, 3] = tcov[4, 4] = 1.0
    msg.twist.covariance = [float(v) for v in tcov.ravel()]
    return msg


class LocalizerNode(Node):
    def __init__(self) -> None:
        super().__init__("localizer")
        # 1. parameters; the lever arm from the extrinsics file (ExtrinsicsError: exits with a config error)
        self.params = load_params(self, LocalizerParams)
        self.core = configured_localizer(self.params, load_params(self, EkfParams))
        mount = self.core.gnss_mount
        self.get_logger().info(f"GNSS antenna at x {mount.x_m:.3f} m, y {mount.y_m:.3f} m in base_link "
                               f"(from {self.params.extrinsics_file})")
        self._published = 0
        self._stamps = RepeatedStamps()  # a frozen GNSS or IMU driver repeats its last sample
        # 2. inputs and outputs
        self.create_subscription(NavSatFix, "~/input/gnss", self._on_gnss, 10)
        self.create_subscription(Imu, "~/input/imu", self._on_imu, 50)
        self.create_subscription(VehicleStatus, "~/input/vehicle_status", self._on_status, 50)
        self.create_subscription(PoseWithCovarianceStamped, "~/input/initial_pose", self._on_initial_pose, 1)
        self.odom_pub = self.create_publisher(Odometry, "~/output/odometry", 10)
        self.diagnostics = Diagnostics(self, self._collect_diagnostics)
        # 3. 50 Hz output on the ROS clock
        self.timer = self.create_timer(self.params.publish_period_s, self._publish)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _new_sample(self, sensor: str, msg: NavSatFix | Imu) -> bool:
        """False for a sample whose stamp equals the previous one: a frozen sensor driver repeating
        itself is no news, so the sensor ages and goes stale in the core (and says so on
        /diagnostics)."""
        return self._stamps.is_new(sensor, stamp_to_ns(msg.header.stamp))

    def _on_gnss(self, msg: NavSatFix) -> None:
        if not self._new_sample("gnss", msg):
            return
        cov = None
        if msg.position_covariance_type != NavSatFix.COVARIANCE_TYPE_UNKNOWN:
            c = msg.position_covariance
            cov = np.array([[c[0], c[1]], [c[3], c[4]]])  # east, north (ENU)
        self.core.on_gnss(self._now_ns(), msg.latitude, msg.longitude, msg.status.status >= NavSatStatus.STATUS_FIX,
                          cov)

    def _on_imu(self, msg: Imu) -> None:
        if not self._new_sample("imu", msg):
            return
        q = msg.orientation
        orientation = None if msg.orientation_covariance[0] == -1.0 else (q.x, q.y, q.z, q.w)
        accel_x = None if msg.linear_acceleration_covariance[0] == -1.0 else msg.linear_acceleration.x
        self.core.on_imu(self._now_ns(), msg.angular_velocity.z, orientation, accel_x)

    def _on_status(self, msg: VehicleStatus) -> None:
        if msg.stale:
            return  # frames timed out on the CAN side: never fuse old values (health turns ERROR on its own)
        self.core.on_vehicle_status(self._now_ns(), msg.speed_mps, msg.steering_angle_rad)

    def _on_initial_pose(self, msg: PoseWithCovarianceStamped) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        used = self.core.on_initial_pose_quaternion(self._now_ns(), p.x, p.y, (q.x, q.y, q.z, q.w))
        self.get_logger().info(f"initial pose ({p.x:.2f}, {p.y:.2f}), orientation ({q.x:.3f}, {q.y:.3f}, "
                               f"{q.z:.3f}, {q.w:.3f}): " + ("used" if used else "dropped, not a valid pose"))

    def _publish(self) -> None:
        now = self.get_clock().now()
        est = self.core.estimate(now.nanoseconds)
        if est is None:
            return
        msg = odometry_msg(est, Odometry())
        msg.header.stamp = now.to_msg()
        self.odom_pub.publish(msg)
        self._published += 1

    def _collect_diagnostics(self) -> list[DiagnosticStatus]:
        level, message, values = self.core.health(self._now_ns())
        values = dict(values)
        values["odometry_published"] = self._published
        values["gnss_repeated"] = self._stamps.repeated.get("gnss", 0)
        values["imu_repeated"] = self._stamps.repeated.get("imu", 0)
        return [status("ekf", level, message, values)]


def main(args: list[str] | None = None) -> int:
    return run_node(lambda: LocalizerNode(), args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
