"""Speed limits along the path (pure): the lowest of

- the vehicle's own limit (``max_speed_mps``, never above 25 km/h whatever the parameters say),
- the map's limit of each lanelet (``speed_limit`` tag via the Lanelet2 traffic rules),
- V2X ``SPEED_LIMIT`` zones (RSI signs; polygon or circle) and ``ROAD_HAZARD`` zones
  (``hazard_speed_mps``); hints are advice: they can only lower the limit,
- the curve limit sqrt(max lateral acceleration / |curvature|), not below ``min_curve_speed``.

Returns the cap per sample and, per sample, which of these binds (for the decision report).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lsv_planning.behaviours.common import PathWindow, points_in_polygon
from lsv_planning.inputs import HINT_ROAD_HAZARD, HINT_SPEED_LIMIT, Hint
from lsv_planning.params import HARD_SPEED_CAP_MPS

SOURCES = ("vehicle", "map", "v2x_speed_limit", "v2x_hazard", "curve", "passing_obstacle")
PASSING = SOURCES.index("passing_obstacle")  # set by the planner from obstacle.passing_caps


def in_zone(h: Hint, xy: np.ndarray) -> np.ndarray:
    if h.zone is not None and len(h.zone) >= 3:
        return points_in_polygon(xy, np.asarray(h.zone, dtype=np.float64))
    return np.hypot(xy[:, 0] - h.x, xy[:, 1] - h.y) <= max(h.radius, 0.0)


def speed_caps(window: PathWindow, hints: Iterable[Hint], now_ns: int, *, max_speed: float, max_lat_accel: float,
               min_curve_speed: float, hazard_speed: float) -> tuple[np.ndarray, np.ndarray]:
    """(cap (M,) m/s, index into SOURCES (M,) of the binding limit)."""
    m = len(window.s)
    caps = np.full((len(SOURCES), m), np.inf)
    caps[0] = min(max_speed, HARD_SPEED_CAP_MPS)
    caps[1] = window.speed_limit
    for h in hints:
        if h.valid_until_ns < now_ns:
            continue
        if h.type == HINT_SPEED_LIMIT and h.speed_limit_mps > 0:
            caps[2] = np.where(in_zone(h, window.xy), np.minimum(caps[2], h.speed_limit_mps), caps[2])
        elif h.type == HINT_ROAD_HAZARD:
            caps[3] = np.where(in_zone(h, window.xy), np.minimum(caps[3], hazard_speed), caps[3])
    k = np.abs(window.curvature)
    with np.errstate(divide="ignore"):
        caps[4] = np.maximum(np.sqrt(max_lat_accel / np.maximum(k, 1e-9)), min_curve_speed)
    which = np.argmin(caps, axis=0)
    return caps[which, np.arange(m)], which
