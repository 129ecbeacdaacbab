"""The localizer node process over real topics: Odometry at 50 Hz in the map frame after an
initial pose, dead reckoning on wheel speed, health on /diagnostics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lsv_common.testing import MessageRecorder, spin_until, start_node

PARAMS = Path(__file__).resolve().parents[1] / "config" / "localizer.param.yaml"


@pytest.mark.slow
def test_node_publishes_odometry_at_50_hz(tmp_path: Path) -> None:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from nav_msgs.msg import Odometry
    from sensor_msgs.msg import Imu, NavSatFix, NavSatStatus

    from lsv_msgs.msg import VehicleStatus

    proc = start_node("lsv_localization.localizer_node", name="localizer", params_file=PARAMS, log_dir=tmp_path,
                      remaps={"~/output/odometry": "/localization/odometry", "~/input/gnss": "/sensing/gnss/fix",
                              "~/input/imu": "/sensing/imu", "~/input/vehicle_status": "/vehicle/status"})
    rclpy.init()
    node = rclpy.create_node("localizer_node_test")
    try:
        odom = MessageRecorder(node, Odometry, "/localization/odometry")
        diags = MessageRecorder(node, DiagnosticArray, "/diagnostics")
        gnss_pub = node.create_publisher(NavSatFix, "/sensing/gnss/fix", 10)
        imu_pub = node.create_publisher(Imu, "/sensing/imu", 10)
        status_pub = node.create_publisher(VehicleStatus, "/vehicle/status", 10)
        init_pub = node.create_publisher(PoseWithCovarianceStamped, "/localizer/input/initial_pose", 1)

        frozen_imu = {"stamp_s": 0}

        def feed() -> None:
            fix = NavSatFix(latitude=30.2741, longitude=120.1551)
            fix.status.status = NavSatStatus.STATUS_FIX
            gnss_pub.publish(fix)
            imu = Imu()
            imu.header.stamp.sec = frozen_imu["stamp_s"]
            imu.orientation_covariance[0] = -1.0
            imu_pub.publish(imu)
            status_pub.publish(VehicleStatus(speed_mps=0.0, mode=VehicleStatus.MODE_AUTO))

        node.create_timer(0.02, feed)
        spin_until(node, lambda: False, 1.0)
        assert odom.count == 0  # no heading yet: nothing published
        pose = PoseWithCovarianceStamped()
        pose.header.frame_id = "map"
        pose.pose.pose.orientation.z, pose.pose.pose.orientation.w = math.sin(0.25), math.cos(0.25)
        for _ in range(200):  # until the node has started and matched the publisher (slow on a loaded machine)
            init_pub.publish(pose)
            if spin_until(node, lambda: odom.count > 0, 0.1):
                break
        assert spin_until(node, lambda: odom.count > 5, 10.0), proc.log()
        n0 = odom.count
        spin_until(node, lambda: False, 1.0)
        assert 35 <= odom.count - n0 <= 65
        m = odom.messages[-1]
        assert m.header.frame_id == "map" and m.child_frame_id == "base_link"
        # the fixes (at the map origin) are the antenna's: base_link is 0.9 m behind it along the heading
        # (extrinsics.gnss of the simulator's sensors.param.yaml, which the localizer's YAML names)
        assert m.pose.pose.position.x == pytest.approx(-0.9 * math.cos(0.5), abs=0.3)
        assert m.pose.pose.position.y == pytest.approx(-0.9 * math.sin(0.5), abs=0.3)
        yaw = 2.0 * math.atan2(m.pose.pose.orientation.z, m.pose.pose.orientation.w)
        assert yaw == pytest.approx(0.5, abs=0.05)
        assert m.pose.covariance[0] > 0.0 and m.pose.covariance[35] > 0.0
        assert spin_until(node, lambda: any(s.name.startswith("localizer") for d in diags.messages for s in d.status),
                          5.0)
        st = next(s for d in reversed(diags.messages) for s in d.status if s.name.startswith("localizer"))
        assert any(kv.key == "position_sigma_m" for kv in st.values)
        # the GNSS lever arm in use, from the simulator's extrinsics file (0.9 m ahead of base_link)
        values = {kv.key: kv.value for kv in st.values}
        assert float(values["gnss_antenna_x_m"]) == pytest.approx(0.9) and float(values["gnss_antenna_y_m"]) == 0.0
        assert values["extrinsics_file"].endswith("sensors.param.yaml")

        # a frozen IMU driver (the same sample again and again) is a missing IMU
        frozen_imu["stamp_s"] = 1234
        k = diags.count

        def imu_reported_missing() -> bool:
            for d in diags.messages[k:]:
                for s in d.status:
                    values = {kv.key: kv.value for kv in s.values}
                    if s.name.startswith("localizer") and "no IMU" in s.message and int(values["imu_repeated"]) > 5:
                        return True
            return False

        assert spin_until(node, imu_reported_missing, 10.0), [s.message for d in diags.messages[k:] for s in d.status]
    finally:
        node.destroy_node()
        rclpy.shutdown()
        proc.stop()
