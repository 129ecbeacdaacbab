"""``simulator`` node: runs one scenario of the pure ``core.Simulator`` against the stack.

1. Owns ``/clock`` (the stack runs with ``use_sim_time``): real time (paced to
   ``realtime_factor``) or synchronous (at every ``sync.control_period_ms`` it publishes the
   new time and waits until the stack's ``/vehicle/command`` for that time was seen *and*
   ``sync.frames_after_command`` drive frames from the bridge arrived after it, like CARLA's
   synchronous mode; the command topic only says that the stack answered, the ego obeys the
   CAN frames alone).
2. The simulated chassis ECU runs in this process on the CAN bus (``bus.*``, same DBC
   mapping as the bridge): frames received are handed to the core at the current simulated
   time; the status frames go out as the ECU schedules them.
3. Publishes ground truth (ego odometry, actors, lights), the mission goals, and, when the
   scenario turns V2X on, sends the road-side unit's UPER datagrams to the v2x_client over
   UDP on loopback.
4. At the end of the scenario writes ``summary.json`` and the plots to ``report_dir``,
   prints the summary table and, with ``exit_when_done``, exits with status 0. The comfort
   figures leave out the emergency stops (``lsv_sim.emergency``): the stack's MRM state on
   ``~/input/mrm_state`` and the ECU's mode, recorded at every step in both clock modes.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import can
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String

from lsv_can_bridge.bus import BusOpenError, BusReader, open_bus
from lsv_can_bridge.chassis_config import ChassisConfigError, load_chassis_config
from lsv_can_bridge.params import BusParams
from lsv_common.convert import yaw_quaternion_msg
from lsv_common.geometry import box_heading
from lsv_common.node import OK, WARN, Diagnostics, load_params, run_node, status
from lsv_common.params import ParameterError, spec
from lsv_msgs.msg import (
    MissionGoal,
    TrackedObject,
    TrackedObjectArray,
    TrafficSignal,
    TrafficSignalArray,
    VehicleCommand,
)
from lsv_sim import clock as simclock
from lsv_sim import sensor_faults
from lsv_sim.chassis_ecu import EcuParams
from lsv_sim.core import DiagnosticsLog, GroundTruth, ScenarioRsu, SimParams, Simulator, malform
from lsv_sim.dynamics import VehicleParams
from lsv_sim.emergency import EmergencyRecorder
from lsv_sim.evaluation import PERCEPTION_MODES, PERCEPTION_STACK, summary_table, write_report
from lsv_sim.perceived import COLUMNS as PERCEIVED_COLUMNS
from lsv_sim.perceived import PerceptionRecord
from lsv_sim.scenario import ScenarioError, load_scenario, resolve_path

NS = 1_000_000_000
PROGRESS_PERIOD_S = 5.0  # s of simulated time between progress lines
KILL_ANNOUNCEMENT = "FAULT kill_node"  # log line `FAULT kill_node <node> at t = <s> s`: lsv suite kills <node>
DEGRADED_AFTER_TIMEOUTS = 3  # sync timeouts in a row after a kill_node fault -> sync.degraded_timeout_s per step
CLOCK_REPUBLISH_NS = 100_000_000  # ns (wall); sync mode repeats the current /clock while it waits
STATUS_KEEPALIVE_NS = 20_000_000  # ns (wall); sync mode repeats the chassis status frames while it waits


@dataclass(frozen=True)
class SimNodeParams:
    scenario: str = field(default="", metadata=spec(
        "scenario YAML file, or the name of a shipped scenario ('' = the default scenario)", optional=True))
    report_dir: str = field(default="", metadata=spec(
        "folder for summary.json and the plots at the end ('' = no report)", optional=True))
    mode: str = field(default="realtime", metadata=spec(
        "clock mode", choices=("realtime", "sync"), optional=True))
    perception: str = field(default=PERCEPTION_STACK, metadata=spec(
        "what the stack's planner and controller see, recorded in summary.json: 'stack' (its own perception) or "
        "'oracle' (this node's ground truth; set by the launch file's oracle argument)",
        choices=tuple(PERCEPTION_MODES), optional=True))
    realtime_factor: float = field(default=1.0, metadata=spec(
        "real-time mode: simulated seconds per wall second (0 = as fast as possible)", min=0.0, max=100.0,
        optional=True))
    duration_s: float = field(default=0.0, metadata=spec(
        "stop after this simulated time (0 = the scenario's duration)", unit="s", min=0.0, optional=True))
    exit_when_done: bool = field(default=True, metadata=spec(
        "exit the process (status 0) when the scenario has ended and the report is written", optional=True))
    start_time_utc_s: float = field(default=1_780_300_800.0, metadata=spec(
        "UTC time of the scenario start published on /clock (fixed: identical runs stay identical)", unit="s",
        min=0.0, optional=True))
    sync_control_period_ms: float = field(default=20.0, metadata=spec(
        "sync mode: wait for the stack's command every this much simulated time", unit="ms", min=1.0, max=1000.0,
        optional=True, name="sync.control_period_ms"))
    sync_frames_after_command: int = field(default=2, metadata=spec(
        "sync mode: drive frames from the bridge after the command before the step runs", min=1, max=10,
        optional=True, name="sync.frames_after_command"))
    sync_timeout_s: float = field(default=2.0, metadata=spec(
        "sync mode: wall time after which a step runs without the command (counted, warned)", unit="s",
        min=0.05, max=60.0, optional=True, name="sync.timeout_s"))
    sync_degraded_timeout_s: float = field(default=0.2, metadata=spec(
        "sync mode: after a kill_node fault and 3 timeouts in a row, each step waits for the stack's command "
        "alone (no drive frames: the bridge may be the killed node), at most this long", unit="s", min=0.001,
        max=60.0, optional=True, name="sync.degraded_timeout_s"))
    sync_fault_hold_s: float = field(default=1.0, metadata=spec(
        "sync mode: wall time the simulated time stands still after announcing a kill_node fault, so that the "
        "launcher side (lsv suite) kills the node at that simulated time", unit="s", min=0.0, max=30.0,
        optional=True, name="sync.fault_hold_s"))
    sync_startup_wait_s: float = field(default=10.0, metadata=spec(
        "sync mode: wall time to wait for a /vehicle/command publisher before the first step", unit="s",
        min=0.0, max=300.0, optional=True, name="sync.startup_wait_s"))
    ground_truth_rate_hz: float = field(default=50.0, metadata=spec(
        "ground-truth publish rate (simulated time)", unit="Hz", min=1.0, max=200.0, optional=True))
    chassis_config: str = field(default="dbc/lsv_chassis.yaml", metadata=spec(
        "chassis mapping YAML of lsv_can_bridge; must match the bridge's", optional=True))
    bus_interface: str = field(default="udp_multicast", metadata=spec(
        "python-can interface", optional=True, name="bus.interface"))
    bus_channel: str = field(default="239.74.163.1", metadata=spec(
        "python-can channel", optional=True, name="bus.channel"))
    bus_bitrate: int = field(default=500000, metadata=spec(
        "CAN bitrate", unit="bit/s", min=10_000, max=1_000_000, optional=True, name="bus.bitrate"))
    truth_as_localization: bool = field(default=False, metadata=spec(
        "also publish the ground-truth odometry on ~/output/localization (a stand-in while no localization node "
        "runs; remap it to /localization/odometry)", optional=True))
    sensors_lidar: bool = field(default=True, metadata=spec(
        "render and publish the lidar (district maps: needs the world's mesh)", optional=True, name="sensors.lidar"))
    sensors_camera: bool = field(default=True, metadata=spec(
        "render and publish the camera (district maps)", optional=True, name="sensors.camera"))
    sensors_gnss: bool = field(default=True, metadata=spec("publish GNSS fixes", optional=True, name="sensors.gnss"))
    sensors_imu: bool = field(default=True, metadata=spec("publish IMU samples", optional=True, name="sensors.imu"))
    sensors_light_states: bool = field(default=True, metadata=spec(
        "publish the light states an ideal camera light classifier would report (ground truth of the heads in the "
        "camera's view, no timing, camera rate) on ~/output/ground_truth/visible_signals: the oracle light "
        "perception of runs without camera perception (district maps)", optional=True, name="sensors.light_states"))
    light_states_range_m: float = field(default=50.0, metadata=spec(
        "farthest traffic-light head the oracle light perception reports", unit="m", min=5.0, max=200.0,
        optional=True, name="sensors.light_states_range_m"))
    rsu_target_address: str = field(default="127.0.0.1", metadata=spec(
        "where the simulated RSU sends its datagrams (loopback: never off this machine)", optional=True,
        name="rsu.target_address"))
    rsu_target_port: int = field(default=30300, metadata=spec(
        "v2x_client UDP port", min=1, max=65535, optional=True, name="rsu.target_port"))
    rsu_profile: str = field(default="csae53", metadata=spec(
        "V2X message set of the codec", optional=True, name="rsu.profile"))


def _stamp(ns: int) -> object:
    from builtin_interfaces.msg import Time

    return Time(sec=int(ns // NS), nanosec=int(ns % NS))


ACTOR_CLASSES = {"pedestrian": "PEDESTRIAN", "cyclist": "CYCLIST", "car": "CAR", "parked_car": "CAR",
                 "emergency_vehicle": "EMERGENCY_VEHICLE"}  # ActorType value -> lsv_sim.world.ObjectClass name


CAMERA_OF = {"light_states": "camera"}  # what the oracle light perception sees through: camera faults apply


class SensorSuite:
    """Samples the simulated sensors (``lsv_sim.sensors`` cores) at their rates in simulated time
    and publishes them stamped with the simulated sampling time. Lidar and camera need a world
    with a static mesh (the district); GNSS and IMU work on any world."""

    def __init__(self, node: Node, sim: Simulator, p: SimNodeParams, t0_ns: int):
        from sensor_msgs.msg import CameraInfo, Image, Imu, NavSatFix, PointCloud2

        from lsv_sim import sensors
        from lsv_sim.sensors import gnss_imu, messages

        self.node, self.sim, self.t0_ns = node, sim, t0_ns
        self.sensors, self.gi, self.messages = sensors, gnss_imu, messages
        self.ext = load_params(node, sensors.Extrinsics)
        k = sim.scenario.sensor_noise_scale  # a suite seed's noise draw (lsv_sim.scenario.randomize)
        g = load_params(node, gnss_imu.GnssParams)
        self.gnss_p = replace(g, horizontal_std_m=k * g.horizontal_std_m, vertical_std_m=k * g.vertical_std_m)
        i = load_params(node, gnss_imu.ImuParams)
        self.imu_p = replace(i, gyro_std_rps=k * i.gyro_std_rps, accel_std_mps2=k * i.accel_std_mps2,
                             orientation_std_rad=k * i.orientation_std_rad)
        self.rng = np.random.default_rng(sim.scenario.seed + 1)
        self.last: dict[str, list[tuple[object, object]]] = {}  # sensor -> its last (publisher, message)s
        self.frozen: dict[str, int] = {}  # sensor -> messages repeated by a <sensor>_freeze fault
        self.errors = 0
        self.published: dict[str, int] = {}
        self.busy_s: dict[str, float] = {}  # wall time per sensor (sampling + conversion + publishing)
        self.zones = list(getattr(sim.world, "gnss_dropout_zones", []) or [])
        self.lidar = self.camera = None
        mesh = sim.world.static_mesh() if hasattr(sim.world, "static_mesh") and (p.sensors_lidar or p.sensors_camera) \
            else None
        if mesh is not None and p.sensors_lidar:
            from lsv_sim.sensors.lidar import Lidar, LidarParams

            self.lidar = Lidar(load_params(node, LidarParams), mesh)
            self.lidar_pub = node.create_publisher(PointCloud2, "~/output/lidar/points", 2)
        if mesh is not None and p.sensors_camera:
            from lsv_sim.sensors.camera import Camera, CameraParams

            caster = self.lidar.caster if self.lidar is not None else None
            self.camera = Camera(load_params(node, CameraParams), None if caster else mesh,
                                 getattr(sim.world, "traffic_lights", ()), caster=caster)
            self.image_pub = node.create_publisher(Image, "~/output/camera/image", 2)
            self.info_pub = node.create_publisher(CameraInfo, "~/output/camera/camera_info", 2)
        self.gnss_pub = node.create_publisher(NavSatFix, "~/output/gnss/fix", 10) if p.sensors_gnss else None
        self.imu_pub = node.create_publisher(Imu, "~/output/imu", 50) if p.sensors_imu else None
        from lsv_sim.sensors.camera import CameraParams

        self.camera_p = self.camera.params if self.camera else load_params(node, CameraParams)
        self.light_range_m = p.light_states_range_m
        self.heads = list(getattr(sim.world, "traffic_lights", None) or []) if p.sensors_light_states else []
        self.lights_pub = node.create_publisher(TrafficSignalArray, "~/output/ground_truth/visible_signals", 10) \
            if self.heads else None
        step = sim.step_ns

        def every(rate_hz: float) -> int:
            return max(1, round(NS / rate_hz / step))

        self.every = {"lidar": every(self.lidar.params.rate_hz) if self.lidar else 0,
                      "camera": every(self.camera.params.rate_hz) if self.camera else 0,
                      "gnss": every(self.gnss_p.rate_hz), "imu": every(self.imu_p.rate_hz),
                      "light_states": every(self.camera_p.rate_hz) if self.heads else 0}
        self._signal_of_light = self._match_lights()

    def _match_lights(self) -> dict[int, int]:
        """World traffic-light id -> index of the scenario light on the same stop line."""
        out: dict[int, int] = {}
        lines = getattr(self.sim.world, "stop_lines", None) or []
        lines = {sl.id: sl for sl in (lines.values() if isinstance(lines, dict) else lines)}
        for tl in getattr(self.sim.world, "traffic_lights", None) or []:
            sl = lines.get(tl.stop_line_id)
            if sl is None:
                continue
            mid = np.asarray(sl.points, float)[:, :2].mean(axis=0)
            for i, lt in enumerate(self.sim.scenario.lights):
                if np.hypot(*(np.mean(np.asarray(lt.stop_line), axis=0) - mid)) < 1.0:
                    out[tl.id] = i
        return out

    def _base(self, gt: GroundTruth) -> np.ndarray:
        vs = gt.ego
        z = float(np.asarray(self.sim.world.height_at(np.array([[vs.x_m, vs.y_m]]))).reshape(-1)[0])
        return self.sensors.pose_matrix(vs.x_m, vs.y_m, z, 0.0, -gt.ego_pitch_rad, vs.yaw_rad)

    def _actors(self, gt: GroundTruth) -> list:
        from lsv_sim.world import ObjectClass

        return [self.sensors.Actor(k + 1, int(ObjectClass[ACTOR_CLASSES[a.type.value]]),
                                   (a.x_m, a.y_m, a.z_m, a.yaw_rad), (a.length_m, a.width_m, a.height_m))
                for k, a in enumerate(gt.actors)]

    def sample(self, steps: int) -> None:
        """Sample and publish what is due at this step (errors are counted and logged, never fatal)."""
        due = [k for k, n in self.every.items() if n and steps % n == 0]
        faults = self.sim.faults()
        due = [k for k in due if f"{CAMERA_OF.get(k, k)}_dropout" not in faults]
        if not due:
            return
        frozen = [k for k in due if f"{CAMERA_OF.get(k, k)}_freeze" in faults and k in self.last]
        for kind in frozen:  # a frozen driver: the very same message again (stamp included)
            for pub, msg in self.last[kind]:
                pub.publish(msg)
            self.frozen[kind] = self.frozen.get(kind, 0) + 1
        due = [k for k in due if k not in frozen]
        if not due:
            return
        gt = self.sim.ground_truth()
        stamp_ns = self.t0_ns + gt.t_ns
        active = self.sim.scenario.faults_active(gt.t_ns / NS)
        for kind in due:
            t0 = time.perf_counter()
            try:
                # sensor_clock_offset: that sensor's stamps run ahead (or behind) of the clock
                offset_ns = sensor_faults.clock_offset_ns(active, CAMERA_OF.get(kind, kind))
                out = getattr(self, f"_{kind}")(gt, stamp_ns + offset_ns, self.messages)
                for pub, msg in out:
                    pub.publish(msg)
                self.last[kind] = out
                self.published[kind] = self.published.get(kind, 0) + 1
            except (ValueError, RuntimeError, IndexError, KeyError) as err:
                self.errors += 1
                self.node.get_logger().error(f"{kind} sensor failed: {err}", throttle_duration_sec=5.0)
            self.busy_s[kind] = self.busy_s.get(kind, 0.0) + time.perf_counter() - t0

    def _fault_size(self, gt: GroundTruth, ftype: str) -> float | None:
        """The magnitude of the active fault of that type (the largest if several), None when none is."""
        sizes = [f.size for f in self.sim.scenario.faults_active(gt.t_ns / NS) if f.type == ftype]
        return max(sizes) if sizes else None

    def _lidar(self, gt: GroundTruth, stamp_ns: int, messages) -> list:
        pose = self._base(gt) @ self.ext.matrix("lidar")
        scan = self.lidar.scan(pose, self._actors(gt), self.rng)
        width = self._fault_size(gt, "lidar_occluded")
        if width is not None:  # lidar_occluded: no returns in the sector ahead
            kept = ~sensor_faults.occluded(scan.points, width)
            scan = type(scan)(*(a[kept] for a in scan))
        return [(self.lidar_pub, messages.pointcloud(scan, stamp_ns))]

    def _camera(self, gt: GroundTruth, stamp_ns: int, messages) -> list:
        pose = self._base(gt) @ self.ext.matrix("camera")
        signals = {}
        for tl_id, i in self._signal_of_light.items():
            name = gt.lights[i].state.name.lower()
            if name in ("red", "yellow", "green"):
                signals[tl_id] = name
        frame = self.camera.render(pose, self._actors(gt), None, self.rng, signals)
        share = self._fault_size(gt, "camera_blinded")
        if share is not None:  # camera_blinded: sun glare over that share of the frame
            frame = frame._replace(rgb=sensor_faults.blind(frame.rgb, share))
        return [(self.image_pub, messages.image(frame, stamp_ns)),
                (self.info_pub, messages.camera_info(self.camera.camera_info(), stamp_ns))]

    def _light_states(self, gt: GroundTruth, stamp_ns: int, messages) -> list:
        from lsv_sim.sensors.camera import lights_in_view

        pose = self._base(gt) @ self.ext.matrix("camera")
        msg = TrafficSignalArray()
        msg.header.stamp = _stamp(stamp_ns)
        msg.header.frame_id = "map"
        if self._fault_size(gt, "camera_blinded") is not None:  # a blinded camera sees no lamp: nothing reported
            return [(self.lights_pub, msg)]
        for tl in lights_in_view(self.heads, pose, self.camera_p, self.light_range_m):
            i = self._signal_of_light.get(tl.id)
            if i is None:
                continue
            state = int(gt.lights[i].state)
            if state in (TrafficSignal.STATE_UNAVAILABLE, TrafficSignal.STATE_DARK):
                continue
            msg.signals.append(TrafficSignal(region_id=1, intersection_id=tl.intersection_id, phase_id=tl.phase_id,
                                             lanelet_id=tl.lanelet_ids[0] if tl.lanelet_ids else 0, state=state,
                                             confidence=1.0, source=TrafficSignal.SOURCE_PERCEPTION))
        return [(self.lights_pub, msg)]

    def _gnss(self, gt: GroundTruth, stamp_ns: int, messages) -> list:
        if self.gnss_pub is None:
            return []
        antenna = (self._base(gt) @ self.ext.matrix("gnss"))[:3, 3]
        jump = sum(f.size for f in self.sim.scenario.faults_active(gt.t_ns / NS) if f.type == "gnss_jump")
        if jump:  # gnss_jump: the fixes move by `magnitude` m to the north-east while the fault lasts
            antenna = antenna + np.array([jump / math.sqrt(2.0), jump / math.sqrt(2.0), 0.0])
        fix = self.gi.gnss_measure(self.gnss_p, antenna, self.sim.world.to_geodetic, self.zones, self.rng)
        return [(self.gnss_pub, messages.navsatfix(fix, stamp_ns))]

    def _imu(self, gt: GroundTruth, stamp_ns: int, messages) -> list:
        if self.imu_pub is None:
            return []
        vs = gt.ego
        truth = self.gi.vehicle_imu_truth(vs.yaw_rad, vs.speed_mps, vs.accel_mps2, vs.yaw_rate_rps,
                                          math.tan(gt.ego_pitch_rad))
        return [(self.imu_pub, messages.imu(self.gi.imu_measure(self.imu_p, truth, self.rng), stamp_ns))]


class SimulatorNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("simulator", **node_kwargs)
        # 1. parameters and the scenario
        self.params = load_params(self, SimNodeParams)
        sim_params = load_params(self, SimParams)
        ecu_params = load_params(self, EcuParams)
        vehicle = load_params(self, VehicleParams)
        p = self.params
        try:
            self.scenario = load_scenario(p.scenario or None)
            config = load_chassis_config(p.chassis_config)
        except ScenarioError as err:
            raise ParameterError(f"scenario: {err}") from err
        except ChassisConfigError as err:
            raise ParameterError(f"chassis_config: {err}") from err
        self.sim = Simulator(self.scenario, config, params=sim_params, ecu_params=ecu_params, vehicle=vehicle)
        self.duration_ns = round((p.duration_s or self.scenario.duration_s) * NS)
        self._t0_ns = round(p.start_time_utc_s * NS)
        self._drive_ids = {mm.frame_id for mm in config.commands if mm.role == "drive"}
        self._lock = threading.Lock()
        self._inbox: list[can.Message] = []
        self._wake = threading.Event()
        self._command_stamp_ns: int | None = None  # newest command stamp, sim time since the start
        self._stop = threading.Event()
        self.finished = threading.Event()
        self.summary: dict | None = None
        self.sync_timeouts = 0
        self._timeouts_in_a_row = 0
        self._degraded = False
        self._kills_announced: set[int] = set()
        self.tx_errors = 0
        self.udp_sent = 0
        self.udp_errors = 0
        self._wall_start: float | None = None
        # wall time spent per part of the loop (run_info.txt): where a real-time factor < 1 comes from
        self.busy_s = dict.fromkeys(("wait_for_command", "wait_for_frames", "step", "pacing", "clock_can", "sensors",
                                     "visibility", "truth_v2x"), 0.0)
        # 2. bus (the chassis ECU lives in the core, on this bus)
        try:
            self.bus = open_bus(BusParams(p.bus_interface, p.bus_channel, p.bus_bitrate))
        except BusOpenError as err:
            raise ParameterError(f"bus: {err}") from err
        # 3. topics
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.odom_pub = self.create_publisher(Odometry, "~/output/ground_truth/odometry", 10)
        self.localization_pub = self.create_publisher(Odometry, "~/output/localization", 10) \
            if p.truth_as_localization else None
        self.objects_pub = self.create_publisher(TrackedObjectArray, "~/output/ground_truth/objects", 10)
        self.lights_pub = self.create_publisher(TrafficSignalArray, "~/output/ground_truth/traffic_signals", 10)
        latched = QoSProfile(depth=50, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                             reliability=ReliabilityPolicy.RELIABLE)
        self.goal_pub = self.create_publisher(MissionGoal, "~/output/mission_goals", latched)
        self.command_sub = self.create_subscription(VehicleCommand, "~/input/command", self._on_command, 10)
        self.diagnostics = Diagnostics(self, self._diagnostics)
        # what the stack says on /diagnostics, in simulated time (the cause of a fault must show there)
        self.diag_log = DiagnosticsLog()
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        # emergency stops (the stack's MRM state, the ECU out of AUTO): left out of the comfort figures
        self.emergency = EmergencyRecorder()
        self.create_subscription(String, "~/input/mrm_state", self._on_mrm_state, 10)
        # what the stack perceived (its tracker's output, remapped to /perception/objects; nobody publishes it
        # with --oracle) and what its lidar could see (below): the evaluation's perception checks
        self.perceived = PerceptionRecord()
        self.create_subscription(TrackedObjectArray, "~/input/perceived_objects", self._on_perceived, 10)
        # 4. sensors (the world/sensor cores of lsv_sim.sensors)
        self.sensors: SensorSuite | None = None
        try:
            self.sensors = SensorSuite(self, self.sim, p, self._t0_ns)
        except ImportError as err:
            self.get_logger().warning(f"simulated sensors unavailable ({err}): ground truth, CAN and V2X only")
        self._visibility = None  # the lidar's beams through its ray caster: returns per actor at every scan
        if self.sensors is not None and self.sensors.lidar is not None:
            from lsv_sim.visibility import LidarVisibility

            self._visibility = LidarVisibility(self.sensors.lidar.caster, self.sensors.lidar.params)
        # 5. V2X
        self.rsu = ScenarioRsu(self.scenario, self.sim.world) if self.scenario.v2x.enabled else None
        self._codec = None
        self._sock: socket.socket | None = None
        if self.rsu is not None:
            from lsv_sim.rsu import RsuSigner
            from lsv_v2x_client.codec import Codec

            self._codec = Codec(p.rsu_profile)
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._signer = RsuSigner()  # the TEST-ONLY key the simulator's trust store knows
            self._forger: tuple[socket.socket, RsuSigner] | None = None  # v2x_forged_green: another sender
            self._forged_sent = 0
        # 6. go: CAN receive thread and the simulation thread
        self.reader = BusReader(self.bus, self._on_frame, name="sim-can-rx").start()
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()
        self.get_logger().info(
            f"scenario '{self.scenario.name}' ({resolve_path(p.scenario or None)}), {p.mode} mode, "
            f"{self.duration_ns / NS:g} s, chassis ECU on {p.bus_interface}:{p.bus_channel}, "
            f"V2X {'on, to ' + p.rsu_target_address + ':' + str(p.rsu_target_port) if self.rsu else 'off'}"
            + (f", report -> {p.report_dir}" if p.report_dir else ""))

    # ------------------------------------------------------------------ inputs (other threads)
    def _on_frame(self, now_ns: int, msg: can.Message) -> None:
        with self._lock:
            self._inbox.append(msg)
        self._wake.set()

    def _on_command(self, msg: VehicleCommand) -> None:
        stamp = msg.header.stamp.sec * NS + msg.header.stamp.nanosec - self._t0_ns
        with self._lock:
            if self._command_stamp_ns is None or stamp > self._command_stamp_ns:
                self._command_stamp_ns = stamp
        self._wake.set()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        t_s = self.sim.t_s  # the stack's statuses are stamped with /clock; what counts is when they came
        for st in msg.status:
            if st.name.startswith(self.get_name()):
                continue
            level = st.level[0] if isinstance(st.level, (bytes, bytearray)) else int(st.level)
            values = {}
            for kv in st.values:
                try:
                    values[kv.key] = float(kv.value)
                except ValueError:
                    continue
            with self._lock:
                self.diag_log.update(t_s, st.name, level, st.message, values)

    def _on_mrm_state(self, msg: String) -> None:
        with self._lock:
            self.emergency.on_mrm_state(self.sim.t_s, msg.data)

    def _on_perceived(self, msg: TrackedObjectArray) -> None:
        """Keep the confirmed tracks (map frame) in simulated time: stamp (the lidar scan they come from)
        and arrival."""
        if msg.header.frame_id != "map" and msg.objects:
            self.get_logger().warning(f"perceived objects in frame '{msg.header.frame_id}', expected 'map': "
                                      "not recorded", throttle_duration_sec=5.0)
            return
        stamp_s = (msg.header.stamp.sec * NS + msg.header.stamp.nanosec - self._t0_ns) / NS
        rows = [(o.object_id, o.pose.pose.position.x, o.pose.pose.position.y, o.source_mask, o.classification,
                 o.velocity.twist.linear.x, o.velocity.twist.linear.y,
                 *box_heading(o.pose.pose.orientation, o.dimensions.x, o.dimensions.y)[:3])
                for o in msg.objects if o.confirmed]
        with self._lock:
            self.perceived.add_perceived(stamp_s, self.sim.t_s,
                                         np.array(rows, dtype=np.float64).reshape(-1, len(PERCEIVED_COLUMNS)))

    def _record_visibility(self) -> None:
        """At the lidar's scan steps: how many returns of a noise-free scan fall on each actor (read-only use
        of the sensor suite's lidar pose, actors and caster, so that it is the lidar's own view)."""
        sensors = self.sensors
        if self._visibility is None or sensors is None or self.sim.steps % sensors.every["lidar"] != 0:
            return
        gt = self.sim.ground_truth()
        pose = sensors._base(gt) @ sensors.ext.matrix("lidar")
        returns = self._visibility.returns(pose, sensors._actors(gt))
        with self._lock:
            self.perceived.add_visibility(self.sim.t_s, returns)

    def _drain(self) -> int:
        """Hand the received frames to the core at the current simulated time; count valid drive frames."""
        with self._lock:
            inbox, self._inbox = self._inbox, []
        drive = 0
        for msg in inbox:
            if self.sim.on_can_frame(msg.arbitration_id, msg.data, msg.is_extended_id) \
                    and msg.arbitration_id in self._drive_ids:
                drive += 1
        return drive

    def _command_expected(self) -> bool:
        return self.count_publishers(self.command_sub.topic_name) > 0

    # ------------------------------------------------------------------ the simulation thread
    def _run(self) -> None:
        try:
            self._simulate()
        except Exception as err:
            self.get_logger().error(f"simulation failed: {type(err).__name__}: {err}")
            raise
        finally:
            self.finished.set()
            if self.params.exit_when_done and not self._stop.is_set():
                self.context.try_shutdown()

    def _simulate(self) -> None:
        p = self.params
        sync = p.mode == "sync"
        pacer = simclock.RealTimePacer(p.realtime_factor if not sync else 0.0)
        gate_params = simclock.SyncParams(p.sync_frames_after_command, round(p.sync_timeout_s * NS))
        control_steps = max(1, round(p.sync_control_period_ms * 1e6 / self.sim.step_ns))
        truth_every = max(1, round(NS / p.ground_truth_rate_hz / self.sim.step_ns))
        rsu_every = max(1, round(0.1 * NS / self.sim.step_ns))
        self._publish_goals()
        self._publish_clock()
        if sync and p.sync_startup_wait_s > 0.0:
            deadline = time.monotonic() + p.sync_startup_wait_s
            while not self._stop.is_set() and not self._command_expected() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.get_logger().info("sync mode: " + ("the stack's control command is there, stepping in lock-step"
                                                    if self._command_expected() else
                                                    "no /vehicle/command publisher yet, stepping without waiting"))
        self._wall_start = time.monotonic()
        next_progress = PROGRESS_PERIOD_S
        busy = self.busy_s
        while not self._stop.is_set() and self.sim.t_ns < self.duration_ns:
            if not sync:
                self._drain()
            elif self.sim.steps % control_steps == 0:
                # frames reach the ECU only here, all at the gate's time and the fresh ones last, so
                # what arrives between gates (e.g. a bridge timeout while a camera frame renders)
                # cannot change the run
                self._wait_for_stack(gate_params)
            t1 = time.perf_counter()
            t_step = self.sim.t_s
            self.sim.step()
            with self._lock:  # the mode the ECU drove this step with
                self.emergency.on_ecu_mode(t_step, self.sim.ecu.state.mode)
            self._announce_kills(sync)
            t2 = time.perf_counter()
            if not sync:
                delay = pacer.delay_ns(self.sim.t_ns, time.monotonic_ns())
                if delay > 0:
                    self._stop.wait(delay / NS)
            t3 = time.perf_counter()
            self._publish_clock()
            self._send_frames(self.sim.status_frames())
            t4 = time.perf_counter()
            if self.sensors is not None:
                self.sensors.sample(self.sim.steps)
            t5 = time.perf_counter()
            self._record_visibility()
            busy["visibility"] += time.perf_counter() - t5
            t5 = time.perf_counter()
            gt = None
            if self.sim.steps % truth_every == 0:
                gt = self.sim.ground_truth()
                self._publish_truth(gt)
            if self.rsu is not None and self.sim.steps % rsu_every == 0 and "v2x_silent" not in self.sim.faults():
                self._send_v2x(gt or self.sim.ground_truth())
            t6 = time.perf_counter()
            busy["step"] += t2 - t1
            busy["pacing"] += t3 - t2
            busy["clock_can"] += t4 - t3
            busy["sensors"] += t5 - t4
            busy["truth_v2x"] += t6 - t5
            if self.sim.t_s >= next_progress:
                next_progress += PROGRESS_PERIOD_S
                self._progress()
        if self._stop.is_set():
            return
        self._finish()

    def _announce_kills(self, sync: bool) -> None:
        """kill_node faults due now: say so on the log (``lsv suite`` kills the process when it reads
        the line) and, in sync mode, hold the simulated time so the kill lands at this time."""
        for i, f in enumerate(self.scenario.faults):
            if f.type != "kill_node" or i in self._kills_announced or self.sim.t_s < f.at_s:
                continue
            self._kills_announced.add(i)
            self.get_logger().warning(f"{KILL_ANNOUNCEMENT} {f.target} at t = {self.sim.t_s:.3f} s")
            if sync and self.params.sync_fault_hold_s > 0.0:
                self._hold(self.params.sync_fault_hold_s)

    def _hold(self, seconds: float) -> None:
        """Sync mode: let wall time pass with the simulated time standing still, the chassis still
        talking (status keep-alive) and /clock repeated, as while waiting for the stack."""
        deadline = time.monotonic_ns() + round(seconds * NS)
        republish_ns = time.monotonic_ns() + CLOCK_REPUBLISH_NS
        while not self._stop.is_set() and time.monotonic_ns() < deadline:
            self._send_frames(self.sim.repeat_status_frames())
            if time.monotonic_ns() >= republish_ns:
                self._publish_clock()
                republish_ns += CLOCK_REPUBLISH_NS
            self._stop.wait(STATUS_KEEPALIVE_NS / NS)

    def _wait_for_stack(self, gp: simclock.SyncParams) -> None:
        """Sync mode: hold the simulated time until the stack's command for it arrived over CAN."""
        self._drain()
        if not self._command_expected():
            return
        if self._kills_announced and self._timeouts_in_a_row >= DEGRADED_AFTER_TIMEOUTS:
            self._degraded = True  # a node was killed on purpose: the rest of the run must not wait 2 s a step
        if self._degraded:  # the controller's command alone opens the gate (the bridge may be the dead one)
            gp = simclock.SyncParams(0, round(self.params.sync_degraded_timeout_s * NS))
        gate = simclock.begin(self.sim.t_ns, time.monotonic_ns())
        waiting = simclock.GateState.WAIT_COMMAND
        t_state = time.perf_counter()
        republish_ns = time.monotonic_ns() + CLOCK_REPUBLISH_NS
        keepalive_ns = time.monotonic_ns() + STATUS_KEEPALIVE_NS
        while not self._stop.is_set():
            if time.monotonic_ns() >= republish_ns:  # a late subscriber may have missed this tick
                self._publish_clock()
                republish_ns += CLOCK_REPUBLISH_NS
            if time.monotonic_ns() >= keepalive_ns:  # the chassis ECU does not stop talking while we wait
                self._send_frames(self.sim.repeat_status_frames())
                keepalive_ns = time.monotonic_ns() + STATUS_KEEPALIVE_NS
            with self._lock:
                stamp = self._command_stamp_ns
            gate = simclock.transition(gate, simclock.GateInputs(time.monotonic_ns(), stamp, self._drain(), True), gp)
            if gate.state is not waiting:  # wall time per gate state, in the run's timing line
                now = time.perf_counter()
                self.busy_s["wait_for_frames" if waiting is simclock.GateState.WAIT_FRAMES else "wait_for_command"] += (
                    now - t_state)
                waiting, t_state = gate.state, now
            if gate.state is simclock.GateState.OPEN:
                self._timeouts_in_a_row = self._timeouts_in_a_row + 1 if gate.timed_out else 0
                if gate.timed_out:
                    self.sync_timeouts += 1
                    self.get_logger().warning(
                        f"sync: no command over CAN for t = {self.sim.t_s:.2f} s within {gp.timeout_ns / NS:g} s; "
                        "stepping on", throttle_duration_sec=5.0)
                return
            self._wake.wait(0.005)
            self._wake.clear()

    # ------------------------------------------------------------------ outputs
    def _send_frames(self, frames: list[tuple[int, bytes]]) -> None:
        for frame_id, data in frames:
            try:
                self.bus.send(can.Message(arbitration_id=frame_id, data=data, is_extended_id=frame_id > 0x7FF),
                              timeout=0.005)
            except can.CanError:
                self.tx_errors += 1

    def _now_stamp(self) -> object:
        return _stamp(self._t0_ns + self.sim.t_ns)

    def _publish_clock(self) -> None:
        self.clock_pub.publish(Clock(clock=self._now_stamp()))

    def _publish_goals(self) -> None:
        kinds = {"stop": MissionGoal.KIND_STOP, "pass": MissionGoal.KIND_STOP, "park": MissionGoal.KIND_PARK,
                 "patrol_loop": MissionGoal.KIND_PATROL_LOOP}
        for i, g in enumerate(self.scenario.goals):
            msg = MissionGoal(goal_id=g.goal_id, kind=kinds[g.kind], dwell_time_s=float(g.dwell_s), append=i > 0)
            msg.header.stamp = self._now_stamp()
            msg.header.frame_id = "map"
            msg.pose.position.x, msg.pose.position.y = g.pose.x_m, g.pose.y_m
            msg.pose.orientation = yaw_quaternion_msg(g.pose.yaw_rad)
            self.goal_pub.publish(msg)

    def _publish_truth(self, gt: GroundTruth) -> None:
        stamp = self._now_stamp()
        vs = gt.ego
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = "map"
        odom.child_frame_id = "base_link"
        odom.pose.pose.position.x, odom.pose.pose.position.y, odom.pose.pose.position.z = vs.x_m, vs.y_m, gt.ego_z_m
        odom.pose.pose.orientation = yaw_quaternion_msg(vs.yaw_rad)
        odom.twist.twist.linear.x = vs.speed_mps
        odom.twist.twist.angular.z = vs.yaw_rate_rps
        self.odom_pub.publish(odom)
        if self.localization_pub is not None:
            self.localization_pub.publish(odom)

        objs = TrackedObjectArray()
        objs.header.stamp = stamp
        objs.header.frame_id = "map"
        for k, a in enumerate(gt.actors):
            o = TrackedObject(object_id=k + 1, classification=a.classification, score=1.0, source_mask=0,
                              age=float(gt.t_ns / NS), hits=0, confirmed=True)
            o.pose.pose.position.x, o.pose.pose.position.y, o.pose.pose.position.z = a.x_m, a.y_m, a.z_m
            o.pose.pose.orientation = yaw_quaternion_msg(a.yaw_rad)
            o.velocity.twist.linear.x = a.speed_mps * math.cos(a.yaw_rad)
            o.velocity.twist.linear.y = a.speed_mps * math.sin(a.yaw_rad)
            o.dimensions.x, o.dimensions.y, o.dimensions.z = a.length_m, a.width_m, a.height_m
            objs.objects.append(o)
        self.objects_pub.publish(objs)

        sig = TrafficSignalArray()
        sig.header.stamp = stamp
        for lt in gt.lights:
            s = TrafficSignal(region_id=1, intersection_id=lt.intersection_id, phase_id=lt.phase_id,
                              state=int(lt.state), confidence=1.0, source=TrafficSignal.SOURCE_PERCEPTION)
            s.likely_end_time = _stamp(self._t0_ns + gt.t_ns + round(lt.time_to_change_s * NS))
            sig.signals.append(s)
        self.lights_pub.publish(sig)

    def _send_v2x(self, gt: GroundTruth) -> None:
        assert self.rsu is not None and self._codec is not None and self._sock is not None
        target = (self.params.rsu_target_address, self.params.rsu_target_port)
        broken = "v2x_malformed" in self.sim.faults()
        utc_ns = self._t0_ns + gt.t_ns
        for msg in self.rsu.messages(gt, utc_ns):
            try:
                payload = self._codec.encode(msg)
                # signed with the RSU's (TEST) key; v2x_malformed: broken after encoding, sent unsigned
                payload = malform(payload, self.udp_sent) if broken else self._signer.sign(payload, msg, utc_ns)
                self._sock.sendto(payload, target)
                self.udp_sent += 1
            except OSError as err:  # nobody listening yet: keep sending
                self.udp_errors += 1
                self.get_logger().warning(f"V2X send failed: {err}", throttle_duration_sec=5.0)
        for msg in self.rsu.forged(gt, utc_ns):  # v2x_forged_green: an attacker's SPaT from its own socket
            from lsv_sim.rsu import RsuSigner, forged_datagram

            if self._forger is None:
                self._forger = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM), RsuSigner.rogue())
            sock, rogue = self._forger
            try:
                sock.sendto(forged_datagram(self._codec.encode(msg), msg, utc_ns, rogue, self._forged_sent), target)
                self._forged_sent += 1
            except OSError as err:
                self.udp_errors += 1
                self.get_logger().warning(f"V2X send failed: {err}", throttle_duration_sec=5.0)

    def _rtf(self) -> float:
        wall = time.monotonic() - (self._wall_start or time.monotonic())
        return self.sim.t_s / wall if wall > 0 else 0.0

    def _progress(self) -> None:
        vs = self.sim.ego
        self.get_logger().info(
            f"t = {self.sim.t_s:5.1f} / {self.duration_ns / NS:g} s  ego {vs.speed_mps:4.1f} m/s, "
            f"{vs.distance_m:6.1f} m driven, ECU mode {self.sim.ecu.state.mode}, real-time factor {self._rtf():.2f}"
            + (f", sync timeouts {self.sync_timeouts}" if self.sync_timeouts else ""))

    def _finish(self, completed: bool = True) -> None:
        p = self.params
        rtf = self._rtf()
        what = "scenario finished" if completed else f"stopped at t = {self.sim.t_s:.1f} s, before the scenario's end"
        if p.report_dir:
            folder = Path(p.report_dir)
            with self._lock:
                diagnostics = list(self.diag_log.events)
                excluded = self.emergency.intervals()
                perceived = self.perceived
                self.perceived = PerceptionRecord()  # late messages go to a fresh one
            self.summary = write_report(folder, self.scenario, self.sim.trace, self.sim.shape, self.sim.world,
                                        completed=completed, diagnostics=diagnostics, excluded=excluded,
                                        perception=p.perception, perceived=perceived)
            (folder / "run_info.txt").write_text(
                f"scenario {self.scenario.source}\nmode {p.mode}\nperception {p.perception}\n"
                f"simulated {self.sim.t_s:.2f} s\n"
                f"completed {completed}\nreal-time factor {rtf:.3f}\nsync timeouts {self.sync_timeouts}\n"
                + "wall ms per simulated s: " + ", ".join(f"{k} {1e3 * v / max(self.sim.t_s, 1e-9):.0f}"
                                                          for k, v in self.busy_s.items())
                + ("" if self.sensors is None else " (" + ", ".join(
                    f"{k} {1e3 * v / max(self.sim.t_s, 1e-9):.0f}" for k, v in self.sensors.busy_s.items()) + ")")
                + "\n")
            table = summary_table(self.summary)
            self.get_logger().info(f"{what} (real-time factor {rtf:.2f}):\n{table}\nreport: {folder.resolve()}")
        else:
            self.get_logger().info(f"{what} after {self.sim.t_s:.1f} s (real-time factor {rtf:.2f})")

    def _diagnostics(self) -> list[DiagnosticStatus]:
        s = self.sim.ecu.state
        return [
            status("simulation", WARN if self.sync_timeouts else OK, f"{self.params.mode}, t = {self.sim.t_s:.1f} s", {
                "t_s": self.sim.t_s, "steps": self.sim.steps, "real_time_factor": self._rtf(),
                "sync_timeouts": self.sync_timeouts}),
            status("chassis ecu", OK if s.fault_bits == 0 else WARN, f"mode {s.mode}", {
                "mode": s.mode, "fault_bits": s.fault_bits, "watchdog_trips": s.watchdog_trips,
                "frames_in": self.sim.frames_in, "tx_errors": self.tx_errors, "bus_errors": self.reader.errors}),
            status("rsu", OK, "on" if self.rsu else "off", {"sent": self.udp_sent, "send_errors": self.udp_errors}),
            status("sensors", WARN if self.sensors is None or self.sensors.errors else OK,
                   "unavailable" if self.sensors is None else "publishing",
                   {} if self.sensors is None else {**self.sensors.published, "errors": self.sensors.errors}),
        ]

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(2.0)
        if self.summary is None and self.params.report_dir and self.sim.steps > 0 and not self._thread.is_alive():
            # stopped early (Ctrl-C, the launcher's --duration): still leave a report of what ran
            self._finish(completed=False)
        self.reader.stop()
        self.bus.shutdown()
        if self._sock is not None:
            self._sock.close()


def main(args: list[str] | None = None) -> int:
    return run_node(SimulatorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
