"""Two processes: the simulated RSU sends signed UDP on loopback, the v2x_client publishes signals (marked
authenticated) and hints."""

from __future__ import annotations

import math
import socket

import pytest
import rclpy
from nav_msgs.msg import Odometry

import lsv_sim.rsu_node  # noqa: F401 - the process this test starts
from lsv_common.testing import MessageRecorder, spin_until, start_node
from lsv_msgs.msg import TrafficSignal, TrafficSignalArray, V2xHint, V2xHintArray
from lsv_v2x_client import samples
from lsv_v2x_client.params import default_param_file
from lsv_v2x_client.projection import LocalProjection


@pytest.mark.slow
def test_rsu_to_client(tmp_path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the simulator's trust store without test_only: this client runs on system time, where the simulated
    # RSU's TEST key would be ignored
    sim_store = default_param_file().parent / "trust_store.sim.yaml"
    trust = tmp_path / "trust.yaml"
    trust.write_text(sim_store.read_text().replace("test_only: true", "test_only: false"))
    rclpy.init()
    node = rclpy.create_node("rsu_to_client_test")
    client = start_node("lsv_v2x_client.client_node", name="v2x_client", params_file=default_param_file(),
                        params={"port": port, "trust_store": str(trust), "require_signature": True},
                        log_dir=tmp_path)
    rsu = start_node("lsv_sim.rsu_node", name="rsu", params={"target_port": port}, log_dir=tmp_path)
    try:
        signals = MessageRecorder(node, TrafficSignalArray, "/v2x_client/output/traffic_signals")
        hints = MessageRecorder(node, V2xHintArray, "/v2x_client/output/hints")
        odom_pub = node.create_publisher(Odometry, "/v2x_client/input/odometry", 10)
        proj = LocalProjection(samples.CENTRE.lat_deg, samples.CENTRE.lon_deg)
        p = samples.offset_point(samples.CENTRE, 1.75, -30.0)
        x, y = proj.forward_point(p.lat_deg, p.lon_deg)

        def feed_and_check() -> bool:
            odom = Odometry()
            odom.header.stamp = node.get_clock().now().to_msg()
            odom.pose.pose.position.x, odom.pose.pose.position.y = x, y
            odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = math.sin(math.pi / 4), math.cos(math.pi / 4)
            odom.twist.twist.linear.x = 4.0
            odom_pub.publish(odom)
            types = {h.type for m in hints.messages for h in m.hints}
            return any(len(m.signals) == 8 and all(s.source == TrafficSignal.SOURCE_V2X_AUTHENTICATED
                                                   for s in m.signals) for m in signals.messages) and {
                V2xHint.TYPE_PEDESTRIAN_CROSSING, V2xHint.TYPE_ROAD_HAZARD} <= types

        assert spin_until(node, feed_and_check, 30.0), client.log()[-2000:] + rsu.log()[-2000:]
        assert client.alive() and rsu.alive()
    finally:
        rsu.stop()
        client.stop()
        node.destroy_node()
        rclpy.shutdown()
