"""Pinhole camera rendered by ray casting (Open3D): colour, depth, object ids and classes.

``Camera(params, static_mesh, traffic_lights).render(pose, actors, light, rng)`` ->
``CameraFrame(rgb (H, W, 3) uint8, depth (H, W) float32 (m along the optical axis, +inf where
nothing is hit), object_id (H, W) int32 (0 = static world), class_id (H, W) uint8)``.
``pose`` is ``T_map_camera`` of the *optical* frame ``camera`` (z forward, x right, y down), as
4x4 matrix; ``camera_info()`` gives K, D (none: plumb_bob zeros), P for ``sensor_msgs/CameraInfo``.

Shading: each class has its own albedo (actors of a class vary a little with their id), Lambert
lighting from a sun whose direction and strength follow ``Lighting`` (time of day, overcast), an
ambient term, distance haze, a sky gradient and a fixed-pattern sensor noise. Lit traffic-light
lamps are drawn emissive when ``signals`` gives their colour.

Speed (``adaptive``): every 4th pixel is cast first. The rays of the 2-pixel grid between them are
cast where their neighbours on the 4-pixel grid differ (object, class or plane) or a triangle
thinner than the 4-pixel grid can resolve projects nearby; the others are intersected with their
neighbours' plane analytically. On that 2-pixel grid, as before, a pixel whose grid cell has a
3x3 neighbourhood on one plane of one object lies on that plane, and the others are cast. About
a fifth of the pixels are cast. Against casting the 2-pixel grid whole, the images are the same
except a few pixels in some frames (a sliver of one surface poking through another, 1-2 px, that
falls between the 4-pixel rays) and depth rounding; ``test_sensor_reference`` compares them.
Shading works on the pixels in "phase-major" order (the four pixels of each 2x2 cell in four
planes) so that a grid value broadcasts over its cell in long vector loops.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from lsv_common.params import spec
from lsv_sim.sensors import Actor, as_matrix, fill_rays
from lsv_sim.sensors.lidar import RayBundles, RayCaster
from lsv_sim.world import BUILDING_MATERIALS, ObjectClass, TrafficLight

log = logging.getLogger(__name__)

#: albedo (linear RGB 0..1) of each class: distinct hues for the classes perception must tell apart
ALBEDO = np.full((256, 3), 0.5, dtype=np.float32)
for _cls, _rgb in {
    ObjectClass.ROAD: (0.22, 0.22, 0.24), ObjectClass.SIDEWALK: (0.62, 0.58, 0.52),
    ObjectClass.CURB: (0.78, 0.78, 0.74), ObjectClass.BUILDING: (0.70, 0.58, 0.44),
    ObjectClass.CROSSWALK_PAINT: (0.93, 0.93, 0.90), ObjectClass.LANE_MARKING: (0.93, 0.90, 0.80),
    ObjectClass.TRAFFIC_LIGHT: (0.06, 0.06, 0.06), ObjectClass.POLE: (0.40, 0.40, 0.42),
    ObjectClass.TERRAIN: (0.30, 0.45, 0.20), ObjectClass.CAR: (0.15, 0.25, 0.65),
    ObjectClass.PEDESTRIAN: (0.85, 0.30, 0.55), ObjectClass.CYCLIST: (0.15, 0.75, 0.35),
    ObjectClass.EMERGENCY_VEHICLE: (0.95, 0.08, 0.06), ObjectClass.TRUCK: (0.85, 0.70, 0.10),
    ObjectClass.OBSTACLE: (1.00, 0.45, 0.00), ObjectClass.EGO: (0.60, 0.60, 0.60),
}.items():
    ALBEDO[_cls] = _rgb
for _mat, _rgb in zip(BUILDING_MATERIALS, ((0.70, 0.58, 0.44), (0.62, 0.62, 0.60), (0.66, 0.38, 0.30),
                                            (0.80, 0.76, 0.66), (0.52, 0.56, 0.62)), strict=True):
    ALBEDO[_mat] = _rgb  # facades: sandstone, concrete, brick, plaster, blue-grey
ALBEDO_255 = ALBEDO * 255.0
LAMP_RGB = {"red": (1.0, 0.1, 0.05), "yellow": (1.0, 0.75, 0.05), "green": (0.1, 1.0, 0.35)}
LAMP_RADIUS = 0.16  # m

COARSE = 4  # px between the rays of the first grid cast
# A convex patch wider than (1 + 2 / sqrt(3)) grid spacings in every direction holds a grid point
# (the flatness constant of the plane lattice, Hurkens 1990): only triangles thinner than this on
# the screen can fall between the rays of the first grid, so the next grid is cast around them
THIN_PX = COARSE * (1.0 + 2.0 / math.sqrt(3.0))  # px
ZNEAR = 0.05  # m; a triangle reaching closer to the camera plane counts as large on the screen
TILE = 8  # px per side of the bundles of rays tested together against the actors' bounding cones


def _cp(default: float, description: str, unit: str, lo: float, hi: float, name: str) -> float:
    return field(default=default, metadata=spec(description, unit=unit, min=lo, max=hi, optional=True,
                                                name=f"camera.{name}"))


@dataclass(frozen=True)
class CameraParams:
    width: int = field(default=640, metadata=spec("image width", unit="px", min=16, max=4096, optional=True,
                                                  name="camera.width"))
    height: int = field(default=480, metadata=spec("image height", unit="px", min=16, max=4096, optional=True,
                                                   name="camera.height"))
    rate_hz: float = _cp(10.0, "frame rate", "Hz", 1.0, 60.0, "rate_hz")
    hfov_deg: float = _cp(90.0, "horizontal field of view", "deg", 10.0, 170.0, "hfov_deg")
    max_range_m: float = _cp(300.0, "farthest surface drawn (beyond: sky)", "m", 10.0, 5000.0, "max_range_m")
    noise_std: float = _cp(2.0, "pixel noise (1 sigma, 0..255 scale)", "", 0.0, 50.0, "noise_std")
    adaptive: bool = field(default=True, metadata=spec("cast a half-resolution grid and refine only edges "
                                                       "(exact, faster)", optional=True, name="camera.adaptive"))

    @property
    def fx(self) -> float:
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)


@dataclass(frozen=True)
class Lighting:
    """Sun direction (azimuth counter-clockwise from east, elevation above the horizon), strengths."""

    sun_azimuth_rad: float = 2.2
    sun_elevation_rad: float = 0.9
    sun: float = 0.85
    ambient: float = 0.35
    sky_horizon: tuple[float, float, float] = (0.78, 0.85, 0.92)
    sky_zenith: tuple[float, float, float] = (0.35, 0.55, 0.85)
    haze_m: float = 600.0  # distance at which half of a surface's colour is replaced by the horizon colour

    @classmethod
    def at_time(cls, hours: float, overcast: float = 0.0) -> Lighting:
        """Daylight at local solar time ``hours`` (sun rises at 6 in the east, sets at 18 in the west),
        dimmer and flatter with ``overcast`` in [0, 1]; night outside 6..18."""
        day = math.sin(math.pi * (hours - 6.0) / 12.0)
        elevation = max(0.02, 1.2 * day)
        azimuth = -math.pi * (hours - 6.0) / 12.0  # 0 = east at 6 h, -pi/2 = south at noon, -pi = west at 18 h
        daylight = max(0.05, day) * (1.0 - 0.6 * overcast)
        warm = 1.0 - max(0.0, day) ** 0.5
        horizon = (0.78 * daylight + 0.2 * warm, 0.85 * daylight + 0.05 * warm, 0.92 * daylight)
        zenith = (0.35 * daylight, 0.55 * daylight, 0.85 * daylight)
        return cls(azimuth, elevation, 0.9 * daylight * (1.0 - 0.8 * overcast), 0.15 + 0.35 * daylight,
                   tuple(min(1.0, c) for c in horizon), tuple(min(1.0, c) for c in zenith),
                   600.0 * (1.0 - 0.5 * overcast))

    def sun_direction(self) -> np.ndarray:
        ce = math.cos(self.sun_elevation_rad)
        return np.array([ce * math.cos(self.sun_azimuth_rad), ce * math.sin(self.sun_azimuth_rad),
                         math.sin(self.sun_elevation_rad)], dtype=np.float32)


class CameraFrame(NamedTuple):
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, m along the optical axis, +inf = nothing within max range
    object_id: np.ndarray  # (H, W) int32, 0 = static world / sky
    class_id: np.ndarray  # (H, W) uint8 ObjectClass, 0 = sky


@dataclass(frozen=True)
class CameraInfo:
    width: int
    height: int
    k: tuple[float, ...]  # 3x3 row-major
    d: tuple[float, ...]  # plumb_bob, all zero
    r: tuple[float, ...]
    p: tuple[float, ...]  # 3x4 row-major
    distortion_model: str = "plumb_bob"


def _phases(img: np.ndarray, lh: int, lw: int) -> np.ndarray:
    """View (2, 2, lh, lw, ...) of a (2 lh, 2 lw, ...) array, indexed like the phase-major arrays."""
    v = img.reshape(lh, 2, lw, 2, *img.shape[2:])
    return v.transpose(1, 3, 0, 2, *range(4, v.ndim))


def _interleave(ph: np.ndarray, lh: int, lw: int) -> np.ndarray:
    """Phase-major (4, lh * lw) -> (2 lh * 2 lw,) row-major."""
    out = np.empty((2 * lh, 2 * lw), ph.dtype)
    _phases(out, lh, lw)[...] = ph.reshape(2, 2, lh, lw)
    return out.reshape(-1)


def _phase_major(img: np.ndarray, lh: int, lw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(2 lh, 2 lw, 3) -> its three channels in phase-major layout, (4, lh * lw) each: pixel
    (2i + a, 2j + b) at [2a + b, i * lw + j], so phase 0 is the grid of every other pixel."""
    ph = img.reshape(lh, 2, lw, 2, 3).transpose(4, 1, 3, 0, 2).reshape(3, 4, lh * lw)
    return tuple(np.ascontiguousarray(ph[i]) for i in range(3))


def _tile_order(tile: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the ``real`` rays, tile by tile; the tile of each) of rays with ``tile`` ids."""
    order = np.flatnonzero(real)
    order = order[np.argsort(tile[order], kind="stable")]
    return order, tile[order]


class _Hits(NamedTuple):
    """What rays hit: t (N,) float32 (inf = nothing), normals (3, N) in the map, n . ray direction,
    object ids (N,) int32, classes (N,) uint8, materials (N,) uint8."""

    t: np.ndarray
    n: np.ndarray
    ndot: np.ndarray
    oid: np.ndarray
    cls: np.ndarray
    mat: np.ndarray

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.t, *self.n, self.ndot, self.oid, self.cls, self.mat)

    @classmethod
    def of_columns(cls, c: Sequence[np.ndarray]) -> _Hits:
        return cls(c[0], np.stack(c[1:4]), *c[4:])


class _Shading(NamedTuple):
    """Per-frame shading constants of one ``Lighting`` (float32, colours on the 0..255 scale)."""

    sun: np.ndarray  # (3,) unit vector towards the sun, map frame
    sun_gain: np.float32
    ambient: np.float32
    haze_m: np.float32
    horizon: np.ndarray  # (3,) sky colour at the horizon
    zenith: np.ndarray  # (3,) sky colour straight up

    @classmethod
    def of(cls, light: Lighting) -> _Shading:
        return cls(light.sun_direction(), np.float32(light.sun), np.float32(light.ambient), np.float32(light.haze_m),
                   np.asarray(light.sky_horizon, np.float32) * 255.0, np.asarray(light.sky_zenith, np.float32) * 255.0)


class _Surface(NamedTuple):
    """The shading terms of the surfaces the rays hit, one value per ray: per exact pixel, or per
    grid pixel, which then broadcasts over the pixels of its 2x2 cell (they lie on its plane)."""

    light_front: np.ndarray  # ambient + sun on the side the normal points to (seen when n . d < 0)
    light_back: np.ndarray  # ambient + sun on the other side (n . d > 0)
    tint: np.ndarray  # brightness factor of an actor, stable per id (1 for the static world)
    albedo: tuple[np.ndarray, np.ndarray, np.ndarray]  # r, g, b on the 0..255 scale

    @classmethod
    def of(cls, hits: _Hits, sh: _Shading) -> _Surface:
        ns = hits.n[0] * sh.sun[0]  # n . sun, summed in the order einsum uses (same float32 result)
        ns += hits.n[1] * sh.sun[1]
        ns += hits.n[2] * sh.sun[2]
        back = np.maximum(-ns, 0.0)
        back *= sh.sun_gain
        back += sh.ambient
        front = np.maximum(ns, 0.0, out=ns)
        front *= sh.sun_gain
        front += sh.ambient
        tint = np.ones(len(hits.oid), np.float32)
        actor = np.flatnonzero(hits.oid)
        if len(actor):  # actors of one class differ a little in brightness, stably by id
            k = ((hits.oid[actor].astype(np.uint32) * np.uint32(2654435761)) >> np.uint32(24)).astype(np.float32)
            tint[actor] = 0.8 + 0.4 * k / 255.0
        return cls(front, back, tint, tuple(ALBEDO_255[:, c][hits.mat] for c in range(3)))

    def light(self, t: np.ndarray, ndot: np.ndarray, sh: _Shading) -> tuple[np.ndarray, np.ndarray]:
        """(gain, -haze) of rays of length ``t`` with n . d ``ndot`` (the surface broadcasts over them): colour =
        albedo x gain + haze x horizon, gain = (ambient + Lambert with the normal turned towards the camera)
        x tint x (1 - haze), haze = t / (t + haze_m). Garbage where nothing is hit (the sky is drawn there)."""
        gain = np.where(ndot > 0.0, self.light_back, self.light_front)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            dist = t + sh.haze_m
            clear = np.divide(sh.haze_m, dist, out=dist)  # haze_m / (t + haze_m): half haze at haze_m
            gain *= clear
            gain *= self.tint
            clear -= 1.0  # -> -haze
        return gain, clear


class Camera:
    def __init__(self, params: CameraParams | None = None,
                 static_mesh: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                 traffic_lights: Sequence[TrafficLight] = (), caster: RayCaster | None = None):
        """``static_mesh`` = ``World.static_mesh()`` (or share the lidar's ``caster``);
        ``traffic_lights`` = ``World.traffic_lights`` to draw lit lamps."""
        self.params = p = params or CameraParams()
        if caster is None:
            if static_mesh is None:
                raise ValueError("Camera needs the world's static_mesh() or a RayCaster")
            caster = RayCaster(static_mesh)
        self.caster = caster
        self.traffic_lights = {tl.id: tl for tl in traffic_lights}
        self.fx = self.fy = p.fx
        self.cx, self.cy = (p.width - 1) / 2.0, (p.height - 1) / 2.0
        self._layout(p)
        # the static triangles for the thin-triangle test: corners (3, T), bounding spheres (3, T), (T,)
        self._static_tri = np.ascontiguousarray(caster.static_triangles.T)
        corners = caster.static_vertices[self._static_tri].astype(np.float64)  # (3 corners, T, 3)
        centre = corners.mean(axis=0)
        radius = np.sqrt(((corners - centre) ** 2).sum(axis=2)).max(axis=0) + 1e-3
        self._static_spheres = (np.ascontiguousarray(centre.T, np.float32), radius.astype(np.float32))
        self._rays = np.empty((p.height * p.width, 6), np.float32)
        # fixed-pattern noise, twice the image size: a random window of it per frame
        noise = np.random.default_rng(12345).normal(0.0, 1.0, (2 * p.height, 2 * p.width, 3))
        self._noise = (noise * p.noise_std).astype(np.float32)
        self._grid_rays = 0
        self.last_exact_fraction = 1.0  # pixels cast beyond the 2-pixel grid / pixels
        self.last_ray_fraction = 1.0  # rays cast, all grids / pixels

    def _layout(self, p: CameraParams) -> None:
        """Ray directions and index tables: the 4-pixel grid (lh4 x lw4), the 2-pixel grid (lh x lw) and the
        pixels of the image padded to 2 lh x 2 lw, each finer level phase-major over the coarser one."""
        self._lh4, self._lw4 = lh4, lw4 = -(-p.height // COARSE), -(-p.width // COARSE)
        self._lh, self._lw = lh, lw = 2 * lh4, 2 * lw4
        u, v = np.meshgrid(np.arange(2 * lw, dtype=np.float64), np.arange(2 * lh, dtype=np.float64))
        d = np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones_like(u)], axis=-1)
        d = (d / np.linalg.norm(d, axis=-1, keepdims=True)).astype(np.float32)  # optical frame
        self.dirs = np.ascontiguousarray(d[:p.height, :p.width])  # (H, W, 3)
        self._cols = tuple(np.ascontiguousarray(self.dirs[..., i].reshape(-1)) for i in range(3))
        self._pcols = _phase_major(d, lh, lw)  # pixels over the 2-pixel grid, (4, lh * lw) each
        self._qcols = _phase_major(d[::2, ::2], lh4, lw4)  # the 2-pixel over the 4-pixel grid, (4, lh4 * lw4)
        k, g = np.divmod(np.arange(4 * lh * lw), lh * lw)
        row, col = 2 * (g // lw) + k // 2, 2 * (g % lw) + k % 2
        self._image_index = row * 2 * lw + col  # phase-major pixel -> index in the padded image
        real = ((row < p.height) & (col < p.width)).reshape(4, lh * lw)  # not padding
        self._padding = np.flatnonzero(~real)
        self._phase_index = np.empty(p.height * p.width, np.int64)  # image index -> phase-major pixel
        self._phase_index[(row * p.width + col).reshape(4, -1)[real]] = np.flatnonzero(real)
        # every cast groups its rays by tile (TILE x TILE pixels) into bundles for the actors' cone test
        tile = (row // TILE) * -(-2 * lw // TILE) + col // TILE
        order = np.argsort(tile, kind="stable")
        self._tiles = RayBundles.of(tuple(c.reshape(-1) for c in self._pcols), order,
                                    np.searchsorted(tile[order], np.arange(tile.max() + 2)))
        grid_tile = tile[:lh * lw].reshape(lh4, 2, lw4, 2).transpose(1, 3, 0, 2).reshape(4, -1)
        self._coarse = _tile_order(grid_tile[0], np.ones(lh4 * lw4, bool))
        self._coarse_bundles = self._tiles.grouping(self._coarse[1])
        self._mid = _tile_order(grid_tile[1:].reshape(-1), np.ones(3 * lh4 * lw4, bool))
        self._cell_tile = tile[:lh * lw]  # the tile of each 2x2 cell of pixels
        self._cell_order = np.argsort(self._cell_tile, kind="stable")  # cells, tile by tile
        self._children = real[1:].T.copy()  # (lh * lw, 3): which of a cell's other three pixels are real
        self._pixels = _tile_order(tile, real.reshape(-1))

    def camera_info(self) -> CameraInfo:
        p = self.params
        k = (self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0)
        return CameraInfo(p.width, p.height, k, (0.0,) * 5, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
                          (self.fx, 0.0, self.cx, 0.0, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0))

    def project(self, points_camera: np.ndarray) -> np.ndarray:
        """(N, 3) points in the optical frame -> (N, 2) pixel coordinates (u right, v down)."""
        pts = np.asarray(points_camera, float)
        return np.stack([self.fx * pts[:, 0] / pts[:, 2] + self.cx, self.fy * pts[:, 1] / pts[:, 2] + self.cy], 1)

    # -- ray casting -----------------------------------------------------------------------

    def _cast(self, dirs: tuple[np.ndarray, np.ndarray, np.ndarray], bundles: RayBundles, m: np.ndarray,
              actors: Sequence[Actor]) -> _Hits:
        """The rays of the optical-frame directions ``dirs`` (x, y, z columns) from ``m``, in ``bundles``."""
        rot = m[:3, :3]
        rays = fill_rays(self._rays[:len(dirs[0])], m[:3, 3].astype(np.float32), dirs, rot)
        t, n, oid, cls, mat = self.caster.cast(rays, actors, materials=True, bundles=bundles.rotated(rot))
        n = np.ascontiguousarray(n.T)
        ndot = n[0] * rays[:, 3]  # summed in the order einsum uses (same float32 result)
        ndot += n[1] * rays[:, 4]
        ndot += n[2] * rays[:, 5]
        return _Hits(t, n, ndot, oid, cls, mat)

    @staticmethod
    def _keys(origin: np.ndarray, h: _Hits) -> tuple[np.ndarray, np.ndarray]:
        """(key, plane) of hits: equal keys = same object and class on the same plane (quantised: a
        quantisation boundary only costs extra rays), -1 = miss; plane = n . (x - origin), inf = miss."""
        hit = np.isfinite(h.t)
        with np.errstate(invalid="ignore"):
            num = np.where(hit, h.t * h.ndot, 0.0)
        q = np.round(h.n * 200.0).astype(np.int64) + 256
        plane = np.round((num + h.n[0] * origin[0] + h.n[1] * origin[1] + h.n[2] * origin[2]) / 0.05)
        key = (((h.cls.astype(np.int64) * 65599 + h.oid) * 512 + q[0]) * 512 + q[1]) * 512 + q[2]
        return np.where(hit, key * 1_000_003 + plane.astype(np.int64), -1), np.where(hit, num, np.float32(np.inf))

    @staticmethod
    def _brackets(key: np.ndarray) -> np.ndarray:
        """(3, h, w) bool: rays halfway between grid rays with keys ``key`` (h, w) that must be cast, those
        whose neighbours on the grid (2, or 4 for a cell centre) differ or are off the grid; the others lie
        on their neighbours' plane. Phases 1 (right of a grid ray), 2 (below), 3 (diagonal)."""
        must = np.ones((3, *key.shape), bool)
        np.not_equal(key[:, :-1], key[:, 1:], out=must[0, :, :-1])
        np.not_equal(key[:-1], key[1:], out=must[1, :-1])
        np.logical_or(must[0], must[1], out=must[2])
        must[2, :-1, :-1] |= key[:-1, :-1] != key[1:, 1:]
        return must

    def _smooth(self, key: np.ndarray) -> np.ndarray:
        """(lh * lw,) bool: 2-pixel grid rays whose 8 neighbours share their key (``key`` (lh * lw,)), so
        the pixels of their cell lie on their plane; the border is not smooth."""
        lh, lw = self._lh, self._lw
        key = key.reshape(lh, lw)
        centre = key[1:-1, 1:-1]
        ok = np.ones((lh - 2, lw - 2), bool)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy or dx:
                    ok &= key[1 + dy:lh - 1 + dy, 1 + dx:lw - 1 + dx] == centre
        smooth = np.zeros((lh, lw), bool)
        smooth[1:-1, 1:-1] = ok
        return smooth.reshape(-1)

    @staticmethod
    def _on_planes(rot: np.ndarray, n: np.ndarray, plane: np.ndarray,
                   dirs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(t, n . d) of rays ``dirs`` (optical frame, (k, N) each) on the planes (normals ``n`` (3, N) in the
        map, n . (x - origin) = ``plane``, inf = none) of the N grid rays they lie between."""
        r32 = rot.astype(np.float32)
        ncam = [n[0] * r32[0, i] + n[1] * r32[1, i] + n[2] * r32[2, i] for i in range(3)]  # R^T n
        ndot = ncam[0] * dirs[0]
        ndot += ncam[1] * dirs[1]
        ndot += ncam[2] * dirs[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.divide(plane, ndot)
        t[:, np.flatnonzero(np.isinf(plane))] = np.inf  # no plane: the rays between miss too
        return t, ndot

    def _thin(self, m: np.ndarray, actors: Sequence[Actor]) -> np.ndarray:
        """(lh, lw) bool: the 2-pixel grid rays within one spacing of the screen box of a triangle (static
        world or actor) thinner than ``THIN_PX`` on the screen, which the 4-pixel grid may miss."""
        p, lh, lw = self.params, self._lh, self._lw
        o, r = m[:3, 3].astype(np.float32), m[:3, :3].astype(np.float32)
        # static triangles whose bounding sphere reaches into the view frustum (distance to each side plane)
        centre, radius = self._static_spheres
        xc, yc, zc = (centre[0] * r[0, i] + centre[1] * r[1, i] + centre[2] * r[2, i] - o @ r[:, i] for i in range(3))
        tan_x, tan_y = (p.width / 2.0 + 4.0) / self.fx, (p.height / 2.0 + 4.0) / self.fy
        seen = (zc + radius > ZNEAR) & (zc - radius < p.max_range_m)
        seen &= np.abs(xc) - zc * np.float32(tan_x) <= radius * np.float32(math.hypot(1.0, tan_x))
        seen &= np.abs(yc) - zc * np.float32(tan_y) <= radius * np.float32(math.hypot(1.0, tan_y))
        v, tri = self.caster.static_vertices, self._static_tri[:, seen]
        if actors:
            av, at = self.caster.actor_mesh(actors)
            v, tri = np.concatenate([v, av]), np.concatenate([tri, at.T.astype(np.int64) + len(v)], axis=1)
        rel = v - o
        x, y, z = (rel[:, 0] * r[0, i] + rel[:, 1] * r[1, i] + rel[:, 2] * r[2, i] for i in range(3))  # R^T rel
        zt = z[tri]  # (3 corners, T)
        nearest = np.minimum(np.minimum(zt[0], zt[1]), zt[2])
        front = np.flatnonzero((nearest > ZNEAR) & (nearest < p.max_range_m))
        tri, zt = tri[:, front], zt[:, front]
        u = x[tri] / zt * np.float32(self.fx) + np.float32(self.cx)
        w = y[tri] / zt * np.float32(self.fy) + np.float32(self.cy)
        e = [(u[j] - u[i], w[j] - w[i]) for i, j in ((0, 1), (0, 2), (1, 2))]
        area2 = np.abs(e[0][0] * e[1][1] - e[0][1] * e[1][0])
        longest = np.sqrt(np.maximum(np.maximum(e[0][0] ** 2 + e[0][1] ** 2, e[1][0] ** 2 + e[1][1] ** 2),
                                     e[2][0] ** 2 + e[2][1] ** 2))
        u0, u1 = np.minimum(np.minimum(u[0], u[1]), u[2]), np.maximum(np.maximum(u[0], u[1]), u[2])
        w0, w1 = np.minimum(np.minimum(w[0], w[1]), w[2]), np.maximum(np.maximum(w[0], w[1]), w[2])
        keep = area2 < THIN_PX * longest  # its smallest height (2 area / longest side) is below THIN_PX
        keep &= (u1 > -2.0) & (u0 < p.width + 1.0) & (w1 > -2.0) & (w0 < p.height + 1.0)
        # grid rays (2i, 2j) with 2i in [w0 - 2, w1 + 2], 2j in [u0 - 2, u1 + 2]: boxes summed into a table
        i0 = np.clip(np.ceil((w0[keep] - 2.0) / 2.0), 0, lh).astype(np.int64)
        i1 = np.clip(np.floor((w1[keep] + 2.0) / 2.0) + 1, 0, lh).astype(np.int64)
        j0 = np.clip(np.ceil((u0[keep] - 2.0) / 2.0), 0, lw).astype(np.int64)
        j1 = np.clip(np.floor((u1[keep] + 2.0) / 2.0) + 1, 0, lw).astype(np.int64)
        size = (lh + 1) * (lw + 1)
        table = (np.bincount(np.concatenate([i0 * (lw + 1) + j0, i1 * (lw + 1) + j1]), None, size)
                 - np.bincount(np.concatenate([i0 * (lw + 1) + j1, i1 * (lw + 1) + j0]), None, size))
        table = table.reshape(lh + 1, lw + 1)
        np.add.accumulate(table, axis=1, out=table)  # (np.cumsum is several times slower here)
        np.add.accumulate(table, axis=0, out=table)
        return table[:lh, :lw] > 0

    def _grid(self, m: np.ndarray, actors: Sequence[Actor]) -> tuple[_Hits, np.ndarray, np.ndarray]:
        """The 2-pixel grid (lh * lw rays, row-major) and its keys and planes: the 4-pixel grid cast, the rays
        between cast where their neighbours on it differ or a thin triangle is near, the others on their
        neighbours' plane (and with their key)."""
        lh4, lw4, cells = self._lh4, self._lw4, self._lh4 * self._lw4
        origin = m[:3, 3].astype(np.float32)
        first = self._coarse[0]
        hits = self._cast(tuple(c[0][first] for c in self._qcols), self._coarse_bundles, m, actors)
        grid = [np.empty((4, cells), a.dtype) for a in hits.columns()]  # phase-major over the 4-pixel grid
        for full, part in zip(grid, hits.columns(), strict=True):
            full[0, first] = part
        t, nx, ny, nz, ndot, oid, cls, mat = grid
        coarse = _Hits.of_columns([a[0] for a in grid])
        key, plane = np.empty((4, cells), np.int64), np.empty((4, cells), np.float32)
        key[0], plane[0] = self._keys(origin, coarse)
        must = self._brackets(key[0].reshape(lh4, lw4)).reshape(3, cells)
        must |= _phases(self._thin(m, actors), lh4, lw4).reshape(4, cells)[1:]
        t[1:], ndot[1:] = self._on_planes(m[:3, :3], coarse.n, plane[0], tuple(c[1:] for c in self._qcols))
        for full in (nx, ny, nz, oid, cls, mat, key, plane):
            full[1:] = full[0]
        sel = must.reshape(-1)[self._mid[0]]
        idx = self._mid[0][sel] + cells
        if len(idx):
            dirs = tuple(c.reshape(-1)[idx] for c in self._qcols)
            hits = self._cast(dirs, self._tiles.grouping(self._mid[1][sel]), m, actors)
            for full, part in zip(grid, hits.columns(), strict=True):
                full.reshape(-1)[idx] = part
            key.reshape(-1)[idx], plane.reshape(-1)[idx] = self._keys(origin, hits)
        self._grid_rays = cells + len(idx)
        interleaved = [_interleave(a, lh4, lw4) for a in (*grid, key, plane)]
        return _Hits.of_columns(interleaved[:8]), interleaved[8], interleaved[9]

    def _trace(self, m: np.ndarray, actors: Sequence[Actor]) -> tuple[np.ndarray, np.ndarray, _Hits, np.ndarray, _Hits]:
        """Phase-major t and n . d (4, lh * lw) of every pixel; the 2-pixel grid's hits, whose planes the pixels
        of its cells lie on; the pixels cast (phase-major indices) and their hits."""
        p = self.params
        cells = self._lh * self._lw
        t, ndot = np.empty((4, cells), np.float32), np.empty((4, cells), np.float32)
        if p.adaptive:
            grid, key, plane = self._grid(m, actors)
            t[0], ndot[0] = grid.t, grid.ndot
            t[1:], ndot[1:] = self._on_planes(m[:3, :3], grid.n, plane, tuple(c[1:] for c in self._pcols))
            # the other pixels of cells whose 3x3 neighbourhood is not one plane are cast (tile by tile)
            rough = self._cell_order[~self._smooth(key)[self._cell_order]]
            real = self._children[rough]
            idx = (rough[:, None] + cells * np.arange(1, 4))[real]
            bundles = self._tiles.grouping(np.repeat(self._cell_tile[rough], real.sum(axis=1)))
        else:  # every pixel cast
            t[:], ndot[:] = np.inf, 0.0
            grid = _Hits(t[0], np.zeros((3, cells), np.float32), ndot[0], np.zeros(cells, np.int32),
                         np.zeros(cells, np.uint8), np.zeros(cells, np.uint8))
            (idx, tiles), self._grid_rays = self._pixels, 0
            bundles = self._tiles.grouping(tiles)
        exact = self._cast(tuple(c.reshape(-1)[idx] for c in self._pcols), bundles, m, actors)
        t.reshape(-1)[idx] = exact.t
        ndot.reshape(-1)[idx] = exact.ndot
        pixels = p.height * p.width
        self.last_exact_fraction = len(idx) / pixels if p.adaptive else 1.0
        self.last_ray_fraction = (self._grid_rays + len(idx)) / pixels
        return t, ndot, grid, idx, exact

    # -- shading ---------------------------------------------------------------------------

    def _sky(self, rot: np.ndarray, sky: np.ndarray, sh: _Shading) -> list[np.ndarray]:
        """Sky gradient (r, g, b) from the horizon to the zenith colour at the phase-major pixels ``sky``."""
        dx, dy, dz = (c.reshape(-1)[sky] for c in self._pcols)
        up = np.clip(rot[2, 0] * dx + rot[2, 1] * dy + rot[2, 2] * dz, 0.0, 1.0) ** 0.6
        down = 1.0 - up
        return [sh.horizon[c] * down + sh.zenith[c] * up for c in range(3)]

    def render(self, pose: np.ndarray | Sequence[float], actors: Sequence[Actor] = (),
               light: Lighting | float | None = None, rng: np.random.Generator | None = None,
               signals: Mapping[int, str] | None = None) -> CameraFrame:
        """One frame from ``pose`` = T_map_camera (optical frame). ``light``: a ``Lighting``, a
        local solar time in hours, or None (late morning). ``signals``: traffic-light regulatory
        element id -> 'red' | 'yellow' | 'green' (lit lamp). Without ``rng``: no sensor noise."""
        p = self.params
        h, w, lh, lw = p.height, p.width, self._lh, self._lw
        m = as_matrix(pose)
        lighting = light if isinstance(light, Lighting) else (Lighting() if light is None else Lighting.at_time(light))
        sh = _Shading.of(lighting)
        t, ndot, grid, idx, exact = self._trace(m, actors)
        hit = t <= p.max_range_m  # inf and NaN compare False
        hit.reshape(-1)[self._padding] = False
        # the outputs on the padded image: every pixel shaded with its grid cell's surface, then the pixels
        # cast with their own, then the sky where nothing is hit within range
        img = np.empty((2 * lh, 2 * lw, 3), np.float32)
        depth = np.empty((2 * lh, 2 * lw), np.float32)
        oid = np.empty((2 * lh, 2 * lw), np.int32)
        cls = np.empty((2 * lh, 2 * lw), np.uint8)
        shape = (2, 2, lh, lw)
        np.multiply(t.reshape(shape), self._pcols[2].reshape(shape), out=_phases(depth, lh, lw))
        np.multiply(grid.oid.reshape(lh, lw), hit.reshape(shape), out=_phases(oid, lh, lw))
        np.multiply(grid.cls.reshape(lh, lw), hit.reshape(shape), out=_phases(cls, lh, lw))
        surface = _Surface.of(grid, sh)
        gain, haze = surface.light(t, ndot, sh)
        planes = _phases(img, lh, lw)
        for c in range(3):
            np.subtract((surface.albedo[c] * gain).reshape(shape), (haze * sh.horizon[c]).reshape(shape),
                        out=planes[..., c])
        flat = img.reshape(-1, 3)
        if len(idx):
            pix = self._image_index[idx]
            he = exact.t <= p.max_range_m
            surface = _Surface.of(exact, sh)
            gain, haze = surface.light(exact.t, exact.ndot, sh)
            for c in range(3):
                flat[pix, c] = surface.albedo[c] * gain - haze * sh.horizon[c]
            oid.reshape(-1)[pix] = exact.oid * he
            cls.reshape(-1)[pix] = exact.cls * he
        sky = np.flatnonzero(~hit)
        if len(sky):
            pix = self._image_index[sky]
            depth.reshape(-1)[pix] = np.inf
            for c, colour in enumerate(self._sky(m[:3, :3], sky, sh)):
                flat[pix, c] = colour
        if (h, w) != img.shape[:2]:
            img, depth, oid, cls = (np.ascontiguousarray(a[:h, :w]) for a in (img, depth, oid, cls))
        if signals:
            self._lamps(img.reshape(-1, 3), m, t.reshape(-1), cls.reshape(-1), signals)
        if rng is not None and p.noise_std > 0.0:
            y0, x0 = (int(v) for v in rng.integers(0, [h, w]))
            img += self._noise[y0:y0 + h, x0:x0 + w]
        rgb = np.empty((h, w, 3), np.uint8)
        np.clip(img, 0.0, 255.0, out=rgb, casting="unsafe")  # the float -> uint8 cast truncates, like astype
        return CameraFrame(rgb, depth, oid, cls)

    def _lamps(self, img: np.ndarray, m: np.ndarray, t: np.ndarray, cls: np.ndarray,
               signals: Mapping[int, str]) -> None:
        """Lit lamps over ``img`` (H * W, 3); ``cls`` (H * W,) per pixel, ``t`` (phase-major) ray lengths."""
        heads = np.flatnonzero(cls == ObjectClass.TRAFFIC_LIGHT)
        if len(heads) == 0:
            return
        d_cam = np.stack([c[heads] for c in self._cols], axis=1)
        pts = m[:3, 3] + (d_cam @ m[:3, :3].T) * t[self._phase_index[heads], None]
        for tl_id, state in signals.items():
            tl = self.traffic_lights.get(tl_id)
            if tl is None or state not in tl.bulbs or state not in LAMP_RGB:
                continue
            face = np.array([math.cos(tl.facing_yaw), math.sin(tl.facing_yaw), 0.0])
            rel = pts - tl.bulbs[state]
            across = rel - np.outer(rel @ face, face)
            lit = (np.linalg.norm(across, axis=1) < LAMP_RADIUS) & (rel @ face > 0.0)
            img[heads[lit]] = np.asarray(LAMP_RGB[state]) * 255.0


def lights_in_view(lights: Sequence[TrafficLight], pose: np.ndarray | Sequence[float], params: CameraParams,
                   max_range_m: float = 50.0, max_off_axis_deg: float = 30.0) -> list[TrafficLight]:
    """The traffic-light heads a camera at ``pose`` (T_map_camera, optical frame) sees face on:
    inside the image, nearer than ``max_range_m`` (the default: a lamp 1 px in radius at the
    default resolution) and facing the camera within ``max_off_axis_deg`` (the heads of the other
    arms of a junction are 40 deg or more off axis from every approach lane). No occlusion test
    (the district's heads hang over the road, in the open). What an ideal light classifier
    reports: the simulator's oracle light perception."""
    m = as_matrix(pose)
    half_w = params.width / 2.0 / params.fx  # tan of the half field of view, square pixels
    half_h = params.height / 2.0 / params.fx
    cos_off = math.cos(math.radians(max_off_axis_deg))
    out = []
    for tl in lights:
        rel = np.asarray(tl.position, float) - m[:3, 3]
        dist = float(np.linalg.norm(rel))
        x, y, z = rel @ m[:3, :3]  # optical frame: z forward, x right, y down
        if not (z > 0.5 and dist <= max_range_m and abs(x) < half_w * z and abs(y) < half_h * z):
            continue
        facing = np.array([math.cos(tl.facing_yaw), math.sin(tl.facing_yaw), 0.0])
        if float(-rel @ facing) >= cos_off * dist:
            out.append(tl)
    return out
