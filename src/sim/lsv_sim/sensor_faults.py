"""Sensor faults of issue #15 applied to what the simulated sensors rendered (pure, no ROS).

The renderers (``lsv_sim.sensors``) stay untouched: the simulator node post-processes their
output while a fault is active.

- ``blind(rgb, share)``: sun glare / overexposure. The ``share`` of the pixels nearest the glare's
  centre (upper middle of the frame, where a low sun sits) clip at 255 in every channel, as an
  overexposed sensor does; beyond them a halo brightens the rest towards white.
- ``occluded(points, width_deg)``: mud or a bag on the lidar. The returns inside an azimuth
  sector ``width_deg`` wide, centred straight ahead (``centre_deg`` 0 = +x of the lidar frame,
  counter-clockwise positive), are dropped: no returns at all there, ground included.
- ``clock_offset_ns(faults, sensor)``: the offset that ``sensor_clock_offset`` faults add to a
  sensor's stamps (positive: stamps ahead of the clock).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import numpy as np

from lsv_sim.scenario import Fault

NS = 1_000_000_000
GLARE_CENTRE = (0.5, 0.3)  # the glare's centre as fractions of the width and the height (a low sun ahead)
HALO_WIDTH = 0.08  # of the frame diagonal: the brightening falls to 1/e this far beyond the clipped part


@functools.lru_cache(maxsize=4)
def _glare_distances(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 distance of each pixel from the glare centre in units of the diagonal, and the
    same distances sorted (the clipped part of a share is a quantile of them)."""
    cy, cx = GLARE_CENTRE[1] * (height - 1), GLARE_CENTRE[0] * (width - 1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    d = np.hypot(yy - cy, xx - cx) / np.float32(math.hypot(height, width))
    d.setflags(write=False)
    s = np.sort(d, axis=None)
    s.setflags(write=False)
    return d, s


def blind(rgb: np.ndarray, share: float) -> np.ndarray:
    """A glared copy of ``rgb`` ((H, W, 3) or (H, W) uint8): ``share`` (0..1) of the pixels at 255,
    the rest brightened by a halo that falls off with the distance from the clipped part."""
    if rgb.ndim not in (2, 3) or rgb.dtype != np.uint8:
        raise ValueError(f"blind: expected an (H, W[, C]) uint8 image, got {rgb.shape} {rgb.dtype}")
    share = min(max(float(share), 0.0), 1.0)
    if share <= 0.0 or rgb.size == 0:
        return rgb.copy()
    h, w = rgb.shape[:2]
    d, ordered = _glare_distances(h, w)
    n = round(share * d.size)
    radius = ordered[min(n, d.size) - 1] if n else -1.0
    gain = np.exp(-(d - radius) / np.float32(HALO_WIDTH))
    gain[d <= radius] = 1.0  # clipped
    if rgb.ndim == 3:
        gain = gain[..., None]
    room = 255.0 - rgb.astype(np.float32)
    return np.minimum(rgb + np.rint(room * gain), 255.0).astype(np.uint8)


def occluded(points: np.ndarray, width_deg: float, centre_deg: float = 0.0) -> np.ndarray:
    """(N,) bool: the returns (structured with ``x``, ``y``, or (N, >=2) x, y in the lidar frame)
    inside the sector ``centre_deg +- width_deg / 2``; those are the ones an occluded lidar loses."""
    if points.dtype.names:
        x, y = points["x"], points["y"]
    else:
        x, y = points[:, 0], points[:, 1]
    if width_deg <= 0.0:
        return np.zeros(len(points), bool)
    if width_deg >= 360.0:
        return np.ones(len(points), bool)
    az = np.degrees(np.arctan2(y, x)) - centre_deg
    off = (az + 180.0) % 360.0 - 180.0  # wrapped to [-180, 180)
    return np.abs(off) <= 0.5 * width_deg


def clock_offset_ns(faults: Iterable[Fault], sensor: str) -> int:
    """Nanoseconds the active ``sensor_clock_offset`` faults of ``sensor`` add to its stamps."""
    return sum(round(f.size * NS) for f in faults if f.type == "sensor_clock_offset" and f.target == sensor)
