"""WGS84 latitude/longitude <-> local map x/y (east/north, m) about a configured origin (pure).

The projection is the local tangent plane (ENU) at the map origin, computed exactly through
Earth-centred coordinates - the same as GeographicLib's ``LocalCartesian`` that Lanelet2's
``LocalCartesianProjector`` uses, so V2X positions land where the Lanelet2 map puts them when the
map is loaded with that projector and the same origin. Error budget: the tangent plane
itself is exact at the origin; a point at surface distance d lands at R sin(d/R), short by
about d^3/(6 R^2): below 1 mm within 5 km of the origin. A map made with a transverse Mercator / UTM projector
(Lanelet2 ``UtmProjector``, origin subtracted) differs additionally by the UTM scale factor
(0.9996 on the central meridian to ~1.0004 at the zone edge), i.e. up to 0.4 m per km from the
origin - configure the LocalCartesian projector for such a district, or accept that error,
which stays below typical V2X position confidence (PositionConfidence a50cm..a5m).
Heights are ignored on the way in (points are put on the ellipsoid height of the origin) so
that x/y do not depend on a missing or coarse V2X elevation.
"""

from __future__ import annotations

import math

import numpy as np

WGS84_A = 6378137.0  # m
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)


class LocalProjection:
    """ENU tangent-plane projection about ``(origin_lat_deg, origin_lon_deg, origin_alt_m)``."""

    def __init__(self, origin_lat_deg: float, origin_lon_deg: float, origin_alt_m: float = 0.0):
        if not (-90.0 < origin_lat_deg < 90.0 and -180.0 <= origin_lon_deg <= 180.0):
            raise ValueError(f"map origin ({origin_lat_deg}, {origin_lon_deg}) is not a valid latitude/longitude")
        self.lat0, self.lon0, self.alt0 = origin_lat_deg, origin_lon_deg, origin_alt_m
        phi, lam = math.radians(origin_lat_deg), math.radians(origin_lon_deg)
        self._origin_ecef = np.array(_geodetic_to_ecef(phi, lam, origin_alt_m))
        sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
        # rows: east, north, up in ECEF
        self._rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])

    def forward(self, lat_deg: np.ndarray | float, lon_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """lat/lon in degrees (scalars or arrays of one shape) -> (x east, y north) in m."""
        phi, lam = np.radians(lat_deg), np.radians(lon_deg)
        ecef = np.stack(_geodetic_to_ecef(phi, lam, self.alt0), axis=-1) - self._origin_ecef
        enu = ecef @ self._rot.T
        return enu[..., 0], enu[..., 1]

    def forward_point(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        x, y = self.forward(lat_deg, lon_deg)
        return float(x), float(y)

    def inverse(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(x east, y north) in m on the origin's tangent plane -> lat/lon in degrees.

        Inverts ``forward`` exactly: the point on the ellipsoid at the origin's height whose
        tangent-plane east/north are (x, y).
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        up = np.zeros_like(x)
        for _ in range(3):  # ``up`` of the point at origin height below (x, y); converges in 2-3 steps
            ecef = np.stack([x, y, up], axis=-1) @ self._rot + self._origin_ecef
            lat, lon, h = _ecef_to_geodetic(ecef[..., 0], ecef[..., 1], ecef[..., 2])
            up = up - (h - self.alt0)
        return np.degrees(lat), np.degrees(lon)

    def inverse_point(self, x: float, y: float) -> tuple[float, float]:
        lat, lon = self.inverse(x, y)
        return float(lat), float(lon)


def _geodetic_to_ecef(phi, lam, h):
    sp = np.sin(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sp * sp)
    cp = np.cos(phi)
    return ((n + h) * cp * np.cos(lam), (n + h) * cp * np.sin(lam), (n * (1.0 - WGS84_E2) + h) * sp)


def _ecef_to_geodetic(x, y, z):
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(5):  # fixed-point iteration; sub-millimetre after 3 steps at ground level
        sp = np.sin(lat)
        n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sp * sp)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    sp = np.sin(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sp * sp)
    h = p / np.cos(lat) - n
    return lat, lon, h
