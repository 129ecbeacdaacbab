"""The Lanelet2 map as the planner needs it (pure: no rclpy, no simulator).

``load_road_map(path, lat, lon)`` loads an OSM Lanelet2 map with the ``LocalCartesianProjector``
at the given origin (the same projection as the simulator's district and the V2X client) and
reads from the map itself:

- road lanelets (``subtype=road``) with their centre lines (x, y, z) and speed limits;
- signalised stop lines: every ``traffic_light`` regulatory element's stop line, the lanelets
  that reference it, and its V2X identity (``lsv:intersection_id``, ``lsv:phase_id`` tags);
- crosswalks (``subtype=crosswalk`` lanelets) as polygons with the road lanelets they cross.

Map frame: local ENU tangent plane at the origin (x east, y north, z up), metres.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lsv_common.share import resolve_package_url

log = logging.getLogger(__name__)


class MapError(RuntimeError):
    """The map file is missing, unreadable or lacks what the planner needs."""


@dataclass(frozen=True)
class SignalStopLine:
    regelem_id: int  # traffic_light regulatory element id
    stop_line_id: int  # the stop_line linestring id
    points: np.ndarray  # (2, 2) float64 x, y of its ends
    intersection_id: int  # V2X intersection id (0 when the map has no lsv:intersection_id tag)
    phase_id: int  # V2X signal group (0 when untagged)
    lanelet_ids: tuple[int, ...]  # lanelets that reference the light (they end at the line)


@dataclass(frozen=True)
class CrosswalkArea:
    id: int  # the crosswalk lanelet id
    polygon: np.ndarray  # (K, 2) float64 outline
    lanelet_ids: tuple[int, ...]  # road lanelets it crosses
    # (M, 2) float64 outlines of those road lanelets: the crosswalk's carriageway part is the polygon inside
    # them (the rest lies on the sidewalks); empty: the whole polygon counts as carriageway
    carriageway: tuple[np.ndarray, ...] = ()


@dataclass
class RoadMap:
    lanelet_map: object
    traffic_rules: object
    routing_graph: object
    centerlines: dict[int, np.ndarray]  # road lanelet id -> (N, 3) float64 x, y, z in driving direction
    speed_limits: dict[int, float]  # road lanelet id -> m/s (inf when the map gives none)
    widths: dict[int, float]  # road lanelet id -> mean lane width, m
    stop_lines: list[SignalStopLine]
    crosswalks: list[CrosswalkArea]
    stop_lines_of_lanelet: dict[int, list[SignalStopLine]] = field(default_factory=dict)
    crosswalks_of_lanelet: dict[int, list[CrosswalkArea]] = field(default_factory=dict)

    # -- queries -------------------------------------------------------------------------------
    def lanelet_candidates(self, x: float, y: float, max_dist_m: float = 5.0) -> list[tuple[float, int]]:
        """(distance, id) of the road lanelets within ``max_dist_m`` of (x, y), nearest first (0 = inside)."""
        import lanelet2
        from lanelet2.core import BasicPoint2d

        hits = lanelet2.geometry.findWithin2d(self.lanelet_map.laneletLayer, BasicPoint2d(x, y), max_dist_m)
        return [(float(d), ll.id) for d, ll in sorted(hits, key=lambda h: h[0]) if ll.id in self.centerlines]

    def match_lanelet(self, x: float, y: float, yaw: float | None = None, max_dist_m: float = 5.0) -> int | None:
        """The road lanelet of a pose: among the lanelets containing the point (junction connectors and
        opposite lanes can overlap) the one whose direction is closest to ``yaw`` (without yaw: nearest
        centre line); off every lanelet, the nearest one. None when none is within ``max_dist_m``.
        The heading only breaks ties between overlapping lanelets, so a goal given with a wrong or
        default heading still lands on the lane it is on."""
        cands = self.lanelet_candidates(x, y, max_dist_m)
        if not cands:
            return None
        inside = [lid for d, lid in cands if d <= 1e-6]
        if not inside:
            return cands[0][1]
        if len(inside) == 1:
            return inside[0]
        best, best_cost = None, math.inf
        for lid in inside:
            cl = self.centerlines[lid]
            d, _, seg = _project(cl[:, :2], x, y)
            cost = d
            if yaw is not None:
                t = cl[seg + 1, :2] - cl[seg, :2]
                cost = abs(_wrap(math.atan2(t[1], t[0]) - yaw)) + 0.01 * d
            if cost < best_cost:
                best, best_cost = lid, cost
        return best

    def along(self, lanelet_id: int, x: float, y: float) -> float:
        """Arc length (m) of the projection of (x, y) on a lanelet's centre line."""
        _, s, _ = _project(self.centerlines[lanelet_id][:, :2], x, y)
        return s


def _wrap(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))


def _project(line: np.ndarray, x: float, y: float) -> tuple[float, float, int]:
    """(distance, arc length, segment index) of the closest point of polyline (N, 2) to (x, y)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    len2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    t = np.clip(((x - a[:, 0]) * ab[:, 0] + (y - a[:, 1]) * ab[:, 1]) / len2, 0.0, 1.0)
    d = np.hypot(a[:, 0] + t * ab[:, 0] - x, a[:, 1] + t * ab[:, 1] - y)
    i = int(np.argmin(d))
    seg = np.sqrt(len2)
    return float(d[i]), float(seg[:i].sum() + t[i] * seg[i]), i


def _outline(ll) -> np.ndarray:
    """(K, 2) float64 outline of a lanelet: its right bound, then its left bound backwards."""
    return np.array([[p.x, p.y] for p in ll.rightBound] + [[p.x, p.y] for p in reversed(ll.leftBound)])


def resolve_map_path(value: str) -> Path:
    """A map path: absolute/relative file, or ``package://<pkg>/<path>`` found in the package's
    installed share directory or, in a source checkout, in ``src/<folder>`` with that package.xml."""
    found, candidates = resolve_package_url(value)
    if found is None:
        raise MapError(f"map '{value}': not found (looked in {', '.join(map(str, candidates)) or 'nowhere'})")
    return found


def load_road_map(path: str | Path, origin_lat_deg: float, origin_lon_deg: float,
                  origin_alt_m: float = 0.0) -> RoadMap:
    """Load a Lanelet2 OSM map with a LocalCartesianProjector at the origin. Raises MapError."""
    import lanelet2
    from lanelet2.io import Origin
    from lanelet2.projection import LocalCartesianProjector

    osm = resolve_map_path(str(path))
    if not osm.is_file():
        raise MapError(f"map file not found: {osm} (parameter map_path)")
    projector = LocalCartesianProjector(Origin(origin_lat_deg, origin_lon_deg, origin_alt_m))
    lmap, errors = lanelet2.io.loadRobust(str(osm), projector)
    if errors:
        raise MapError(f"{osm}: Lanelet2 reported {len(errors)} errors, first: {errors[0]}")
    rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                          lanelet2.traffic_rules.Participants.Vehicle)
    graph = lanelet2.routing.RoutingGraph(lmap, rules)
    centerlines: dict[int, np.ndarray] = {}
    limits: dict[int, float] = {}
    widths: dict[int, float] = {}
    for ll in lmap.laneletLayer:
        if "subtype" not in ll.attributes or ll.attributes["subtype"] != "road":
            continue
        cl = np.array([[p.x, p.y, p.z] for p in ll.centerline], dtype=np.float64)
        cl.setflags(write=False)
        centerlines[ll.id] = cl
        lim = float(rules.speedLimit(ll).speedLimitMPS)
        limits[ll.id] = lim if lim > 0 and math.isfinite(lim) else math.inf
        left = np.array([[p.x, p.y] for p in ll.leftBound])
        right = np.array([[p.x, p.y] for p in ll.rightBound])
        widths[ll.id] = float(np.mean([_project(right, *q)[0] for q in left]))
    if not centerlines:
        raise MapError(f"{osm}: no road lanelets (subtype=road)")

    stop_lines: list[SignalStopLine] = []
    users: dict[int, list[int]] = {}
    for ll in lmap.laneletLayer:
        for re in ll.regulatoryElements:
            users.setdefault(re.id, []).append(ll.id)
    for re in lmap.regulatoryElementLayer:
        if "subtype" not in re.attributes or re.attributes["subtype"] != "traffic_light":
            continue
        stop = re.stopLine
        if stop is None:
            log.warning("traffic light %d has no stop line: ignored", re.id)
            continue
        attrs = re.attributes
        iid = int(attrs["lsv:intersection_id"]) if "lsv:intersection_id" in attrs else 0
        phase = int(attrs["lsv:phase_id"]) if "lsv:phase_id" in attrs else 0
        pts = np.array([[p.x, p.y] for p in stop], dtype=np.float64)
        stop_lines.append(SignalStopLine(re.id, stop.id, pts, iid, phase, tuple(sorted(users.get(re.id, [])))))
    stop_lines.sort(key=lambda s: s.regelem_id)

    crosswalks: list[CrosswalkArea] = []
    roads = [lmap.laneletLayer[i] for i in centerlines]
    for ll in lmap.laneletLayer:
        if "subtype" not in ll.attributes or ll.attributes["subtype"] != "crosswalk":
            continue
        crossed = sorted((r for r in roads if lanelet2.geometry.overlaps2d(ll, r)), key=lambda r: r.id)
        crosswalks.append(CrosswalkArea(ll.id, _outline(ll), tuple(r.id for r in crossed),
                                        tuple(_outline(r) for r in crossed)))
    crosswalks.sort(key=lambda c: c.id)

    rm = RoadMap(lmap, rules, graph, centerlines, limits, widths, stop_lines, crosswalks)
    for sl in stop_lines:
        for lid in sl.lanelet_ids:
            rm.stop_lines_of_lanelet.setdefault(lid, []).append(sl)
    for cw in crosswalks:
        for lid in cw.lanelet_ids:
            rm.crosswalks_of_lanelet.setdefault(lid, []).append(cw)
    log.info("map %s: %d road lanelets, %d signalised stop lines, %d crosswalks", osm, len(centerlines),
             len(stop_lines), len(crosswalks))
    return rm
