"""Routing on the Lanelet2 graph and the reference path along the route (pure: no rclpy).

``route_through(road_map, start, goals)`` chains shortest lanelet paths (``lanelet2.routing``)
from the start pose through each goal in order; ``reference_path(road_map, lanelets, ...)``
turns the lanelet sequence into a smooth path sampled every ``resolution_m`` with arc length,
heading, curvature (1/m, positive left), grade (rise over run, positive uphill), the lanelet
and its speed limit at every sample, and the arc length of every goal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from lsv_planning.lanelet_map import RoadMap, _project


class RouteError(RuntimeError):
    """A goal cannot be reached (off the road network or no lanelet path to it)."""


@dataclass(frozen=True)
class Waypoint:
    """A pose to route from / through (map frame; ``lanelet_id`` 0 = match the nearest lanelet)."""

    x: float
    y: float
    yaw: float | None = None
    lanelet_id: int = 0
    name: str = ""


@dataclass(frozen=True)
class ReferencePath:
    """The route as a sampled path. Arrays have N >= 2 entries; s[0] = 0."""

    xy: np.ndarray  # (N, 2) float64 x, y, m
    z: np.ndarray  # (N,) height, m
    s: np.ndarray  # (N,) arc length, m
    yaw: np.ndarray  # (N,) heading, rad CCW from x
    curvature: np.ndarray  # (N,) 1/m, positive turning left
    grade: np.ndarray  # (N,) rise over run, positive uphill
    lanelet: np.ndarray  # (N,) int64 lanelet id
    speed_limit: np.ndarray  # (N,) m/s from the map (inf = none)
    lane_width: np.ndarray  # (N,) m
    lanelets: tuple[int, ...]  # the route's lanelet sequence
    goal_s: tuple[float, ...]  # arc length of each goal the route goes through

    @property
    def length(self) -> float:
        return float(self.s[-1])

    def project(self, x: float, y: float, s_min: float = -math.inf, s_max: float = math.inf) -> tuple[float, float]:
        """(arc length, signed lateral offset, left positive) of (x, y), searching s in [s_min, s_max]."""
        i0 = max(0, int(np.searchsorted(self.s, s_min)) - 1)
        i1 = min(len(self.s), int(np.searchsorted(self.s, s_max)) + 1)
        if i1 - i0 < 2:
            i0, i1 = max(0, i1 - 2), max(i1, 2)
        seg = self.xy[i0:i1]
        d, s_local, k = _project(seg, x, y)
        t = seg[k + 1] - seg[k]
        side = t[0] * (y - seg[k, 1]) - t[1] * (x - seg[k, 0])
        return float(self.s[i0] + s_local), math.copysign(d, side)

    def at(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated (x, y) (M, 2) and yaw (M,) at arc lengths ``s``."""
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        x = np.interp(s, self.s, self.xy[:, 0])
        y = np.interp(s, self.s, self.xy[:, 1])
        yaw = np.interp(s, self.s, np.unwrap(self.yaw))
        return np.stack([x, y], axis=1), yaw


def _match(rm: RoadMap, wp: Waypoint) -> int:
    if wp.lanelet_id:
        if wp.lanelet_id not in rm.centerlines:
            raise RouteError(f"goal '{wp.name}': lanelet {wp.lanelet_id} is not a road lanelet of the map")
        return wp.lanelet_id
    lid = rm.match_lanelet(wp.x, wp.y, wp.yaw)
    if lid is None:
        raise RouteError(f"'{wp.name or 'pose'}' at ({wp.x:.1f}, {wp.y:.1f}) is not within 5 m of a road lanelet")
    return lid


def _lanelet_length(rm: RoadMap, lid: int) -> float:
    cl = rm.centerlines[lid][:, :2]
    return float(np.linalg.norm(np.diff(cl, axis=0), axis=1).sum())


def route_leg(rm: RoadMap, from_id: int, from_s: float, to_id: int, to_s: float) -> list[int]:
    """Shortest lanelet sequence from (lanelet, arc length) to (lanelet, arc length); raises RouteError."""
    layer = rm.lanelet_map.laneletLayer
    if from_id == to_id and to_s >= from_s - 1e-6:
        return [from_id]
    graph = rm.routing_graph
    if from_id != to_id:
        r = graph.getRoute(layer[from_id], layer[to_id])
        if r is not None:
            return [ll.id for ll in r.shortestPath()]
        raise RouteError(f"no lanelet path from lanelet {from_id} to lanelet {to_id}")
    # the goal is behind on the same lanelet: go round through a following lanelet
    best: list[int] | None = None
    best_len = math.inf
    for nxt in graph.following(layer[from_id]):
        r = graph.getRoute(nxt, layer[from_id])
        if r is None:
            continue
        ids = [from_id] + [ll.id for ll in r.shortestPath()]
        length = sum(_lanelet_length(rm, i) for i in ids)
        if length < best_len:
            best, best_len = ids, length
    if best is None:
        raise RouteError(f"goal behind the vehicle on lanelet {from_id} and no way round to it")
    return best


def route_through(rm: RoadMap, start: Waypoint, goals: Sequence[Waypoint]) -> tuple[list[int], list[int]]:
    """Lanelet sequence from ``start`` through every goal; also the index in that sequence of
    each goal's lanelet. Raises RouteError naming the unreachable goal."""
    cur = _match(rm, start)
    cur_s = rm.along(cur, start.x, start.y)
    seq = [cur]
    goal_idx: list[int] = []
    for g in goals:
        gid = _match(rm, g)
        gs = rm.along(gid, g.x, g.y)
        try:
            leg = route_leg(rm, cur, cur_s, gid, gs)
        except RouteError as err:
            raise RouteError(f"goal '{g.name}' at ({g.x:.1f}, {g.y:.1f}) on lanelet {gid} is unreachable from "
                             f"lanelet {cur}: {err}") from err
        seq.extend(leg[1:])
        goal_idx.append(len(seq) - 1)
        cur, cur_s = gid, gs
    return seq, goal_idx


def reference_path(rm: RoadMap, lanelets: Sequence[int], goals: Sequence[Waypoint] = (),
                   goal_index: Sequence[int] = (), resolution_m: float = 0.5,
                   smoothing_m: float = 1.0) -> ReferencePath:
    """Sample the centre lines of ``lanelets`` into a smooth ReferencePath (see the class)."""
    if not lanelets:
        raise RouteError("empty route")
    pts, lids = [], []
    for k, lid in enumerate(lanelets):
        cl = rm.centerlines[lid]
        if k > 0:
            cl = cl[1:] if np.hypot(*(cl[0, :2] - pts[-1][-1, :2])) < 0.3 else cl
        pts.append(cl)
        lids.append(np.full(len(cl), lid, dtype=np.int64))
    raw = np.concatenate(pts)
    raw_lid = np.concatenate(lids)
    seg = np.linalg.norm(np.diff(raw[:, :2], axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-6])
    raw, raw_lid = raw[keep], raw_lid[keep]
    raw_s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(raw[:, :2], axis=0), axis=1))])
    if raw_s[-1] < 1e-3:
        raise RouteError(f"route {list(lanelets)} has no length")
    n = max(2, math.ceil(raw_s[-1] / resolution_m) + 1)
    s0 = np.linspace(0.0, raw_s[-1], n)
    x = np.interp(s0, raw_s, raw[:, 0])
    y = np.interp(s0, raw_s, raw[:, 1])
    z = np.interp(s0, raw_s, raw[:, 2])
    # lanelet of a sample: the raw point at or before it (the joint point belongs to the next lanelet)
    lane = raw_lid[np.clip(np.searchsorted(raw_s, s0, side="right") - 1, 0, len(raw_lid) - 1)]
    ds = s0[1] - s0[0]
    if smoothing_m > 0 and n > 5:
        sigma = smoothing_m / ds
        x = gaussian_filter1d(x, sigma, mode="nearest")
        y = gaussian_filter1d(y, sigma, mode="nearest")
        z = gaussian_filter1d(z, sigma, mode="nearest")
    xy = np.stack([x, y], axis=1)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    dx, dy = np.gradient(x, s), np.gradient(y, s)
    yaw = np.arctan2(dy, dx)
    curvature = np.gradient(np.unwrap(yaw), s)
    if smoothing_m > 0 and n > 5:
        curvature = gaussian_filter1d(curvature, max(1.0, 0.5 * smoothing_m / ds), mode="nearest")
    grade = np.gradient(z, s)
    limit = np.array([rm.speed_limits[int(i)] for i in lane])
    width = np.array([rm.widths[int(i)] for i in lane])
    # goal arc lengths: projection within the goal lanelet's occurrence in the sequence
    occ_bounds = _occurrence_bounds(lane)
    goal_s = []
    for g, gi in zip(goals, goal_index, strict=True):
        lo, hi = occ_bounds[gi]
        gs, _ = _proj_range(xy, s, g.x, g.y, lo, hi)
        goal_s.append(gs)
    return ReferencePath(xy, z, s, yaw, curvature, grade, lane, limit, width, tuple(int(i) for i in lanelets),
                         tuple(goal_s))


def _occurrence_bounds(lane: np.ndarray) -> list[tuple[int, int]]:
    """Sample index ranges [lo, hi) of each consecutive run of one lanelet, in route order."""
    change = np.nonzero(np.diff(lane) != 0)[0] + 1
    edges = np.concatenate([[0], change, [len(lane)]])
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _proj_range(xy: np.ndarray, s: np.ndarray, x: float, y: float, lo: int, hi: int) -> tuple[float, float]:
    lo = max(0, lo - 1)
    hi = min(len(s), max(hi + 1, lo + 2))
    d, s_local, _ = _project(xy[lo:hi], x, y)
    return float(s[lo] + s_local), d
