"""Replay a CI bag through node processes with ``use_sim_time`` and collect their outputs.

Each node under test runs in its own process (``lsv_common.testing.start_node``) with the
parameters of its ``config/<node>.param.yaml`` and the system topic names of
launch/stack.launch.yaml for its *inputs*; its *outputs* are remapped under ``/replay/`` so they
never mix with the recorded outputs (each node gets recorded inputs, as openpilot's process
replay does: a change in one node shows in that node's outputs only). The bag plays with
``BagPlayer`` (its recorded ``/clock`` replaced by the player's, from the bag's simulated time),
after every input topic has a subscriber. Outputs are stamped with the simulated time of the
latest ``/clock`` the observer saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
NS = 1_000_000_000
STARTUP_TIMEOUT_S = 90.0  # s, node processes on a loaded 2-core machine import slowly

# The timeouts tools/record_ci_bags.py recorded with (RELAXED_PARAMS): a replayed node gets its
# inputs late on a loaded machine exactly as the recorded ones did, and must not stop for that.
CONTROLLER_RELAXED = {"timeouts.odometry_s": 0.5, "timeouts.vehicle_status_s": 0.5, "timeouts.trajectory_s": 1.0,
                      "timeouts.objects_s": 1.0, "timeouts.diagnostics_s": 10.0, "realtime_priority": 0}


@dataclass(frozen=True)
class NodeUnderTest:
    module: str
    name: str
    params_file: Path
    inputs: Mapping[str, str]  # relative input name -> recorded topic
    outputs: Mapping[str, str]  # relative output name -> system topic (replayed under /replay)
    params: Mapping[str, Any] = field(default_factory=dict)
    # relative input name -> system topic that another node under test publishes (taken from its
    # /replay output, not from the bag: a chain such as lidar_detector -> tracker)
    chained: Mapping[str, str] = field(default_factory=dict)


# The recorded planner also had the camera's light states (lsv sim: /sim/ground_truth/visible_signals,
# not in the bags); the replayed one gets the ground truth of every light in their place. It needs
# them: the bags' V2X states were recorded before SPaT authentication (SOURCE_V2X: unauthenticated),
# and an unauthenticated V2X green lets the planner cross only with a camera green.
PLANNER = NodeUnderTest(
    "lsv_planning.planner_node", "planner", ROOT / "src/planning/config/planner.param.yaml",
    inputs={"~/input/odometry": "/localization/odometry", "~/input/traffic_signals": "/v2x/traffic_signals",
            "~/input/perceived_signals": "/sim/ground_truth/traffic_signals",
            "~/input/v2x_hints": "/v2x/hints", "~/input/objects": "/sim/ground_truth/objects",
            "~/input/mission_goal": "/planning/mission_goal"},
    outputs={"~/output/trajectory": "/planning/trajectory", "~/output/decision": "/planning/decision"},
    params={"map_path": str(ROOT / "src/sim/maps/district.osm")})
LOCALIZER = NodeUnderTest(
    "lsv_localization.localizer_node", "localizer", ROOT / "src/localization/config/localizer.param.yaml",
    inputs={"~/input/gnss": "/sensing/gnss/fix", "~/input/imu": "/sensing/imu",
            "~/input/vehicle_status": "/vehicle/status"},
    outputs={"~/output/odometry": "/localization/odometry"},
    params={"init.use_imu_yaw": True})
CONTROLLER = NodeUnderTest(
    "lsv_control.control_node", "controller", ROOT / "src/control/config/controller.param.yaml",
    inputs={"~/input/trajectory": "/planning/trajectory", "~/input/odometry": "/localization/odometry",
            "~/input/vehicle_status": "/vehicle/status", "~/input/objects": "/sim/ground_truth/objects",
            "/diagnostics": "/diagnostics"},
    outputs={"~/output/command": "/vehicle/command", "~/output/state": "/control/mrm_state"},
    params=CONTROLLER_RELAXED)

V2X_CLIENT = NodeUnderTest(
    "lsv_v2x_client.client_node", "v2x_client", ROOT / "src/v2x_client/config/v2x_client.param.yaml",
    inputs={"~/input/datagrams": "/v2x/datagrams", "~/input/odometry": "/localization/odometry"},
    outputs={"~/output/traffic_signals": "/v2x/traffic_signals", "~/output/hints": "/v2x/hints",
             "~/output/objects": "/v2x/objects"},
    params={"datagram_source": "topic"})

PERCEPTION = "src/perception/config"
LIDAR_DETECTOR = NodeUnderTest(
    "lsv_perception.lidar_node", "lidar_detector", ROOT / PERCEPTION / "lidar_detector.param.yaml",
    inputs={"~/input/pointcloud": "/sensing/lidar/points", "~/input/odometry": "/localization/odometry"},
    outputs={"~/output/objects": "/perception/lidar/objects", "~/output/objects_map": "/perception/lidar/objects_map"})
TRACKER = NodeUnderTest(
    "lsv_perception.tracker_node", "tracker", ROOT / PERCEPTION / "tracker.param.yaml",
    inputs={"~/input/odometry": "/localization/odometry"},
    chained={"~/input/lidar_objects": "/perception/lidar/objects_map"},
    outputs={"~/output/objects": "/perception/objects"},
    params={"use_camera": False, "use_v2x": False})  # a lidar-only bag
# types of outputs a bag need not hold (the recorded outputs of the others tell theirs)
OUTPUT_TYPES = {"/perception/lidar/objects": "lsv_msgs/msg/DetectedObjectArray",
                "/perception/lidar/objects_map": "lsv_msgs/msg/DetectedObjectArray",
                "/perception/objects": "lsv_msgs/msg/TrackedObjectArray"}


def replayed(topic: str) -> str:
    return f"/replay{topic}"


@dataclass
class ReplayResult:
    outputs: dict[str, list[tuple[int, Any]]]  # replayed system topic -> [(sim ns at receipt, msg)]
    logs: dict[str, str]
    published: dict[str, int]


def replay(bag: Path, nodes: list[NodeUnderTest], rate: float, log_dir: Path, start_s: float = 0.0,
           duration_s: float | None = None) -> ReplayResult:
    """Play ``bag`` (from ``start_s``, for ``duration_s``) into ``nodes`` (each in its own process)
    and collect their remapped outputs."""
    import rclpy
    from rclpy.qos import QoSProfile
    from rosgraph_msgs.msg import Clock

    from lsv_bringup.graph_monitor import message_class
    from lsv_bringup.player import BagPlayer
    from lsv_common.testing import spin_until, start_node

    inputs = sorted({t for n in nodes for t in n.inputs.values()})
    procs = []
    for n in nodes:
        remaps = {k: v for k, v in n.inputs.items() if k.startswith("~")}
        remaps.update({k: replayed(v) for k, v in n.chained.items()})
        remaps.update({k: replayed(v) for k, v in n.outputs.items()})
        procs.append(start_node(n.module, name=n.name, params_file=n.params_file, log_dir=log_dir,
                                params={"use_sim_time": True, **n.params}, remaps=remaps))
    rclpy.init()
    observer = rclpy.create_node("replay_observer")
    player = None
    outputs: dict[str, list[tuple[int, Any]]] = {}
    try:
        player = BagPlayer(bag, topics=inputs, rate=rate, clock_hz=100.0, start_offset_s=start_s,
                           duration_s=duration_s)
        assert not (set(inputs) & set(player.skipped)), f"bag {bag} cannot play {player.skipped}"
        clock = {"ns": 0}
        observer.create_subscription(Clock, "/clock", lambda m: clock.__setitem__(
            "ns", m.clock.sec * NS + m.clock.nanosec), 10)
        for n in nodes:
            for system_topic in n.outputs.values():
                topic = replayed(system_topic)
                outputs[topic] = []
                type_name = OUTPUT_TYPES.get(system_topic) or (
                    player.source.topics[system_topic].type_name if system_topic in player.source.topics else None)
                assert type_name is not None, f"{system_topic} is not in {bag}: cannot know its type"
                cls = message_class(type_name)
                observer.create_subscription(cls, topic, lambda m, t=topic: outputs[t].append((clock["ns"], m)),
                                             QoSProfile(depth=200))
        missing = player.wait_for_subscribers(STARTUP_TIMEOUT_S, topics=inputs)
        assert not missing, f"no subscriber on {missing}: " + "".join(p.log()[-2000:] for p in procs)
        assert spin_until(observer, lambda: all(observer.count_publishers(t) for t in outputs), 30.0), \
            "a node's output publisher never appeared"
        done = threading.Event()
        stats = {}

        def play() -> None:
            stats["s"] = player.play()
            done.set()

        threading.Thread(target=play, daemon=True).start()
        spin_until(observer, done.is_set, player.source.duration_s / rate + 120.0)
        assert done.is_set(), "the player did not finish"
        end = time.monotonic() + 1.0
        spin_until(observer, lambda: time.monotonic() > end, 2.0)  # the last outputs in flight
        published = stats["s"].published
    finally:
        if player is not None:
            player.stop()
            player.close()
        observer.destroy_node()
        rclpy.shutdown()
        for p in procs:
            p.stop()
    return ReplayResult(outputs, {p.name: p.log() for p in procs}, published)
