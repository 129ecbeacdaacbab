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

Speed: pixels are cast on a half-resolution grid first; where a 3x3 neighbourhood of that grid
lies on one plane of one object the other pixels are intersected with that plane analytically,
and only the pixels near edges are cast at full resolution (exact results, about a third of
the rays).
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
from lsv_sim.sensors.lidar import RayCaster
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
        u, v = np.meshgrid(np.arange(p.width, dtype=np.float64), np.arange(p.height, dtype=np.float64))
        d = np.stack([(u - self.cx) / self.fx, (v - self.cy) / self.fy, np.ones_like(u)], axis=-1)
        self.dirs = (d / np.linalg.norm(d, axis=-1, keepdims=True)).astype(np.float32)  # (H, W, 3) optical frame
        self._cols = tuple(np.ascontiguousarray(self.dirs[..., i].reshape(-1)) for i in range(3))
        self._rays = np.empty((p.height * p.width, 6), np.float32)
        # fixed-pattern noise, twice the image size: a random window of it per frame
        noise = np.random.default_rng(12345).normal(0.0, 1.0, (2 * p.height, 2 * p.width, 3))
        self._noise = (noise * p.noise_std).astype(np.float32)
        # half-resolution grid: the parent grid pixel of every pixel, and the grid pixels themselves
        lw = (p.width + 1) // 2
        vv, uu = np.meshgrid(np.arange(p.height) // 2, np.arange(p.width) // 2, indexing="ij")
        self._parent = (vv * lw + uu).reshape(-1)
        self._grid = (np.arange(0, p.height, 2)[:, None] * p.width + np.arange(0, p.width, 2)[None, :]).reshape(-1)
        self._grid_shape = ((p.height + 1) // 2, lw)
        self._grid_cols = tuple(np.ascontiguousarray(c[self._grid]) for c in self._cols)
        self._grid_rays = np.empty((len(self._grid), 6), np.float32)
        self.last_exact_fraction = 1.0

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

    def _trace(self, m: np.ndarray, actors: Sequence[Actor]) -> tuple[np.ndarray, ...]:
        """Per pixel (flat, H*W): t (ray length = range, inf = miss), normal (N, 3) in the map,
        n . ray direction, object id, class id, material id."""
        p = self.params
        rot = m[:3, :3]
        origin = m[:3, 3].astype(np.float32)
        dx, dy, dz = self._cols
        if not p.adaptive:
            rays = fill_rays(self._rays, origin, self._cols, rot)
            t, n, oid, cls, mat = self.caster.cast(rays, actors, materials=True)
            self.last_exact_fraction = 1.0
            return t, n, np.einsum("ij,ij->i", n, rays[:, 3:]), oid, cls, mat
        # 1. the half-resolution grid (even rows and columns)
        grid_rays = fill_rays(self._grid_rays, origin, self._grid_cols, rot)
        t0, n0, o0, c0, m0 = self.caster.cast(grid_rays, actors, materials=True)
        hit0 = np.isfinite(t0)
        ndot0 = np.einsum("ij,ij->i", n0, grid_rays[:, 3:])
        with np.errstate(invalid="ignore"):
            num0 = np.where(hit0, t0 * ndot0, 0.0)  # plane n . x = n . (origin + t0 dir): t = num0 / (n . dir)
        # 2. a grid pixel is "smooth" when its 8 neighbours hit the same object and class on the same plane
        #    (quantised: a quantisation boundary only costs extra exact rays), or all miss; the border is not
        q = np.round(n0 * 200.0).astype(np.int64) + 256
        plane = np.round((num0 + n0[:, 0] * origin[0] + n0[:, 1] * origin[1] + n0[:, 2] * origin[2]) / 0.05)
        key = (((c0.astype(np.int64) * 65599 + o0) * 512 + q[:, 0]) * 512 + q[:, 1]) * 512 + q[:, 2]
        key = np.where(hit0, key * 1_000_003 + plane.astype(np.int64), -1).reshape(self._grid_shape)
        lh, lw = self._grid_shape
        centre = key[1:-1, 1:-1]
        ok = np.ones((lh - 2, lw - 2), bool)
        for ddy in (-1, 0, 1):
            for ddx in (-1, 0, 1):
                if ddy or ddx:
                    ok &= key[1 + ddy:lh - 1 + ddy, 1 + ddx:lw - 1 + ddx] == centre
        smooth = np.zeros((lh, lw), bool)
        smooth[1:-1, 1:-1] = ok
        # 3. every pixel intersects its grid parent's plane (n . dir computed in the camera frame)
        parent = self._parent
        r32 = rot.astype(np.float32)
        ncam = [n0[:, 0] * r32[0, i] + n0[:, 1] * r32[1, i] + n0[:, 2] * r32[2, i] for i in range(3)]  # R^T n
        ndot = np.take(ncam[0], parent) * dx
        ndot += np.take(ncam[1], parent) * dy
        ndot += np.take(ncam[2], parent) * dz
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(np.take(hit0, parent), np.take(num0, parent) / ndot, np.inf).astype(np.float32)
        n = np.take(n0, parent, axis=0)
        o = np.take(o0, parent)
        c = np.take(c0, parent)
        mat = np.take(m0, parent)
        t[self._grid] = t0
        ndot[self._grid] = ndot0
        # 4. pixels whose parent is not smooth are cast exactly
        exact = ~np.take(smooth.reshape(-1), parent)
        exact[self._grid] = False
        idx = np.flatnonzero(exact)
        if len(idx):
            rays = fill_rays(self._rays[: len(idx)], origin, (dx[idx], dy[idx], dz[idx]), rot)
            te, ne, oe, ce, me = self.caster.cast(rays, actors, materials=True)
            t[idx], n[idx], o[idx], c[idx], mat[idx] = te, ne, oe, ce, me
            ndot[idx] = np.einsum("ij,ij->i", ne, rays[:, 3:])
        self.last_exact_fraction = len(idx) / len(t)
        return t, n, ndot, o, c, mat

    # -- shading ---------------------------------------------------------------------------

    def render(self, pose: np.ndarray | Sequence[float], actors: Sequence[Actor] = (),
               light: Lighting | float | None = None, rng: np.random.Generator | None = None,
               signals: Mapping[int, str] | None = None) -> CameraFrame:
        """One frame from ``pose`` = T_map_camera (optical frame). ``light``: a ``Lighting``, a
        local solar time in hours, or None (late morning). ``signals``: traffic-light regulatory
        element id -> 'red' | 'yellow' | 'green' (lit lamp). Without ``rng``: no sensor noise."""
        p = self.params
        h, w = p.height, p.width
        m = as_matrix(pose)
        lighting = light if isinstance(light, Lighting) else (Lighting() if light is None else Lighting.at_time(light))
        t, n, ndot, oid, cls, mat = self._trace(m, actors)
        hit = t <= p.max_range_m  # inf and NaN compare False
        cls = np.where(hit, cls, np.uint8(0))
        oid = np.where(hit, oid, np.int32(0))
        depth = np.where(hit, t * self._cols[2], np.float32(np.inf))

        # surfaces: albedo x (ambient + Lambert with normals turned towards the camera), haze, sky
        sun = lighting.sun_direction()
        ns = np.einsum("ij,j->i", n, sun)
        lambert = np.where(ndot > 0.0, -ns, ns)
        np.maximum(lambert, 0.0, out=lambert)
        dist = np.where(hit, t, np.float32(0.0))
        dist += np.float32(lighting.haze_m)
        clear = np.divide(np.float32(lighting.haze_m), dist)  # haze_m / (t + haze_m): half haze at haze_m
        lambert *= np.float32(lighting.sun)
        lambert += np.float32(lighting.ambient)
        gain = lambert
        gain *= clear
        actor = np.flatnonzero(oid)
        if len(actor):  # actors of one class differ a little in brightness, stably by id
            tint = ((oid[actor].astype(np.uint32) * np.uint32(2654435761)) >> np.uint32(24)).astype(np.float32)
            gain[actor] *= 0.8 + 0.4 * tint / 255.0
        horizon = np.asarray(lighting.sky_horizon, np.float32) * 255.0
        img = np.take(ALBEDO_255, np.where(hit, mat, np.uint8(0)), axis=0)
        img *= gain[:, None]
        clear -= 1.0  # -> -haze
        img -= clear[:, None] * horizon
        sky = np.flatnonzero(~hit)
        if len(sky):
            rot = m[:3, :3]
            up = rot[2, 0] * self._cols[0][sky] + rot[2, 1] * self._cols[1][sky] + rot[2, 2] * self._cols[2][sky]
            up = np.clip(up, 0.0, 1.0)[:, None] ** 0.6
            img[sky] = horizon * (1.0 - up) + np.asarray(lighting.sky_zenith, np.float32) * 255.0 * up
        if signals:
            self._lamps(img, m, t, cls, signals)
        img = img.reshape(h, w, 3)
        if rng is not None and p.noise_std > 0.0:
            y0, x0 = (int(v) for v in rng.integers(0, [h, w]))
            img += self._noise[y0:y0 + h, x0:x0 + w]
        rgb = np.clip(img, 0.0, 255.0, out=img).astype(np.uint8)
        return CameraFrame(rgb, depth.reshape(h, w), oid.reshape(h, w), cls.reshape(h, w))

    def _lamps(self, img: np.ndarray, m: np.ndarray, t: np.ndarray, cls: np.ndarray,
               signals: Mapping[int, str]) -> None:
        heads = np.flatnonzero(cls == ObjectClass.TRAFFIC_LIGHT)
        if len(heads) == 0:
            return
        d_cam = np.stack([c[heads] for c in self._cols], axis=1)
        pts = m[:3, 3] + (d_cam @ m[:3, :3].T) * t[heads, None]
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
