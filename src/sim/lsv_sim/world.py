"""The simulator's static world: a Lanelet2 district map, its metadata and meshes (pure, no ROS).

``load_world(path=None)`` loads ``maps/district.osm`` (written by ``lsv_sim.mapgen``) with the
Lanelet2 ``LocalCartesianProjector`` at the origin in ``district.yaml`` and returns a ``World``:
routing, road heights and grades, stop lines, traffic lights, crosswalks, intersections (ids as
the road-side unit sends them in SPaT/MAP), named places, the patrol loop, parked-car slots and
a triangle mesh of roads, sidewalks, curbs, markings, lights and buildings for the sensors.

Map frame: local ENU tangent plane at the origin (x east, y north, z up), metres.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from scipy.spatial import cKDTree

from lsv_common import share
from lsv_sim.sensors.gnss_imu import DropoutZone

log = logging.getLogger(__name__)



def _maps_dir() -> Path:
    """The shipped maps: ``maps/`` of lsv_sim's share folder (``lsv_common.share``)."""
    looked = share.candidates("lsv_sim", "maps")
    return next((c for c in looked if (c / "district.osm").is_file()), looked[0] if looked else Path("maps"))


MAPS_DIR = _maps_dir()
DEFAULT_MAP = MAPS_DIR / "district.osm"

SIDEWALK_MESH_W = 6.5  # m, sidewalk mesh width from the curb (reaches under the building line)
CURB_H = 0.15  # m
MARKING_W = 0.15  # m, painted line width
MARKING_LIFT = 0.02  # m, paint above the road surface (so rays hit the paint first)
TERRAIN_STEP = 10.0  # m, grid of the ground between the streets
TERRAIN_DROP = 0.5  # m, the ground is this far below the nearest road (never pokes through it)
POLE_W = 0.2  # m
LIGHT_HEAD = (0.4, 0.35, 1.2)  # m, width x depth x height of a traffic-light head


class WorldError(RuntimeError):
    """The map or its metadata is missing, unreadable or inconsistent."""


class ObjectClass(enum.IntEnum):
    """Class ids of the static mesh, actors and sensor labels (0 = nothing hit)."""

    NONE = 0
    ROAD = 1
    SIDEWALK = 2
    CURB = 3
    BUILDING = 4
    CROSSWALK_PAINT = 5
    LANE_MARKING = 6
    TRAFFIC_LIGHT = 7
    POLE = 8
    TERRAIN = 9
    CAR = 10
    PEDESTRIAN = 11
    CYCLIST = 12
    EMERGENCY_VEHICLE = 13
    TRUCK = 14
    OBSTACLE = 15
    EGO = 16


STATIC_CLASSES = frozenset(range(1, 10))
#: material ids (> the class ids) of building facades, so the camera can give houses different colours
BUILDING_MATERIALS = (200, 201, 202, 203, 204)


@dataclass(frozen=True)
class Pose2D:
    x: float
    y: float
    yaw: float  # rad, counter-clockwise from east


@dataclass(frozen=True)
class StopLine:
    id: int  # the stop_line linestring id
    points: np.ndarray  # (2, 2) float64 x, y of its ends
    z: float
    intersection_id: int
    phase_id: int  # signal group in SPaT
    lanelet_ids: tuple[int, ...]  # lanelets that stop here (they end at the line)


@dataclass(frozen=True)
class TrafficLight:
    id: int  # traffic_light regulatory element id
    light_id: int  # the traffic_light linestring id (Autoware's traffic light id)
    position: np.ndarray  # (3,) centre of the head, m
    facing_yaw: float  # rad, the direction the lamps face (towards approaching vehicles)
    intersection_id: int
    phase_id: int
    stop_line_id: int
    lanelet_ids: tuple[int, ...]
    bulbs: dict[str, np.ndarray] = field(default_factory=dict)  # colour -> (3,) lamp position


@dataclass(frozen=True)
class Crosswalk:
    id: int  # the crosswalk lanelet id
    name: str
    polygon: np.ndarray  # (K, 2) outline, counter-clockwise
    lanelet_ids: tuple[int, ...]  # road lanelets it crosses
    carriageway: tuple[np.ndarray, ...] = ()  # (M, 2) outlines of those lanelets: the road part of the crossing


@dataclass(frozen=True)
class Intersection:
    name: str
    intersection_id: int  # as in SPaT / MAP
    region: int
    center: np.ndarray  # (3,)
    phase_of_arm: dict[str, int]  # arm ('S', 'W', 'N', 'E' = where traffic comes from) -> phase id
    inbound_lanelet: dict[str, int]  # arm -> lanelet ending at that arm's stop line
    outbound_lanelet: dict[str, int]  # arm -> lanelet leaving the junction on that arm
    stop_line_ids: tuple[int, ...]
    traffic_light_ids: tuple[int, ...]


def _projector(lat: float, lon: float, alt: float):
    from lanelet2.io import Origin
    from lanelet2.projection import LocalCartesianProjector

    return LocalCartesianProjector(Origin(lat, lon, alt))


def load_world(path: str | Path | None = None, origin: tuple[float, float, float] | None = None) -> World:
    """Load a district map (``.osm`` with its ``.yaml`` beside it); None = the default district.

    A map without the ``.yaml`` (e.g. a site map) loads when ``origin`` = (lat, lon, alt) is given;
    it then has no places, intersections or patrol loop, but heights, lanelets, signals, crosswalks,
    routing and meshes work the same.
    """
    import lanelet2

    osm = Path(path) if path is not None else DEFAULT_MAP
    meta_path = osm.with_suffix(".yaml")
    if not osm.is_file():
        raise WorldError(f"map not found: {osm} (the district is generated with `python -m lsv_sim.mapgen`)")
    if meta_path.is_file():
        meta = yaml.safe_load(meta_path.read_text())
    elif origin is not None:
        meta = {"origin": {"lat_deg": origin[0], "lon_deg": origin[1], "alt_m": origin[2]}}
    else:
        raise WorldError(f"{meta_path} not found: give the map's origin (lat, lon, alt) to load {osm} without it")
    try:
        o = meta["origin"]
        projector = _projector(float(o["lat_deg"]), float(o["lon_deg"]), float(o.get("alt_m", 0.0)))
    except (KeyError, TypeError, ValueError) as err:
        raise WorldError(f"{meta_path}: 'origin' needs lat_deg, lon_deg (and alt_m): {err}") from err
    lmap, errors = lanelet2.io.loadRobust(str(osm), projector)
    if errors:
        raise WorldError(f"{osm}: Lanelet2 reported {len(errors)} errors, first: {errors[0]}")
    return World(lmap, meta, projector, source=osm)


class World:
    """The static district. See the module docstring; ids are stable (``lsv_sim.mapgen``)."""

    def __init__(self, lanelet_map, meta: dict, projector, source: Path | None = None):
        import lanelet2

        self.lanelet_map = lanelet_map
        self.meta = meta
        self.projector = projector
        self.source = source
        self._mesh: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._mesh_materials: np.ndarray | None = None
        o = meta["origin"]
        self.origin_lat_deg = float(o["lat_deg"])
        self.origin_lon_deg = float(o["lon_deg"])
        self.origin_alt_m = float(o.get("alt_m", 0.0))
        self.traffic_rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                                           lanelet2.traffic_rules.Participants.Vehicle)
        self.routing_graph = lanelet2.routing.RoutingGraph(lanelet_map, self.traffic_rules)

        self.lanelets: dict[str, int] = {}  # lsv:name -> lanelet id
        self._centerlines: dict[int, np.ndarray] = {}
        self.road_lanelet_ids: list[int] = []
        for ll in lanelet_map.laneletLayer:
            name = ll.attributes["lsv:name"] if "lsv:name" in ll.attributes else str(ll.id)
            self.lanelets[name] = ll.id
            if ll.attributes["subtype"] == "road":
                self.road_lanelet_ids.append(ll.id)
        self.road_lanelet_ids.sort()
        self._build_height_field()

        self.places = {k: Pose2D(float(v["x"]), float(v["y"]), math.radians(float(v["yaw_deg"])))
                       for k, v in meta.get("places", {}).items()}
        self.routes: dict[str, list[str]] = {k: list(v) for k, v in meta.get("routes", {}).items()}
        self.patrol_loop: list[int] = [int(i) for i in meta.get("patrol_loop", [])]
        self.narrow_lane: list[int] = [int(i) for i in meta.get("narrow_lane", [])]
        self.parked_car_slots = [Pose2D(float(x), float(y), math.radians(float(yaw)))
                                 for x, y, yaw in meta.get("parked_car_slots", [])]
        self.parking_spots = self.parked_car_slots
        self.gnss_dropout_zones = [DropoutZone(name=z.get("name", ""), center=tuple(z["center"]),
                                               radius_m=float(z["radius_m"]))
                                   for z in meta.get("gnss_dropout_zones", [])]
        self._read_signals()
        self._read_crosswalks()
        self._read_intersections()

    # -- map contents --------------------------------------------------------------------

    def _read_signals(self) -> None:
        users: dict[int, list[int]] = {}
        for ll in self.lanelet_map.laneletLayer:
            for re in ll.regulatoryElements:
                users.setdefault(re.id, []).append(ll.id)
        self.stop_lines: list[StopLine] = []
        self.traffic_lights: list[TrafficLight] = []
        for re in self.lanelet_map.regulatoryElementLayer:
            if re.attributes["subtype"] != "traffic_light" or "lsv:intersection_id" not in re.attributes:
                continue
            iid = int(re.attributes["lsv:intersection_id"])
            phase = int(re.attributes["lsv:phase_id"])
            lls = tuple(sorted(users.get(re.id, [])))
            stop = re.stopLine
            sp = np.array([[p.x, p.y] for p in stop])
            self.stop_lines.append(StopLine(stop.id, sp, float(np.mean([p.z for p in stop])), iid, phase, lls))
            light = re.trafficLights[0]
            lp = np.array([[p.x, p.y, p.z] for p in light])
            height = float(light.attributes["height"]) if "height" in light.attributes else 1.0
            centre = lp.mean(axis=0) + np.array([0.0, 0.0, height / 2.0])
            across = lp[-1, :2] - lp[0, :2]
            facing = math.atan2(across[0], -across[1])  # mapgen: the head faces its linestring rotated +90 deg
            bulbs = {}
            for ls in _get(re.parameters, "light_bulbs", []):
                for p in ls:
                    if "color" in p.attributes:
                        bulbs[p.attributes["color"]] = np.array([p.x, p.y, p.z])
            self.traffic_lights.append(TrafficLight(re.id, light.id, centre, facing, iid, phase, stop.id, lls, bulbs))
        self.stop_lines.sort(key=lambda s: s.id)
        self.traffic_lights.sort(key=lambda t: t.id)

    def _read_crosswalks(self) -> None:
        import lanelet2

        self.crosswalks: list[Crosswalk] = []
        roads = [self.lanelet_map.laneletLayer[i] for i in self.road_lanelet_ids]
        for ll in self.lanelet_map.laneletLayer:
            if ll.attributes["subtype"] != "crosswalk":
                continue
            crossed = sorted((r for r in roads if lanelet2.geometry.overlaps2d(ll, r)), key=lambda r: r.id)
            name = ll.attributes["lsv:name"] if "lsv:name" in ll.attributes else str(ll.id)
            self.crosswalks.append(Crosswalk(ll.id, name.removeprefix("crosswalk."), _outline(ll),
                                             tuple(r.id for r in crossed), tuple(_outline(r) for r in crossed)))
        self.crosswalks.sort(key=lambda c: c.id)

    def _read_intersections(self) -> None:
        self.intersections: dict[str, Intersection] = {}
        for name, m in self.meta.get("intersections", {}).items():
            iid = int(m["intersection_id"])
            arms = m["arms"]
            self.intersections[name] = Intersection(
                name, iid, int(m.get("region", 1)), np.array(m["center"], float),
                {a: int(v["phase_id"]) for a, v in arms.items()},
                {a: int(v["inbound_lanelet"]) for a, v in arms.items()},
                {a: int(v["outbound_lanelet"]) for a, v in arms.items()},
                tuple(s.id for s in self.stop_lines if s.intersection_id == iid),
                tuple(t.id for t in self.traffic_lights if t.intersection_id == iid))
        self.intersection_by_id = {i.intersection_id: i for i in self.intersections.values()}

    # -- geometry queries ----------------------------------------------------------------

    def centerline(self, lanelet_id: int) -> np.ndarray:
        """(N, 3) float64 centre line of a lanelet, in its driving direction."""
        cl = self._centerlines.get(lanelet_id)
        if cl is None:
            ll = self.lanelet_map.laneletLayer[lanelet_id]
            cl = np.array([[p.x, p.y, p.z] for p in ll.centerline], dtype=np.float64)
            cl.setflags(write=False)
            self._centerlines[lanelet_id] = cl
        return cl

    def _build_height_field(self) -> None:
        a, b = [], []
        for lid in self.road_lanelet_ids:
            cl = self.centerline(lid)
            a.append(cl[:-1])
            b.append(cl[1:])
        self._seg_a = np.concatenate(a)
        self._seg_b = np.concatenate(b)
        self._seg_d = self._seg_b - self._seg_a
        self._seg_len2 = np.maximum(np.einsum("ij,ij->i", self._seg_d[:, :2], self._seg_d[:, :2]), 1e-12)
        self._seg_lanelet = np.concatenate([np.full(len(self.centerline(lid)) - 1, lid) for lid in
                                            self.road_lanelet_ids])
        self._seg_tree = cKDTree((self._seg_a[:, :2] + self._seg_b[:, :2]) / 2.0)

    def _nearest_segment(self, xy: np.ndarray, k: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For (N, 2) points: (segment index, parameter t in [0, 1], 2-D distance) of the nearest
        road centre-line segment among the ``k`` nearest by midpoint."""
        k = min(k, len(self._seg_a))
        _, idx = self._seg_tree.query(xy, k=k)
        idx = idx.reshape(len(xy), k)
        a = self._seg_a[idx, :2]
        d = self._seg_d[idx, :2]
        t = np.clip(np.einsum("nkj,nkj->nk", xy[:, None, :] - a, d) / self._seg_len2[idx], 0.0, 1.0)
        foot = a + d * t[..., None]
        dist = np.linalg.norm(xy[:, None, :] - foot, axis=2)
        best = np.argmin(dist, axis=1)
        rows = np.arange(len(xy))
        return idx[rows, best], t[rows, best], dist[rows, best]

    def height_at(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) map x, y -> (N,) float64 road surface height: the height of the nearest road lane's
        centre line (roads have no cross fall), continuous along every lane."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(xy) == 0:
            return np.zeros(0)
        seg, t, _ = self._nearest_segment(xy)
        return self._seg_a[seg, 2] + self._seg_d[seg, 2] * t

    def grade_at(self, x: float, y: float, yaw: float, baseline_m: float = 2.0) -> float:
        """Rise over run of the road surface along heading ``yaw`` (0.12 = 12 % uphill)."""
        d = 0.5 * baseline_m * np.array([math.cos(yaw), math.sin(yaw)])
        p = np.array([x, y], dtype=np.float64)
        h = self.height_at(np.array([p - d, p + d]))
        return float((h[1] - h[0]) / baseline_m)

    def lanelet_at(self, x: float, y: float, yaw: float | None = None) -> int | None:
        """Id of the road lanelet containing (x, y); with ``yaw``, the one whose direction matches
        best (opposite lanes and junction connectors overlap). None when off the road."""
        import lanelet2
        from lanelet2.core import BasicPoint2d

        hits = [ll for _, ll in lanelet2.geometry.findWithin2d(self.lanelet_map.laneletLayer, BasicPoint2d(x, y), 0.0)
                if ll.attributes["subtype"] == "road"]
        if not hits:
            return None
        if yaw is None or len(hits) == 1:
            return min(hits, key=lambda ll: lanelet2.geometry.distanceToCenterline2d(ll, BasicPoint2d(x, y))).id
        return max(hits, key=lambda ll: self._alignment(ll.id, x, y, yaw)).id

    def nearest_lanelet(self, x: float, y: float, yaw: float | None = None) -> int:
        """Id of the road lanelet nearest to (x, y) (its centre line), preferring the direction ``yaw``."""
        inside = self.lanelet_at(x, y, yaw)
        if inside is not None:
            return inside
        seg, _, _ = self._nearest_segment(np.array([[x, y]], float), k=32)
        return int(self._seg_lanelet[seg[0]])

    def _alignment(self, lanelet_id: int, x: float, y: float, yaw: float) -> float:
        cl = self.centerline(lanelet_id)
        i = int(np.argmin(np.linalg.norm(cl[:-1, :2] - (x, y), axis=1)))
        d = cl[i + 1, :2] - cl[i, :2]
        return float(math.cos(math.atan2(d[1], d[0]) - yaw))

    def route(self, start: Pose2D | str, goal: Pose2D | str) -> list[int] | None:
        """Shortest lanelet path (ids) from a pose or place name to another; None if unreachable."""
        a = self.places[start] if isinstance(start, str) else start
        b = self.places[goal] if isinstance(goal, str) else goal
        la, lb = self.nearest_lanelet(a.x, a.y, a.yaw), self.nearest_lanelet(b.x, b.y, b.yaw)
        layer = self.lanelet_map.laneletLayer
        if la == lb:
            return [la]
        r = self.routing_graph.getRoute(layer[la], layer[lb])
        if r is None:
            return None
        return [ll.id for ll in r.shortestPath()]

    def to_latlon(self, x: float, y: float, z: float = 0.0) -> tuple[float, float]:
        """Map x, y (m) -> WGS84 latitude, longitude (deg) through the map's projector."""
        from lanelet2.core import BasicPoint3d

        g = self.projector.reverse(BasicPoint3d(float(x), float(y), float(z)))
        return g.lat, g.lon

    def from_latlon(self, lat: float, lon: float, alt: float | None = None) -> tuple[float, float]:
        """WGS84 latitude, longitude (deg) -> map x, y (m) through the map's projector."""
        from lanelet2.core import GPSPoint

        p = self.projector.forward(GPSPoint(float(lat), float(lon), self.origin_alt_m if alt is None else alt))
        return p.x, p.y

    def to_geodetic(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        """Map x, y, z -> latitude, longitude (deg), ellipsoid height (m)."""
        from lanelet2.core import BasicPoint3d

        g = self.projector.reverse(BasicPoint3d(float(x), float(y), float(z)))
        return g.lat, g.lon, g.ele

    # -- mesh ----------------------------------------------------------------------------

    def static_mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vertices (V, 3) float32, triangles (T, 3) uint32, class_ids (T,) uint8) of roads,
        junction areas, sidewalks, curbs, markings, crosswalk paint, terrain, traffic lights
        and buildings, derived from the map (built once, cached; arrays are read-only)."""
        return _static_mesh(self)

    def static_mesh_materials(self) -> np.ndarray:
        """(T,) uint8 material of each ``static_mesh()`` triangle: its class id, except buildings,
        which get one of ``BUILDING_MATERIALS`` (the camera's albedo table has a colour for each)."""
        _static_mesh(self)
        return self._mesh_materials


class _MeshBuilder:
    def __init__(self) -> None:
        self.v: list[np.ndarray] = []
        self.t: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.m: list[np.ndarray] = []
        self.n = 0

    def add(self, verts: np.ndarray, tris: np.ndarray, cls: int, material: int | None = None) -> None:
        if len(tris) == 0:
            return
        self.v.append(np.asarray(verts, np.float64))
        self.t.append(np.asarray(tris, np.int64) + self.n)
        self.c.append(np.full(len(tris), cls, np.uint8))
        self.m.append(np.full(len(tris), cls if material is None else material, np.uint8))
        self.n += len(verts)

    def strip(self, left: np.ndarray, right: np.ndarray, cls: int) -> None:
        """Triangles between two polylines of the same length (N, 3)."""
        n = len(left)
        if n < 2:
            return
        i = np.arange(n - 1)
        tris = np.concatenate([np.stack([i, i + n, i + 1], 1), np.stack([i + 1, i + n, i + n + 1], 1)])
        self.add(np.concatenate([left, right]), tris, cls)

    def box(self, centre: np.ndarray, size: tuple[float, float, float], yaw: float, cls: int) -> None:
        self.add(*box_mesh(centre, size, yaw), cls)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        v = np.concatenate(self.v).astype(np.float32)
        t = np.concatenate(self.t).astype(np.uint32)
        c = np.concatenate(self.c)
        m = np.concatenate(self.m)
        for a in (v, t, c, m):
            a.setflags(write=False)
        return v, t, c, m


_BOX_TRIS = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5],
                      [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]], dtype=np.int64)


def box_mesh(centre: np.ndarray, size: tuple[float, float, float], yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """An oriented box (centre (3,), length x width x height, yaw about z) -> (8, 3) vertices, (12, 3) triangles
    with outward normals."""
    lx, ly, lz = (s / 2.0 for s in size)
    corners = np.array([[-lx, -ly, -lz], [lx, -ly, -lz], [lx, ly, -lz], [-lx, ly, -lz],
                        [-lx, -ly, lz], [lx, -ly, lz], [lx, ly, lz], [-lx, ly, lz]])
    c, s = math.cos(yaw), math.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return corners @ rot.T + np.asarray(centre, float), _BOX_TRIS


def _offset_right(pts: np.ndarray, dist: float) -> np.ndarray:
    """Offset a polyline (N, 3) to its right by ``dist`` in x, y (vertex normals)."""
    d = np.diff(pts[:, :2], axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    tang = np.zeros((len(pts), 2))
    tang[:-1] += d
    tang[1:] += d
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-12)
    right = np.stack([tang[:, 1], -tang[:, 0]], axis=1)
    out = pts.copy()
    out[:, :2] += right * dist
    return out


def _get(mapping, key: str, default):
    """``mapping.get`` for lanelet2 attribute and parameter maps, which have no ``get``."""
    return mapping[key] if key in mapping else default  # noqa: SIM401


def _outline(ll) -> np.ndarray:
    """(K, 2) outline of a lanelet: its right bound, then its left bound backwards."""
    return np.array([[p.x, p.y] for p in ll.rightBound] + [[p.x, p.y] for p in reversed(ll.leftBound)])


def _polyline(ls) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in ls], dtype=np.float64)


def _marking(mb: _MeshBuilder, pts: np.ndarray, cls: int, dashed: bool) -> None:
    half = MARKING_W / 2.0
    lifted = pts + np.array([0.0, 0.0, MARKING_LIFT])
    if not dashed:
        mb.strip(_offset_right(lifted, -half), _offset_right(lifted, half), cls)
        return
    for a, b in zip(lifted[:-1:2], lifted[1::2], strict=False):  # paint every other point interval
        seg = np.array([a, b])
        mb.strip(_offset_right(seg, -half), _offset_right(seg, half), cls)


def _static_mesh(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if world._mesh is None:
        v, t, c, m = _build_static_mesh(world)
        world._mesh = (v, t, c)
        world._mesh_materials = m
    return world._mesh


def _build_static_mesh(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lmap = world.lanelet_map
    mb = _MeshBuilder()
    C = ObjectClass
    # roads: street lanelets and shoulders (junction connectors overlap; the junction areas cover them)
    for ll in lmap.laneletLayer:
        if ll.attributes["subtype"] not in ("road", "road_shoulder") or "turn_direction" in ll.attributes:
            continue
        mb.strip(_polyline(ll.leftBound), _polyline(ll.rightBound), C.ROAD)
    for poly in lmap.polygonLayer:
        pts = _polyline(poly)
        kind = poly.attributes["type"]
        if kind == "intersection_area":
            centre = pts.mean(axis=0)
            n = len(pts)
            tris = np.array([[n, i, (i + 1) % n] for i in range(n)])
            mb.add(np.vstack([pts, centre]), tris, C.ROAD)
        elif kind == "building":
            height = float(poly.attributes["height"]) if "height" in poly.attributes else 10.0
            base = float(world.height_at(pts[:, :2]).min()) - 1.0
            top = float(pts[:, 2].max()) + height
            n = len(pts)
            verts = np.vstack([np.c_[pts[:, :2], np.full(n, base)], np.c_[pts[:, :2], np.full(n, top)]])
            walls = []
            for i in range(n):
                j = (i + 1) % n
                walls += [[i, j, n + j], [i, n + j, n + i]]
            roof = [[n, n + i, n + i + 1] for i in range(1, n - 1)]  # convex footprints (mapgen: rectangles)
            material = BUILDING_MATERIALS[poly.id % len(BUILDING_MATERIALS)]
            mb.add(verts, np.array(walls + roof), C.BUILDING, material)
    # curbs and sidewalks: every curbstone keeps the road on its left
    for ls in lmap.lineStringLayer:
        if "type" not in ls.attributes or ls.attributes["type"] != "curbstone":
            continue
        pts = _polyline(ls)
        top = pts + np.array([0.0, 0.0, CURB_H])
        mb.strip(pts, top, C.CURB)
        mb.strip(top, _offset_right(top, SIDEWALK_MESH_W), C.SIDEWALK)
    # paint: centre lines, lane edges, stop lines, crosswalk stripes
    for ls in lmap.lineStringLayer:
        attrs = ls.attributes
        kind = _get(attrs, "type", "")
        if kind == "line_thin":
            _marking(mb, _polyline(ls), C.LANE_MARKING, "subtype" in attrs and attrs["subtype"] == "dashed")
        elif kind == "stop_line":
            pts = _polyline(ls) + np.array([0.0, 0.0, MARKING_LIFT])
            mb.strip(_offset_right(pts, -0.2), _offset_right(pts, 0.2), C.LANE_MARKING)
    for cw in world.crosswalks:
        ll = lmap.laneletLayer[cw.id]
        left, right = _polyline(ll.leftBound), _polyline(ll.rightBound)
        a0, a1 = left[0], left[-1]
        b0, b1 = right[0], right[-1]
        length = float(np.linalg.norm(a1[:2] - a0[:2]))
        for f0 in np.arange(0.0, length - 0.4, 1.0):  # 0.5 m stripes, 0.5 m gaps
            f1 = f0 + 0.5
            quad = np.array([a0 + (a1 - a0) * f0 / length, a0 + (a1 - a0) * f1 / length,
                             b0 + (b1 - b0) * f1 / length, b0 + (b1 - b0) * f0 / length])
            quad[:, 2] = world.height_at(quad[:, :2]) + MARKING_LIFT
            mb.add(quad, np.array([[0, 1, 2], [0, 2, 3]]), C.CROSSWALK_PAINT)
    # traffic lights: a pole on the corner and the head facing the approaching vehicles
    for tl in world.traffic_lights:
        ground = float(world.height_at(tl.position[None, :2])[0])
        back = tl.position[:2] - 0.3 * np.array([math.cos(tl.facing_yaw), math.sin(tl.facing_yaw)])
        top = tl.position[2] + LIGHT_HEAD[2] / 2.0
        mb.box(np.array([back[0], back[1], (ground + top) / 2.0]), (POLE_W, POLE_W, top - ground), tl.facing_yaw,
               C.POLE)
        mb.box(tl.position, (LIGHT_HEAD[1], LIGHT_HEAD[0], LIGHT_HEAD[2]), tl.facing_yaw, C.TRAFFIC_LIGHT)
    # terrain between the streets, below the road surface
    v = np.concatenate(mb.v)
    lo, hi = v[:, :2].min(axis=0) - TERRAIN_STEP, v[:, :2].max(axis=0) + TERRAIN_STEP
    gx = np.arange(lo[0], hi[0] + TERRAIN_STEP, TERRAIN_STEP)
    gy = np.arange(lo[1], hi[1] + TERRAIN_STEP, TERRAIN_STEP)
    xx, yy = np.meshgrid(gx, gy)
    grid = np.c_[xx.ravel(), yy.ravel()]
    z = world.height_at(grid) - TERRAIN_DROP
    nx, ny = len(gx), len(gy)
    i, j = np.meshgrid(np.arange(nx - 1), np.arange(ny - 1))
    k = (j * nx + i).ravel()
    tris = np.concatenate([np.stack([k, k + 1, k + nx + 1], 1), np.stack([k, k + nx + 1, k + nx], 1)])
    mb.add(np.c_[grid, z], tris, C.TERRAIN)
    return mb.result()
