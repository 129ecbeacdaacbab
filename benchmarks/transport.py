"""Inter-process transport latency: PointCloud2 (120 000 points) and Image (1280x720 rgb8)
from a publisher process to a subscriber in this process, over the stack's Fast DDS
profile (32 MB shared-memory segment), sensor-data QoS (best effort).

Latency = arrival wall-clock time - header stamp set just before publish(), so it covers
serialisation, transport and deserialisation into a Python message.

    .venv/bin/python benchmarks/transport.py [--count 100] [--rate 10]

Prints progress on stderr and one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, PointCloud2

from lsv_common.testing import private_ros_env

CLOUD_POINTS = 120_000
IMAGE_W, IMAGE_H = 1280, 720


def measure(kind: str, count: int, rate: float, env: dict[str, str]) -> dict:
    node = rclpy.create_node(f"transport_bench_{kind}")
    latencies: list[float] = []
    sizes: list[int] = []

    def on_msg(msg) -> None:
        now = time.time_ns()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        latencies.append((now - stamp) / 1e6)
        sizes.append(len(msg.data))

    topic = f"/bench/{kind}"
    msg_type = PointCloud2 if kind == "cloud" else Image
    node.create_subscription(msg_type, topic, on_msg, qos_profile_sensor_data)
    peer = subprocess.Popen([sys.executable, "-m", "lsv_common.testing.sensor_publisher", "--kind", kind,
                             "--topic", topic, "--count", str(count), "--rate", str(rate),
                             "--points", str(CLOUD_POINTS), "--width", str(IMAGE_W), "--height", str(IMAGE_H)],
                            env=env)
    print(f"[transport] {kind}: {count} messages at {rate:g} Hz ...", file=sys.stderr)
    deadline = time.monotonic() + count / rate + 30.0
    while peer.poll() is None and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.01)
    for _ in range(20):
        rclpy.spin_once(node, timeout_sec=0.01)
    if peer.poll() is None:
        peer.kill()
    node.destroy_node()
    lat = np.asarray(latencies)
    result = {"received": len(lat), "sent": count, "bytes": int(sizes[0]) if sizes else 0}
    if len(lat):
        result.update(median_ms=round(float(np.median(lat)), 3), p95_ms=round(float(np.percentile(lat, 95)), 3),
                      max_ms=round(float(lat.max()), 3))
    print(f"[transport] {kind}: {result}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0)
    ns = parser.parse_args()
    env = private_ros_env()
    os.environ.update(env)
    rclpy.init()
    try:
        cloud = measure("cloud", ns.count, ns.rate, env)
        image = measure("image", ns.count, ns.rate, env)
    finally:
        rclpy.try_shutdown()
    out = {
        "name": "transport",
        "n": cloud["received"],
        "median_ms": cloud.get("median_ms"),
        "p95_ms": cloud.get("p95_ms"),
        "pointcloud2_points": CLOUD_POINTS,
        "pointcloud2_bytes": cloud["bytes"],
        "pointcloud2_received": f"{cloud['received']}/{cloud['sent']}",
        "pointcloud2_max_ms": cloud.get("max_ms"),
        "image_size": f"{IMAGE_W}x{IMAGE_H} rgb8",
        "image_bytes": image["bytes"],
        "image_n": image["received"],
        "image_received": f"{image['received']}/{image['sent']}",
        "image_median_ms": image.get("median_ms"),
        "image_p95_ms": image.get("p95_ms"),
        "qos": "sensor data (best effort)",
        "dds_profile": os.path.basename(env["FASTDDS_DEFAULT_PROFILES_FILE"]),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(out))
    return 0 if cloud["received"] and image["received"] else 1


if __name__ == "__main__":
    sys.exit(main())
