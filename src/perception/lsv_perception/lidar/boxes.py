"""Oriented boxes of all clusters at once: L-shape fitting by the closeness criterion (Zhang et al.,
"Efficient L-shape fitting for vehicle detection using laser scanners", IV 2017), searched coarse
to fine over the heading and vectorized across clusters with ``np.add.reduceat`` (no per-box loop).

For each candidate heading the points are projected on the box axes; a heading scores the sum of
1 / max(distance of each point to its nearest rectangle edge, ``D0``): the heading that puts the
points on two edges wins. (The minimum-area rectangle cannot tell an L of a car's two visible sides
from the rectangle along the L's diagonal: both have the same area.) The 90 deg symmetry of a
rectangle makes [0, 90 deg) enough; ``coarse_steps`` headings there, then ``fine_steps`` around the
best. The heading is scored on at most ``max_points`` points per cluster (spread evenly in scan
order); the extents at the chosen heading use every point. Length is the longer side; yaw points
along it, in (-pi/2, pi/2].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_SIDE_M = 0.05  # m, floor of a box side (a one-point-wide pole still gets a box)


class Boxes(NamedTuple):
    centers: np.ndarray  # (M, 3) float64 x, y, z of the box centre
    dimensions: np.ndarray  # (M, 3) float64 length, width, height
    yaws: np.ndarray  # (M,) float64 rad, in (-pi/2, pi/2]


D0 = 0.02  # m, closeness floor (range noise): a point closer than this to an edge counts as on it


def _extents(u: np.ndarray, v: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-cluster min/max of (A, K) projections -> four (A, M) arrays. Angles first and points
    last keeps every reduction on contiguous memory (5x faster than points first)."""
    return (np.minimum.reduceat(u, starts, axis=1), np.maximum.reduceat(u, starts, axis=1),
            np.minimum.reduceat(v, starts, axis=1), np.maximum.reduceat(v, starts, axis=1))


def _closeness(c: np.ndarray, s: np.ndarray, x: np.ndarray, y: np.ndarray, starts: np.ndarray,
               owner: np.ndarray) -> np.ndarray:
    """(M, A) closeness score of headings with cos/sin ``c``/``s`` ((A, 1) shared or (A, K) per point)."""
    u = c * x + s * y
    v = c * y - s * x
    u0, u1, v0, v1 = _extents(u, v, starts)
    du = np.minimum(u - u0[:, owner], u1[:, owner] - u)
    dv = np.minimum(v - v0[:, owner], v1[:, owner] - v)
    d = np.minimum(du, dv, out=du)
    np.maximum(d, D0, out=d)
    np.reciprocal(d, out=d)
    return np.add.reduceat(d, starts, axis=1).T


def fit_boxes(xy: np.ndarray, z: np.ndarray, ground_z: np.ndarray, starts: np.ndarray, counts: np.ndarray,
              coarse_steps: int = 15, fine_steps: int = 7, max_points: int = 96) -> Boxes:
    """Boxes of M clusters.

    ``xy`` (K, 2), ``z`` (K,), ``ground_z`` (K,) ground height under each point: the points of all
    clusters, sorted by cluster (cluster i is ``[starts[i], starts[i] + counts[i])``, counts > 0).
    The box spans from the lowest ground under the cluster to its highest point.
    """
    m = starts.shape[0]
    if m == 0:
        return Boxes(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    xy = np.asarray(xy, dtype=np.float64)
    owner = np.repeat(np.arange(m), counts)
    centroid = np.add.reduceat(xy, starts, axis=0) / counts[:, None]
    local = (xy - centroid[owner]).astype(np.float32)  # metres around each centroid: float32 is exact enough

    # the heading search runs on <= max_points points per cluster
    n_s = np.minimum(counts, max_points)
    s_starts = np.zeros(m, np.int64)
    np.cumsum(n_s[:-1], out=s_starts[1:])
    s_owner = np.repeat(np.arange(m), n_s)
    j = np.arange(n_s.sum()) - s_starts[s_owner]
    pick = starts[s_owner] + (j * counts[s_owner]) // n_s[s_owner]
    x, y = local[pick, 0], local[pick, 1]

    coarse_step = (np.pi / 2.0) / coarse_steps
    theta = np.arange(coarse_steps) * coarse_step  # (C,)
    c, s = np.cos(theta).astype(np.float32)[:, None], np.sin(theta).astype(np.float32)[:, None]
    best = theta[np.argmax(_closeness(c, s, x, y, s_starts, s_owner), axis=1)]  # (M,)

    delta = np.linspace(-coarse_step / 2.0, coarse_step / 2.0, fine_steps)
    fine = best[:, None] + delta[None, :]  # (M, F)
    c, s = np.cos(fine).astype(np.float32).T[:, s_owner], np.sin(fine).astype(np.float32).T[:, s_owner]  # (F, K')
    yaw = fine[np.arange(m), np.argmax(_closeness(c, s, x, y, s_starts, s_owner), axis=1)]

    # extents at the chosen heading, over every point
    c, s = np.cos(yaw).astype(np.float32)[owner][None], np.sin(yaw).astype(np.float32)[owner][None]
    x, y = local[:, 0], local[:, 1]
    u0, u1, v0, v1 = (a[0].astype(np.float64) for a in _extents(c * x + s * y, c * y - s * x, starts))
    du, dv = u1 - u0, v1 - v0
    cu, cv = (u0 + u1) / 2.0, (v0 + v1) / 2.0
    cy, sy = np.cos(yaw), np.sin(yaw)
    center_xy = centroid + np.stack([cu * cy - cv * sy, cu * sy + cv * cy], axis=1)

    swap = dv > du
    length = np.where(swap, dv, du)
    width = np.where(swap, du, dv)
    yaw = np.where(swap, yaw + np.pi / 2.0, yaw)
    yaw = np.where(yaw > np.pi / 2.0, yaw - np.pi, yaw)

    z = np.asarray(z, dtype=np.float64)
    top = np.maximum.reduceat(z, starts)
    bottom = np.minimum(np.minimum.reduceat(np.asarray(ground_z, dtype=np.float64), starts),
                        np.minimum.reduceat(z, starts))
    height = np.maximum(top - bottom, MIN_SIDE_M)
    centers = np.column_stack([center_xy, (top + bottom) / 2.0])
    dims = np.column_stack([np.maximum(length, MIN_SIDE_M), np.maximum(width, MIN_SIDE_M), height])
    return Boxes(centers, dims, yaw)
