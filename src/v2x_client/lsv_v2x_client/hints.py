"""Turn checked V2X messages into what the planner and tracker use (pure; time and ego are arguments).

- ``signal_states``: per intersection and movement (MAP lane -> connecting lane), the light
  now and its min/likely/max end time (ns since the epoch).
- ``emergency_hint``: an on-duty emergency vehicle, its distance to the ego vehicle and the
  time until it reaches the ego path.
- ``in_blind_zone``: a remote road user inside the zones beside/behind the ego footprint.
- ``crossing_hints``: pedestrians / non-motorised road users on or heading onto a MAP
  crosswalk, or onto the ego path ahead.
- ``red_light_warning``: the ego vehicle, on a MAP ingress lane at its current speed, would
  reach the stop line while that lane's signal is red.
- ``rsi_hints``: RSI events (works, hazards) and signs (speed limits, warnings) as zones.
- ``remote_objects``: BSM vehicles and RSM participants as map-frame boxes for the tracker.

Geometry is in the map frame (x east, y north, m; yaw in rad CCW from x). V2X headings are
degrees clockwise from north: ``yaw = pi/2 - radians(heading)``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from lsv_v2x_client import timeref
from lsv_v2x_client.checks import EgoState, speed_limit_from_text
from lsv_v2x_client.messages import (
    STOP_STATES,
    Bsm,
    IntersectionSignals,
    LightState,
    MapData,
    NodeRef,
    Participant,
    PhaseStep,
    ReferencePath,
    RoadEvent,
    RoadSign,
    Rsi,
    Spat,
)
from lsv_v2x_client.projection import LocalProjection

NS = timeref.NS


class HintType(enum.IntEnum):
    """Same numbers as lsv_msgs/V2xHint TYPE_*."""

    PEDESTRIAN_CROSSING = 1
    BLIND_SPOT_OBJECT = 2
    EMERGENCY_VEHICLE = 3
    ROAD_HAZARD = 4
    SPEED_LIMIT = 5
    RED_LIGHT_WARNING = 6


class CodeKind(enum.IntEnum):
    NONE = 0
    EVENT = 1
    SIGN = 2


class ObjectClass(enum.IntEnum):
    """Same numbers as lsv_msgs/DetectedObject CLASS_*."""

    UNKNOWN = 0
    CAR = 1
    TRUCK = 2
    BUS = 3
    CYCLIST = 4
    MOTORCYCLE = 5
    PEDESTRIAN = 6
    EMERGENCY_VEHICLE = 8


@dataclass(frozen=True)
class HintParams:
    ego_length_m: float = 2.5
    ego_width_m: float = 1.2
    ego_rear_overhang_m: float = 0.4  # base_link (rear axle) to rear bumper
    ego_path_length_m: float = 60.0  # straight path ahead along the ego heading
    path_margin_m: float = 1.0  # added each side of the ego width for "on the ego path"
    blind_zone_behind_m: float = 5.0  # zone extends this far behind the rear bumper
    blind_zone_width_m: float = 3.0  # zone width beside the ego footprint
    crossing_horizon_s: float = 4.0  # look-ahead of a pedestrian's motion onto a crosswalk
    crosswalk_margin_m: float = 1.0
    lane_match_margin_m: float = 0.75  # ego inside lane width/2 + margin to be on a lane
    lane_match_heading_deg: float = 45.0
    red_light_min_speed_mps: float = 0.5  # below: the ego is stopping anyway, no arrival time
    moving_hint_hold_s: float = 1.0  # BSM/RSM based hints live this long after the message time
    rsi_hint_hold_s: float = 3.0  # RSI hints live this long after the last RSI unless it ends sooner
    speed_limit_sign_types: tuple[int, ...] = (85,)  # GB 5768.2 sign codes carrying a limit (km/h in the text)


@dataclass(frozen=True)
class Hint:
    type: HintType
    source_id: str
    hint_id: int
    x: float
    y: float
    valid_until_ns: int
    radius: float = 0.0
    zone: tuple[tuple[float, float], ...] = ()
    vx: float = 0.0
    vy: float = 0.0
    heading: float = 0.0
    speed_limit_mps: float = 0.0
    event_code: int = 0
    code_kind: CodeKind = CodeKind.NONE
    confidence: float = 1.0
    distance: float = -1.0
    time_to_path: float = -1.0
    intersection_id: int = 0
    lane_id: int = 0


@dataclass(frozen=True)
class SignalState:
    region: int
    intersection_id: int
    phase_id: int
    lane_id: int
    connecting_lane_id: int
    state: LightState
    min_end_ns: int = 0
    likely_end_ns: int = 0
    max_end_ns: int = 0
    confidence: float = 1.0
    authenticated: bool = False  # from a signed SPaT of a trusted road-side unit (security.py)


@dataclass(frozen=True)
class RemoteObject:
    source_id: str
    object_id: int
    classification: ObjectClass
    x: float
    y: float
    yaw: float
    speed: float
    length: float
    width: float
    height: float
    score: float
    time_ns: int


# ------------------------------------------------------------------------------ geometry

def heading_to_yaw(heading_deg: float) -> float:
    """V2X heading (deg clockwise from north) -> map yaw (rad CCW from east), wrapped to (-pi, pi]."""
    yaw = math.pi / 2 - math.radians(heading_deg)
    return math.atan2(math.sin(yaw), math.cos(yaw))


def to_ego_frame(ego: EgoState, x: float, y: float) -> tuple[float, float]:
    """Map point -> (forward, left) in m relative to the ego base_link."""
    dx, dy = x - ego.x, y - ego.y
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    return c * dx + s * dy, -s * dx + c * dy


def point_polyline(px: float, py: float, line: np.ndarray) -> tuple[float, float, float, int]:
    """Closest point of polyline ``line`` ((N, 2) float64, N >= 2) to (px, py).

    Returns (distance, arc length of the closest point from the start, total length, segment index).
    """
    a, b = line[:-1], line[1:]
    ab = b - a
    seg_len2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    t = np.clip(((px - a[:, 0]) * ab[:, 0] + (py - a[:, 1]) * ab[:, 1]) / seg_len2, 0.0, 1.0)
    cx, cy = a[:, 0] + t * ab[:, 0], a[:, 1] + t * ab[:, 1]
    d = np.hypot(px - cx, py - cy)
    i = int(np.argmin(d))
    seg_len = np.sqrt(seg_len2)
    along = float(seg_len[:i].sum() + t[i] * seg_len[i])
    return float(d[i]), along, float(seg_len.sum()), i


def buffer_polyline(line: np.ndarray, half_width: float) -> tuple[tuple[float, float], ...]:
    """Polygon around a polyline (N, 2): left side forwards, right side backwards (mitre-free)."""
    if len(line) == 1:
        c = line[0]
        return tuple((float(c[0] + half_width * math.cos(a)), float(c[1] + half_width * math.sin(a)))
                     for a in np.linspace(0, 2 * math.pi, 12, endpoint=False))
    d = np.diff(line, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    normals = np.vstack([d, d[-1:]])[:, ::-1] * np.array([-1.0, 1.0])
    normals[1:-1] = normals[1:-1] + np.stack([-d[:-1, 1], d[:-1, 0]], axis=1)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    left = line + half_width * normals
    right = line - half_width * normals
    return tuple((float(x), float(y)) for x, y in np.vstack([left, right[::-1]]))


# ------------------------------------------------------------------------------ MAP cache

@dataclass(frozen=True)
class LaneGeometry:
    node: NodeRef
    lane_id: int
    line: np.ndarray = field(repr=False)  # (N, 2) map x/y, upstream -> downstream
    half_width: float
    phases: tuple[tuple[int, int], ...]  # (phase id, connecting lane id or 0)
    crosswalk: bool


def map_geometry(msg: MapData, proj: LocalProjection) -> list[LaneGeometry]:
    """Lanes of a MAP with map-frame polylines: ingress lanes with signal phases, and crosswalks."""
    lanes = []
    for node in msg.nodes:
        for link in node.links:
            for lane in link.lanes:
                if len(lane.points) < 2:
                    continue
                lat = np.array([p.lat_deg for p in lane.points])
                lon = np.array([p.lon_deg for p in lane.points])
                x, y = proj.forward(lat, lon)
                width = (lane.width_cm or link.width_cm or 350) / 100.0
                phases = tuple((c.phase_id, c.connecting_lane or 0) for c in lane.connections if c.phase_id)
                if not phases:  # the link's movements give the phase when the lane has none
                    phases = tuple((m.phase_id, 0) for m in link.movements if m.phase_id)
                lanes.append(LaneGeometry(node.ref, lane.lane_id, np.stack([x, y], axis=1), width / 2, phases,
                                          lane.lane_type == "crosswalk"))
    return lanes


# ------------------------------------------------------------------------------ signals

@dataclass(frozen=True)
class TimedStep:
    light: LightState
    start_ns: int | None  # None = already going on / unknown
    min_end_ns: int | None
    likely_end_ns: int | None
    max_end_ns: int | None
    confidence: float


def resolve_steps(steps: Iterable[PhaseStep], message_ns: int) -> list[TimedStep]:
    """Phase states with their timing turned into absolute times."""
    out = []
    for s in steps:
        if s.timing == "counting":
            conv = (lambda v: timeref.counting_to_ns(v, message_ns))  # noqa: E731
        elif s.timing == "utc":
            conv = (lambda v: None if v is None else timeref.resolve_hour_tenths(v, message_ns))  # noqa: E731
        else:
            out.append(TimedStep(s.light, None, None, None, None, 1.0))
            continue
        conf = 1.0 if s.confidence is None else min(1.0, s.confidence / 200.0)
        out.append(TimedStep(s.light, conv(s.start), conv(s.min_end), conv(s.likely_end), conv(s.max_end), conf))
    return out


def current_step(steps: list[TimedStep], now_ns: int) -> TimedStep | None:
    """The step going on at ``now_ns``: the last one that has started and not ended (likely end)."""
    current = None
    for s in steps:
        started = s.start_ns is None or s.start_ns <= now_ns
        ended = s.likely_end_ns is not None and s.likely_end_ns <= now_ns
        if started and not ended:
            current = s
            break
    return current


def stop_on_arrival(steps: list[TimedStep], arrival_ns: int) -> bool:
    """Whether the light may show red at ``arrival_ns``, taking each red as early and as long as it can be."""
    prev_min_end = None
    for s in steps:
        start = s.start_ns
        if start is not None and prev_min_end is not None:
            start = min(start, prev_min_end)  # a red may start as soon as the previous state can end
        end = s.max_end_ns or s.likely_end_ns
        prev_min_end = s.min_end_ns or s.likely_end_ns
        if s.light in STOP_STATES and (start is None or start <= arrival_ns) and (end is None or arrival_ns < end):
            return True
    return False


def signal_states(spat: IntersectionSignals, message_ns: int, now_ns: int,
                  lanes: list[LaneGeometry], authenticated: bool = False) -> list[SignalState]:
    """One SignalState per (phase, MAP movement) of an intersection; lane ids 0 when no MAP matches."""
    out = []
    node_lanes = [la for la in lanes if not la.crosswalk and la.node.node_id == spat.ref.node_id
                  and (la.node.region is None or spat.ref.region is None or la.node.region == spat.ref.region)]
    for phase in spat.phases:
        step = current_step(resolve_steps(phase.steps, message_ns), now_ns)
        if step is None:
            continue
        movements = [(la.lane_id, conn) for la in node_lanes for pid, conn in la.phases if pid == phase.phase_id]
        for lane_id, conn in movements or [(0, 0)]:
            out.append(SignalState(spat.ref.region or 0, spat.ref.node_id, phase.phase_id, lane_id, conn, step.light,
                                   step.min_end_ns or 0, step.likely_end_ns or 0, step.max_end_ns or 0,
                                   step.confidence, authenticated))
    return out


def red_light_warning(ego: EgoState, lanes: list[LaneGeometry], spats: dict[int, tuple[Spat, int]],
                      now_ns: int, p: HintParams) -> list[Hint]:
    """Warnings for each signal phase of the ego's ingress lane that may be red when the ego arrives.

    ``spats``: intersection id -> (SPaT, message time ns).
    """
    if ego.speed < p.red_light_min_speed_mps:
        return []
    best = None
    for la in lanes:
        if la.crosswalk or not la.phases or la.node.node_id not in spats:
            continue
        d, along, total, i = point_polyline(ego.x, ego.y, la.line)
        if d > la.half_width + p.lane_match_margin_m or along >= total - 1e-3:
            continue
        seg = la.line[i + 1] - la.line[i]
        dyaw = math.atan2(seg[1], seg[0]) - ego.yaw
        if abs(math.atan2(math.sin(dyaw), math.cos(dyaw))) > math.radians(p.lane_match_heading_deg):
            continue
        if best is None or d < best[0]:
            best = (d, total - along, la)
    if best is None:
        return []
    _, remaining, la = best
    time_to_line = remaining / ego.speed
    arrival_ns = now_ns + int(time_to_line * NS)
    spat, message_ns = spats[la.node.node_id]
    hints = []
    for inter in spat.intersections:
        if inter.ref.node_id != la.node.node_id:
            continue
        for phase in inter.phases:
            if phase.phase_id not in {pid for pid, _ in la.phases}:
                continue
            if stop_on_arrival(resolve_steps(phase.steps, message_ns), arrival_ns):
                sx, sy = la.line[-1]
                hints.append(Hint(HintType.RED_LIGHT_WARNING, f"spat/{la.node.node_id}", phase.phase_id, float(sx),
                                  float(sy), now_ns + int(p.moving_hint_hold_s * NS), distance=remaining,
                                  time_to_path=time_to_line, intersection_id=la.node.node_id, lane_id=la.lane_id))
    return hints


# ------------------------------------------------------------------------------ vehicles / participants

def _velocity(speed: float | None, heading_deg: float | None) -> tuple[float, float, float]:
    if speed is None or heading_deg is None:
        return 0.0, 0.0, heading_to_yaw(heading_deg) if heading_deg is not None else 0.0
    yaw = heading_to_yaw(heading_deg)
    return speed * math.cos(yaw), speed * math.sin(yaw), yaw


def time_to_ego_path(ego: EgoState, x: float, y: float, vx: float, vy: float, p: HintParams) -> float:
    """Seconds until a road user at (x, y) moving at (vx, vy) reaches the ego path; 0 if on it; -1 if never."""
    fwd, left = to_ego_frame(ego, x, y)
    half = p.ego_width_m / 2 + p.path_margin_m
    rear = -p.ego_rear_overhang_m
    if rear <= fwd <= p.ego_path_length_m and abs(left) <= half:
        return 0.0
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    v_left = -s * vx + c * vy
    v_fwd = c * vx + s * vy
    if abs(v_left) < 1e-3 or left * v_left >= 0:  # not moving towards the path centre line
        if abs(left) <= half and fwd < rear and v_fwd > 0:  # behind the ego in its lane, catching up
            return (rear - fwd) / v_fwd
        return -1.0
    t = (abs(left) - half) / abs(v_left)  # time to enter the corridor
    fwd_at = fwd + v_fwd * t
    if rear <= fwd_at <= p.ego_path_length_m:
        return t
    return -1.0


def emergency_hint(bsm: Bsm, time_ns: int, ego: EgoState, proj: LocalProjection, p: HintParams) -> Hint:
    x, y = proj.forward_point(bsm.position.lat_deg, bsm.position.lon_deg)
    vx, vy, yaw = _velocity(bsm.speed_mps, bsm.heading_deg)
    return Hint(HintType.EMERGENCY_VEHICLE, bsm.vehicle_id.hex(), bsm.msg_count, x, y,
                time_ns + int(p.moving_hint_hold_s * NS), radius=max(bsm.length_cm, bsm.width_cm) / 200.0,
                vx=vx, vy=vy, heading=yaw, distance=math.hypot(x - ego.x, y - ego.y),
                time_to_path=time_to_ego_path(ego, x, y, vx, vy, p))


def in_blind_zone(ego: EgoState, x: float, y: float, radius: float, p: HintParams) -> bool:
    """Whether a road user (circle of ``radius`` at x, y) overlaps the zones beside and behind the ego footprint."""
    fwd, left = to_ego_frame(ego, x, y)
    rear = -p.ego_rear_overhang_m
    front = p.ego_length_m - p.ego_rear_overhang_m
    half = p.ego_width_m / 2
    if not (rear - p.blind_zone_behind_m - radius <= fwd <= front + radius):
        return False
    return half - radius < abs(left) <= half + p.blind_zone_width_m + radius and not (rear <= fwd <= front
                                                                                      and abs(left) < half)


def bsm_class(vehicle_class: int | None) -> ObjectClass:
    c = vehicle_class or 0
    if 60 <= c <= 69 or c == 58:
        return ObjectClass.EMERGENCY_VEHICLE
    if 10 <= c <= 21:
        return ObjectClass.CAR
    if 25 <= c <= 35:
        return ObjectClass.TRUCK
    if 40 <= c <= 48:
        return ObjectClass.MOTORCYCLE
    if 50 <= c <= 57:
        return ObjectClass.BUS
    if 82 <= c <= 84 or c == 86:
        return ObjectClass.PEDESTRIAN
    if c == 85:
        return ObjectClass.CYCLIST
    return ObjectClass.UNKNOWN


_PTC_CLASS = {"pedestrian": ObjectClass.PEDESTRIAN, "non-motor": ObjectClass.CYCLIST, "motor": ObjectClass.CAR}
_POS_CONF_SCORE = {"a50cm": 0.95, "a20cm": 0.95, "a10cm": 0.95, "a5cm": 0.95, "a2cm": 0.95, "a1cm": 0.95,
                   "a1m": 0.9, "a2m": 0.8, "a5m": 0.7, "a10m": 0.5}
BSM_SCORE = 0.95  # a vehicle reporting itself; its GNSS error is the main uncertainty


MAX_PREDICTION_S = 1.0  # s; objects are never predicted further than this


def predicted(obj: RemoteObject, now_ns: int) -> RemoteObject:
    """The object moved to ``now_ns`` at constant velocity (at most MAX_PREDICTION_S ahead), so that
    the tracker, which gets one stamp per array, fuses it at the right place."""
    dt = min(max(0.0, (now_ns - obj.time_ns) / NS), MAX_PREDICTION_S)
    if dt == 0.0 or obj.speed == 0.0:
        return obj
    return dataclasses.replace(obj, x=obj.x + obj.speed * math.cos(obj.yaw) * dt,
                               y=obj.y + obj.speed * math.sin(obj.yaw) * dt, time_ns=now_ns)


def bsm_object(bsm: Bsm, time_ns: int, proj: LocalProjection) -> RemoteObject:
    x, y = proj.forward_point(bsm.position.lat_deg, bsm.position.lon_deg)
    _, _, yaw = _velocity(bsm.speed_mps, bsm.heading_deg)
    height = bsm.height_5cm * 0.05 if bsm.height_5cm else 1.5
    return RemoteObject(bsm.vehicle_id.hex(), bsm.msg_count, bsm_class(bsm.vehicle_class), x, y, yaw,
                        bsm.speed_mps or 0.0, bsm.length_cm / 100.0, bsm.width_cm / 100.0, height, BSM_SCORE, time_ns)


def participant_object(rsu_id: str, ptc: Participant, time_ns: int, proj: LocalProjection) -> RemoteObject | None:
    if ptc.ptc_type == "rsu":
        return None
    x, y = proj.forward_point(ptc.position.lat_deg, ptc.position.lon_deg)
    _, _, yaw = _velocity(ptc.speed_mps, ptc.heading_deg)
    cls = _PTC_CLASS.get(ptc.ptc_type, ObjectClass.UNKNOWN)
    if ptc.ptc_type == "motor" and ptc.vehicle_class is not None:
        cls = bsm_class(ptc.vehicle_class)
    height = ptc.height_5cm * 0.05 if ptc.height_5cm else (1.7 if cls == ObjectClass.PEDESTRIAN else 1.5)
    return RemoteObject(rsu_id, ptc.ptc_id, cls, x, y, yaw, ptc.speed_mps or 0.0, ptc.length_cm / 100.0,
                        ptc.width_cm / 100.0, height, _POS_CONF_SCORE.get(ptc.pos_confidence, 0.6), time_ns)


def crossing_hint(rsu_id: str, ptc: Participant, time_ns: int, ego: EgoState, lanes: list[LaneGeometry],
                  proj: LocalProjection, p: HintParams) -> Hint | None:
    """A pedestrian / non-motorised participant on or heading onto a crosswalk, or onto the ego path."""
    if ptc.ptc_type not in ("pedestrian", "non-motor"):
        return None
    x, y = proj.forward_point(ptc.position.lat_deg, ptc.position.lon_deg)
    vx, vy, yaw = _velocity(ptc.speed_mps, ptc.heading_deg)
    ts = np.linspace(0.0, p.crossing_horizon_s, 9)
    crosswalk = None
    for la in lanes:
        if not la.crosswalk:
            continue
        for t in ts:
            d, _, _, _ = point_polyline(x + vx * t, y + vy * t, la.line)
            if d <= la.half_width + p.crosswalk_margin_m:
                crosswalk = la
                break
        if crosswalk is not None:
            break
    ttp = time_to_ego_path(ego, x, y, vx, vy, p)
    if crosswalk is None and not (0.0 <= ttp <= p.crossing_horizon_s):
        return None
    fwd, _ = to_ego_frame(ego, x, y)
    return Hint(HintType.PEDESTRIAN_CROSSING, rsu_id, ptc.ptc_id, x, y, time_ns + int(p.moving_hint_hold_s * NS),
                radius=max(ptc.length_cm, ptc.width_cm) / 200.0, vx=vx, vy=vy, heading=yaw,
                confidence=_POS_CONF_SCORE.get(ptc.pos_confidence, 0.6), distance=max(fwd, 0.0), time_to_path=ttp,
                intersection_id=crosswalk.node.node_id if crosswalk else 0,
                lane_id=crosswalk.lane_id if crosswalk else 0)


# ------------------------------------------------------------------------------ RSI

def _item_hint(rsi: Rsi, item: RoadEvent | RoadSign, time_ns: int, now_ns: int, proj: LocalProjection,
               p: HintParams) -> Hint | None:
    pos = item.position or rsi.position
    x, y = proj.forward_point(pos.lat_deg, pos.lon_deg)
    valid_until = time_ns + int(p.rsi_hint_hold_s * NS)  # time_ns: when the RSI was received
    if item.end_moy is not None:
        end = timeref.resolve_moy(item.end_moy, now_ns)
        if end is not None:
            valid_until = min(valid_until, end)
    zone: tuple[tuple[float, float], ...] = ()
    radius = 0.0
    if isinstance(item, RoadEvent) and item.radius_dm:
        radius = item.radius_dm / 10.0
    if item.paths:
        zone = _path_zone(item.paths[0], proj)
    confidence = 1.0
    if isinstance(item, RoadEvent) and item.confidence is not None:
        confidence = min(1.0, item.confidence / 200.0)
    common = dict(source_id=rsi.rsu_id.hex(), x=x, y=y, valid_until_ns=valid_until, radius=radius, zone=zone,
                  confidence=confidence)
    if isinstance(item, RoadEvent):
        return Hint(HintType.ROAD_HAZARD, hint_id=item.rte_id, event_code=item.event_type, code_kind=CodeKind.EVENT,
                    **common)
    if item.sign_type in p.speed_limit_sign_types:
        limit = speed_limit_from_text(item.description)
        if limit is None:
            return None
        return Hint(HintType.SPEED_LIMIT, hint_id=256 + item.rts_id, speed_limit_mps=limit, event_code=item.sign_type,
                    code_kind=CodeKind.SIGN, **common)
    return Hint(HintType.ROAD_HAZARD, hint_id=256 + item.rts_id, event_code=item.sign_type, code_kind=CodeKind.SIGN,
                **common)


def _path_zone(path: ReferencePath, proj: LocalProjection) -> tuple[tuple[float, float], ...]:
    lat = np.array([q.lat_deg for q in path.points])
    lon = np.array([q.lon_deg for q in path.points])
    x, y = proj.forward(lat, lon)
    return buffer_polyline(np.stack([x, y], axis=1), max(path.radius_dm / 10.0, 0.5))


def rsi_hints(rsi: Rsi, time_ns: int, now_ns: int, proj: LocalProjection, p: HintParams) -> list[Hint]:
    """Hazard / works / sign hints of one RSI received at ``time_ns``; ``hint_id`` = rteId, or 256 + rtsId for signs.

    A hint is valid ``rsi_hint_hold_s`` after reception (RSUs repeat RSI at 1-10 Hz), or until
    the item's end time if that comes first.
    """
    hints = [_item_hint(rsi, item, time_ns, now_ns, proj, p) for item in (*rsi.events, *rsi.signs)]
    return [h for h in hints if h is not None]
