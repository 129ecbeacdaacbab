#!/usr/bin/env python3
"""Write the perception CI bag, tests/data/perception_lidar/, from the simulator's core.

    .venv/bin/python tools/record_perception_bag.py [--seconds S] [--out DIR]

The scene is ``tests/data/scenarios/ci_perception.yaml`` (the district's west intersection:
pedestrians crossing and walking the sidewalk, a cyclist, cars, a parked car). The simulator core
runs in-process (no ROS graph: lidar rendering in the ROS graph on 2 cores runs at a third of
real time and its bag would be the same data); the ego follows a scripted drive (east at 3 m/s)
and the simulated 32-beam lidar scans at 10 Hz with its noise and dropout, at half the azimuth
resolution of the stack's default (900 firings per turn, 0.4 deg: ~27 000 points, 0.45 MB a
scan, because float point clouds hardly compress and the CI data budget is 30 MB). Written, on
the simulated clock, as MCAP with zstd chunks and the definitions embedded:

- ``/sensing/lidar/points`` sensor_msgs/PointCloud2 (lidar frame, XYZIR) at 10 Hz;
- ``/localization/odometry`` nav_msgs/Odometry at 50 Hz: the scripted pose, as a perfect
  localizer would give it (the perception nodes' input);
- ``/sim/ground_truth/odometry`` and ``/sim/ground_truth/objects`` (lsv_msgs/TrackedObjectArray)
  at 50 Hz: the truth ``tests/test_replay.py::test_perception_replay`` compares with;
- ``/clock`` at 100 Hz.

Deterministic: the same seed gives the same bag content. After rewriting it, regenerate the
replay reference on purpose (``pytest tests/test_replay.py -k perception --update-refs``).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SCENARIO = DATA / "scenarios" / "ci_perception.yaml"
OUT = DATA / "perception_lidar"
NS = 1_000_000_000
STEP_MS = 20.0  # simulator step; odometry and ground truth every step (50 Hz)
SCAN_EVERY = 5  # steps: 10 Hz lidar
CLOCK_EVERY_NS = 10_000_000  # 100 Hz /clock
EPOCH_NS = 1_780_000_000 * NS  # the bag's time origin (2026-05-28): an epoch-like simulated clock


def ego_pose(t: float) -> tuple[float, float, float, float]:
    """Scripted ego (rear axle): east at 3 m/s from x = -70, at rest from x = -52; (x, y, yaw, speed)."""
    x = min(-70.0 + 3.0 * t, -52.0)
    return x, -1.75, 0.0, 3.0 if x < -52.0 else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="simulated seconds to write (default 3)")
    ap.add_argument("--azimuth-steps", type=int, default=900, help="lidar firings per turn (default 900)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"bag folder (default {OUT.relative_to(ROOT)})")
    ns = ap.parse_args(argv)

    import yaml
    from builtin_interfaces.msg import Time
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.rosbag2.writer import CompressionFormat, CompressionMode
    from rosgraph_msgs.msg import Clock

    from lsv_bringup.recorder import TypeResolver
    from lsv_can_bridge.chassis_config import load_chassis_config
    from lsv_common.convert import to_pointcloud2
    from lsv_msgs.msg import TrackedObject, TrackedObjectArray
    from lsv_sim.core import SimParams, Simulator
    from lsv_sim.scenario import make_world, parse_scenario
    from lsv_sim.sensors import Actor, Extrinsics, pose_matrix
    from lsv_sim.sensors.lidar import Lidar, LidarParams, RayCaster
    from lsv_sim.sim_node import ACTOR_CLASSES
    from lsv_sim.world import ObjectClass

    doc = yaml.safe_load(SCENARIO.read_text())
    world = make_world(parse_scenario(doc, str(SCENARIO)).map)
    scenario = parse_scenario(doc, str(SCENARIO), world)
    sim = Simulator(scenario, load_chassis_config("dbc/lsv_chassis.yaml"), world=world,
                    params=SimParams(step_period_ms=STEP_MS))
    lidar = Lidar(LidarParams(azimuth_steps=ns.azimuth_steps), caster=RayCaster.for_world(world))
    t_base_lidar = Extrinsics().matrix("lidar")
    rng = np.random.default_rng(scenario.seed)

    def stamp(t_ns: int) -> Time:
        return Time(sec=t_ns // NS, nanosec=t_ns % NS)

    topics = {"/clock": "rosgraph_msgs/msg/Clock", "/sensing/lidar/points": "sensor_msgs/msg/PointCloud2",
              "/localization/odometry": "nav_msgs/msg/Odometry", "/sim/ground_truth/odometry": "nav_msgs/msg/Odometry",
              "/sim/ground_truth/objects": "lsv_msgs/msg/TrackedObjectArray"}
    resolver = TypeResolver()
    for type_name in topics.values():
        if not resolver.resolve(type_name):
            print(f"record_perception_bag: error: no definition of {type_name} (run make setup)", file=sys.stderr)
            return 1
    if ns.out.exists():
        shutil.rmtree(ns.out)
    writer = Writer(ns.out, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    counts = dict.fromkeys(topics, 0)
    steps = round(ns.seconds * 1000.0 / STEP_MS)
    with writer:
        conns = {t: writer.add_connection(t, ty, typestore=resolver.typestore) for t, ty in topics.items()}

        def put(topic: str, msg: object, t_ns: int) -> None:
            writer.write(conns[topic], t_ns, serialize_message(msg))
            counts[topic] += 1

        next_clock = EPOCH_NS
        for step in range(steps + 1):
            if step:
                sim.step()
            t = sim.t_s
            t_ns = EPOCH_NS + round(t * NS)
            while next_clock <= t_ns:
                put("/clock", Clock(clock=stamp(next_clock)), next_clock)
                next_clock += CLOCK_EVERY_NS
            ex, ey, eyaw, speed = ego_pose(t)
            ez = float(np.asarray(world.height_at(np.array([[ex, ey]]))).reshape(-1)[0])
            pitch = math.atan(world.grade_at(ex, ey, eyaw))
            odom = Odometry()
            odom.header.stamp, odom.header.frame_id, odom.child_frame_id = stamp(t_ns), "map", "base_link"
            odom.pose.pose.position.x, odom.pose.pose.position.y, odom.pose.pose.position.z = ex, ey, ez
            # yaw, then pitch (nose up on an uphill grade: negative about y)
            cy, sy, cp, sp = math.cos(eyaw / 2), math.sin(eyaw / 2), math.cos(-pitch / 2), math.sin(-pitch / 2)
            q = odom.pose.pose.orientation
            q.w, q.x, q.y, q.z = cy * cp, -sy * sp, cy * sp, sy * cp
            odom.twist.twist.linear.x = speed
            put("/localization/odometry", odom, t_ns)
            put("/sim/ground_truth/odometry", odom, t_ns)
            gt = sim.ground_truth()
            objs = TrackedObjectArray()
            objs.header.stamp, objs.header.frame_id = stamp(t_ns), "map"
            for k, a in enumerate(gt.actors):
                o = TrackedObject(object_id=k + 1, classification=a.classification, score=1.0, confirmed=True)
                o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z = a.x_m, a.y_m, a.z_m
                o.pose.pose.orientation.z, o.pose.pose.orientation.w = math.sin(a.yaw_rad / 2), math.cos(a.yaw_rad / 2)
                o.velocity.twist.linear.x = a.speed_mps * math.cos(a.yaw_rad)
                o.velocity.twist.linear.y = a.speed_mps * math.sin(a.yaw_rad)
                o.dimensions.x, o.dimensions.y, o.dimensions.z = a.length_m, a.width_m, a.height_m
                objs.objects.append(o)
            put("/sim/ground_truth/objects", objs, t_ns)
            if step % SCAN_EVERY == 0:
                t_map_lidar = pose_matrix(ex, ey, ez, 0.0, -pitch, eyaw) @ t_base_lidar
                actors = [Actor(k + 1, int(ObjectClass[ACTOR_CLASSES[a.type.value]]),
                                (a.x_m, a.y_m, a.z_m, a.yaw_rad), (a.length_m, a.width_m, a.height_m))
                          for k, a in enumerate(gt.actors)]
                scan = lidar.scan(t_map_lidar, actors, rng)
                put("/sensing/lidar/points", to_pointcloud2(scan.points, "lidar", stamp(t_ns)), t_ns)
            if step % 50 == 0:
                print(f"record_perception_bag: t = {t:4.1f} / {ns.seconds:g} s, {counts['/sensing/lidar/points']} "
                      "scans", flush=True)
    size = sum(p.stat().st_size for p in ns.out.iterdir())
    print(f"record_perception_bag: wrote {ns.out} ({size / 1e6:.1f} MB): "
          + ", ".join(f"{t} {n}" for t, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
