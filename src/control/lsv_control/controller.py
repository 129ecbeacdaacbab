"""The trajectory follower with its safety shell (pure, no ROS): input checks -> minimal-risk
manoeuvre -> lateral + longitudinal control -> command gate.

``Controller(params).step(now_ns, inputs) -> ControlOutput`` is one 50 Hz cycle. Every input
carries the time it was received (``received_ns``, ROS time); an input older than its timeout is
never used, it is a cause for the comfortable stop. ``now_ns`` is an argument: replaying the
same inputs gives the same commands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from lsv_common.params import ParameterError, spec
from lsv_control import command_gate, longitudinal, mrm
from lsv_control.command_gate import Command, GateParams, GateReport, GateState
from lsv_control.longitudinal import LongInputs, LongitudinalParams, LongState, LongStatus
from lsv_control.mrm import MrmInputs, MrmParams, MrmState, MrmStatus
from lsv_control.pure_pursuit import PurePursuitParams, pure_pursuit
from lsv_control.trajectory import TrajectoryArrays, interpolate, nearest_index, projection

log = logging.getLogger(__name__)

NS = 1_000_000_000
GEAR_DRIVE = 3  # VehicleCommand.GEAR_DRIVE
LIGHT_HAZARD = 16  # VehicleCommand.LIGHT_HAZARD
STATUS_MODE_ESTOP = 2  # VehicleStatus.MODE_ESTOP
STATUS_MODE_FAULT = 3  # VehicleStatus.MODE_FAULT
FAULT_BUMPER = 64  # VehicleStatus.FAULT_BUMPER
DIAG_ERROR = 2  # diagnostic_msgs/DiagnosticStatus.ERROR
DIAG_STALE = 3
FUTURE_TOLERANCE_NS = 50_000_000  # 50 ms, see Controller._fresh


@dataclass(frozen=True)
class ControllerParams:
    period_s: float = field(metadata=spec(name="period_s", description="control period", unit="s",
                                          min=0.005, max=0.1))
    odometry_timeout_s: float = field(metadata=spec(name="timeouts.odometry_s", description="odometry older than "
                                                    "this is stale", unit="s", min=0.02, max=5.0))
    trajectory_timeout_s: float = field(metadata=spec(name="timeouts.trajectory_s", description="trajectory older "
                                                      "than this is stale", unit="s", min=0.05, max=5.0))
    status_timeout_s: float = field(metadata=spec(name="timeouts.vehicle_status_s", description="vehicle status "
                                                  "older than this is stale", unit="s", min=0.02, max=5.0))
    objects_timeout_s: float = field(metadata=spec(name="timeouts.objects_s", description="tracked objects older "
                                                   "than this are stale", unit="s", min=0.05, max=5.0))
    diagnostics_timeout_s: float = field(metadata=spec(name="timeouts.diagnostics_s", description="a required node "
                                                       "silent on /diagnostics this long is a fault", unit="s",
                                                       min=0.5, max=60.0))
    max_lateral_error_m: float = field(metadata=spec(name="max_lateral_error_m", description="farther than this "
                                                     "from the trajectory is a fault", unit="m", min=0.2, max=10.0))
    max_heading_error_rad: float = field(metadata=spec(name="max_heading_error_rad", description="trajectory points "
                                                       "heading further away than this are not 'here'", unit="rad",
                                                       min=0.2, max=3.14))
    vehicle_width_m: float = field(metadata=spec(name="obstacle.vehicle_width_m", description="ego width",
                                                 unit="m", min=0.3, max=4.0))
    front_overhang_m: float = field(metadata=spec(name="obstacle.front_offset_m", description="rear axle to front "
                                                  "bumper", unit="m", min=0.0, max=10.0))
    lateral_margin_m: float = field(metadata=spec(name="obstacle.lateral_margin_m", description="corridor margin "
                                                  "each side", unit="m", min=0.0, max=3.0))
    stop_delay_s: float = field(metadata=spec(name="obstacle.delay_s", description="reaction + brake build-up time "
                                              "in the stopping distance", unit="s", min=0.0, max=2.0))
    stop_margin_m: float = field(metadata=spec(name="obstacle.margin_m", description="distance kept in front of an "
                                               "obstacle after an emergency stop", unit="m", min=0.0, max=5.0))
    required_nodes: list[str] = field(default_factory=list, metadata=spec(
        name="required_nodes", description="nodes the vehicle cannot drive without: silent on /diagnostics, "
        "restarted or at ERROR/STALE -> comfortable stop (empty: none)", optional=True))
    restart_hold_s: float = field(default=5.0, metadata=spec(
        name="restart_hold_s", description="a required node that restarted (a new run_id on /diagnostics) keeps "
        "the vehicle stopping, then at rest, this long after its first new heartbeat, so that it starts over "
        "with the vehicle at rest (a localizer started while driving can settle metres off)", unit="s", min=0.0,
        max=120.0, optional=True))
    advisory_nodes: list[str] = field(default_factory=list, metadata=spec(
        name="advisory_nodes", description="nodes whose loss the stack degrades around: silent, restarted or at "
        "ERROR/STALE -> WARN on 'controller: heartbeats', no stop (v2x_client: V2X is advice; camera_detector: the "
        "tracker drops camera fusion; traffic_light_classifier: a light without a reading is unknown, the planner "
        "stops at its line). ERROR/STALE of a node in neither list -> comfortable stop (empty: none)",
        optional=True))
    realtime_priority: int = field(default=0, metadata=spec(
        name="realtime_priority", description="SCHED_FIFO priority of the 50 Hz loop thread (0 = normal "
        "scheduling); needs CAP_SYS_NICE, warns and carries on if refused", min=0, max=99, optional=True))
    hill_start_assist: bool = field(default=True, metadata=spec(
        name="hill_start_assist", description="on an uphill start keep parking_brake requested until the "
        "jerk-limited request covers the grade (false for a chassis whose parking brake releases slowly)",
        optional=True))
    hold_steering_when_stopped: bool = field(default=True, metadata=spec(
        name="hold_steering_when_stopped", description="keep the wheel still while STOPPED", optional=True))


@dataclass(frozen=True)
class OdometryInput:
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    grade: float  # rise over run along the heading, from the localizer's pitch (0 unknown)
    received_ns: int


@dataclass(frozen=True)
class StatusInput:
    speed_mps: float
    steering_angle_rad: float
    mode: int
    fault_bits: int
    stale: bool
    received_ns: int


@dataclass(frozen=True)
class ObjectsInput:
    """Tracked objects in the map frame (float64): centres xy (N, 2) m, headings yaw (N,) rad,
    footprints size (N, 2) = length, width m."""

    xy: np.ndarray
    yaw: np.ndarray
    size: np.ndarray
    received_ns: int

    @classmethod
    def none(cls, received_ns: int) -> ObjectsInput:
        return cls(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), received_ns)

    @classmethod
    def squares(cls, xy: np.ndarray, side_m: float, received_ns: int) -> ObjectsInput:
        """Objects with square footprints of ``side_m`` (pedestrians, poles) at ``xy``."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        return cls(xy, np.zeros(len(xy)), np.full((len(xy), 2), side_m), received_ns)

    def finite(self) -> np.ndarray:
        """(N,) bool: the objects whose pose and footprint are all finite."""
        return np.isfinite(self.xy).all(axis=1) & np.isfinite(self.yaw) & np.isfinite(self.size).all(axis=1)

    def select(self, keep: np.ndarray) -> ObjectsInput:
        return ObjectsInput(self.xy[keep], self.yaw[keep], self.size[keep], self.received_ns)


def box_distance(px: np.ndarray, py: np.ndarray, objs: ObjectsInput) -> np.ndarray:
    """(objects, points) distance from each point to each object's footprint rectangle (0 inside).
    The points within ``r`` of a footprint are the footprint grown by a disc of radius ``r``:
    the corridor test of a vehicle of half width ``r`` driving through those points."""
    c, s = np.cos(objs.yaw)[:, None], np.sin(objs.yaw)[:, None]
    dx, dy = px[None, :] - objs.xy[:, 0:1], py[None, :] - objs.xy[:, 1:2]
    along = np.abs(c * dx + s * dy) - 0.5 * objs.size[:, 0:1]
    across = np.abs(c * dy - s * dx) - 0.5 * objs.size[:, 1:2]
    return np.hypot(np.maximum(along, 0.0), np.maximum(across, 0.0))


@dataclass(frozen=True)
class TrajectoryInput:
    traj: TrajectoryArrays | None  # None = an empty trajectory ("stop and hold")
    received_ns: int


@dataclass(frozen=True)
class DiagEntry:
    node: str
    level: int
    message: str
    received_ns: int


@dataclass(frozen=True)
class ControlInputs:
    odometry: OdometryInput | None = None
    trajectory: TrajectoryInput | None = None
    status: StatusInput | None = None
    objects: ObjectsInput | None = None
    diagnostics: Mapping[str, DiagEntry] = field(default_factory=dict)  # status name -> latest
    restarted: tuple[str, ...] = ()  # required nodes whose restart was seen within restart_hold_s


@dataclass(frozen=True)
class ControlOutput:
    command: Command
    mrm: MrmStatus
    long_state: LongState
    comfortable_causes: tuple[str, ...]
    emergency_causes: tuple[str, ...]
    lateral_error_m: float  # nan when unknown
    reference_speed_mps: float
    gate: GateReport
    transitioned: bool  # the MRM state changed this cycle


class Controller:
    def __init__(self, params: ControllerParams, lateral: PurePursuitParams, long: LongitudinalParams,
                 gate: GateParams, mrm_params: MrmParams):
        self.p, self.lat_p, self.long_p, self.gate_p, self.mrm_p = params, lateral, long, gate, mrm_params
        self.mrm = MrmStatus()
        self.long = LongStatus()
        self.gate = GateState()
        self._last_ns: int | None = None
        self._clear_since_ns: int | None = None
        both = sorted(set(params.required_nodes) & set(params.advisory_nodes))
        if both:
            raise ParameterError(f"required_nodes and advisory_nodes both list {', '.join(both)}: a node is one or "
                                 "the other")

    # --- input checks ---
    def _fresh(self, received_ns: int | None, timeout_s: float, now_ns: int) -> bool:
        """Received within ``timeout_s`` before ``now_ns``. A message stamped up to FUTURE_TOLERANCE after
        ``now_ns`` (it arrived while this cycle started) is fresh; one from further in the future (the ROS
        clock jumped back: a bag replay restarted) is not - old data must never look new."""
        if received_ns is None:
            return False
        age = now_ns - received_ns
        return -FUTURE_TOLERANCE_NS <= age <= timeout_s * NS

    def comfortable_causes(self, now_ns: int, inp: ControlInputs) -> list[str]:
        p = self.p
        causes = []
        if inp.odometry is None or not self._fresh(inp.odometry.received_ns, p.odometry_timeout_s, now_ns):
            causes.append("odometry stale" if inp.odometry else "odometry missing")
        if inp.trajectory is None or not self._fresh(inp.trajectory.received_ns, p.trajectory_timeout_s, now_ns):
            causes.append("trajectory stale" if inp.trajectory else "trajectory missing")
        elif inp.trajectory.traj is None:
            causes.append("trajectory empty (the planner holds the vehicle)")
        if inp.status is None or not self._fresh(inp.status.received_ns, p.status_timeout_s, now_ns):
            causes.append("vehicle status stale" if inp.status else "vehicle status missing")
        else:
            if inp.status.stale:
                causes.append("vehicle status frames timed out (chassis CAN)")
            if inp.status.mode == STATUS_MODE_FAULT or inp.status.fault_bits & ~FAULT_BUMPER:
                causes.append(f"chassis fault (mode {inp.status.mode}, fault bits {inp.status.fault_bits:#x})")
        if inp.objects is None or not self._fresh(inp.objects.received_ns, p.objects_timeout_s, now_ns):
            causes.append("tracked objects stale" if inp.objects else "tracked objects missing")
        for name, e in sorted(inp.diagnostics.items()):
            if e.node not in p.advisory_nodes and self._failing(e, now_ns):
                causes.append(f"diagnostics error: {name}: {e.message}")
        causes += [f"node silent on /diagnostics: {node}"
                   for node in self.silent_nodes(p.required_nodes, inp.diagnostics, now_ns)]
        causes += [f"node restarted: {node}" for node in inp.restarted if node in p.required_nodes]
        return causes

    def _failing(self, e: DiagEntry, now_ns: int) -> bool:
        return e.level in (DIAG_ERROR, DIAG_STALE) and self._fresh(e.received_ns, self.p.diagnostics_timeout_s, now_ns)

    def advisory_errors(self, diagnostics: Mapping[str, DiagEntry], now_ns: int) -> list[str]:
        """The ERROR/STALE statuses of advisory nodes: reported (WARN), never a cause to stop."""
        return [f"{name}: {e.message}" for name, e in sorted(diagnostics.items())
                if e.node in self.p.advisory_nodes and self._failing(e, now_ns)]

    def silent_nodes(self, nodes: list[str], diagnostics: Mapping[str, DiagEntry], now_ns: int) -> list[str]:
        """Those of ``nodes`` with no /diagnostics heartbeat within the diagnostics timeout."""
        seen: dict[str, int] = {}
        for e in diagnostics.values():
            seen[e.node] = max(seen.get(e.node, e.received_ns), e.received_ns)
        return [n for n in nodes if n not in seen or not self._fresh(seen[n], self.p.diagnostics_timeout_s, now_ns)]

    def stopping_distance_m(self, speed_mps: float) -> float:
        """Distance from the front bumper needed for an emergency stop from ``speed_mps``, with the margin."""
        v = abs(speed_mps)
        return v * self.p.stop_delay_s + v * v / (2.0 * self.mrm_p.emergency_decel_mps2) + self.p.stop_margin_m

    def obstacle_ahead(self, inp: ControlInputs, speed_mps: float, s_vehicle: float | None) -> str:
        """A cause string when a tracked object is inside the stopping distance in the driving corridor."""
        odo, objs = inp.odometry, inp.objects
        if odo is None or objs is None or objs.xy.shape[0] == 0:
            return ""
        reach = self.p.front_overhang_m + self.stopping_distance_m(speed_mps)
        ds = np.linspace(0.0, reach, max(2, math.ceil(reach / 0.25) + 1))
        traj = inp.trajectory.traj if inp.trajectory is not None else None
        if traj is not None and s_vehicle is not None and traj.size > 1:
            s = s_vehicle + ds
            px = np.interp(s, traj.s_m, traj.x_m)
            py = np.interp(s, traj.s_m, traj.y_m)
            beyond = s > traj.s_m[-1]  # straight on past the end
            if beyond.any():
                h = traj.yaw_rad[-1]
                px = np.where(beyond, traj.x_m[-1] + (s - traj.s_m[-1]) * math.cos(h), px)
                py = np.where(beyond, traj.y_m[-1] + (s - traj.s_m[-1]) * math.sin(h), py)
        else:
            px = odo.x_m + ds * math.cos(odo.yaw_rad)
            py = odo.y_m + ds * math.sin(odo.yaw_rad)
        # (objects, samples): footprints within half the vehicle width + the margin of the corridor's centre
        # line (the planner's obstacle test with its wider margin: what the planner drives past is clear
        # here too); the corridor starts at the rear axle, obstacles count from the bumper
        inside = box_distance(px, py, objs) <= 0.5 * self.p.vehicle_width_m + self.p.lateral_margin_m
        hit = inside.any(axis=1)
        if not hit.any():
            return ""
        first = np.where(inside, ds[None, :], np.inf).min(axis=1)
        i = int(np.argmin(np.where(hit, first, np.inf)))
        gap = max(0.0, float(first[i]) - self.p.front_overhang_m)
        return f"obstacle {gap:.1f} m ahead inside the stopping distance {self.stopping_distance_m(speed_mps):.1f} m"

    # --- one cycle ---
    def step(self, now_ns: int, inp: ControlInputs) -> ControlOutput:
        p = self.p
        dt = p.period_s if self._last_ns is None else min(max((now_ns - self._last_ns) / NS, 0.0), 0.2)
        self._last_ns = now_ns
        comfortable = self.comfortable_causes(now_ns, inp)
        odo_ok = not any(c.startswith("odometry") for c in comfortable)
        traj_ok = not any(c.startswith("trajectory") for c in comfortable)
        status_ok = not any(c.startswith("vehicle status") for c in comfortable)
        objects_ok = not any(c.startswith("tracked objects") for c in comfortable)

        speed: float | None = None
        if status_ok and inp.status is not None:
            speed = inp.status.speed_mps
        elif odo_ok and inp.odometry is not None:
            speed = inp.odometry.speed_mps
        measured_steer = inp.status.steering_angle_rad if status_ok and inp.status is not None else None

        # where the vehicle is on the trajectory
        traj = inp.trajectory.traj if traj_ok and inp.trajectory is not None else None
        odo = inp.odometry if odo_ok else None
        s_vehicle: float | None = None
        lateral_error = math.nan
        if traj is not None and odo is not None:
            if not traj.valid():
                comfortable.append("trajectory invalid (non-finite values, orientations that are not rotations or "
                                   "negative speeds)")
                traj = None
            else:
                i = nearest_index(traj, odo.x_m, odo.y_m, odo.yaw_rad, p.max_heading_error_rad)
                if i is None:
                    comfortable.append("vehicle heading does not match the trajectory")
                else:
                    s_vehicle, lateral_error = projection(traj, i, odo.x_m, odo.y_m)
                    if abs(lateral_error) > p.max_lateral_error_m:
                        comfortable.append(f"off the trajectory by {lateral_error:+.2f} m")

        emergency = []
        if status_ok and inp.status is not None:
            if inp.status.mode == STATUS_MODE_ESTOP:
                emergency.append("e-stop (chassis in MODE_ESTOP)")
            if inp.status.fault_bits & FAULT_BUMPER:
                emergency.append("bumper contact")
        if objects_ok and odo is not None:
            cause = self.obstacle_ahead(
                ControlInputs(odometry=odo, trajectory=inp.trajectory if traj is not None else None,
                              objects=inp.objects), speed or 0.0, s_vehicle)
            if cause:
                emergency.append(cause)

        # MRM state machine
        any_cause = bool(comfortable or emergency)
        if any_cause:
            self._clear_since_ns = None
        elif self._clear_since_ns is None:
            self._clear_since_ns = now_ns
        clear_for = 0.0 if self._clear_since_ns is None else (now_ns - self._clear_since_ns) / NS
        if speed is None:  # unknown: a vehicle already STOPPED stays so (its command holds), others keep braking
            standstill = self.mrm.state is MrmState.STOPPED
        else:
            standstill = abs(speed) < self.mrm_p.standstill_speed_mps
        before = self.mrm
        self.mrm = mrm.transition(before, MrmInputs("; ".join(comfortable), "; ".join(emergency), standstill,
                                                    clear_for), self.mrm_p)
        transitioned = self.mrm.state is not before.state
        if transitioned:
            level = logging.INFO if self.mrm.state is MrmState.NORMAL else logging.WARNING
            log.log(level, "MRM %s -> %s: %s", before.state.value, self.mrm.state.value, self.mrm.cause or "all clear")

        # lateral: follow the path whenever pose and path are fresh, even while stopping (stay in lane)
        steer: float | None = None
        if traj is not None and odo is not None and s_vehicle is not None:
            steer, _, _ = pure_pursuit(self.lat_p, traj, s_vehicle, odo.x_m, odo.y_m, odo.yaw_rad, speed or 0.0)
        if steer is None or (self.mrm.state is MrmState.STOPPED and p.hold_steering_when_stopped):
            steer = self.gate.steer_rad if self.gate.steer_rad is not None else (measured_steer or 0.0)

        # longitudinal
        ref_v = 0.0
        grade = 0.0
        accel = self.long_p.hold_accel_mps2
        if traj is not None and odo is not None and s_vehicle is not None and speed is not None:
            preview = s_vehicle + max(speed, 0.0) * self.long_p.preview_time_s
            if self.long.state is LongState.HOLD or speed < self.long_p.start_speed_mps:
                # at (or leaving) rest: would the trajectory just ahead move us? (its first point may say 0)
                preview = max(preview, s_vehicle + self.long_p.min_preview_m)
            _, _, _, ref_v, ref_a, grade = interpolate(traj, preview)
            if grade == 0.0:
                grade = odo.grade
            accel, self.long = longitudinal.update(self.long, LongInputs(speed, ref_v, ref_a, grade), dt, self.long_p)
        else:
            self.long = LongStatus(LongState.HOLD if standstill else self.long.state, 0.0)

        state = self.mrm.state
        parking_brake = False
        lights = 0
        if state is MrmState.COMFORTABLE_STOP:
            accel = min(accel, -self.mrm_p.comfortable_decel_mps2)
            lights = LIGHT_HAZARD
        elif state is MrmState.EMERGENCY_STOP:
            accel = -self.mrm_p.emergency_decel_mps2
            lights = LIGHT_HAZARD
        elif state is MrmState.STOPPED:
            accel = self.long_p.hold_accel_mps2
            parking_brake = True
            lights = LIGHT_HAZARD
            self.long = LongStatus(LongState.HOLD, 0.0)
        cmd = Command(acceleration_mps2=accel, speed_limit_mps=self.gate_p.max_speed_mps, steering_angle_rad=steer,
                      steering_rate_rps=self.gate_p.max_steer_rate_rps, gear=GEAR_DRIVE,
                      parking_brake=parking_brake, enable=True, emergency_stop=False, lights=lights)
        requested = cmd.acceleration_mps2
        cmd, self.gate, report = command_gate.apply(cmd, self.gate, measured_steer, dt, self.gate_p,
                                                    emergency=state is MrmState.EMERGENCY_STOP,
                                                    speed_mps=speed or 0.0)
        if state is MrmState.NORMAL and report.speed_limited:
            # above the speed limit the gate cut a positive request: the integral must not keep it
            self.long = longitudinal.unwind(self.long, -max(requested, 0.0), dt, self.long_p)
        if p.hill_start_assist and state is MrmState.NORMAL and self.long.state is LongState.DRIVE and standstill:
            # hill-start assist: the jerk-limited request ramps up through zero, where the chassis would
            # release its brake with too little drive force to hold the slope; keep the brake applied until
            # the request covers the grade
            needed = self.long_p.grade_feedforward_gain * longitudinal.grade_accel(grade)
            if needed > 0.0 and cmd.acceleration_mps2 < needed:
                cmd = replace(cmd, parking_brake=True)
        return ControlOutput(cmd, self.mrm, self.long.state, tuple(comfortable), tuple(emergency), lateral_error,
                             ref_v, report, transitioned)
