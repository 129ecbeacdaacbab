"""Spinning lidar by ray casting (Open3D ``RaycastingScene``) against the world and the actors.

``Lidar(params, static_mesh).scan(pose, actors, rng)`` casts ``channels x azimuth_steps`` rays
from ``T_map_lidar`` and returns the returns in the ``lidar`` frame as ``POINT_XYZIR`` (x, y, z,
intensity 0..255, ring 0 = lowest beam), ordered by azimuth then ring like a real spinning
sensor, plus per-point ground-truth labels (object id, class id). The static world is one
scene built once; the actors (oriented boxes or small meshes) go into a second scene rebuilt
per scan, and the nearer hit of the two wins. Range noise is Gaussian; a return is dropped
with ``dropout_probability`` and outside [min_range_m, max_range_m]. The scan is taken at one
instant (no motion distortion: at 15 km/h the vehicle moves 0.4 m in a 100 ms sweep).

Only the rays that can reach an actor are cast against the actors' scene: the beams are grouped
in bundles of neighbours (``RayBundles``, about 5 x 5 degrees), a bundle is tested against each
actor's bounding cone first and its rays one by one only where it straddles the cone's edge. The
camera shares ``RayCaster`` and does the same with tiles of pixels.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import open3d as o3d

from lsv_common.convert import POINT_XYZIR
from lsv_common.params import spec
from lsv_sim.sensors import Actor, actors_mesh, as_matrix, fill_rays
from lsv_sim.world import ObjectClass, World

log = logging.getLogger(__name__)

#: diffuse reflectivity per class (0..1), the intensity a return gets at normal incidence / 255
REFLECTIVITY = np.full(256, 0.3, dtype=np.float32)
for _cls, _r in {ObjectClass.ROAD: 0.12, ObjectClass.SIDEWALK: 0.25, ObjectClass.CURB: 0.3,
                 ObjectClass.BUILDING: 0.35, ObjectClass.CROSSWALK_PAINT: 0.75, ObjectClass.LANE_MARKING: 0.75,
                 ObjectClass.TRAFFIC_LIGHT: 0.2, ObjectClass.POLE: 0.4, ObjectClass.TERRAIN: 0.2,
                 ObjectClass.CAR: 0.5, ObjectClass.PEDESTRIAN: 0.25, ObjectClass.CYCLIST: 0.3,
                 ObjectClass.EMERGENCY_VEHICLE: 0.8, ObjectClass.TRUCK: 0.5, ObjectClass.OBSTACLE: 0.9,
                 ObjectClass.EGO: 0.5}.items():
    REFLECTIVITY[_cls] = _r


def _lp(default: float, description: str, unit: str, lo: float, hi: float, name: str) -> float:
    return field(default=default, metadata=spec(description, unit=unit, min=lo, max=hi, optional=True,
                                                name=f"lidar.{name}"))


@dataclass(frozen=True)
class LidarParams:
    """Defaults: a 32-beam spinning lidar, 1800 azimuth steps (0.2 deg), 10 Hz, 100 m."""

    channels: int = field(default=32, metadata=spec("number of beams (rings)", min=1, max=256, optional=True,
                                                    name="lidar.channels"))
    azimuth_steps: int = field(default=1800, metadata=spec("firings per revolution", min=8, max=10000,
                                                           optional=True, name="lidar.azimuth_steps"))
    rate_hz: float = _lp(10.0, "revolutions per second", "Hz", 1.0, 50.0, "rate_hz")
    min_elevation_deg: float = _lp(-25.0, "lowest beam elevation", "deg", -90.0, 90.0, "min_elevation_deg")
    max_elevation_deg: float = _lp(15.0, "highest beam elevation", "deg", -90.0, 90.0, "max_elevation_deg")
    min_range_m: float = _lp(0.5, "minimum range (closer returns are dropped)", "m", 0.0, 10.0, "min_range_m")
    max_range_m: float = _lp(100.0, "maximum range", "m", 1.0, 500.0, "max_range_m")
    range_std_m: float = _lp(0.02, "range noise (1 sigma)", "m", 0.0, 1.0, "range_std_m")
    dropout_probability: float = _lp(0.01, "chance a return is lost", "", 0.0, 1.0, "dropout_probability")
    intensity_std: float = _lp(2.0, "intensity noise (1 sigma, 0..255 scale)", "", 0.0, 50.0, "intensity_std")

    def __post_init__(self) -> None:
        if self.max_elevation_deg < self.min_elevation_deg:
            raise ValueError("lidar.max_elevation_deg must not be below lidar.min_elevation_deg")
        if self.max_range_m <= self.min_range_m:
            raise ValueError("lidar.max_range_m must be above lidar.min_range_m")


class LidarScan(NamedTuple):
    points: np.ndarray  # (N,) POINT_XYZIR in the lidar frame
    object_id: np.ndarray  # (N,) int32, 0 = static world, else the actor's object_id
    class_id: np.ndarray  # (N,) uint8 ObjectClass


def beam_directions(params: LidarParams) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray directions in the lidar frame, (azimuth_steps * channels, 3) float32 ordered by
    azimuth (0 = +x, counter-clockwise) then ring, and the ring of each ray (uint16, 0 = lowest)."""
    el = np.radians(np.linspace(params.min_elevation_deg, params.max_elevation_deg, params.channels))
    az = np.arange(params.azimuth_steps) * (2.0 * math.pi / params.azimuth_steps)
    a, e = np.meshgrid(az, el, indexing="ij")
    d = np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], axis=-1).reshape(-1, 3)
    ring = np.tile(np.arange(params.channels, dtype=np.uint16), params.azimuth_steps)
    return d.astype(np.float32), ring


def make_scene(vertices: np.ndarray, triangles: np.ndarray) -> o3d.t.geometry.RaycastingScene:
    scene = o3d.t.geometry.RaycastingScene()
    if len(triangles):
        scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(vertices, dtype=np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(triangles, dtype=np.uint32)))
    return scene


BUNDLE_MARGIN = 2e-3  # rad, widens a bundle: covers the float32 rounding of the per-ray cone test
CHUNK = 32  # rays per bundle when a caller gives no bundles (consecutive rays)


class RayBundles(NamedTuple):
    """Rays grouped into bundles of neighbours, so that an actor's cone is tested against a bundle
    before its rays: bundle ``b`` holds the rays ``order[start[b]:start[b + 1]]``.

    ``axis`` (3, B) float64 is the unit mean direction of each bundle, one row per coordinate, in
    the frame of the rays; ``spread`` (B,) the largest angle from the axis to a ray of the bundle
    plus ``BUNDLE_MARGIN``, at most pi / 2 (wider bundles are clamped to pi / 2 and flagged
    ``wide``: they always count as touching a cone), with its cosine and sine.
    """

    order: np.ndarray
    start: np.ndarray
    axis: np.ndarray
    spread: np.ndarray
    cos_spread: np.ndarray
    sin_spread: np.ndarray
    wide: np.ndarray

    @classmethod
    def of(cls, dirs: tuple[np.ndarray, np.ndarray, np.ndarray], order: np.ndarray, start: np.ndarray) -> RayBundles:
        """Bundles of the unit directions ``dirs`` (x, y, z columns, (N,) each) as ``order`` and ``start``."""
        d = [np.asarray(c, np.float64)[order] for c in dirs]
        count = np.diff(start)
        first = start[:-1][count > 0]
        axis = np.zeros((3, len(count)))
        axis[:, count > 0] = [np.add.reduceat(c, first) for c in d]
        axis /= np.maximum(np.linalg.norm(axis, axis=0), 1e-12)
        bundle = np.repeat(np.arange(len(count)), count)
        cos = d[0] * axis[0, bundle] + d[1] * axis[1, bundle] + d[2] * axis[2, bundle]
        lowest = np.ones(len(count))
        lowest[count > 0] = np.minimum.reduceat(cos, first)
        spread = np.arccos(np.clip(lowest, -1.0, 1.0)) + BUNDLE_MARGIN
        wide = spread > math.pi / 2.0
        spread = np.minimum(spread, math.pi / 2.0)
        return cls(order, start, axis, spread, np.cos(spread), np.sin(spread), wide)

    @classmethod
    def chunks(cls, dirs: tuple[np.ndarray, np.ndarray, np.ndarray], size: int = CHUNK) -> RayBundles:
        """Bundles of ``size`` consecutive rays (good when neighbours in the array are neighbours in space)."""
        n = len(dirs[0])
        return cls.of(dirs, np.arange(n), np.r_[np.arange(0, n, size), n])

    @classmethod
    def tiles(cls, dirs: tuple[np.ndarray, np.ndarray, np.ndarray], shape: tuple[int, int],
              tile: tuple[int, int]) -> RayBundles:
        """Bundles of ``tile`` (rows, columns) neighbours of rays laid out row-major in ``shape``."""
        rows, cols = shape
        r, c = np.divmod(np.arange(rows * cols), cols)
        key = (r // tile[0]) * (-(-cols // tile[1])) + c // tile[1]
        order = np.argsort(key, kind="stable")
        start = np.searchsorted(key[order], np.arange(key.max() + 2))
        return cls.of(dirs, order, start)

    def rotated(self, rot: np.ndarray) -> RayBundles:
        """The same bundles seen after rotating every ray by ``rot`` (3x3)."""
        r, a = np.asarray(rot, np.float64), self.axis  # element-wise: no BLAS threads (see fill_rays)
        return self._replace(axis=np.stack([r[i, 0] * a[0] + r[i, 1] * a[1] + r[i, 2] * a[2] for i in range(3)]))

    def grouping(self, bundle: np.ndarray) -> RayBundles:
        """These bundles' cones for rays 0 .. N-1 that lie in bundles ``bundle`` (N,) (ascending), keeping
        only the bundles that hold some of them."""
        first = np.flatnonzero(np.r_[True, bundle[1:] != bundle[:-1]]) if len(bundle) else np.zeros(0, np.int64)
        used = bundle[first]
        return RayBundles(np.arange(len(bundle)), np.r_[first, len(bundle)], self.axis[:, used], self.spread[used],
                          self.cos_spread[used], self.sin_spread[used], self.wide[used])


class RayCaster:
    """The static world as one scene (built once) + the actors as a second, small scene.

    Casting costs per ray far more than per triangle, so only the rays that can reach an actor
    are cast against the actors: those inside the cone an actor's bounding sphere subtends
    from the sensor, and not stopped by the static world before the sphere. All rays of one
    call must share their origin and have unit directions (true for the lidar and camera).
    The cone test runs on bundles of neighbouring rays first (``RayBundles``), then on the rays
    of the bundles that can touch the cone, so its cost follows the actors' size on screen.
    """

    def __init__(self, static_mesh: tuple[np.ndarray, np.ndarray, np.ndarray], materials: np.ndarray | None = None):
        """``static_mesh`` = ``World.static_mesh()``; ``materials`` = ``World.static_mesh_materials()``
        (default: the class ids) for the camera's colours."""
        v, t, c = static_mesh
        self.static_vertices = np.asarray(v, dtype=np.float32)
        self.static_triangles = np.asarray(t, dtype=np.int64)
        self.static_classes = np.asarray(c, dtype=np.uint8)
        self.static_materials = self.static_classes if materials is None else np.asarray(materials, np.uint8)
        # one extra entry (0 = nothing) where a miss's primitive id (0xFFFFFFFF) is clipped to
        self._classes0 = np.append(self.static_classes, np.uint8(0))
        self._materials0 = np.append(self.static_materials, np.uint8(0))
        self.static_scene = make_scene(v, t)
        self._actor_key: tuple | None = None
        self._actor_scene: tuple | None = None
        self.last_actor_rays = 0

    @classmethod
    def for_world(cls, world: World) -> RayCaster:
        """The caster of a ``lsv_sim.world.World`` (its static mesh and facade materials): build it once
        and share it between the lidar and the camera."""
        return cls(world.static_mesh(), world.static_mesh_materials())

    def _actors(self, actors: Sequence[Actor]) -> tuple:
        """(scene, object ids per triangle, classes per triangle, sphere centres (K, 3), radii (K,), vertices
        (V, 3) float32, triangles (T, 3)), reused while the actors do not change (the lidar and the camera
        of one step share it)."""
        key = tuple((a.object_id, a.class_id, np.asarray(a.pose, float).tobytes(), a.size, id(a.vertices))
                    for a in actors)
        if key != self._actor_key:
            v, t, oid, cls = actors_mesh(actors)
            centres, radii = [], []
            start = 0
            for a in actors:
                n = len(a.vertices) if a.vertices is not None and a.triangles is not None else 8
                pts = v[start:start + n].astype(np.float64)
                start += n
                lo, hi = pts.min(axis=0), pts.max(axis=0)
                centres.append((lo + hi) / 2.0)
                radii.append(float(np.linalg.norm(hi - lo)) / 2.0 + 1e-3)
            self._actor_scene = (make_scene(v, t), oid, cls, np.array(centres), np.array(radii), v, t)
            self._actor_key = key
        return self._actor_scene

    def actor_mesh(self, actors: Sequence[Actor]) -> tuple[np.ndarray, np.ndarray]:
        """The actors as one mesh in the map: vertices (V, 3) float32, triangles (T, 3) uint32 (cached)."""
        return self._actors(actors)[5:7]

    def cast(self, rays: np.ndarray, actors: Sequence[Actor], materials: bool = False,
             bundles: RayBundles | None = None) -> tuple[np.ndarray, ...]:
        """(N, 6) float32 rays (one shared origin, unit directions) -> (t_hit (N,) float32, inf = nothing;
        normals (N, 3) float32; object ids (N,) int32, 0 = static; class ids (N,) uint8), plus the
        material of each hit (N,) uint8 (actors: their class) with ``materials``. ``bundles``: the
        rays in bundles of neighbours (in the rays' frame), when the caller has them precomputed;
        without, bundles of consecutive rays are made here."""
        rays = np.ascontiguousarray(rays, dtype=np.float32)
        r = self.static_scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
        t_hit = r["t_hit"].numpy()
        normals = r["primitive_normals"].numpy()
        prim = np.minimum(r["primitive_ids"].numpy(), np.uint32(len(self.static_classes)))
        cls = self._classes0[prim]
        mat = self._materials0[prim] if materials else None
        oid = np.zeros(len(rays), np.int32)
        self.last_actor_rays = 0
        out = (t_hit, normals, oid, cls, mat) if materials else (t_hit, normals, oid, cls)
        if not actors or len(rays) == 0:
            return out
        scene, aoid, acls, centres, radii = self._actors(actors)[:5]
        idx = self._actor_candidates(rays, t_hit, centres, radii, bundles)
        self.last_actor_rays = len(idx)
        if len(idx) == 0:
            return out
        ra = scene.cast_rays(o3d.core.Tensor.from_numpy(np.take(rays, idx, axis=0)))
        ta = ra["t_hit"].numpy()
        closer = ta < t_hit[idx]
        if closer.any():
            sel = idx[closer]
            pa = ra["primitive_ids"].numpy()[closer]
            t_hit[sel] = ta[closer]
            normals[sel] = ra["primitive_normals"].numpy()[closer]
            oid[sel] = aoid[pa]
            cls[sel] = acls[pa]
            if mat is not None:
                mat[sel] = acls[pa]
        return out

    @staticmethod
    def _actor_candidates(rays: np.ndarray, t_hit: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                          bundles: RayBundles | None) -> np.ndarray:
        """Sorted indices of the rays inside an actor's bounding cone and not stopped before its sphere."""
        v = centres - rays[0, :3].astype(np.float64)
        dist = np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2 + v[:, 2] ** 2)
        if np.any(dist <= radii):  # the sensor is inside an actor's sphere: every ray may hit it
            return np.arange(len(rays))
        u, half, near_side = v / dist[:, None], np.arcsin(radii / dist), dist - radii
        b = RayBundles.chunks(tuple(rays[:, 3 + i] for i in range(3))) if bundles is None else bundles
        if len(b.spread) == 0:
            return np.zeros(0, np.int64)
        # one cone around all the bundles first: actors outside it (behind a camera) are dropped whole
        axis = b.axis.sum(axis=1)
        axis /= max(float(np.linalg.norm(axis)), 1e-12)
        cos_b = axis[0] * b.axis[0] + axis[1] * b.axis[1] + axis[2] * b.axis[2]
        spread = float(np.max(np.arccos(np.clip(cos_b, -1.0, 1.0)) + b.spread))
        if spread < math.pi / 2.0:
            cos_u = u[:, 0] * axis[0] + u[:, 1] * axis[1] + u[:, 2] * axis[2]
            seen = np.flatnonzero(np.arccos(np.clip(cos_u, -1.0, 1.0)) <= half + spread + BUNDLE_MARGIN)
            if len(seen) == 0:
                return np.zeros(0, np.int64)
            u, half, near_side = u[seen], half[seen], near_side[seen]
        # (K, B) cosines between the cones' and the bundles' axes; a bundle touches a cone when the angle is
        # within half + spread, and lies inside it when within half - spread (cosines of sums expanded)
        cos_axis = u[:, 0, None] * b.axis[0] + u[:, 1, None] * b.axis[1] + u[:, 2, None] * b.axis[2]
        cos_h, sin_h = np.cos(half)[:, None], np.sin(half)[:, None]
        k, bundle = np.nonzero((cos_axis >= cos_h * b.cos_spread - sin_h * b.sin_spread) | b.wide)
        inside = cos_axis[k, bundle] >= cos_h[k, 0] * b.cos_spread[bundle] + sin_h[k, 0] * b.sin_spread[bundle]
        inside &= (half[k] > b.spread[bundle]) & ~b.wide[bundle]
        count = b.start[bundle + 1] - b.start[bundle]
        pos = np.arange(int(count.sum())) + np.repeat(b.start[bundle] - (np.cumsum(count) - count), count)
        ray, k = b.order[pos], np.repeat(k, count)
        ok = t_hit[ray] > near_side[k]
        # rays of the bundles on the cone's edge: the per-ray test (the sphere has a margin over the actor)
        edge = np.flatnonzero(~np.repeat(inside, count) & ok)
        ke, re = k[edge], ray[edge]
        u32 = np.ascontiguousarray(u.T, np.float32)
        cos_ray = rays[re, 3] * u32[0][ke]
        cos_ray += rays[re, 4] * u32[1][ke]
        cos_ray += rays[re, 5] * u32[2][ke]
        ok[edge] = cos_ray >= np.cos(half).astype(np.float32)[ke]
        cand = np.zeros(len(rays), bool)
        cand[ray[ok]] = True
        return np.flatnonzero(cand)


class Lidar:
    def __init__(self, params: LidarParams | None = None,
                 static_mesh: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 caster: RayCaster | None = None):
        """``static_mesh`` = ``World.static_mesh()``; or share a ``caster`` with the camera."""
        self.params = p = params or LidarParams()
        if caster is None:
            if static_mesh is None:
                raise ValueError("Lidar needs the world's static_mesh() or a RayCaster")
            caster = RayCaster(static_mesh)
        self.caster = caster
        self.directions, self.rings = beam_directions(p)
        self._cols = tuple(np.ascontiguousarray(self.directions[:, i]) for i in range(3))
        self._rays = np.empty((len(self.directions), 6), np.float32)
        # bundles for the actor cone test: about as many degrees in azimuth as in elevation
        ring_step = (p.max_elevation_deg - p.min_elevation_deg) / max(p.channels - 1, 1)
        rings = min(p.channels, 4)
        steps = int(np.clip(round(rings * ring_step * p.azimuth_steps / 360.0), 1, 32))
        self._bundles = RayBundles.tiles(self._cols, (p.azimuth_steps, p.channels), (steps, rings))

    def scan(self, pose: np.ndarray | Sequence[float], actors: Sequence[Actor] = (),
             rng: np.random.Generator | None = None) -> LidarScan:
        """One revolution from ``pose`` = T_map_lidar (4x4, or x, y, z, roll, pitch, yaw).

        Without ``rng`` there is no noise and no dropout (exact ranges)."""
        p = self.params
        m = as_matrix(pose)
        rays = fill_rays(self._rays, m[:3, 3], self._cols, m[:3, :3])
        t_hit, normals, oid, cls = self.caster.cast(rays, actors, bundles=self._bundles.rotated(m[:3, :3]))
        keep = t_hit >= p.min_range_m
        keep &= t_hit <= p.max_range_m
        if rng is not None and p.dropout_probability > 0.0:
            keep &= rng.random(len(t_hit)) >= p.dropout_probability
        idx = np.flatnonzero(keep)
        rng_m = t_hit[idx]
        if rng is not None and p.range_std_m > 0.0:
            rng_m = rng_m + rng.normal(0.0, p.range_std_m, len(idx)).astype(np.float32)
        # |cos| of the incidence angle, n . d summed in the order einsum uses (same float32 result)
        cos_inc = normals[:, 0] * rays[:, 3]
        cos_inc += normals[:, 1] * rays[:, 4]
        cos_inc += normals[:, 2] * rays[:, 5]
        cos_inc = np.abs(cos_inc[idx])
        intensity = 255.0 * REFLECTIVITY[cls[idx]] * (0.2 + 0.8 * cos_inc)
        if rng is not None and p.intensity_std > 0.0:
            intensity = intensity + rng.normal(0.0, p.intensity_std, len(idx))
        out = np.empty(len(idx), dtype=POINT_XYZIR)
        out["x"] = self._cols[0][idx] * rng_m
        out["y"] = self._cols[1][idx] * rng_m
        out["z"] = self._cols[2][idx] * rng_m
        out["intensity"] = np.clip(intensity, 0.0, 255.0)
        out["ring"] = self.rings[idx]
        return LidarScan(out, oid[idx], cls[idx])
