"""Input normalisation, crop and voxel downsampling (vectorized numpy, no per-point loops)."""

from __future__ import annotations

import numpy as np


def as_xyzi(points: np.ndarray) -> np.ndarray:
    """(N,) structured array with x, y, z[, intensity] fields or (N, >=3) float array ->
    (N, 4) float32 x, y, z, intensity (intensity 0 when absent). An (N, 4) float32 input is returned
    as it is (no copy: the pipeline never writes to it); anything else is converted into a new array."""
    points = np.asarray(points)
    if points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 4:
        return points
    if points.dtype.names is not None:
        out = np.zeros((points.shape[0], 4), dtype=np.float32)
        for i, name in enumerate(("x", "y", "z")):
            if name not in points.dtype.names:
                raise ValueError(f"point array has no '{name}' field (fields: {points.dtype.names})")
            out[:, i] = points[name]
        if "intensity" in points.dtype.names:
            out[:, 3] = points["intensity"]
        return out
    if points.ndim != 2 or points.shape[1] < 3:
        if points.size == 0:
            return np.zeros((0, 4), dtype=np.float32)
        raise ValueError(f"expected (N, 4) x, y, z, intensity points, got shape {points.shape}")
    out = np.zeros((points.shape[0], 4), dtype=np.float32)
    k = min(points.shape[1], 4)
    out[:, :k] = points[:, :k]
    return out


def crop_mask(xyzi: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
              z_range: tuple[float, float], ego_x: tuple[float, float], ego_y: tuple[float, float]) -> np.ndarray:
    """(N,) bool: finite points inside the crop box and outside the ego box (lidar frame, m).

    NaN/inf points fail every comparison, so they are dropped here too."""
    x, y, z = xyzi[:, 0], xyzi[:, 1], xyzi[:, 2]
    keep = (x >= x_range[0]) & (x < x_range[1])
    keep &= (y >= y_range[0]) & (y < y_range[1])
    keep &= (z >= z_range[0]) & (z < z_range[1])
    keep &= np.isfinite(xyzi[:, 3])
    if ego_x[1] > ego_x[0] and ego_y[1] > ego_y[0]:
        keep &= ~((x > ego_x[0]) & (x < ego_x[1]) & (y > ego_y[0]) & (y < ego_y[1]))
    return keep


def voxel_downsample(xyz: np.ndarray, voxel_m: float, origin: tuple[float, float, float]) -> np.ndarray:
    """Indices (into ``xyz``, ascending) of one representative point per occupied voxel.

    The last input point of each voxel (in input order) is kept, not the centroid, so every kept
    point is a real return whose index maps back to the input (ground-truth labels, intensities),
    and the choice does not depend on the hash. ``xyz`` must lie at or above ``origin`` (the crop's
    lower corner) and be finite.

    No sort: each point writes its index into a hash table slot of its voxel key, in ascending
    order (numpy keeps the last of repeated-index writes); the point the slot holds afterwards is its
    voxel's representative. Points whose slot went to another voxel (a hash collision) try again
    with another hash, a few percent of them per round.
    """
    n = xyz.shape[0]
    if voxel_m <= 0.0 or n == 0:
        return np.arange(n)
    inv = np.float32(1.0 / voxel_m)
    # one column at a time: whole-array arithmetic on an (N, 3) view of (N, 4) points is 5x slower
    key = ((xyz[:, 0] - np.float32(origin[0])) * inv).astype(np.int64) << 42  # 21 bits an axis: 2 M voxels
    key |= ((xyz[:, 1] - np.float32(origin[1])) * inv).astype(np.int64) << 21
    key |= ((xyz[:, 2] - np.float32(origin[2])) * inv).astype(np.int64)
    # a point followed by one of its own voxel is never the voxel's last: drop those first (a fifth
    # of a scan in input order: rings next to each other on a wall)
    rest = np.flatnonzero(np.append(key[1:] != key[:-1], True)).astype(np.int32)
    rest_key = key[rest]
    bits = max(10, int(np.ceil(np.log2(2 * rest.size))))  # load factor <= 1/2
    table = np.empty(1 << bits, dtype=np.int32)
    keep = np.zeros(n, dtype=bool)
    mult = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing
    shift = np.uint64(64 - bits)
    while rest.size:
        slot = (rest_key.view(np.uint64) * mult) >> shift
        table[slot] = rest
        winner = table[slot]
        same = key[winner] == rest_key
        keep[winner[same]] = True
        rest, rest_key = rest[~same], rest_key[~same]
        mult = mult + np.uint64(2)
    return np.flatnonzero(keep)
