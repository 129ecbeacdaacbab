"""Oriented boxes of all clusters at once: minimum-area rectangle by a coarse-to-fine search over
the heading, vectorized across clusters with ``np.minimum.reduceat`` (no per-box loop).

For every cluster the x/y points are projected on ``coarse_steps`` headings in [0, 90 deg); the
heading of the smallest bounding rectangle is refined on ``fine_steps`` headings around it. On a
car seen as an L or as one side this is the rectangle an L-shape fit gives; the 90 deg symmetry of
a rectangle makes [0, 90 deg) enough. Length is the longer side; yaw points along it, in
(-pi/2, pi/2].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_SIDE_M = 0.05  # m, floor of a box side (a one-point-wide pole still gets a box)


class Boxes(NamedTuple):
    centers: np.ndarray  # (M, 3) float64 x, y, z of the box centre
    dimensions: np.ndarray  # (M, 3) float64 length, width, height
    yaws: np.ndarray  # (M,) float64 rad, in (-pi/2, pi/2]


def _extents(u: np.ndarray, v: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-cluster min/max of (A, K) projections -> four (M, A) arrays. Angles first and points
    last keeps every reduction on contiguous memory (5x faster than points first)."""
    return (np.minimum.reduceat(u, starts, axis=1).T, np.maximum.reduceat(u, starts, axis=1).T,
            np.minimum.reduceat(v, starts, axis=1).T, np.maximum.reduceat(v, starts, axis=1).T)


def fit_boxes(xy: np.ndarray, z: np.ndarray, ground_z: np.ndarray, starts: np.ndarray, counts: np.ndarray,
              coarse_steps: int = 15, fine_steps: int = 7) -> Boxes:
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
    x, y = local[:, 0], local[:, 1]

    coarse_step = (np.pi / 2.0) / coarse_steps
    theta = np.arange(coarse_steps) * coarse_step  # (C,)
    c, s = np.cos(theta).astype(np.float32)[:, None], np.sin(theta).astype(np.float32)[:, None]
    u0, u1, v0, v1 = _extents(c * x + s * y, c * y - s * x, starts)
    best = theta[np.argmin((u1 - u0) * (v1 - v0), axis=1)]  # (M,)

    delta = np.linspace(-coarse_step / 2.0, coarse_step / 2.0, fine_steps)
    fine = best[:, None] + delta[None, :]  # (M, F)
    c, s = np.cos(fine).astype(np.float32).T[:, owner], np.sin(fine).astype(np.float32).T[:, owner]  # (F, K)
    u0, u1, v0, v1 = _extents(c * x + s * y, c * y - s * x, starts)
    k = np.argmin((u1 - u0) * (v1 - v0), axis=1)
    rows = np.arange(m)
    yaw = fine[rows, k]
    u0, u1, v0, v1 = (a[rows, k].astype(np.float64) for a in (u0, u1, v0, v1))
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
