"""Objects on the path (pure): stop before a blocking object, or follow a moving one.

Each tracked object (score >= ``min_score``) is predicted at constant velocity over
``prediction_s`` (0.5 s steps, now included) and projected on the path window. A prediction
blocks when its footprint comes within half the ego width + ``lateral_margin_m`` of the path.

``passing_caps``: a standing vehicle or static obstacle (``PASSABLE_CLASSES``, slower than
``follow_min_speed``) that blocks with ``lateral_margin_m`` but not with the smaller
``min_clearance_m`` (a car parked a little over the lane line in a narrow street) is passed
instead, at no more than ``pass_speed`` while the vehicle is alongside it; ``evaluate`` given
the same ``min_clearance_m`` then stops only when such an object comes within it. People,
cyclists, animals, unknown and moving objects keep the full ``lateral_margin_m``. Without a
``min_clearance_m`` every blocking object is a stop.

- A lead object (blocking now, moving along the path faster than ``follow_min_speed``) is
  followed: the stop point sits at its rear + its own stopping distance at the comfortable
  deceleration - (``stop_margin_m`` + ``time_gap_s`` x its speed), so that at equal speeds the
  profile settles at that gap, and if it brakes the vehicle can stop behind it.
- Any other blocking prediction (static, slow, oncoming, crossing) is an obstacle: stop
  ``stop_margin_m`` before the nearest blocking footprint.

Stale or missing objects are handled by the planner (speed cap ``stale_objects_speed_mps``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lsv_planning.behaviours.common import PathWindow, StopPoint
from lsv_planning.inputs import TrackedObj

PASSABLE_CLASSES = frozenset({1, 2, 3, 9})  # car, truck, bus, static obstacle: passed close when standing
_CLASS_NAMES = {0: "unknown", 1: "car", 2: "truck", 3: "bus", 4: "cyclist", 5: "motorcycle", 6: "pedestrian",
                7: "animal", 8: "emergency_vehicle", 9: "static_obstacle"}


@dataclass(frozen=True)
class _Footprints:
    """The objects' predictions on the path: arc length (K, T), clearance (K, T) m between the
    footprint and the path's centre line (negative: it reaches over the line), half the footprint
    along the path (K, T), the path's heading at each object now (K,)."""

    s: np.ndarray
    clearance: np.ndarray
    half_along: np.ndarray
    path_yaw: np.ndarray


def _footprints(window: PathWindow, objs: list[TrackedObj], prediction_s: float) -> _Footprints:
    times = np.arange(0.0, prediction_s + 1e-9, 0.5) if prediction_s > 0 else np.zeros(1)
    nt = len(times)
    pos = np.array([[o.x, o.y] for o in objs])
    vel = np.array([[o.vx, o.vy] for o in objs])
    pred = pos[:, None, :] + vel[:, None, :] * times[None, :, None]  # (K, T, 2)
    s, lat, pyaw = window.project(pred.reshape(-1, 2))
    s, lat, pyaw = s.reshape(-1, nt), lat.reshape(-1, nt), pyaw.reshape(-1, nt)
    size = np.array([[o.length, o.width] for o in objs])
    dth = np.array([o.yaw for o in objs])[:, None] - pyaw
    half_across = 0.5 * (np.abs(size[:, 0:1] * np.sin(dth)) + np.abs(size[:, 1:2] * np.cos(dth)))
    half_along = 0.5 * (np.abs(size[:, 0:1] * np.cos(dth)) + np.abs(size[:, 1:2] * np.sin(dth)))
    return _Footprints(s, np.abs(lat) - half_across, half_along, pyaw[:, 0])


def _passable(objs: list[TrackedObj], follow_min_speed: float) -> np.ndarray:
    """(K,) bool: standing vehicles and static obstacles, the objects that may be passed close."""
    return np.array([o.classification in PASSABLE_CLASSES and math.hypot(o.vx, o.vy) < follow_min_speed
                     for o in objs], dtype=bool)


def _in_window(fp: _Footprints, window: PathWindow, ego_s: float) -> np.ndarray:
    """(K, T) the footprint is ahead of the ego's reference point and within the window."""
    return (fp.s + fp.half_along > ego_s) & (fp.s - fp.half_along < window.s[-1] + 1.0)


def evaluate(window: PathWindow, objects: Iterable[TrackedObj], ego_s: float, *, front_m: float, ego_width_m: float,
             lateral_margin_m: float, stop_margin_m: float, time_gap_s: float, follow_min_speed: float,
             prediction_s: float, comfort_decel: float, min_score: float, min_clearance_m: float | None = None,
             ) -> tuple[list[StopPoint], list[dict]]:
    """Stop points for blocking objects and a report of each blocking object. With
    ``min_clearance_m``: only what comes within half the ego width + it blocks (``passing_caps``
    slows the vehicle past what stays between that and ``lateral_margin_m``)."""
    objs = [o for o in objects if o.score >= min_score]
    if not objs or len(window.s) < 2:
        return [], []
    fp = _footprints(window, objs, prediction_s)
    margin = np.full(len(objs), lateral_margin_m)
    if min_clearance_m is not None:
        margin[_passable(objs, follow_min_speed)] = min(min_clearance_m, lateral_margin_m)
    blocking_all = (fp.clearance <= 0.5 * ego_width_m + margin[:, None]) & _in_window(fp, window, ego_s)
    stops, report = [], []
    for k, o in enumerate(objs):
        blocking = blocking_all[k]
        if not np.any(blocking):
            continue
        rear = fp.s[k] - fp.half_along[k]
        c, sn = math.cos(fp.path_yaw[k]), math.sin(fp.path_yaw[k])
        v_along = c * o.vx + sn * o.vy
        name = f"{_CLASS_NAMES.get(o.classification, 'object')} {o.object_id}"
        if blocking[0] and v_along >= follow_min_speed:
            gap = stop_margin_m + time_gap_s * v_along
            stop_s = rear[0] + v_along * v_along / (2.0 * comfort_decel) - gap - front_m
            stops.append(StopPoint(stop_s, "lead_vehicle", f"following {name} at {v_along:.1f} m/s"))
            kind = "follow"
        else:
            r = float(np.min(rear[blocking]))
            stop_s = r - stop_margin_m - front_m
            stops.append(StopPoint(stop_s, "obstacle", f"{name} {r - ego_s - front_m:.1f} m ahead"))
            kind = "stop"
        report.append({"object": int(o.object_id), "class": _CLASS_NAMES.get(o.classification, "object"),
                       "kind": kind, "distance_m": round(float(np.min(rear[blocking])) - ego_s - front_m, 2),
                       "speed_along_mps": round(v_along, 2)})
    return stops, report


def passing_caps(window: PathWindow, objects: Iterable[TrackedObj], ego_s: float, *, front_m: float, rear_m: float,
                 ego_width_m: float, lateral_margin_m: float, min_clearance_m: float, pass_speed: float,
                 follow_min_speed: float, prediction_s: float, min_score: float) -> tuple[np.ndarray, list[dict]]:
    """Speed caps (M,) m/s on the window (inf where none) for passing close objects: standing
    vehicles and static obstacles whose footprints come within half the ego width +
    ``lateral_margin_m`` of the path but not within + ``min_clearance_m`` (those are
    ``evaluate``'s stops). The cap holds wherever the vehicle's
    body (``rear_m`` behind base_link to ``front_m`` ahead of it) overlaps the object along the
    path; the velocity profile slows down to it in time. Also a report per object passed."""
    caps = np.full(len(window.s), np.inf)
    objs = [o for o in objects if o.score >= min_score]
    if not objs or len(window.s) < 2 or min_clearance_m >= lateral_margin_m:
        return caps, []
    passable = _passable(objs, follow_min_speed)
    if not passable.any():
        return caps, []
    objs = [o for o, ok in zip(objs, passable, strict=True) if ok]
    fp = _footprints(window, objs, prediction_s)
    ahead = _in_window(fp, window, ego_s)
    close = ((fp.clearance <= 0.5 * ego_width_m + lateral_margin_m) & ahead).any(axis=1)
    blocking = ((fp.clearance <= 0.5 * ego_width_m + min_clearance_m) & ahead).any(axis=1)
    report = []
    for k in np.flatnonzero(close & ~blocking):
        rear = float(np.min(fp.s[k] - fp.half_along[k]))
        front = float(np.max(fp.s[k] + fp.half_along[k]))
        step = float(np.max(np.diff(window.s)))  # one sample more each side: the cap covers the whole stretch
        alongside = (window.s + front_m >= rear - step) & (window.s - rear_m <= front + step)
        caps[alongside] = np.minimum(caps[alongside], pass_speed)
        o = objs[k]
        report.append({"object": int(o.object_id), "class": _CLASS_NAMES.get(o.classification, "object"),
                       "kind": "pass", "distance_m": round(rear - ego_s - front_m, 2),
                       "clearance_m": round(float(np.min(fp.clearance[k])) - 0.5 * ego_width_m, 2)})
    return caps, report
