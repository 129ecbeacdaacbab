"""Spinning lidar by ray casting (Open3D ``RaycastingScene``) against the world and the actors.

``Lidar(params, static_mesh).scan(pose, actors, rng)`` casts ``channels x azimuth_steps`` rays
from ``T_map_lidar`` and returns the returns in the ``lidar`` frame as ``POINT_XYZIR`` (x, y, z,
intensity 0..255, ring 0 = lowest beam), ordered by azimuth then ring like a real spinning
sensor, plus per-point ground-truth labels (object id, class id). The static world is one
scene built once; the actors (oriented boxes or small meshes) go into a second scene rebuilt
per scan, and the nearer hit of the two wins. Range noise is Gaussian; a return is dropped
with ``dropout_probability`` and outside [min_range_m, max_range_m]. The scan is taken at one
instant (no motion distortion: at 15 km/h the vehicle moves 0.4 m in a 100 ms sweep).
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


class RayCaster:
    """The static world as one scene (built once) + the actors as a second, small scene.

    Casting costs per ray far more than per triangle, so only the rays that can reach an actor
    are cast against the actors: those inside the cone an actor's bounding sphere subtends
    from the sensor, and not stopped by the static world before the sphere. All rays of one
    call must share their origin and have unit directions (true for the lidar and camera).
    """

    def __init__(self, static_mesh: tuple[np.ndarray, np.ndarray, np.ndarray], materials: np.ndarray | None = None):
        """``static_mesh`` = ``World.static_mesh()``; ``materials`` = ``World.static_mesh_materials()``
        (default: the class ids) for the camera's colours."""
        v, t, c = static_mesh
        self.static_classes = np.asarray(c, dtype=np.uint8)
        self.static_materials = self.static_classes if materials is None else np.asarray(materials, np.uint8)
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
        """(scene, object ids per triangle, classes per triangle, sphere centres (K, 3), radii (K,)),
        reused while the actors do not change (the lidar and the camera of one step share it)."""
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
            self._actor_scene = (make_scene(v, t), oid, cls, np.array(centres), np.array(radii))
            self._actor_key = key
        return self._actor_scene

    def cast(self, rays: np.ndarray, actors: Sequence[Actor], materials: bool = False) -> tuple[np.ndarray, ...]:
        """(N, 6) float32 rays (one shared origin, unit directions) -> (t_hit (N,) float32, inf = nothing;
        normals (N, 3) float32; object ids (N,) int32, 0 = static; class ids (N,) uint8), plus the
        material of each hit (N,) uint8 (actors: their class) with ``materials``."""
        r = self.static_scene.cast_rays(o3d.core.Tensor(rays))
        t_hit = r["t_hit"].numpy()
        normals = r["primitive_normals"].numpy()
        hit = np.isfinite(t_hit)
        prim = r["primitive_ids"].numpy()
        cls = np.where(hit, np.take(self.static_classes, prim, mode="clip"), np.uint8(0))
        mat = np.where(hit, np.take(self.static_materials, prim, mode="clip"), np.uint8(0)) if materials else None
        oid = np.zeros(len(rays), np.int32)
        self.last_actor_rays = 0
        out = (t_hit, normals, oid, cls, mat) if materials else (t_hit, normals, oid, cls)
        if not actors or len(rays) == 0:
            return out
        scene, aoid, acls, centres, radii = self._actors(actors)
        origin = rays[0, :3].astype(np.float64)
        d = [np.ascontiguousarray(rays[:, 3 + i]) for i in range(3)]
        # the cone around the mean direction that holds every ray: actors outside it are skipped whole
        mean = np.array([float(c.mean()) for c in d])
        mean /= max(float(np.linalg.norm(mean)), 1e-9)
        spread = math.acos(max(-1.0, min(1.0, float(np.min(d[0] * mean[0] + d[1] * mean[1] + d[2] * mean[2])))))
        cand = np.zeros(len(rays), bool)
        for c, rad in zip(centres, radii, strict=True):
            v = c - origin
            dist = float(np.linalg.norm(v))
            if dist <= rad:
                cand[:] = True
                break
            half = math.asin(rad / dist)
            u = v / dist
            if math.acos(max(-1.0, min(1.0, float(u @ mean)))) > spread + half:
                continue
            u = u.astype(np.float32)
            cos_ray = d[0] * u[0]
            cos_ray += d[1] * u[1]
            cos_ray += d[2] * u[2]
            cand |= (cos_ray >= math.cos(half)) & (t_hit > dist - rad)
        idx = np.flatnonzero(cand)
        self.last_actor_rays = len(idx)
        if len(idx) == 0:
            return out
        ra = scene.cast_rays(o3d.core.Tensor(np.take(rays, idx, axis=0)))
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


class Lidar:
    def __init__(self, params: LidarParams | None = None,
                 static_mesh: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 caster: RayCaster | None = None):
        """``static_mesh`` = ``World.static_mesh()``; or share a ``caster`` with the camera."""
        self.params = params or LidarParams()
        if caster is None:
            if static_mesh is None:
                raise ValueError("Lidar needs the world's static_mesh() or a RayCaster")
            caster = RayCaster(static_mesh)
        self.caster = caster
        self.directions, self.rings = beam_directions(self.params)
        self._cols = tuple(np.ascontiguousarray(self.directions[:, i]) for i in range(3))
        self._rays = np.empty((len(self.directions), 6), np.float32)

    def scan(self, pose: np.ndarray | Sequence[float], actors: Sequence[Actor] = (),
             rng: np.random.Generator | None = None) -> LidarScan:
        """One revolution from ``pose`` = T_map_lidar (4x4, or x, y, z, roll, pitch, yaw).

        Without ``rng`` there is no noise and no dropout (exact ranges)."""
        p = self.params
        m = as_matrix(pose)
        fill_rays(self._rays, m[:3, 3], self._cols, m[:3, :3])
        t_hit, normals, oid, cls = self.caster.cast(self._rays, actors)
        keep = (t_hit >= p.min_range_m) & (t_hit <= p.max_range_m)
        if rng is not None and p.dropout_probability > 0.0:
            keep &= rng.random(len(t_hit)) >= p.dropout_probability
        idx = np.flatnonzero(keep)
        rng_m = t_hit[idx]
        if rng is not None and p.range_std_m > 0.0:
            rng_m = rng_m + rng.normal(0.0, p.range_std_m, len(idx)).astype(np.float32)
        d = self.directions[idx]
        cos_inc = np.abs(np.einsum("ij,ij->i", normals[idx], self._rays[idx, 3:]))
        intensity = 255.0 * REFLECTIVITY[cls[idx]] * (0.2 + 0.8 * cos_inc)
        if rng is not None and p.intensity_std > 0.0:
            intensity = intensity + rng.normal(0.0, p.intensity_std, len(idx))
        out = np.empty(len(idx), dtype=POINT_XYZIR)
        out["x"] = d[:, 0] * rng_m
        out["y"] = d[:, 1] * rng_m
        out["z"] = d[:, 2] * rng_m
        out["intensity"] = np.clip(intensity, 0.0, 255.0)
        out["ring"] = self.rings[idx]
        return LidarScan(out, oid[idx], cls[idx])
