"""Scripted actors: pedestrians, cyclists, parked and moving cars, emergency vehicles (pure).

Each actor follows a polyline of waypoints at a target speed (per segment or one for all),
reached and left with a bounded acceleration. It waits until its trigger fires (the ego
within ``ego_within_m`` of the actor, or the scenario time passing ``at_s``), then after
``delay_s`` starts to move; at the last waypoint it stops (or starts over when ``loop``).
``transition`` is the phase state machine; ``step_actor`` advances one actor by ``dt``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

import numpy as np


class ActorType(enum.Enum):
    PEDESTRIAN = "pedestrian"
    CYCLIST = "cyclist"
    CAR = "car"
    PARKED_CAR = "parked_car"
    EMERGENCY_VEHICLE = "emergency_vehicle"


@dataclass(frozen=True)
class TypeDefaults:
    length_m: float
    width_m: float
    height_m: float
    speed_mps: float
    accel_mps2: float
    classification: int  # lsv_msgs/DetectedObject.CLASS_*


TYPE_DEFAULTS: dict[ActorType, TypeDefaults] = {
    ActorType.PEDESTRIAN: TypeDefaults(0.5, 0.5, 1.75, 1.3, 1.0, 6),
    ActorType.CYCLIST: TypeDefaults(1.8, 0.6, 1.7, 4.0, 1.0, 4),
    ActorType.CAR: TypeDefaults(4.5, 1.8, 1.5, 8.0, 2.0, 1),
    ActorType.PARKED_CAR: TypeDefaults(4.5, 1.8, 1.5, 0.0, 0.0, 1),
    ActorType.EMERGENCY_VEHICLE: TypeDefaults(5.5, 2.0, 2.4, 10.0, 2.5, 8),
}

ACTOR_TYPES = tuple(t.value for t in ActorType)


class Phase(enum.Enum):
    WAITING = "waiting"  # trigger not fired yet
    DELAY = "delay"  # trigger fired, waiting delay_s
    MOVING = "moving"
    DONE = "done"  # reached the last waypoint (not looping) or never moves


@dataclass(frozen=True)
class Trigger:
    """When the actor starts: the first condition that holds (none given = at the start)."""

    ego_within_m: float | None = None
    at_s: float | None = None
    delay_s: float = 0.0

    def fired(self, t_s: float, ego_distance_m: float) -> bool:
        if self.ego_within_m is None and self.at_s is None:
            return True
        return ((self.ego_within_m is not None and ego_distance_m <= self.ego_within_m)
                or (self.at_s is not None and t_s >= self.at_s))


@dataclass(frozen=True)
class ActorSpec:
    actor_id: str
    type: ActorType
    waypoints: np.ndarray  # (N, 2) float64 x, y in the map frame, N >= 1
    speeds_mps: np.ndarray  # (N - 1,) target speed on each segment (one value for a parked actor)
    trigger: Trigger
    length_m: float
    width_m: float
    height_m: float
    accel_mps2: float
    loop: bool = False
    yaw_rad: float | None = None  # heading of a stationary actor (default: along the first segment)

    @property
    def classification(self) -> int:
        return TYPE_DEFAULTS[self.type].classification

    @property
    def moves(self) -> bool:
        return len(self.waypoints) >= 2 and float(np.max(self.speeds_mps)) > 0.0

    @property
    def is_vulnerable(self) -> bool:
        """Pedestrians and cyclists: the ones a vehicle must yield to on a crosswalk."""
        return self.type in (ActorType.PEDESTRIAN, ActorType.CYCLIST)

    @property
    def is_vehicle(self) -> bool:
        return self.type in (ActorType.CAR, ActorType.PARKED_CAR, ActorType.EMERGENCY_VEHICLE)


@dataclass(frozen=True)
class ActorState:
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float = 0.0
    s_m: float = 0.0  # distance along the path
    phase: Phase = Phase.WAITING
    phase_since_s: float = 0.0


class Path:
    """Arc-length parametrised polyline (cumulative lengths precomputed once)."""

    def __init__(self, waypoints: np.ndarray):
        self.points = np.asarray(waypoints, dtype=np.float64).reshape(-1, 2)
        seg = np.diff(self.points, axis=0)
        self.seg_len = np.hypot(seg[:, 0], seg[:, 1]) if len(seg) else np.zeros(0)
        self.cum = np.concatenate(([0.0], np.cumsum(self.seg_len)))
        self.length = float(self.cum[-1])
        self.seg_yaw = np.arctan2(seg[:, 1], seg[:, 0]) if len(seg) else np.zeros(0)

    def segment(self, s: float) -> int:
        if len(self.seg_len) == 0:
            return 0
        return int(min(max(np.searchsorted(self.cum, s, side="right") - 1, 0), len(self.seg_len) - 1))

    def pose(self, s: float) -> tuple[float, float, float]:
        """(x, y, yaw) at arc length ``s`` (clamped to the path)."""
        if len(self.seg_len) == 0:
            return float(self.points[0, 0]), float(self.points[0, 1]), 0.0
        s = min(max(s, 0.0), self.length)
        i = self.segment(s)
        frac = 0.0 if self.seg_len[i] <= 0.0 else (s - self.cum[i]) / self.seg_len[i]
        p = self.points[i] + frac * (self.points[i + 1] - self.points[i])
        return float(p[0]), float(p[1]), float(self.seg_yaw[i])


def initial_state(spec: ActorSpec, path: Path) -> ActorState:
    x, y, yaw = path.pose(0.0)
    if spec.yaw_rad is not None:
        yaw = spec.yaw_rad
    return ActorState(x, y, yaw, phase=Phase.WAITING if spec.moves else Phase.DONE)


def transition(phase: Phase, since_s: float, t_s: float, spec: ActorSpec, ego_distance_m: float,
               at_end: bool) -> Phase:
    """The next phase of an actor (pure; every arrow has a test)."""
    if phase is Phase.WAITING:
        if not spec.moves:
            return Phase.DONE
        if spec.trigger.fired(t_s, ego_distance_m):
            return Phase.DELAY if spec.trigger.delay_s > 0.0 else Phase.MOVING
        return Phase.WAITING
    if phase is Phase.DELAY:
        return Phase.MOVING if t_s - since_s >= spec.trigger.delay_s else Phase.DELAY
    if phase is Phase.MOVING:
        return Phase.DONE if at_end and not spec.loop else Phase.MOVING
    return Phase.DONE


def step_actor(spec: ActorSpec, path: Path, st: ActorState, t_s: float, dt: float,
               ego_xy: tuple[float, float]) -> ActorState:
    """Advance one actor from ``t_s`` to ``t_s + dt`` given where the ego is."""
    dist = math.hypot(ego_xy[0] - st.x_m, ego_xy[1] - st.y_m)
    at_end = st.s_m >= path.length - 1e-9
    phase = transition(st.phase, st.phase_since_s, t_s, spec, dist, at_end)
    since = st.phase_since_s if phase is st.phase else t_s
    if phase is not Phase.MOVING:
        return replace(st, speed_mps=0.0, phase=phase, phase_since_s=since)
    target = float(spec.speeds_mps[path.segment(st.s_m)])
    # brake in time for the end of the path (unless looping)
    if not spec.loop and spec.accel_mps2 > 0.0:
        remaining = max(path.length - st.s_m, 0.0)
        # planned with 80 % of the limit so that the discrete steps can follow the curve
        target = min(target, math.sqrt(1.6 * spec.accel_mps2 * remaining))
    a = spec.accel_mps2
    v = target if a <= 0.0 else min(max(target, st.speed_mps - a * dt), st.speed_mps + a * dt)
    v = max(v, 0.0)
    s = st.s_m + 0.5 * (st.speed_mps + v) * dt
    if s >= path.length:
        if spec.loop and path.length > 0.0:
            s = math.fmod(s, path.length)
        else:
            s = path.length
            if v < 0.05:  # arrived
                v = 0.0
    if not spec.loop and s >= path.length and st.s_m < path.length and v > 0.0:
        v = 0.0  # end of the script: stand where it ends
    x, y, yaw = path.pose(s)
    return ActorState(x, y, yaw, v, s, phase, since)


def footprint(x: float, y: float, yaw: float, length: float, width: float) -> np.ndarray:
    """(4, 2) corners of a rectangle centred on (x, y), counter-clockwise."""
    c, s = math.cos(yaw), math.sin(yaw)
    hl, hw = 0.5 * length, 0.5 * width
    local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([x, y])
