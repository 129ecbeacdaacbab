"""Objects on the path (pure): stop before a blocking object, or follow a moving one.

Each tracked object (score >= ``min_score``) is predicted at constant velocity over
``prediction_s`` (0.5 s steps, now included) and projected on the path window. A prediction
blocks when its footprint comes within half the ego width + ``lateral_margin_m`` of the path.

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

import numpy as np

from lsv_planning.behaviours.common import PathWindow, StopPoint
from lsv_planning.inputs import TrackedObj

_CLASS_NAMES = {0: "unknown", 1: "car", 2: "truck", 3: "bus", 4: "cyclist", 5: "motorcycle", 6: "pedestrian",
                7: "animal", 8: "emergency_vehicle", 9: "static_obstacle"}


def evaluate(window: PathWindow, objects: Iterable[TrackedObj], ego_s: float, *, front_m: float, ego_width_m: float,
             lateral_margin_m: float, stop_margin_m: float, time_gap_s: float, follow_min_speed: float,
             prediction_s: float, comfort_decel: float, min_score: float) -> tuple[list[StopPoint], list[dict]]:
    """Stop points for blocking objects and a report of each blocking object."""
    objs = [o for o in objects if o.score >= min_score]
    if not objs or len(window.s) < 2:
        return [], []
    times = np.arange(0.0, prediction_s + 1e-9, 0.5) if prediction_s > 0 else np.zeros(1)
    nt = len(times)
    pos = np.array([[o.x, o.y] for o in objs])
    vel = np.array([[o.vx, o.vy] for o in objs])
    pred = pos[:, None, :] + vel[:, None, :] * times[None, :, None]  # (K, T, 2)
    s, lat, pyaw = window.project(pred.reshape(-1, 2))
    s, lat, pyaw = s.reshape(-1, nt), lat.reshape(-1, nt), pyaw.reshape(-1, nt)
    stops, report = [], []
    s_end = window.s[-1]
    for k, o in enumerate(objs):
        dth = o.yaw - pyaw[k]
        half_across = 0.5 * (abs(o.length * np.sin(dth)) + abs(o.width * np.cos(dth)))
        half_along = 0.5 * (abs(o.length * np.cos(dth)) + abs(o.width * np.sin(dth)))
        blocking = np.abs(lat[k]) <= half_across + 0.5 * ego_width_m + lateral_margin_m
        rear = s[k] - half_along
        front = s[k] + half_along
        blocking &= (front > ego_s) & (rear < s_end + 1.0)  # ahead of the ego's reference point, in the window
        if not np.any(blocking):
            continue
        c, sn = math.cos(pyaw[k, 0]), math.sin(pyaw[k, 0])
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
