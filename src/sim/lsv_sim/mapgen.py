"""Generator of the simulator's district: a Lanelet2 map (OSM) plus its metadata (YAML).

Run ``python -m lsv_sim.mapgen [-o src/sim/maps/district.osm]``; it writes ``district.osm``
and ``district.yaml`` (origin, named places, intersections, patrol loop, parked-car slots,
GNSS dropout zones) side by side. The generator is deterministic: ids are allocated in a
fixed order, so code and tests may refer to them (``lsv_sim.world`` exposes names for them).

The district (map frame = local ENU about the origin, x east, y north, z up, m):

- two signalised four-arm intersections on the main street: ``west`` at (0, 0), id 101 and
  ``east`` at (200, 0), id 103 (the ids, arm numbering and phase ids of
  ``lsv_v2x_client.samples``: phase 1 = arm from the south, 2 = from the west, 3 = from the
  north, 4 = from the east; stop lines 12 m from the centre, crosswalks 9 m from it);
- the north loop (up a 15 m hill at up to 12 % grade, along the top street, down to ``east``),
  the south loop with a narrow section (2.75 m lanes, a parking strip with parked-car slots),
  a west stub to the depot and an east stub (both end at the district's edge);
- four crosswalks: the south arm of ``west`` (where the simulated RSU walks its pedestrian),
  the north arm of ``east``, mid-block on the top street and on the east stub;
- buildings as rectangular footprints (closed ways, ``building=yes`` with a ``height``) behind
  4.5 m sidewalks.

Map conventions the world loader relies on: streets are two lanes (one each way, right-hand
traffic, 3.5 m); every ``curbstone`` linestring keeps the road on its left; junction corners
have their own curbstone arcs; traffic-light regulatory elements carry the tags
``lsv:intersection_id`` and ``lsv:phase_id`` and reference a stop line, a light and its light
bulbs (Autoware's ``light_bulbs`` role); lanelets carry ``lsv:name``.
"""

from __future__ import annotations

import argparse
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ORIGIN_LAT_DEG = 30.2741  # must equal the v2x_client's map_origin_lat_deg
ORIGIN_LON_DEG = 120.1551
ORIGIN_ALT_M = 0.0  # z in the map = height above the ellipsoid at the origin's tangent plane
PROJECTOR = "local_cartesian"  # lanelet2.projection.LocalCartesianProjector (= GeographicLib LocalCartesian)

LANE_W = 3.5  # m
NARROW_LANE_W = 2.75  # m
PARKING_W = 2.0  # m, parking strip beside the narrow section
SIDEWALK_W = 4.5  # m
CURB_H = 0.15  # m
STOP_D = 12.0  # m, stop line distance from the junction centre (lsv_v2x_client.samples)
CROSSWALK_D = 9.0  # m, crosswalk centre distance from the junction centre
CROSSWALK_W = 4.0  # m, crosswalk width (along the road)
CROSSWALK_HALF_SPAN = 8.0  # m, crosswalk half length (across the road, onto the sidewalks)
FILLET_R = 15.0  # m, street corner radius (centre line)
POINT_SPACING = 2.5  # m between lanelet boundary points
FLAT_MARGIN = 25.0  # m, streets are level this far from a junction centre
BUILDING_LINE = 9.5  # m from a street's centre line
SPEED_LIMIT_KMH = "15"
MAX_GRADE = 0.12
LIGHT_HEIGHT = 5.0  # m, bottom of the traffic-light head above the road
LIGHT_HEAD_H = 1.2  # m

DEFAULT_OSM = Path(__file__).resolve().parent.parent / "maps" / "district.osm"

ARM_VECTORS = {"S": (0.0, -1.0), "W": (-1.0, 0.0), "N": (0.0, 1.0), "E": (1.0, 0.0)}
ARM_PHASE = {"S": 1, "W": 2, "N": 3, "E": 4}  # lsv_v2x_client.samples: phase = arm number + 1
ARM_ORDER = ("E", "N", "W", "S")  # counter-clockwise


class MapGenError(RuntimeError):
    """The generated district violates one of its own constraints (grade, overlap, ...)."""


def rot90(v: np.ndarray) -> np.ndarray:
    return np.array([-v[1], v[0]])


# ----------------------------------------------------------------------------------------
# geometry of a street: centre line with filleted corners, elevation and width profiles


class Centerline:
    """A polyline with circular fillets at its interior corners, sampled densely with arc length."""

    def __init__(self, points: Sequence[tuple[float, float]], radius: float = FILLET_R, step: float = 0.25):
        pts = [np.asarray(p, float) for p in points]
        pieces: list[np.ndarray] = [pts[0][None, :]]
        cur = pts[0]
        for i in range(1, len(pts) - 1):
            a = pts[i] - pts[i - 1]
            b = pts[i + 1] - pts[i]
            a /= np.linalg.norm(a)
            b /= np.linalg.norm(b)
            turn = math.atan2(a[0] * b[1] - a[1] * b[0], float(a @ b))
            t_len = radius * math.tan(abs(turn) / 2.0)
            p_in = pts[i] - a * t_len
            pieces.append(_segment(cur, p_in, step))
            centre = p_in + rot90(a) * radius * np.sign(turn)
            phi0 = math.atan2(*(p_in - centre)[::-1])
            n = max(2, math.ceil(abs(turn) * radius / step))
            phis = phi0 + np.linspace(0.0, turn, n + 1)[1:]
            pieces.append(centre + radius * np.stack([np.cos(phis), np.sin(phis)], axis=1))
            cur = pts[i] + b * t_len
        pieces.append(_segment(cur, pts[-1], step))
        xy = np.concatenate(pieces)
        keep = np.r_[True, np.linalg.norm(np.diff(xy, axis=0), axis=1) > 1e-9]
        self.xy = xy[keep]
        self.s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(self.xy, axis=0), axis=1))]
        self.length = float(self.s[-1])

    def at(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(positions (N, 2), unit tangents (N, 2)) at arc lengths ``s``."""
        s = np.clip(np.atleast_1d(np.asarray(s, float)), 0.0, self.length)
        pos = np.stack([np.interp(s, self.s, self.xy[:, 0]), np.interp(s, self.s, self.xy[:, 1])], axis=1)
        i = np.clip(np.searchsorted(self.s, s, side="right") - 1, 0, len(self.s) - 2)
        tan = self.xy[i + 1] - self.xy[i]
        tan /= np.linalg.norm(tan, axis=1, keepdims=True)
        return pos, tan

    def project(self, xy: tuple[float, float]) -> float:
        """Arc length of the dense sample closest to ``xy``."""
        d = np.linalg.norm(self.xy - np.asarray(xy, float), axis=1)
        return float(self.s[int(np.argmin(d))])


def _segment(a: np.ndarray, b: np.ndarray, step: float) -> np.ndarray:
    n = max(1, math.ceil(np.linalg.norm(b - a) / step))
    return a + (b - a) * np.linspace(0.0, 1.0, n + 1)[1:, None]


def cosine_profile(keys: Sequence[tuple[float, float]]) -> Callable[[np.ndarray], np.ndarray]:
    """z(s) through ``keys`` (s, z), level at every key and cosine-shaped in between
    (steepest grade pi/2 * dz/ds at mid-ramp)."""
    if len(keys) == 1:
        keys = [keys[0], (keys[0][0] + 1.0, keys[0][1])]
    ks = np.array([k[0] for k in keys], float)
    kz = np.array([k[1] for k in keys], float)

    def z(s: np.ndarray) -> np.ndarray:
        s = np.atleast_1d(np.asarray(s, float))
        i = np.clip(np.searchsorted(ks, s, side="right") - 1, 0, len(ks) - 2)
        t = np.clip((s - ks[i]) / (ks[i + 1] - ks[i]), 0.0, 1.0)
        return kz[i] + (kz[i + 1] - kz[i]) * (1.0 - np.cos(np.pi * t)) / 2.0

    return z


def ramp(s0: float, s1: float, v0: float, v1: float, taper: float) -> Callable[[np.ndarray], np.ndarray]:
    """v0 outside [s0, s1], v1 inside, with linear tapers of ``taper`` m inside the interval."""

    def f(s: np.ndarray) -> np.ndarray:
        s = np.atleast_1d(np.asarray(s, float))
        t = np.clip(np.minimum(s - s0, s1 - s) / taper, 0.0, 1.0)
        return v0 + (v1 - v0) * t

    return f


@dataclass
class Junction:
    name: str
    xy: tuple[float, float]
    z: float
    intersection_id: int  # id in SPaT / MAP (the simulated RSU's)
    region: int = 1


@dataclass
class Street:
    """Two lanes, 'fwd' on the right of the centre line's direction, 'bwd' the other way."""

    name: str
    points: list[tuple[float, float]]
    z_keys: list[tuple[float, float]]  # (s, z) with s < 0 meaning "from the end": L + s
    start: Junction | None = None  # junction at the first point (None: the district's edge)
    end: Junction | None = None
    segments: list[tuple[str, tuple[float, float] | None]] = field(default_factory=list)  # (name, end xy)
    narrow: tuple[tuple[float, float], tuple[float, float]] | None = None  # xy of start/end of the narrow part
    centerline_type: str = "solid"

    def __post_init__(self) -> None:
        self.cl = Centerline(self.points)
        L = self.cl.length
        self.z = cosine_profile([(s if s >= 0 else L + s, z) for s, z in self.z_keys])
        if self.narrow:
            s0, s1 = sorted(self.cl.project(p) for p in self.narrow)
            self.narrow_s = (s0, s1)
            self.lane_w = ramp(s0, s1, LANE_W, NARROW_LANE_W, 15.0)
            self.parking_w = ramp(s0, s1, 0.0, PARKING_W, 15.0)
        else:
            self.narrow_s = None
            self.lane_w = lambda s: np.full(np.shape(np.atleast_1d(s)), LANE_W)
            self.parking_w = lambda s: np.zeros(np.shape(np.atleast_1d(s)))
        self.s0 = STOP_D if self.start else 0.0
        self.s1 = L - STOP_D if self.end else L


# ----------------------------------------------------------------------------------------
# the district


def district() -> tuple[list[Junction], list[Street]]:
    west = Junction("west", (0.0, 0.0), 12.0, 101)
    east = Junction("east", (200.0, 0.0), 14.0, 103)
    m = FLAT_MARGIN
    streets = [
        Street("main", [(0.0, 0.0), (200.0, 0.0)], [(m, 12.0), (-m, 14.0)], west, east, [("main", None)]),
        Street("north_loop", [(0.0, 0.0), (0.0, 250.0), (200.0, 250.0), (200.0, 0.0)],
               [(m, 12.0), (225.0, 27.0), (-225.0, 27.0), (-m, 14.0)], west, east,
               [("north_up", (0.0, 236.0)), ("top", (200.0, 236.0)), ("north_down", None)]),
        Street("south_loop", [(0.0, 0.0), (0.0, -150.0), (200.0, -150.0), (200.0, 0.0)],
               [(m, 12.0), (125.0, 8.0), (-125.0, 7.0), (-m, 14.0)], west, east,
               [("south_down", (15.0, -150.0)), ("narrow", (185.0, -150.0)), ("south_up", None)],
               narrow=((15.0, -150.0), (185.0, -150.0)), centerline_type="dashed"),
        Street("west_stub", [(0.0, 0.0), (-150.0, 0.0)], [(m, 12.0)], west, None, [("west_stub", None)]),
        Street("east_stub", [(200.0, 0.0), (350.0, 0.0)], [(m, 14.0), (-m, 18.0)], east, None, [("east_stub", None)]),
    ]
    return [west, east], streets


# crosswalks: (name, street, xy of the centre on the street's centre line)
CROSSWALKS = [
    ("west_south", "south_loop", (0.0, -CROSSWALK_D)),
    ("east_north", "north_loop", (200.0, CROSSWALK_D)),
    ("top_mid", "north_loop", (100.0, 250.0)),
    ("east_stub_mid", "east_stub", (290.0, 0.0)),
]

# named places: (name, x, y, yaw_deg); all on lane centres, heading with the traffic. The stubs
# are dead ends (no turning lanelets): a vehicle leaves the depot eastbound and comes back westbound.
PLACES = [
    ("depot", -135.0, -1.75, 0.0),
    ("depot_return", -135.0, 1.75, 180.0),
    ("patrol_start", 1.75, 45.0, 90.0),
    ("station_north", 60.0, 248.25, 0.0),
    ("station_east", 198.25, 120.0, -90.0),
    ("station_south", 201.75, -80.0, 90.0),
]
ROUTES = {"delivery": ["depot", "station_north", "station_east", "station_south", "depot_return"]}
GNSS_DROPOUT_ZONES = [  # urban canyon between tall buildings on the top street
    {"name": "top_street_canyon", "center": [150.0, 250.0], "radius_m": 25.0},
]


# ----------------------------------------------------------------------------------------
# writing the Lanelet2 map


class _Ids:
    def __init__(self) -> None:
        self.next = {"lanelet": 1000, "crosswalk": 3000, "shoulder": 3500, "regelem": 5000, "linestring": 10000,
                     "polygon": 30000, "point": 100000}

    def __call__(self, kind: str) -> int:
        self.next[kind] += 1
        return self.next[kind]


class _Builder:
    def __init__(self) -> None:
        from lanelet2.core import LaneletMap

        self.ids = _Ids()
        self.map = LaneletMap()
        self.named: dict[str, int] = {}
        self.bulbs_of_light: dict[int, int] = {}  # traffic light linestring id -> light bulbs linestring id

    def point(self, x: float, y: float, z: float, **attrs: str):
        from lanelet2.core import AttributeMap, Point3d

        return Point3d(self.ids("point"), float(x), float(y), float(z), AttributeMap(attrs))

    def linestring(self, pts: list, **attrs: str):
        from lanelet2.core import AttributeMap, LineString3d

        return LineString3d(self.ids("linestring"), pts, AttributeMap(attrs))

    def lanelet(self, name: str, left, right, kind: str = "lanelet", **attrs: str):
        from lanelet2.core import AttributeMap, Lanelet

        base = {"type": "lanelet", "subtype": "road", "location": "urban", "one_way": "yes",
                "speed_limit": SPEED_LIMIT_KMH, "lsv:name": name}
        base.update(attrs)
        ll = Lanelet(self.ids(kind), left, right, AttributeMap(base))
        self.map.add(ll)
        self.named[name] = ll.id
        return ll


@dataclass
class _Arm:
    junction: Junction
    arm: str
    inbound: object  # lanelet ending at the stop line
    outbound: object  # lanelet starting at the junction
    centre_pt: object  # shared centre-line point at STOP_D
    in_edge_pt: object  # inbound lane's outer edge point (curb side)
    out_edge_pt: object
    street: Street
    at_start: bool


def _arm_of(street: Street, at_start: bool) -> str:
    _, tan = street.cl.at(0.0 if at_start else street.cl.length)
    u = tan[0] if at_start else -tan[0]
    return min(ARM_VECTORS, key=lambda k: -float(np.dot(ARM_VECTORS[k], u)))


def _street_lanelets(b: _Builder, st: Street, arms: list[_Arm]) -> dict:
    """Lanelets of one street, segment by segment; returns info for junctions and the metadata."""
    L = st.cl.length
    bounds = [st.s0]
    for _, end_xy in st.segments:
        bounds.append(st.s1 if end_xy is None else st.cl.project(end_xy))
    info: dict = {"segments": []}
    prev = None  # (centre pt, right pt, left pt, curb pt) at the previous segment end
    for k, (seg_name, _) in enumerate(st.segments):
        a, e = bounds[k], bounds[k + 1]
        n = max(1, math.ceil((e - a) / POINT_SPACING))
        s = np.linspace(a, e, n + 1)
        pos, tan = st.cl.at(s)
        nrm = np.stack([-tan[:, 1], tan[:, 0]], axis=1)
        z = st.z(s)
        w = st.lane_w(s)
        p = st.parking_w(s)
        has_parking = bool(np.any(p > 1e-6))

        def row(off: np.ndarray, reuse: object | None, pos=pos, nrm=nrm, z=z) -> list:
            pts = [b.point(*(pos[i] + nrm[i] * off[i]), z[i]) for i in range(len(off))]
            if reuse is not None:
                pts[0] = reuse
            return pts

        c_pts = row(np.zeros_like(s), prev[0] if prev else None)
        r_pts = row(-w, prev[1] if prev else None)
        l_pts = row(w, prev[2] if prev else None)
        curb_pts = row(-(w + p), prev[3] if prev else None) if has_parking else r_pts
        centre = b.linestring(c_pts, type="line_thin", subtype=st.centerline_type)
        if has_parking:
            right = b.linestring(r_pts, type="line_thin", subtype="solid")
            curb = b.linestring(curb_pts, type="curbstone", subtype="high")
            b.map.add(curb)
        else:
            right = b.linestring(r_pts, type="curbstone", subtype="high")
        left = b.linestring(l_pts[::-1], type="curbstone", subtype="high")  # road on its left
        fwd = b.lanelet(f"{seg_name}.fwd", centre, right)
        bwd = b.lanelet(f"{seg_name}.bwd", centre.invert(), left)
        if has_parking:  # the parking strip: Autoware's road shoulder (not routable for vehicles)
            b.lanelet(f"{seg_name}.parking", right, curb, kind="shoulder", subtype="road_shoulder")
        info["segments"].append({"name": seg_name, "fwd": fwd.id, "bwd": bwd.id, "s": (float(a), float(e))})
        if k == 0:
            first = (fwd, bwd, c_pts[0], r_pts[0], l_pts[0])
        prev = (c_pts[-1], r_pts[-1], l_pts[-1], curb_pts[-1])
        last = (fwd, bwd, c_pts[-1], r_pts[-1], l_pts[-1])
    if st.start:
        fwd, bwd, c, r, l_ = first
        arms.append(_Arm(st.start, _arm_of(st, True), inbound=bwd, outbound=fwd, centre_pt=c,
                         in_edge_pt=l_, out_edge_pt=r, street=st, at_start=True))
    if st.end:
        fwd, bwd, c, r, l_ = last
        arms.append(_Arm(st.end, _arm_of(st, False), inbound=fwd, outbound=bwd, centre_pt=c,
                         in_edge_pt=r, out_edge_pt=l_, street=st, at_start=False))
    info["length"] = L
    return info


def _bezier(p0: np.ndarray, t0: np.ndarray, p3: np.ndarray, t3: np.ndarray, n: int) -> np.ndarray:
    """Cubic Bezier from p0 (leaving along t0) to p3 (arriving along t3), n+1 points."""
    k = 0.4 * float(np.linalg.norm(p3 - p0))
    c = np.array([p0, p0 + t0 * k, p3 - t3 * k, p3])
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return ((1 - t) ** 3) * c[0] + 3 * ((1 - t) ** 2) * t * c[1] + 3 * (1 - t) * t * t * c[2] + t ** 3 * c[3]


def _xy(p) -> np.ndarray:
    return np.array([p.x, p.y])


def _junction(b: _Builder, j: Junction, arms: dict[str, _Arm], meta: dict) -> None:
    """Connectors (all 12 movements), stop lines, traffic lights, corner curbs, surface polygon."""
    from lanelet2.core import AttributeMap, Polygon3d, TrafficLight

    c = np.array(j.xy)
    meta_arms = {}
    for ain, arm_in in arms.items():
        u_in = np.array(ARM_VECTORS[ain])
        for aout, arm_out in arms.items():
            if aout == ain:
                continue
            u_out = np.array(ARM_VECTORS[aout])
            cross = float(-u_in[0] * u_out[1] + u_in[1] * u_out[0])  # heading -u_in turning to u_out
            turn = "straight" if abs(cross) < 0.5 else ("left" if cross > 0 else "right")
            n = 3 if turn == "straight" else 8
            left_xy = _bezier(_xy(arm_in.centre_pt), -u_in, _xy(arm_out.centre_pt), u_out, n)
            right_xy = _bezier(_xy(arm_in.in_edge_pt), -u_in, _xy(arm_out.out_edge_pt), u_out, n)
            lp = [arm_in.centre_pt] + [b.point(x, y, j.z) for x, y in left_xy[1:-1]] + [arm_out.centre_pt]
            rp = [arm_in.in_edge_pt] + [b.point(x, y, j.z) for x, y in right_xy[1:-1]] + [arm_out.out_edge_pt]
            left = b.linestring(lp, type="virtual")
            right = b.linestring(rp, type="virtual")
            b.lanelet(f"{j.name}.{ain}->{aout}", left, right, turn_direction=turn)
    for arm in ARM_ORDER:
        if arm not in arms:
            continue
        a = arms[arm]
        u = np.array(ARM_VECTORS[arm])
        nv = rot90(u)
        phase = ARM_PHASE[arm]
        stop = b.linestring([a.centre_pt, a.in_edge_pt], type="stop_line")
        # light head on the far side of the junction, right of the approaching vehicle, facing it
        far = c - u * STOP_D + nv * (LANE_W + 1.0)
        half = 0.2 * np.array([u[1], -u[0]])
        light = b.linestring([b.point(*(far - half), j.z + LIGHT_HEIGHT), b.point(*(far + half), j.z + LIGHT_HEIGHT)],
                             type="traffic_light", subtype="red_yellow_green", height=str(LIGHT_HEAD_H))
        bulbs = b.linestring([b.point(*far, j.z + LIGHT_HEIGHT + dz, color=col, arrow="none")
                              for col, dz in (("red", 1.0), ("yellow", 0.6), ("green", 0.2))],
                             type="light_bulbs", traffic_light_id=str(light.id))
        b.map.add(bulbs)
        b.bulbs_of_light[light.id] = bulbs.id
        tl = TrafficLight(b.ids("regelem"), AttributeMap({"lsv:intersection_id": str(j.intersection_id),
                                                          "lsv:phase_id": str(phase), "lsv:junction": j.name,
                                                          "lsv:arm": arm}), [light], stop)
        a.inbound.addRegulatoryElement(tl)
        b.map.add(tl)
        meta_arms[arm] = {"phase_id": phase, "inbound_lanelet": a.inbound.id, "outbound_lanelet": a.outbound.id,
                          "traffic_light_regelem": tl.id, "stop_line": stop.id}
    # corner curbs: from an arm's inbound edge round to the next arm (ccw)'s outbound edge
    order = [k for k in ARM_ORDER if k in arms]
    for i, arm in enumerate(order):
        nxt = order[(i + 1) % len(order)]
        p0, p3 = arms[arm].in_edge_pt, arms[nxt].out_edge_pt
        u0, u3 = -np.array(ARM_VECTORS[arm]), np.array(ARM_VECTORS[nxt])
        # quadratic Bezier through the intersection of the two edge lines
        a0, a3 = _xy(p0), _xy(p3)
        mat = np.array([u0, -u3]).T
        t = np.linalg.solve(mat, a3 - a0)
        q = a0 + u0 * t[0]
        tt = np.linspace(0.0, 1.0, 9)[:, None]
        arc = (1 - tt) ** 2 * a0 + 2 * (1 - tt) * tt * q + tt ** 2 * a3
        pts = [p0] + [b.point(x, y, j.z) for x, y in arc[1:-1]] + [p3]
        b.map.add(b.linestring(pts, type="curbstone", subtype="high"))
    # road surface of the junction box (Autoware's intersection_area)
    ring = []
    for arm in order:
        ring += [arms[arm].out_edge_pt, arms[arm].in_edge_pt]
    ring = [b.point(p.x, p.y, p.z) for p in ring]
    area = Polygon3d(b.ids("polygon"), ring, AttributeMap({"type": "intersection_area", "lsv:junction": j.name}))
    b.map.add(area)
    meta[j.name] = {"intersection_id": j.intersection_id, "region": j.region, "center": [j.xy[0], j.xy[1], j.z],
                    "arms": meta_arms, "intersection_area": area.id}


def _crosswalk(b: _Builder, name: str, st: Street, xy: tuple[float, float]) -> int:
    s = st.cl.project(xy)
    pos, tan = st.cl.at(s)
    pos, t = pos[0], tan[0]
    nv = rot90(t)
    ks = np.array([-CROSSWALK_HALF_SPAN, -LANE_W, 0.0, LANE_W, CROSSWALK_HALF_SPAN])
    sides = []
    for ds in (-CROSSWALK_W / 2.0, CROSSWALK_W / 2.0):  # walking along +nv, the left bound is behind (-t)
        z = float(st.z(s + ds)[0])
        sides.append([b.point(*(pos + t * ds + nv * k), z) for k in ks])
    left = b.linestring(sides[0], type="line_thin", subtype="dashed")
    right = b.linestring(sides[1], type="line_thin", subtype="dashed")
    ll = b.lanelet(f"crosswalk.{name}", left, right, kind="crosswalk", subtype="crosswalk", one_way="no",
                   speed_limit="10", participant="pedestrian")
    return ll.id


def _buildings(b: _Builder, streets: list[Street], rng: np.random.Generator) -> int:
    from lanelet2.core import AttributeMap, Polygon3d
    from matplotlib.path import Path as MplPath
    from scipy.spatial import cKDTree

    dense = np.concatenate([st.cl.xy for st in streets])
    tree = cKDTree(dense)
    placed: list[MplPath] = []
    count = 0
    for st in streets:
        L = st.cl.length
        for side in (1.0, -1.0):
            s = 14.0
            while s < L - 14.0:
                length = float(rng.uniform(14.0, 32.0))
                depth = float(rng.uniform(10.0, 18.0))
                height = float(rng.choice([7.0, 10.0, 14.0, 18.0, 24.0, 30.0]))
                sm = s + length / 2.0
                pos, tan = st.cl.at(sm)
                pos, t = pos[0], tan[0]
                nv = rot90(t) * side
                front = pos + nv * BUILDING_LINE
                corners = np.array([front - t * length / 2, front + t * length / 2,
                                    front + t * length / 2 + nv * depth, front - t * length / 2 + nv * depth])
                if side < 0:
                    corners = corners[::-1]  # counter-clockwise
                gu, gv = np.meshgrid(np.linspace(0, 1, 9), np.linspace(0, 1, 6))
                samples = (corners[0] + (corners[1] - corners[0]) * gu.reshape(-1, 1)
                           + (corners[3] - corners[0]) * gv.reshape(-1, 1))
                dmin, _ = tree.query(samples)
                ok = bool(np.all(dmin >= BUILDING_LINE - 0.3)) and sm + length / 2 < L
                path = MplPath(np.vstack([corners, corners[:1]]))
                if ok:
                    for other in placed:
                        if other.contains_points(samples).any() or path.contains_points(other.vertices).any():
                            ok = False
                            break
                if ok:
                    placed.append(path)
                    z = float(st.z(sm)[0])
                    pts = [b.point(x, y, z) for x, y in corners]
                    poly = Polygon3d(b.ids("polygon"), pts, AttributeMap(
                        {"type": "building", "building": "yes", "height": f"{height:.1f}", "area": "yes"}))
                    b.map.add(poly)
                    count += 1
                s += length + float(rng.uniform(3.0, 8.0))
    return count


def build() -> tuple[object, dict, dict[int, int]]:
    """Build the district: (lanelet2 LaneletMap, metadata dict, light linestring id -> bulbs id)."""
    junctions, streets = district()
    b = _Builder()
    arms: list[_Arm] = []
    meta: dict = {"streets": {}, "intersections": {}}
    for st in streets:
        info = _street_lanelets(b, st, arms)
        grade = np.abs(np.gradient(st.z(st.cl.s), st.cl.s))
        if grade.max() > MAX_GRADE + 1e-9:
            raise MapGenError(f"street '{st.name}' has a grade of {100 * grade.max():.1f} % (max {100 * MAX_GRADE} %)")
        info["max_grade"] = float(grade.max())
        meta["streets"][st.name] = info
    for j in junctions:
        _junction(b, j, {a.arm: a for a in arms if a.junction is j}, meta["intersections"])
    by_name = {st.name: st for st in streets}
    meta["crosswalks"] = {name: _crosswalk(b, name, by_name[sname], xy) for name, sname, xy in CROSSWALKS}
    meta["buildings"] = _buildings(b, streets, np.random.default_rng(5))
    # parked-car slots along the parking strip of the narrow section (centre of the strip)
    south = by_name["south_loop"]
    s0, s1 = south.narrow_s
    slots = []
    for s in np.arange(s0 + 20.0, s1 - 18.0, 6.5):
        pos, tan = south.cl.at(s)
        off = -(south.lane_w(s)[0] + PARKING_W / 2.0)
        xy = pos[0] + rot90(tan[0]) * off
        slots.append([round(float(xy[0]), 3), round(float(xy[1]), 3), round(math.degrees(math.atan2(tan[0][1],
                                                                                             tan[0][0])), 3)])
    meta["parked_car_slots"] = slots
    n = b.named
    meta["patrol_loop"] = [n["north_up.fwd"], n["top.fwd"], n["north_down.fwd"], n["east.N->W"], n["main.bwd"],
                           n["west.E->N"]]
    meta["narrow_lane"] = [n["narrow.fwd"], n["narrow.bwd"]]
    meta["lanelets"] = dict(sorted(n.items()))
    return b.map, meta, b.bulbs_of_light


def _add_light_bulbs(osm: Path, bulbs_of_light: dict[int, int]) -> None:
    """Give every traffic-light regulatory element its ``light_bulbs`` member (not settable from
    the lanelet2 Python API; Autoware's traffic-light format needs it)."""
    tree = ET.parse(osm)
    root = tree.getroot()
    for rel in root.iter("relation"):
        tags = {t.get("k"): t.get("v") for t in rel.iter("tag")}
        if tags.get("subtype") != "traffic_light" or tags.get("type") != "regulatory_element":
            continue
        for m in list(rel.iter("member")):
            if m.get("role") == "refers" and int(m.get("ref")) in bulbs_of_light:
                ET.SubElement(rel, "member", {"type": "way", "ref": str(bulbs_of_light[int(m.get("ref"))]),
                                              "role": "light_bulbs"})
        # keep members before tags, as JOSM and the lanelet2 writer do
        members = [e for e in rel if e.tag == "member"]
        rest = [e for e in rel if e.tag != "member"]
        rel[:] = members + rest
    ET.indent(tree, space="  ")
    tree.write(osm, encoding="utf-8", xml_declaration=True)


def _yaml_text(meta: dict) -> str:
    import yaml

    doc = {
        "name": "district",
        "description": "Simulator district: two signalised intersections, hills up to 12 %, four crosswalks, "
                       "a narrow lane with parked cars, a patrol loop. Generated by lsv_sim.mapgen; edit the "
                       "generator, not this file.",
        "origin": {"lat_deg": ORIGIN_LAT_DEG, "lon_deg": ORIGIN_LON_DEG, "alt_m": ORIGIN_ALT_M, "projector": PROJECTOR},
        "frame": "map: local ENU tangent plane at the origin (x east, y north, z up), m",
        "places": {name: {"x": x, "y": y, "yaw_deg": yaw} for name, x, y, yaw in PLACES},
        "routes": ROUTES,
        "gnss_dropout_zones": GNSS_DROPOUT_ZONES,
        **meta,
    }
    return "# Generated by `python -m lsv_sim.mapgen`; do not edit by hand.\n" + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=None, width=110)


def write(osm_path: Path | str = DEFAULT_OSM) -> tuple[Path, Path]:
    """Generate the district and write ``<name>.osm`` and ``<name>.yaml``; returns both paths."""
    import lanelet2
    from lanelet2.io import Origin
    from lanelet2.projection import LocalCartesianProjector

    osm_path = Path(osm_path)
    osm_path.parent.mkdir(parents=True, exist_ok=True)
    lmap, meta, bulbs = build()
    projector = LocalCartesianProjector(Origin(ORIGIN_LAT_DEG, ORIGIN_LON_DEG, ORIGIN_ALT_M))
    lanelet2.io.write(str(osm_path), lmap, projector)
    _add_light_bulbs(osm_path, bulbs)
    yaml_path = osm_path.with_suffix(".yaml")
    yaml_path.write_text(_yaml_text(meta))
    return osm_path, yaml_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OSM, help="OSM file to write (YAML beside it)")
    args = parser.parse_args(argv)
    osm, yml = write(args.output)
    print(f"wrote {osm} and {yml}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
