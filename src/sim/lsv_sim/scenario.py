"""Scenario files: YAML schema, loading and validation with clear errors (pure, no ROS).

A scenario says which map, where the ego starts and what its mission is, which actors do
what and when, the traffic-light plans, whether the road-side unit talks, which faults to
inject when, how long to run and what counts as a pass. Every problem is reported with the
file, the key (``actors[2].type``), what was expected and what was found, all at once.

    name: delivery_red_light
    description: ...
    duration_s: 60
    seed: 1
    map: {world: synthetic, grade_pct: 0, bounds_m: [-100, -40, 60, 40],
          roads: [{centerline: [[-100, -1.75], [60, -1.75]], width_m: 7}]}
    ego: {start: {x: -70, y: -1.75, yaw_deg: 0}}
    mission: {goals: [{id: parcel-1, x: 40, y: -1.75, kind: stop}]}
    actors: [{id: ped-1, type: pedestrian, waypoints: [[-9, -8], [-9, 8]], speed_mps: 1.2,
              trigger: {ego_within_m: 30}}]
    lights: [{id: west, intersection_id: 101, phase_id: 2, stop_line: [[-12, 0], [-12, -3.5]],
              heading_deg: 0, plan: [{state: red, duration_s: 20}, {state: green, duration_s: 15}]}]
    crosswalks: [{id: west, polygon: [[-11, -8], [-7, -8], [-7, 8], [-11, 8]],
                  carriageway: [[-11, -3.5], [-7, -3.5], [-7, 3.5], [-11, 3.5]]}]   # optional: road part
    stop_lines: []            # unsignalled stop lines where the ego must come to rest first
    v2x: {enabled: true, rsu: {intersection_id: 101, position: [0, 0]}}
    faults: [{type: gnss_dropout, at_s: 10, duration_s: 5}]
    sensor_noise_scale: 1.0   # multiplies the GNSS/IMU noise of the sensor parameters
    pass: {no_collision: true, goal_reached: true, min_distance_m: 1.0}

Faults (``faults:``, see ``FAULT_TYPES`` and src/sim/README.md): sensor dropouts and freezes
(the last message repeated), a GNSS jump (``magnitude`` m, default 20), silent or corrupted CAN
status (bad alive counters), stale / future / spoofed / malformed V2X from the road-side unit,
dark lights, and ``kill_node`` (``target``: a node name), which the simulator only announces:
``lsv suite`` kills the process. Issue #15 (perception in the loop): a blinded camera (sun glare
over ``magnitude`` of the frame, default all of it), a lidar occluded over an azimuth sector ahead
(``magnitude`` deg wide, default 120) and a sensor's clock offset (``target`` lidar|camera|gnss|imu,
default lidar; ``magnitude`` s added to its stamps, default 0.5, negative = stamps in the past).
``expect_diagnostic`` names the text the cause must show on /diagnostics. ``randomize(data, k)``
maps a suite seed to a perturbed scenario document.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lsv_common import share
from lsv_sim.actors import ACTOR_TYPES, TYPE_DEFAULTS, ActorSpec, ActorType, Trigger
from lsv_sim.lights import PLAN_STATES, LightState, PlanStep, TimingPlan, TrafficLight


def _scenario_dir() -> Path:
    """The shipped scenarios: ``scenarios/`` of lsv_sim's share folder (``lsv_common.share``)."""
    looked = share.candidates("lsv_sim", "scenarios")
    return next((c for c in looked if (c / "default.yaml").is_file()), looked[0] if looked else Path("scenarios"))


SCENARIO_DIR = _scenario_dir()
DEFAULT_SCENARIO = SCENARIO_DIR / "default.yaml"

WORLDS = ("synthetic", "district")
GOAL_KINDS = ("stop", "park", "patrol_loop", "pass")
SENSORS = ("gnss", "imu", "lidar", "camera")
FAULT_TYPES = ("gnss_dropout", "imu_dropout", "lidar_dropout", "camera_dropout", "v2x_silent", "light_dark",
               "chassis_status_silent",
               # issue #8: freezes (same message repeated), a GNSS position jump, CAN counter corruption,
               # bad V2X from the road-side unit, and a node of the stack killed (done by `lsv suite`)
               "gnss_freeze", "imu_freeze", "lidar_freeze", "camera_freeze", "gnss_jump", "can_counter_corrupt",
               "v2x_stale", "v2x_future", "v2x_spoofed", "v2x_malformed", "kill_node",
               # safety review item 6: a forged SPaT green (unsigned / signed with an untrusted key)
               "v2x_forged_green",
               # issue #15: faults of the perception inputs (lsv_sim.sensor_faults)
               "camera_blinded", "lidar_occluded", "sensor_clock_offset")
FAULT_MAGNITUDE_DEFAULTS = {"gnss_jump": 20.0,  # m, to the north-east (45 deg)
                            "v2x_stale": 10.0,  # s the message times lag behind the clock
                            "v2x_future": 20.0,  # s ahead (not a whole minute: DSecond times wrap every 60 s)
                            "v2x_spoofed": 5000.0,  # m every V2X position is moved (north-east)
                            "camera_blinded": 1.0,  # share of the frame saturated by the glare (1 = all of it)
                            "lidar_occluded": 120.0,  # deg, width of the blocked azimuth sector, centred ahead
                            "sensor_clock_offset": 0.5}  # s added to the target sensor's stamps (+ = ahead)
FAULT_MAGNITUDE_RANGES = {"camera_blinded": (0.0, 1.0),
                          "lidar_occluded": (0.0, 360.0),
                          "sensor_clock_offset": (-60.0, 60.0)}  # others: [0, 1e6]
FAULT_TARGETS = {"sensor_clock_offset": ("lidar", "camera", "gnss", "imu")}  # target one of these, the first = default
NO_TARGET = ("camera_blinded", "lidar_occluded")  # types that take no target
DEFAULT_ORIGIN = (30.2741, 120.1551)  # deg; the V2X samples' intersection centre
GOAL_ON_MAP_TOLERANCE_M = 1.0  # m beyond a road edge / lanelet border a goal may lie


class ScenarioError(ValueError):
    """A scenario file is unreadable or invalid; the message lists every problem."""


@dataclass(frozen=True)
class Road:
    centerline: np.ndarray  # (N, 2) m
    width_m: float


@dataclass(frozen=True)
class MapSpec:
    world: str  # "synthetic" (geometry in this file) or "district" (lsv_sim.world.load_world)
    path: str | None = None  # a Lanelet2 file for load_world (None = its default district)
    grade_pct: float = 0.0  # synthetic: constant grade rising along +x
    bounds_m: tuple[float, float, float, float] = (-200.0, -200.0, 200.0, 200.0)  # xmin, ymin, xmax, ymax
    roads: tuple[Road, ...] = ()
    origin_lat_deg: float = DEFAULT_ORIGIN[0]
    origin_lon_deg: float = DEFAULT_ORIGIN[1]


@dataclass(frozen=True)
class Pose2D:
    x_m: float
    y_m: float
    yaw_rad: float


@dataclass(frozen=True)
class Goal:
    goal_id: str
    pose: Pose2D
    kind: str = "stop"
    tolerance_m: float = 2.0
    dwell_s: float = 0.0


@dataclass(frozen=True)
class Crosswalk:
    crosswalk_id: str
    polygon: np.ndarray  # (N, 2) m
    # (M, 2) m outlines of the road surface it crosses: a walker counts as crossing only inside one of them
    # (the polygon also reaches onto the sidewalks); empty: the whole polygon is road
    carriageway: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class StopLine:
    stop_line_id: str
    line: tuple[tuple[float, float], tuple[float, float]]
    heading_rad: float  # direction of the traffic that must stop


@dataclass(frozen=True)
class RsuSpec:
    intersection_id: int = 101
    position: tuple[float, float] = (0.0, 0.0)
    range_m: float = 150.0  # participants within this range go into the RSM, vehicles send BSMs


@dataclass(frozen=True)
class V2xSpec:
    enabled: bool = False
    rsu: RsuSpec = field(default_factory=RsuSpec)


@dataclass(frozen=True)
class Fault:
    type: str
    at_s: float
    duration_s: float | None = None  # None = until the end
    target: str | None = None  # e.g. the light id of light_dark (None = all), the node of kill_node
    magnitude: float | None = None  # gnss_jump: m; v2x_stale/v2x_future: s; v2x_spoofed: m; camera_blinded: share of
    # the frame; lidar_occluded: deg; sensor_clock_offset: s (None = the default, FAULT_MAGNITUDE_DEFAULTS)
    expect_diagnostic: str | None = None  # text the cause must show on /diagnostics (None = the type's default)

    @property
    def size(self) -> float:
        """``magnitude`` or the type's default (0 for types without one)."""
        return self.magnitude if self.magnitude is not None else FAULT_MAGNITUDE_DEFAULTS.get(self.type, 0.0)

    def active(self, t_s: float) -> bool:
        return t_s >= self.at_s and (self.duration_s is None or t_s < self.at_s + self.duration_s)


@dataclass(frozen=True)
class PassCriteria:
    no_collision: bool = True
    goal_reached: bool = False
    max_time_s: float | None = None
    min_distance_m: float | None = None  # to every actor
    min_distance_per_actor_m: Mapping[str, float] = field(default_factory=dict)
    no_red_light_violation: bool = True
    no_stop_line_violation: bool = True
    no_crosswalk_yield_violation: bool = True
    max_decel_mps2: float | None = None
    max_jerk_mps3: float | None = None
    max_comfort_jerk_mps3: float | None = None  # longitudinal jerk outside emergency stops (evaluation: comfort)
    max_rollback_m: float | None = None  # distance rolled backwards in total
    # fault scenarios (every fault of the scenario, from its injection time at_s)
    stops_within_s: float | None = None  # standstill reached within this time after the injection
    max_distance_after_fault_m: float | None = None  # driven from the injection to the standstill
    continues_safely: bool = False  # the ego drives on (>= CONTINUE_MIN_M after the injection)
    diagnostic_reported: bool = False  # the expected cause appeared on /diagnostics after the injection
    # perception (lsv_sim.perceived; judged only on the stack's own perception, not with --oracle):
    # actor id -> s: perceived within this time after enough of the ego's lidar returns fell on it for a
    # detector, and not before it was in the lidar's sight (minus a tolerance) unless from V2X: no seeing
    # through a parked car
    detected_within_s: Mapping[str, float] = field(default_factory=dict)
    # actor id -> s: perceived, from V2X, at least this long before it came into the lidar's sight
    perceived_before_visible_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str  # the file it came from
    duration_s: float
    seed: int
    map: MapSpec
    ego_start: Pose2D
    goals: tuple[Goal, ...]
    actors: tuple[ActorSpec, ...]
    lights: tuple[TrafficLight, ...]
    crosswalks: tuple[Crosswalk, ...]
    stop_lines: tuple[StopLine, ...]
    v2x: V2xSpec
    faults: tuple[Fault, ...]
    pass_criteria: PassCriteria
    sensor_noise_scale: float = 1.0  # multiplies the GNSS/IMU noise standard deviations

    def faults_active(self, t_s: float) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.active(t_s))


# ------------------------------------------------------------------------------------ checking


class _Checker:
    """Collects problems as 'file: key: expected ..., got ...'."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def fail(self, key: str, expected: str, got: Any) -> None:
        self.problems.append(f"{key}: expected {expected}, got {got!r}")

    def mapping(self, value: Any, key: str, allowed: Sequence[str], required: Sequence[str] = ()) -> dict:
        if not isinstance(value, Mapping):
            self.fail(key or "(top level)", "a mapping", value)
            return {}
        for k in value:
            if k not in allowed:
                self.fail(f"{key}.{k}" if key else str(k), f"one of the keys {sorted(allowed)}", k)
        for k in required:
            if k not in value:
                self.problems.append(f"{key + '.' if key else ''}{k}: missing (required)")
        return dict(value)

    def number(self, m: Mapping, k: str, key: str, default: float | None = None, lo: float | None = None,
               hi: float | None = None, required: bool = False) -> float | None:
        full = f"{key}.{k}" if key else k
        if k not in m or m[k] is None:
            if required:
                self.problems.append(f"{full}: missing (required)")
            return default
        v = m[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(full, "a finite number", v)
            return default
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(full, f"a number in [{lo}, {hi}]" if lo is not None and hi is not None
                      else f"a number >= {lo}" if lo is not None else f"a number <= {hi}", v)
            return default
        return float(v)

    def boolean(self, m: Mapping, k: str, key: str, default: bool) -> bool:
        if k not in m:
            return default
        if not isinstance(m[k], bool):
            self.fail(f"{key}.{k}" if key else k, "true or false", m[k])
            return default
        return m[k]

    def string(self, m: Mapping, k: str, key: str, default: str | None = None, choices: Sequence[str] | None = None,
               required: bool = False) -> str | None:
        full = f"{key}.{k}" if key else k
        if k not in m or m[k] is None:
            if required:
                self.problems.append(f"{full}: missing (required)")
            return default
        v = m[k]
        if not isinstance(v, str):
            self.fail(full, "a string", v)
            return default
        if choices is not None and v not in choices:
            self.fail(full, f"one of {list(choices)}", v)
            return default
        return v

    def points(self, value: Any, key: str, min_count: int = 1, max_count: int | None = None) -> np.ndarray | None:
        ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) >= min_count and all(
            isinstance(p, Sequence) and not isinstance(p, str) and len(p) == 2
            and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in p)
            for p in value)
        if ok and max_count is not None and len(value) > max_count:
            ok = False
        if not ok:
            count = f"{min_count}" + ("" if max_count == min_count else "+" if max_count is None else f"-{max_count}")
            self.fail(key, f"a list of {count} [x, y] points in m", value)
            return None
        return np.asarray(value, dtype=np.float64).reshape(-1, 2)

    def items(self, value: Any, key: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, "a list", value)
            return []
        return value


def _pose(ck: _Checker, value: Any, key: str, places: Mapping[str, Pose2D]) -> Pose2D | None:
    m = ck.mapping(value, key, ("x", "y", "yaw_deg", "place"))
    if not m:
        return None
    if "place" in m:
        name = m["place"]
        if name not in places:
            ck.fail(f"{key}.place", f"a place of the map {sorted(places) or '(the map has no places)'}", name)
            return None
        p = places[name]
        yaw = ck.number(m, "yaw_deg", key)
        return Pose2D(p.x_m, p.y_m, p.yaw_rad if yaw is None else math.radians(yaw))
    x = ck.number(m, "x", key, required=True)
    y = ck.number(m, "y", key, required=True)
    yaw = ck.number(m, "yaw_deg", key, default=0.0, lo=-360.0, hi=360.0)
    if x is None or y is None:
        return None
    return Pose2D(x, y, math.radians(yaw or 0.0))


def _map(ck: _Checker, value: Any) -> MapSpec:
    m = ck.mapping(value, "map", ("world", "path", "grade_pct", "bounds_m", "roads", "origin_lat_deg",
                                  "origin_lon_deg"), required=("world",))
    world = ck.string(m, "world", "map", default="synthetic", choices=WORLDS)
    roads = []
    for i, r in enumerate(ck.items(m.get("roads"), "map.roads")):
        key = f"map.roads[{i}]"
        rm = ck.mapping(r, key, ("centerline", "width_m"), required=("centerline", "width_m"))
        cl = ck.points(rm.get("centerline"), f"{key}.centerline", 2)
        w = ck.number(rm, "width_m", key, lo=1.0, hi=50.0)
        if cl is not None and w is not None:
            roads.append(Road(cl, w))
    bounds = (-200.0, -200.0, 200.0, 200.0)
    if "bounds_m" in m:
        b = m["bounds_m"]
        if (not isinstance(b, list) or len(b) != 4 or not all(isinstance(v, (int, float)) for v in b)
                or b[0] >= b[2] or b[1] >= b[3]):
            ck.fail("map.bounds_m", "[xmin, ymin, xmax, ymax] in m with xmin < xmax, ymin < ymax", b)
        else:
            bounds = tuple(float(v) for v in b)
    return MapSpec(world=world or "synthetic", path=ck.string(m, "path", "map"),
                   grade_pct=ck.number(m, "grade_pct", "map", default=0.0, lo=-30.0, hi=30.0) or 0.0,
                   bounds_m=bounds, roads=tuple(roads),
                   origin_lat_deg=ck.number(m, "origin_lat_deg", "map", DEFAULT_ORIGIN[0], -89.9, 89.9),
                   origin_lon_deg=ck.number(m, "origin_lon_deg", "map", DEFAULT_ORIGIN[1], -180.0, 180.0))


def _actor(ck: _Checker, value: Any, key: str, places: Mapping[str, Pose2D]) -> ActorSpec | None:
    m = ck.mapping(value, key, ("id", "type", "waypoints", "speed_mps", "trigger", "loop", "length_m", "width_m",
                                "height_m", "accel_mps2", "yaw_deg"), required=("id", "type", "waypoints"))
    aid = ck.string(m, "id", key, required=False)
    tname = m.get("type")
    if tname not in ACTOR_TYPES:
        ck.fail(f"{key}.type", f"an actor type, one of {list(ACTOR_TYPES)}", tname)
        return None
    atype = ActorType(tname)
    d = TYPE_DEFAULTS[atype]
    wps = ck.points(m.get("waypoints"), f"{key}.waypoints", 1)
    if wps is None or aid is None:
        return None
    n_seg = max(len(wps) - 1, 1)
    sp = m.get("speed_mps", d.speed_mps)
    if isinstance(sp, list):
        if len(sp) != n_seg or not all(isinstance(v, (int, float)) and 0.0 <= v <= 30.0 for v in sp):
            ck.fail(f"{key}.speed_mps", f"one number or a list of {n_seg} numbers in [0, 30] m/s (one per segment)", sp)
            return None
        speeds = np.asarray(sp, dtype=np.float64)
    else:
        v = ck.number(m, "speed_mps", key, d.speed_mps, 0.0, 30.0)
        speeds = np.full(n_seg, d.speed_mps if v is None else v)
    if atype is ActorType.PARKED_CAR:
        speeds = np.zeros(n_seg)
    tm = ck.mapping(m.get("trigger", {}), f"{key}.trigger", ("ego_within_m", "at_s", "delay_s"))
    trigger = Trigger(ck.number(tm, "ego_within_m", f"{key}.trigger", lo=0.0, hi=1000.0),
                      ck.number(tm, "at_s", f"{key}.trigger", lo=0.0),
                      ck.number(tm, "delay_s", f"{key}.trigger", 0.0, 0.0, 600.0) or 0.0)
    yaw = ck.number(m, "yaw_deg", key, lo=-360.0, hi=360.0)
    return ActorSpec(
        actor_id=aid, type=atype, waypoints=wps, speeds_mps=speeds, trigger=trigger,
        length_m=ck.number(m, "length_m", key, d.length_m, 0.1, 30.0) or d.length_m,
        width_m=ck.number(m, "width_m", key, d.width_m, 0.1, 5.0) or d.width_m,
        height_m=ck.number(m, "height_m", key, d.height_m, 0.1, 6.0) or d.height_m,
        accel_mps2=ck.number(m, "accel_mps2", key, d.accel_mps2, 0.0, 10.0) or d.accel_mps2,
        loop=ck.boolean(m, "loop", key, False), yaw_rad=None if yaw is None else math.radians(yaw))


def _line(ck: _Checker, value: Any, key: str) -> tuple[tuple[float, float], tuple[float, float]] | None:
    pts = ck.points(value, key, 2, 2)
    if pts is None:
        return None
    if float(np.hypot(*(pts[1] - pts[0]))) < 0.1:
        ck.fail(key, "two distinct points", value)
        return None
    return (tuple(pts[0]), tuple(pts[1]))


def _world_stop_line(ck: _Checker, m: Mapping, key: str, world: Any | None) -> tuple[Any, float, int, int] | None:
    """(line, heading_deg, intersection_id, phase_id) of the map's stop line ``stop_line_id``."""
    sid = m.get("stop_line_id")
    lines = getattr(world, "stop_lines", None) or {}
    if not isinstance(lines, Mapping):
        lines = {sl.id: sl for sl in lines}
    if sid not in lines:
        ck.fail(f"{key}.stop_line_id", f"a stop line id of the map {sorted(lines) or '(no map with stop lines)'}",
                sid)
        return None
    sl = lines[sid]
    pts = np.asarray(sl.points, dtype=np.float64)[:, :2]
    cl = np.asarray(world.centerline(sl.lanelet_ids[0]))[:, :2]  # the lanelet that ends at the line
    heading = math.degrees(math.atan2(cl[-1, 1] - cl[-2, 1], cl[-1, 0] - cl[-2, 0]))
    return (tuple(pts[0]), tuple(pts[1])), heading, int(sl.intersection_id), int(sl.phase_id)


def _light(ck: _Checker, value: Any, key: str, world: Any | None = None) -> TrafficLight | None:
    m = ck.mapping(value, key, ("id", "intersection_id", "phase_id", "stop_line", "stop_line_id", "heading_deg",
                                "plan", "offset_s"),
                   required=("plan",) if "stop_line_id" in (value or {}) else ("id", "stop_line", "heading_deg",
                                                                               "plan"))
    if "stop_line_id" in m:
        found = _world_stop_line(ck, m, key, world)
        if found is None:
            return None
        line, heading, inter, phase = found
        m.setdefault("intersection_id", inter)
        m.setdefault("phase_id", phase)
        m.setdefault("id", f"stop_line_{m['stop_line_id']}")
    else:
        line = _line(ck, m.get("stop_line"), f"{key}.stop_line")
        heading = ck.number(m, "heading_deg", key, lo=-360.0, hi=360.0)
    lid = ck.string(m, "id", key)
    steps = []
    for j, s in enumerate(ck.items(m.get("plan"), f"{key}.plan")):
        sk = f"{key}.plan[{j}]"
        sm = ck.mapping(s, sk, ("state", "duration_s"), required=("state", "duration_s"))
        state = ck.string(sm, "state", sk, choices=PLAN_STATES)
        dur = ck.number(sm, "duration_s", sk, lo=0.1, hi=3600.0)
        if state is not None and dur is not None:
            steps.append(PlanStep(LightState.parse(state), dur))
    if not steps:
        ck.fail(f"{key}.plan", "a non-empty list of {state, duration_s}", m.get("plan"))
    if lid is None or line is None or heading is None or not steps:
        return None
    return TrafficLight(lid, int(ck.number(m, "intersection_id", key, 101, 0, 65535) or 0),
                        int(ck.number(m, "phase_id", key, 1, 0, 255) or 0), line, math.radians(heading),
                        TimingPlan(tuple(steps), ck.number(m, "offset_s", key, 0.0, -3600.0, 3600.0) or 0.0))


def _fault(ck: _Checker, value: Any, key: str) -> Fault | None:
    m = ck.mapping(value, key, ("type", "at_s", "duration_s", "target", "magnitude", "expect_diagnostic"),
                   required=("type", "at_s"))
    ftype = m.get("type")
    if ftype not in FAULT_TYPES:
        ck.fail(f"{key}.type", f"a fault type, one of {list(FAULT_TYPES)}", ftype)
        return None
    at = ck.number(m, "at_s", key, lo=0.0)
    target = ck.string(m, "target", key)
    if ftype == "kill_node" and not target:
        ck.problems.append(f"{key}.target: missing (required for kill_node: the name of a node, e.g. controller)")
        return None
    if ftype in FAULT_TARGETS:
        allowed = FAULT_TARGETS[ftype]
        if target is None:
            target = allowed[0]
        elif target not in allowed:
            ck.fail(f"{key}.target", f"one of {list(allowed)} for {ftype}", target)
    elif ftype in NO_TARGET and target is not None:
        ck.fail(f"{key}.target", f"no target ({ftype} takes none)", target)
    lo, hi = FAULT_MAGNITUDE_RANGES.get(ftype, (0.0, 1e6))
    magnitude = ck.number(m, "magnitude", key, lo=lo, hi=hi)
    if magnitude is not None and ftype not in FAULT_MAGNITUDE_DEFAULTS:
        ck.fail(f"{key}.magnitude", f"no magnitude (only {sorted(FAULT_MAGNITUDE_DEFAULTS)} take one)", magnitude)
    if at is None:
        return None
    return Fault(ftype, at, ck.number(m, "duration_s", key, lo=0.0), target, magnitude,
                 ck.string(m, "expect_diagnostic", key))


def _pass(ck: _Checker, value: Any) -> PassCriteria:
    m = ck.mapping(value or {}, "pass", ("no_collision", "goal_reached", "max_time_s", "min_distance_m",
                                         "no_red_light_violation", "no_stop_line_violation",
                                         "no_crosswalk_yield_violation", "max_decel_mps2", "max_jerk_mps3",
                                         "max_comfort_jerk_mps3", "max_rollback_m", "stops_within_s",
                                         "max_distance_after_fault_m", "continues_safely", "diagnostic_reported",
                                         "detected_within_s", "perceived_before_visible_s"))
    per_actor: dict[str, float] = {}
    min_all = None
    md = m.get("min_distance_m")
    if isinstance(md, Mapping):
        for k, v in md.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0.0:
                per_actor[str(k)] = float(v)
            else:
                ck.fail(f"pass.min_distance_m.{k}", "a number >= 0 (m)", v)
    else:
        min_all = ck.number(m, "min_distance_m", "pass", lo=0.0)
    return PassCriteria(
        no_collision=ck.boolean(m, "no_collision", "pass", True),
        goal_reached=ck.boolean(m, "goal_reached", "pass", False),
        max_time_s=ck.number(m, "max_time_s", "pass", lo=0.0), min_distance_m=min_all,
        min_distance_per_actor_m=per_actor,
        no_red_light_violation=ck.boolean(m, "no_red_light_violation", "pass", True),
        no_stop_line_violation=ck.boolean(m, "no_stop_line_violation", "pass", True),
        no_crosswalk_yield_violation=ck.boolean(m, "no_crosswalk_yield_violation", "pass", True),
        max_decel_mps2=ck.number(m, "max_decel_mps2", "pass", lo=0.0),
        max_jerk_mps3=ck.number(m, "max_jerk_mps3", "pass", lo=0.0),
        max_comfort_jerk_mps3=ck.number(m, "max_comfort_jerk_mps3", "pass", lo=0.0),
        max_rollback_m=ck.number(m, "max_rollback_m", "pass", lo=0.0),
        stops_within_s=ck.number(m, "stops_within_s", "pass", lo=0.0),
        max_distance_after_fault_m=ck.number(m, "max_distance_after_fault_m", "pass", lo=0.0),
        continues_safely=ck.boolean(m, "continues_safely", "pass", False),
        diagnostic_reported=ck.boolean(m, "diagnostic_reported", "pass", False),
        detected_within_s=_per_actor_seconds(ck, m, "detected_within_s"),
        perceived_before_visible_s=_per_actor_seconds(ck, m, "perceived_before_visible_s"))


def _per_actor_seconds(ck: _Checker, m: Mapping, k: str) -> dict[str, float]:
    """``pass.<k>``: a mapping actor id -> seconds (>= 0); ids are checked against the actors later."""
    value = m.get(k)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        ck.fail(f"pass.{k}", "a mapping of actor id -> seconds, e.g. {ped-1: 1.5}", value)
        return {}
    out: dict[str, float] = {}
    for aid, v in value.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0.0:
            out[str(aid)] = float(v)
        else:
            ck.fail(f"pass.{k}.{aid}", "a number >= 0 (s)", v)
    return out


# ------------------------------------------------------------------------------------ on the map

def distance_to_roads(roads: Sequence[Road], xy: tuple[float, float]) -> float:
    """Distance (m) from ``xy`` to the nearest road surface of a synthetic map (0 on a road)."""
    best = math.inf
    p = np.asarray(xy, dtype=np.float64)
    for r in roads:
        a, b = r.centerline[:-1], r.centerline[1:]
        ab = b - a
        t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0.0, 1.0)
        d = np.hypot(*(a + t[:, None] * ab - p).T).min() - 0.5 * r.width_m
        best = min(best, max(float(d), 0.0))
    return best


def on_map_checker(spec: MapSpec, world: Any | None) -> Callable[[float, float], str | None]:
    """A function (x, y) -> None when on the map, else a description of why not."""
    xmin, ymin, xmax, ymax = spec.bounds_m
    if world is not None and getattr(world, "lanelet_map", None) is not None:
        import lanelet2

        layer = world.lanelet_map.laneletLayer

        def check_world(x: float, y: float) -> str | None:
            near = lanelet2.geometry.findNearest(layer, lanelet2.core.BasicPoint2d(x, y), 1)
            if not near:
                return "the map has no lanelets"
            dist = float(near[0][0])
            return None if dist <= GOAL_ON_MAP_TOLERANCE_M else f"{dist:.1f} m from the nearest lanelet"
        return check_world

    def check_synthetic(x: float, y: float) -> str | None:
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            return f"outside map.bounds_m {list(spec.bounds_m)}"
        if spec.roads:
            d = distance_to_roads(spec.roads, (x, y))
            if d > GOAL_ON_MAP_TOLERANCE_M:
                return f"{d:.1f} m from the nearest road of map.roads"
        return None
    return check_synthetic


def _world_places(world: Any | None) -> dict[str, Pose2D]:
    places: dict[str, Pose2D] = {}
    for name, p in (getattr(world, "places", None) or {}).items():
        try:
            if isinstance(p, Mapping):
                x, y, yaw = float(p["x"]), float(p["y"]), float(p.get("yaw", p.get("yaw_rad", 0.0)))
            elif hasattr(p, "x"):
                x, y, yaw = float(p.x), float(p.y), float(getattr(p, "yaw", 0.0))
            else:
                x, y, yaw = (float(v) for v in tuple(p)[:3])
        except (KeyError, TypeError, ValueError):
            continue
        places[str(name)] = Pose2D(x, y, yaw)
    return places


# ------------------------------------------------------------------------------------ loading

TOP_KEYS = ("name", "description", "duration_s", "seed", "map", "ego", "mission", "actors", "lights", "crosswalks",
            "stop_lines", "v2x", "faults", "pass", "sensor_noise_scale")


def parse_scenario(data: Any, source: str = "<scenario>", world: Any | None = None) -> Scenario:
    """Validate a loaded YAML document into a Scenario; raises ScenarioError with every problem.

    ``world`` (an ``lsv_sim.world.World``) is needed for ``map.world: district`` scenarios to
    check goals against the lanelets and resolve ``place:`` names; without it the synthetic
    geometry of the file is used.
    """
    ck = _Checker(source)
    top = ck.mapping(data, "", TOP_KEYS, required=("name", "duration_s", "map", "ego"))
    if not top:
        raise ScenarioError(f"{source}: invalid scenario:\n  - " + "\n  - ".join(ck.problems or ["empty file"]))
    mp = _map(ck, top.get("map", {}))
    places = _world_places(world)
    ego_m = ck.mapping(top.get("ego", {}), "ego", ("start",), required=("start",))
    start = _pose(ck, ego_m.get("start"), "ego.start", places) if "start" in ego_m else None
    on_map = on_map_checker(mp, world if mp.world == "district" else None)
    if start is not None and (why := on_map(start.x_m, start.y_m)):
        ck.fail("ego.start", "a pose on the map", f"({start.x_m:g}, {start.y_m:g}): {why}")

    mission = ck.mapping(top.get("mission", {}) or {}, "mission", ("goals",))
    goals = []
    seen: set[str] = set()
    for i, g in enumerate(ck.items(mission.get("goals"), "mission.goals")):
        key = f"mission.goals[{i}]"
        gm = ck.mapping(g, key, ("id", "x", "y", "yaw_deg", "place", "kind", "tolerance_m", "dwell_s"),
                        required=("id",))
        gid = ck.string(gm, "id", key)
        pose = _pose(ck, {k: v for k, v in gm.items() if k in ("x", "y", "yaw_deg", "place")}, key, places)
        kind = ck.string(gm, "kind", key, "stop", GOAL_KINDS)
        if pose is not None and (why := on_map(pose.x_m, pose.y_m)):
            ck.fail(key, "a goal on the map", f"({pose.x_m:g}, {pose.y_m:g}): {why}")
            pose = None
        if gid in seen:
            ck.fail(f"{key}.id", "a unique goal id", gid)
        seen.add(gid or "")
        if gid and pose is not None:
            goals.append(Goal(gid, pose, kind or "stop", ck.number(gm, "tolerance_m", key, 2.0, 0.1, 50.0) or 2.0,
                              ck.number(gm, "dwell_s", key, 0.0, 0.0, 3600.0) or 0.0))

    actors, ids = [], set()
    for i, a in enumerate(ck.items(top.get("actors"), "actors")):
        spec = _actor(ck, a, f"actors[{i}]", places)
        if spec is not None:
            if spec.actor_id in ids:
                ck.fail(f"actors[{i}].id", "a unique actor id", spec.actor_id)
            ids.add(spec.actor_id)
            actors.append(spec)
    map_world = world if mp.world == "district" else None
    lights = [lt for i, v in enumerate(ck.items(top.get("lights"), "lights"))
              if (lt := _light(ck, v, f"lights[{i}]", map_world)) is not None]
    crosswalks = []
    cw_items = top.get("crosswalks")
    if cw_items == "from_map":
        cw_items = []
        if map_world is None:
            ck.fail("crosswalks", "a list (from_map needs map.world: district)", "from_map")
        else:
            cws = map_world.crosswalks.values() if isinstance(map_world.crosswalks, Mapping) else map_world.crosswalks
            crosswalks = [Crosswalk(str(getattr(c, "name", "") or c.id), np.asarray(c.polygon, float)[:, :2],
                                    tuple(np.asarray(r, float)[:, :2] for r in getattr(c, "carriageway", ())))
                          for c in cws]
    for i, c in enumerate(ck.items(cw_items, "crosswalks")):
        cm = ck.mapping(c, f"crosswalks[{i}]", ("id", "polygon", "carriageway"), required=("id", "polygon"))
        poly = ck.points(cm.get("polygon"), f"crosswalks[{i}].polygon", 3)
        road = ck.points(cm["carriageway"], f"crosswalks[{i}].carriageway", 3) if "carriageway" in cm else None
        cid = ck.string(cm, "id", f"crosswalks[{i}]")
        if poly is not None and cid is not None:
            crosswalks.append(Crosswalk(cid, poly, () if road is None else (road,)))
    stop_lines = []
    for i, s in enumerate(ck.items(top.get("stop_lines"), "stop_lines")):
        key = f"stop_lines[{i}]"
        sm = ck.mapping(s, key, ("id", "line", "heading_deg"), required=("id", "line", "heading_deg"))
        line = _line(ck, sm.get("line"), f"{key}.line")
        heading = ck.number(sm, "heading_deg", key, lo=-360.0, hi=360.0)
        sid = ck.string(sm, "id", key)
        if line is not None and heading is not None and sid is not None:
            stop_lines.append(StopLine(sid, line, math.radians(heading)))

    vm = ck.mapping(top.get("v2x", {}) or {}, "v2x", ("enabled", "rsu"))
    rm = ck.mapping(vm.get("rsu", {}) or {}, "v2x.rsu", ("intersection_id", "position", "range_m"))
    pos = ck.points([rm["position"]], "v2x.rsu.position", 1, 1) if "position" in rm else None
    v2x = V2xSpec(ck.boolean(vm, "enabled", "v2x", False), RsuSpec(
        int(ck.number(rm, "intersection_id", "v2x.rsu", 101, 0, 65535) or 0),
        (0.0, 0.0) if pos is None else (float(pos[0, 0]), float(pos[0, 1])),
        ck.number(rm, "range_m", "v2x.rsu", 150.0, 1.0, 2000.0) or 150.0))

    faults = [f for i, v in enumerate(ck.items(top.get("faults"), "faults"))
              if (f := _fault(ck, v, f"faults[{i}]")) is not None]
    light_ids = {lt.light_id for lt in lights}
    for i, f in enumerate(faults):
        if f.type == "light_dark" and f.target is not None and f.target not in light_ids:
            ck.fail(f"faults[{i}].target", f"a light id of this scenario {sorted(light_ids)}", f.target)
    criteria = _pass(ck, top.get("pass"))
    for key in ("min_distance_m", "detected_within_s", "perceived_before_visible_s"):
        per_actor = criteria.min_distance_per_actor_m if key == "min_distance_m" else getattr(criteria, key)
        for aid in per_actor:
            if aid not in ids:
                ck.fail(f"pass.{key}.{aid}", f"an actor id of this scenario {sorted(ids)}", aid)
    if criteria.perceived_before_visible_s and not v2x.enabled:
        ck.fail("pass.perceived_before_visible_s", "v2x.enabled: true (only the road-side unit can announce an "
                "actor before the lidar sees it)", "v2x off")
    if criteria.goal_reached and not goals:
        ck.fail("pass.goal_reached", "mission.goals to reach", "no goals")
    for k in ("stops_within_s", "max_distance_after_fault_m", "continues_safely", "diagnostic_reported"):
        if getattr(criteria, k) not in (None, False) and not faults:
            ck.fail(f"pass.{k}", "faults to judge it on", "no faults")
    if criteria.continues_safely and (criteria.stops_within_s is not None
                                      or criteria.max_distance_after_fault_m is not None):
        ck.fail("pass.continues_safely", "either a stop (stops_within_s, max_distance_after_fault_m) or "
                "continues_safely", "both")
    noise_scale = ck.number(top, "sensor_noise_scale", "", 1.0, 0.0, 10.0)

    duration = ck.number(top, "duration_s", "", lo=0.1, hi=24 * 3600.0, required=True)
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        ck.fail("seed", "an integer >= 0", seed)
        seed = 0
    name = ck.string(top, "name", "", required=True)
    if ck.problems:
        raise ScenarioError(f"{source}: invalid scenario ({len(ck.problems)} problem(s)):\n  - "
                            + "\n  - ".join(ck.problems))
    assert start is not None and duration is not None and name is not None
    return Scenario(name=name, description=str(top.get("description", "")), source=source, duration_s=duration,
                    seed=seed, map=mp, ego_start=start, goals=tuple(goals), actors=tuple(actors),
                    lights=tuple(lights), crosswalks=tuple(crosswalks), stop_lines=tuple(stop_lines), v2x=v2x,
                    faults=tuple(faults), pass_criteria=criteria,
                    sensor_noise_scale=1.0 if noise_scale is None else noise_scale)


class SyntheticWorld:
    """The world of a ``map.world: synthetic`` scenario: a plane of constant grade rising along +x,
    the file's roads, and a local tangent-plane projection about the map origin (the same calls
    as ``lsv_sim.world.World`` that the simulator uses)."""

    lanelet_map = None
    stop_lines: dict = {}  # noqa: RUF012 - read-only, shared
    crosswalks: dict = {}  # noqa: RUF012
    places: dict = {}  # noqa: RUF012

    def __init__(self, spec: MapSpec):
        from lsv_v2x_client.projection import LocalProjection

        self.spec = spec
        self.origin_lat_deg = spec.origin_lat_deg
        self.origin_lon_deg = spec.origin_lon_deg
        self._proj = LocalProjection(spec.origin_lat_deg, spec.origin_lon_deg)
        self._g = spec.grade_pct / 100.0

    def height_at(self, xy: Any) -> np.ndarray:
        """(N, 2) x, y -> (N,) height of the plane."""
        return self._g * np.asarray(xy, dtype=np.float64).reshape(-1, 2)[:, 0]

    def grade_at(self, x: float, y: float, yaw: float) -> float:
        """Rise/run along the heading ``yaw``."""
        return self._g * math.cos(yaw)

    def to_latlon(self, x: float, y: float, z: float = 0.0) -> tuple[float, float]:
        lat, lon = self._proj.inverse(x, y)
        return float(lat), float(lon)

    def from_latlon(self, lat: float, lon: float) -> tuple[float, float]:
        return self._proj.forward_point(lat, lon)

    def to_geodetic(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        lat, lon = self.to_latlon(x, y)
        return lat, lon, z


@functools.lru_cache(maxsize=4)
def _district(path: str | None) -> Any:
    from lsv_sim.world import load_world  # the Lanelet2 district (lanelet2 import is slow: only when needed)

    return load_world(path)


def make_world(spec: MapSpec) -> Any:
    """The world a scenario runs in: synthetic, or the Lanelet2 district (loaded once per process)."""
    if spec.world == "synthetic":
        return SyntheticWorld(spec)
    try:
        return _district(spec.path)
    except (ImportError, OSError, RuntimeError) as err:
        raise ScenarioError(f"map: cannot load the district map {spec.path or '(default)'}: {err}") from err


def height(world: Any, x: float, y: float) -> float:
    """Road height at (x, y) from a world's vectorised ``height_at``."""
    return float(np.asarray(world.height_at(np.array([[x, y]], dtype=np.float64))).reshape(-1)[0])


def resolve_path(path: str | Path | None) -> Path:
    """A scenario path: None/'' -> the default scenario; a bare name -> the shipped scenario of that
    name (``scenarios/NAME.yaml``, else the fault scenario ``scenarios/faults/NAME.yaml``)."""
    if path is None or str(path) == "":
        return DEFAULT_SCENARIO
    p = Path(path)
    if not p.exists() and not p.suffix:
        for rel in (f"scenarios/{p.name}.yaml", f"scenarios/faults/{p.name}.yaml"):
            found = next((c for c in share.candidates("lsv_sim", rel) if c.is_file()), None)
            if found is not None:
                return found
    return p


def load_scenario(path: str | Path | None = None, world: Any | None = None) -> Scenario:
    """Read and validate a scenario file (None = the default scenario)."""
    p = resolve_path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ScenarioError(f"{p}: cannot read the scenario file: {err.strerror or err}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ScenarioError(f"{p}: not valid YAML: {err}") from err
    if world is None and isinstance(data, Mapping) and isinstance(data.get("map"), Mapping) \
            and data["map"].get("world") == "district":
        ck = _Checker(str(p))
        spec = _map(ck, data["map"])
        if not ck.problems:
            world = make_world(spec)
    return parse_scenario(data, str(p), world)


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.yaml"))


# ------------------------------------------------------------------------------------ seeds

# Suite seed k -> perturbations of a scenario document (``randomize``). Seed 0 is the scenario
# exactly as written; every other seed draws, from numpy's PCG64 seeded with (scenario seed, k):
TRIGGER_AT_JITTER_S = 1.0  # actor trigger.at_s += U(-1, 1) s (not below 0)
TRIGGER_DISTANCE_JITTER_M = 2.0  # actor trigger.ego_within_m += U(-2, 2) m (not below 0)
TRIGGER_DELAY_MAX_S = 0.5  # actor trigger.delay_s += U(0, 0.5) s
ACTOR_OFFSET_M = 0.3  # every waypoint of an actor moved by the same (U(-0.3, 0.3), U(-0.3, 0.3)) m
ACTOR_SPEED_FACTOR = (0.9, 1.1)  # moving actors' speed_mps *= U(0.9, 1.1)
FAULT_AT_JITTER_S = 1.0  # fault at_s += U(0, 1) s
NOISE_SCALE_RANGE = (1.0, 1.5)  # sensor_noise_scale *= U(1.0, 1.5) (GNSS/IMU noise sigmas)
SEED_STRIDE = 1000  # the perturbed document's seed: scenario seed * 1000 + k (sensor noise, RNG draws)


def randomize(data: Mapping[str, Any], k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Suite seed ``k`` -> (perturbed copy of the scenario document ``data``, what was changed).

    The draws are made in a fixed order (actors in file order: trigger, offset, speed; then
    faults; then the noise scale) so that a seed always gives the same scenario. Light plans,
    goals, the ego start and pass criteria are never changed. Invalid documents are returned
    as they are (``parse_scenario`` reports them).
    """
    import copy

    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ValueError(f"suite seed: expected an integer >= 0, got {k!r}")
    doc = copy.deepcopy(dict(data))
    if k == 0:
        return doc, {}
    base = doc.get("seed", 0)
    base = base if isinstance(base, int) and not isinstance(base, bool) and base >= 0 else 0
    rng = np.random.default_rng([base, k])
    changes: dict[str, Any] = {"seed": base * SEED_STRIDE + k}
    doc["seed"] = changes["seed"]
    for a in doc.get("actors") or []:
        if not isinstance(a, dict):
            continue
        aid = str(a.get("id"))
        # plain floats (not numpy scalars): the document is written back as YAML
        d_at, d_dist, d_delay = float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)), float(rng.uniform(0, 1))
        off = [float(v) for v in rng.uniform(-ACTOR_OFFSET_M, ACTOR_OFFSET_M, 2)]
        f_speed = float(rng.uniform(*ACTOR_SPEED_FACTOR))
        ch: dict[str, Any] = {}
        trig = a.get("trigger")
        if isinstance(trig, dict):
            if _num(trig.get("at_s")):
                trig["at_s"] = ch["trigger.at_s"] = round(max(0.0, trig["at_s"] + TRIGGER_AT_JITTER_S * d_at), 3)
            if _num(trig.get("ego_within_m")):
                trig["ego_within_m"] = ch["trigger.ego_within_m"] = round(
                    max(0.0, trig["ego_within_m"] + TRIGGER_DISTANCE_JITTER_M * d_dist), 3)
            if trig.get("at_s") is not None or trig.get("ego_within_m") is not None:
                delay = trig.get("delay_s", 0.0) if _num(trig.get("delay_s", 0.0)) else 0.0
                trig["delay_s"] = ch["trigger.delay_s"] = round(delay + TRIGGER_DELAY_MAX_S * d_delay, 3)
        wps = a.get("waypoints")
        if isinstance(wps, list) and all(isinstance(p, list) and len(p) == 2 and all(_num(c) for c in p)
                                         for p in wps):
            a["waypoints"] = [[round(p[0] + off[0], 3), round(p[1] + off[1], 3)] for p in wps]
            ch["offset_m"] = [round(off[0], 3), round(off[1], 3)]
        sp = a.get("speed_mps")
        if a.get("type") != "parked_car":
            if _num(sp):
                a["speed_mps"] = round(sp * f_speed, 3)
                ch["speed_factor"] = round(f_speed, 3)
            elif isinstance(sp, list) and all(_num(v) for v in sp):
                a["speed_mps"] = [round(v * f_speed, 3) for v in sp]
                ch["speed_factor"] = round(f_speed, 3)
        if ch:
            changes[f"actor {aid}"] = ch
    for i, f in enumerate(doc.get("faults") or []):
        d = float(rng.uniform(0.0, FAULT_AT_JITTER_S))
        if isinstance(f, dict) and _num(f.get("at_s")):
            f["at_s"] = round(f["at_s"] + d, 3)
            changes[f"faults[{i}].at_s"] = f["at_s"]
    scale = doc.get("sensor_noise_scale", 1.0)
    if _num(scale):
        noise = float(rng.uniform(*NOISE_SCALE_RANGE))
        doc["sensor_noise_scale"] = changes["sensor_noise_scale"] = round(scale * noise, 3)
    return doc, changes


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_document(path: str | Path) -> dict[str, Any]:
    """The YAML document of a scenario file (not validated: ``parse_scenario`` does that)."""
    p = resolve_path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as err:
        raise ScenarioError(f"{p}: cannot read the scenario file: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        raise ScenarioError(f"{p}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: invalid scenario: expected a mapping at the top level")
    return data


def whole_stack_problem(doc: Mapping[str, Any]) -> str | None:
    """Why a scenario document cannot run with the whole stack (None: it can). A synthetic world has
    no Lanelet2 map, so the planner would plan on another map than the one simulated (the district's,
    by default): such scenarios exercise the simulator core alone (its tests), not the stack."""
    m = doc.get("map")
    world = m.get("world", "synthetic") if isinstance(m, Mapping) else "synthetic"
    if world == "synthetic":
        return ("map.world is synthetic: no Lanelet2 map for the planner (a simulator-core scenario); "
                "the whole stack needs map.world: district")
    return None
