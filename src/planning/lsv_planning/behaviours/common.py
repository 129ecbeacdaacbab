"""What behaviours return, and small geometry helpers they share (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StopPoint:
    """Stop the vehicle's reference point (base_link, the odometry point) at arc length ``s``."""

    s: float  # m, on the reference path
    reason: str  # short code: red_light, unknown_signal, crosswalk, obstacle, lead_vehicle, emergency_vehicle, ...
    detail: str = ""  # for people: which light, which object


@dataclass(frozen=True)
class PathWindow:
    """The part of the reference path ahead of the vehicle that the behaviours look at."""

    s: np.ndarray  # (M,) arc length on the reference path, m (s[0] = ego)
    xy: np.ndarray  # (M, 2)
    yaw: np.ndarray  # (M,)
    curvature: np.ndarray  # (M,)
    speed_limit: np.ndarray  # (M,) map limit, m/s (inf = none)
    lane_width: np.ndarray  # (M,)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, 2) points -> (s (K,), signed lateral offset (K,) left positive, path yaw (K,)) by the nearest
        window sample (accurate to half the sample spacing along, exact enough across)."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        d = pts[:, None, :] - self.xy[None, :, :]
        i = np.argmin((d * d).sum(axis=2), axis=1)
        rel = pts - self.xy[i]
        c, sn = np.cos(self.yaw[i]), np.sin(self.yaw[i])
        along = c * rel[:, 0] + sn * rel[:, 1]
        lat = -sn * rel[:, 0] + c * rel[:, 1]
        return self.s[i] + along, lat, self.yaw[i]


def points_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(K, 2) points, (P, 2) polygon -> (K,) bool inside (even-odd rule)."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0:1], pts[:, 1:2]
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (x < xi)).sum(axis=1) % 2 == 1


def distance_to_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """(K,) distance of points to a polygon (0 inside)."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    a = poly
    b = np.roll(poly, -1, axis=0)
    ab = b - a
    len2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    t = np.clip(((pts[:, None, :] - a[None]) * ab[None]).sum(axis=2) / len2, 0.0, 1.0)
    foot = a[None] + t[..., None] * ab[None]
    d = np.linalg.norm(pts[:, None, :] - foot, axis=2).min(axis=1)
    return np.where(points_in_polygon(pts, poly), 0.0, d)


def stopping_decel(speed: float, distance: float) -> float:
    """Deceleration (m/s^2, >= 0) needed to stop from ``speed`` within ``distance``; inf when distance <= 0
    and the vehicle moves."""
    if speed <= 1e-3:
        return 0.0
    if distance <= 1e-3:
        return math.inf
    return speed * speed / (2.0 * distance)
