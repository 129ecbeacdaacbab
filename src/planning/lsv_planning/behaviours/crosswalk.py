"""Crosswalks (pure): yield to pedestrians (and cyclists, animals) on or heading to a crosswalk.

A road user counts for a crosswalk on the route when one of its constant-velocity predictions
over ``horizon_s`` (now included) lies within ``margin_m`` of the crosswalk polygon *and* within
``KERB_MARGIN_M`` of its carriageway part (the road lanelets it crosses): someone on any lane of
the road, or at the kerb, holds the vehicle; someone waiting further back on the sidewalk part,
or walking away across it, does not. The simulator's evaluation (``lsv_sim.evaluation``) counts a
yield violation for a walker on the carriageway part; the kerb margin keeps some in hand. Tracked objects and V2X
``PEDESTRIAN_CROSSING`` hints (advice: can only add a yield) are treated alike. The vehicle stops
with its front ``stop_margin_m`` before the crosswalk; once the front is on it, stopping there
would block it, so the vehicle goes on (obstacles in its path are the obstacle behaviour's job).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lsv_planning.behaviours.common import StopPoint, distance_to_polygon
from lsv_planning.lanelet_map import CrosswalkArea

KERB_MARGIN_M = 1.0  # m beyond the road edge where a walker still counts (about to step off, or just off)


@dataclass(frozen=True)
class CrosswalkAhead:
    area: CrosswalkArea
    s_in: float  # arc length where the route enters the polygon
    s_out: float  # where it leaves
    centre: np.ndarray  # (2,) route point in the middle of the crossing
    yaw: float  # route heading there


@dataclass(frozen=True)
class Walker:
    """A pedestrian-like road user: position and velocity in the map frame."""

    x: float
    y: float
    vx: float
    vy: float
    label: str


def predict(w: Walker, horizon_s: float, step_s: float = 0.5) -> np.ndarray:
    """(T, 2) positions at 0, step, ..., horizon."""
    t = np.arange(0.0, horizon_s + 1e-9, step_s) if horizon_s > 0 else np.zeros(1)
    return np.stack([w.x + w.vx * t, w.y + w.vy * t], axis=1)


def near_carriageway(area: CrosswalkArea, pts: np.ndarray, margin_m: float = KERB_MARGIN_M) -> np.ndarray:
    """(K,) bool: points (K, 2) within ``margin_m`` of the road the crosswalk crosses (all True without one)."""
    near = np.zeros(len(pts), dtype=bool) if area.carriageway else np.ones(len(pts), dtype=bool)
    for road in area.carriageway:
        near |= distance_to_polygon(pts, road) <= margin_m
    return near


def conflicts(cw: CrosswalkAhead, w: Walker, horizon_s: float, margin_m: float) -> bool:
    """True when the walker is at, or within ``horizon_s`` reaches, the carriageway part of the crosswalk."""
    p = predict(w, horizon_s)
    near = distance_to_polygon(p, cw.area.polygon) <= margin_m
    if not near.any():  # most road users are nowhere near this crosswalk: skip the road outlines
        return False
    return bool(near_carriageway(cw.area, p[near]).any())


def evaluate(crosswalks: Iterable[CrosswalkAhead], walkers: Iterable[Walker], ego_s: float, *, front_m: float,
             stop_margin_m: float, margin_m: float, horizon_s: float,
             lookahead_m: float) -> tuple[list[StopPoint], list[dict]]:
    """Stop points before crosswalks with a conflicting walker, and a report per crosswalk ahead."""
    ws = list(walkers)
    stops, report = [], []
    for cw in crosswalks:
        front = ego_s + front_m
        if cw.s_out < ego_s or cw.s_in - front > lookahead_m:
            continue
        who = [w.label for w in ws if conflicts(cw, w, horizon_s, margin_m)]
        entered = front > cw.s_in - 0.1
        if who and not entered:
            stops.append(StopPoint(cw.s_in - stop_margin_m - front_m, "crosswalk",
                                   f"crosswalk {cw.area.id}: {', '.join(who)}"))
        report.append({"crosswalk": cw.area.id, "distance_m": round(cw.s_in - front, 2), "walkers": who,
                       "yield": bool(who) and not entered})
    return stops, report
