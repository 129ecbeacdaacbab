"""A process that publishes synthetic point clouds or images, for transport tests and the
transport benchmark.

    python -m lsv_common.testing.sensor_publisher --kind cloud --points 120000 --count 50 --rate 10

Each message carries a deterministic pattern (point i has x = i, ring = i % 32; pixel
values from the sequence number) so the receiver can check the content, and its header
stamp is the wall-clock time of publication so the receiver can measure latency. The
publisher waits until a subscriber has matched before the first message.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, PointCloud2

from lsv_common import middleware
from lsv_common.convert import POINT_XYZIR, to_image, to_pointcloud2


def make_cloud(points: int) -> np.ndarray:
    cloud = np.zeros(points, dtype=POINT_XYZIR)
    cloud["x"] = np.arange(points, dtype=np.float32)
    cloud["y"] = 1.0
    cloud["z"] = -0.5
    cloud["intensity"] = 0.25
    cloud["ring"] = np.arange(points) % 32
    return cloud


def make_image(width: int, height: int) -> np.ndarray:
    return np.broadcast_to(np.arange(width, dtype=np.uint8)[None, :, None], (height, width, 3)).copy()


def _stamp_now() -> Time:
    ns = time.time_ns()
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("cloud", "image"), default="cloud")
    parser.add_argument("--topic", default="/transport_test")
    parser.add_argument("--points", type=int, default=120_000)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="Hz")
    parser.add_argument("--wait-subscriber", type=float, default=20.0, help="s to wait for a subscriber")
    ns = parser.parse_args(argv)

    middleware.apply_defaults()
    rclpy.init()
    node = rclpy.create_node("sensor_publisher")
    msg_type = PointCloud2 if ns.kind == "cloud" else Image
    pub = node.create_publisher(msg_type, ns.topic, qos_profile_sensor_data)
    deadline = time.monotonic() + ns.wait_subscriber
    while pub.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            print("sensor_publisher: no subscriber matched", file=sys.stderr)
            return 1
        time.sleep(0.05)
    time.sleep(0.3)  # let the subscriber's reader finish matching on every transport
    cloud = make_cloud(ns.points) if ns.kind == "cloud" else None
    image = make_image(ns.width, ns.height) if ns.kind == "image" else None
    period = 1.0 / ns.rate
    next_t = time.monotonic()
    for seq in range(ns.count):
        if cloud is not None:
            cloud["intensity"][0] = seq
            msg = to_pointcloud2(cloud, "lidar")
        else:
            image[0, 0, 0] = seq % 256
            msg = to_image(image, "rgb8", "camera")
        msg.header.stamp = _stamp_now()
        pub.publish(msg)
        next_t += period
        time.sleep(max(0.0, next_t - time.monotonic()))
    time.sleep(0.5)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
