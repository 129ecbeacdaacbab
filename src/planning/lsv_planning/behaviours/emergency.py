"""Emergency vehicles (pure): slow down, pull to the right edge of the lane and stop until it passes.

Sources: V2X ``EMERGENCY_VEHICLE`` hints (valid ones; ``time_to_path`` -1 = not converging) and
tracked objects classified ``EMERGENCY_VEHICLE``. One is *relevant* when it is within ``range_m``
of the vehicle and either converging (hint ``time_to_path`` >= 0, or a track coming towards the
vehicle by its own motion) or within ``near_m`` (a track only while it moves). It has *passed*
when it is ahead of the vehicle and moving away faster than the vehicle would drive. The
vehicle's own motion never makes one relevant: an ambulance standing at an incident 80 m ahead
has no path to be cleared for (the obstacle behaviour stops behind it if it is in the way); it
was yielded to, pulling over for good, when only the relative velocity was looked at. Nor does a
*standing* track near the vehicle: the lidar and the camera cannot tell a siren, so a parked
ambulance, or a van of the same size the classifier calls one, made the vehicle pull over and
wait beside it for good (and, in a narrow street, pull over into the parked cars); a standing
one announced by V2X (its siren on) within ``near_m`` still is yielded to. A track smaller than
``MIN_TRACK_SIZE_M`` is no vehicle: the lidar cuts the long side of a parked van or bus seen at a
grazing angle into slivers of a few points, which the classifier may call emergency vehicles and
the tracker gives velocities as the visible part moves along the side.

State machine (``transition``):

    NORMAL   --relevant-->                      YIELDING  (stop point and pull-over fixed here)
    YIELDING --not relevant-->                  CLEARING  (timer starts)
    CLEARING --relevant again-->                YIELDING  (same stop point)
    CLEARING --not relevant for clear_s-->      NORMAL    (drive on, back to the lane centre)

While YIELDING or CLEARING the path shifts right by ``offset_m`` (clipped so the vehicle stays in
its lane) over ``pull_over_m`` and the vehicle stops at the end of that shift - or before an
intersection's stop line or a crosswalk on the way (``keep_clear``), so as not to block the
junction the emergency vehicle may need, when that is still a comfortable stop.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lsv_planning.behaviours.common import StopPoint
from lsv_planning.inputs import CLASS_EMERGENCY_VEHICLE, HINT_EMERGENCY_VEHICLE, NS, EgoState, Hint, TrackedObj

MOVING_MPS = 0.5  # m/s; slower emergency vehicles are standing (a tracked one's velocity noise included)
MIN_TRACK_SIZE_M = 1.5  # m; a tracked emergency vehicle whose box is smaller (longer side) is a fragment


class EmergencyPhase(enum.Enum):
    NORMAL = "normal"
    YIELDING = "yielding"
    CLEARING = "clearing"


@dataclass(frozen=True)
class EmergencyState:
    phase: EmergencyPhase = EmergencyPhase.NORMAL
    start_s: float = 0.0  # where the pull-over starts (path arc length)
    stop_s: float = 0.0  # where the vehicle stops, pulled over
    clear_since_ns: int = 0  # CLEARING: when the emergency vehicle stopped being relevant
    release_s: float | None = None  # NORMAL after a yield: where the path starts back to the centre


@dataclass(frozen=True)
class EmergencyVehicle:
    x: float
    y: float
    vx: float
    vy: float
    converging: bool | None  # None = unknown (use the geometry)
    label: str


def collect(hints: Iterable[Hint], objects: Iterable[TrackedObj], now_ns: int) -> list[EmergencyVehicle]:
    evs = []
    for h in hints:
        if h.type == HINT_EMERGENCY_VEHICLE and h.valid_until_ns >= now_ns:
            conv = None if h.time_to_path is None else h.time_to_path >= 0
            evs.append(EmergencyVehicle(h.x, h.y, h.vx, h.vy, conv, f"v2x {h.source_id}:{h.hint_id}"))
    for o in objects:
        if o.classification == CLASS_EMERGENCY_VEHICLE and max(o.length, o.width) >= MIN_TRACK_SIZE_M:
            evs.append(EmergencyVehicle(o.x, o.y, o.vx, o.vy, None, f"track {o.object_id}"))
    return evs


def relevant(ev: EmergencyVehicle, ego: EgoState, range_m: float, near_m: float, ego_length_m: float) -> bool:
    dx, dy = ev.x - ego.x, ev.y - ego.y
    dist = math.hypot(dx, dy)
    if dist > range_m:
        return False
    c, s = math.cos(ego.yaw), math.sin(ego.yaw)
    ahead = c * dx + s * dy
    moving = math.hypot(ev.vx, ev.vy) >= MOVING_MPS
    closing = moving and dx * ev.vx + dy * ev.vy < 0.0  # coming towards the vehicle by its own motion
    v_along = c * ev.vx + s * ev.vy
    passed = ahead > ego_length_m and v_along > max(ego.speed, 0.5) and not closing
    if passed:
        return False
    if dist <= near_m and (moving or ev.converging is not None):  # a standing track: an obstacle, not a yield
        return True
    return ev.converging if ev.converging is not None else closing


def transition(state: EmergencyState, any_relevant: bool, now_ns: int, ego_s: float, stop_distance_m: float,
               clear_s: float) -> EmergencyState:
    """Next state. ``stop_distance_m``: where to stop from ``ego_s`` when a yield starts."""
    p = state.phase
    if p == EmergencyPhase.NORMAL:
        if any_relevant:
            return EmergencyState(EmergencyPhase.YIELDING, ego_s, ego_s + stop_distance_m)
        return state
    if p == EmergencyPhase.YIELDING:
        if any_relevant:
            return state
        return EmergencyState(EmergencyPhase.CLEARING, state.start_s, state.stop_s, now_ns)
    # CLEARING
    if any_relevant:
        return EmergencyState(EmergencyPhase.YIELDING, state.start_s, state.stop_s)
    if now_ns - state.clear_since_ns >= clear_s * NS:
        return EmergencyState(EmergencyPhase.NORMAL, release_s=ego_s)
    return state


def lateral_offset(state: EmergencyState, s: np.ndarray, offset_m: float, ramp_m: float) -> np.ndarray:
    """(M,) lateral offset (m, left positive: the pull-over is negative) along arc lengths ``s``."""
    if state.phase in (EmergencyPhase.YIELDING, EmergencyPhase.CLEARING):
        length = max(state.stop_s - state.start_s, 1e-3)
        frac = np.clip((s - state.start_s) / length, 0.0, 1.0)
        return -offset_m * (0.5 - 0.5 * np.cos(np.pi * frac))
    if state.release_s is not None:
        frac = np.clip((s - state.release_s) / ramp_m, 0.0, 1.0)
        return -offset_m * (0.5 + 0.5 * np.cos(np.pi * frac))
    return np.zeros_like(s)


def stop_point(state: EmergencyState, n_relevant: int) -> StopPoint | None:
    if state.phase == EmergencyPhase.NORMAL:
        return None
    what = f"{n_relevant} approaching" if n_relevant else "clearing"
    return StopPoint(state.stop_s, "emergency_vehicle", f"pulled over for emergency vehicle ({what})")


def pull_over_offset(lane_width_m: float, ego_width_m: float, wanted_m: float, edge_margin_m: float = 0.2) -> float:
    """Right shift (m, >= 0) that keeps the vehicle ``edge_margin_m`` inside its lane."""
    room = 0.5 * (lane_width_m - ego_width_m) - edge_margin_m
    return float(min(wanted_m, max(room, 0.0)))


def keep_clear(state: EmergencyState, zones: list[tuple[float, str]], ego_s: float, front_m: float, speed: float,
               comfort_decel: float) -> StopPoint | None:
    """While yielding: a stop before the first zone entry (arc length of a stop line or crosswalk start,
    with a label) between the vehicle's front and its pull-over stop, if a comfortable stop reaches it."""
    if state.phase == EmergencyPhase.NORMAL:
        return None
    for s_in, label in sorted(zones):
        stop_s = s_in - front_m - 0.5
        if s_in < ego_s + front_m or stop_s >= state.stop_s:
            continue
        if speed * speed / (2.0 * comfort_decel) <= max(stop_s - ego_s, 0.0) + 0.5:
            return StopPoint(stop_s, "emergency_vehicle", f"pulled over for emergency vehicle, keeping {label} clear")
    return None
