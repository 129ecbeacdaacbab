"""Joins the pieces of one flat face that a grazing view splits (a parked van's side seen from
behind it, a wall along the road).

A spinning lidar fires every ``azimuth_resolution`` rad; on a face at an angle ``theta`` to the
beam, the returns of successive firings lie ``r * azimuth_resolution / sin(theta)`` apart along the
face: 0.6 m at 15 m range for a face 1.3 m beside the sensor (theta 5 deg), far more than the
clustering grid's cell, so the grid (``cluster.py``) cuts such a face into slivers of one firing
each, a vertical column of returns. Here a cluster that is thin (its points within
``tolerance_m`` of a line: a face, or a single column, whose line is then the beam) is joined with
another cluster that has points on that line beyond the face's end, no further from it than the
firing spacing there (times ``gap_factor``, at most ``max_gap_m``). Across the beam the spacing is
``r * azimuth_resolution``, which the grid already bridges, so only faces seen at a grazing angle
gain anything; objects side by side are never joined by this, only things in line with a face.
A join that would make a cluster longer than ``max_length_m`` is undone: an object the grid had
already glued to a building would otherwise vanish with it as map.

All pairs at once (numpy over candidate pairs and their points; the joins are the connected
components of the accepted pairs, ``scipy.sparse.csgraph``). Lidar frame, sensor at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class FaceParams:
    azimuth_resolution_rad: float = np.deg2rad(0.2)  # rad between two firings of one beam
    max_gap_m: float = 1.0  # m, the largest gap bridged along a face (0 = off)
    gap_factor: float = 2.0  # allowed gap / firing spacing (one lost firing, range noise)
    tolerance_m: float = 0.15  # m, distance from the face's line that still counts as on it
    min_support: int = 3  # points of the other cluster needed on the line (fewer if it has fewer)
    min_gap_m: float = 0.25  # m, gaps the grid bridges anyway (its cell): faces allowing no more are skipped
    max_length_m: float = 12.0  # m, a join that makes a cluster longer than this (map, not an object) is undone


def _cluster_stats(xy: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, ...]:
    """Centroid (M, 2), unit direction of the principal axis (M, 2) and sqrt of the smaller eigenvalue
    of the 2D covariance (M,) of each cluster (points sorted by cluster)."""
    n = counts.astype(np.float64)
    c = np.add.reduceat(xy, starts, axis=0) / n[:, None]
    d = xy - np.repeat(c, counts, axis=0)
    sxx = np.add.reduceat(d[:, 0] * d[:, 0], starts) / n
    syy = np.add.reduceat(d[:, 1] * d[:, 1], starts) / n
    sxy = np.add.reduceat(d[:, 0] * d[:, 1], starts) / n
    angle = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)
    half_diff = np.hypot(0.5 * (sxx - syy), sxy)
    small = np.maximum(0.5 * (sxx + syy) - half_diff, 0.0)
    return c, np.stack([np.cos(angle), np.sin(angle)], axis=1), np.sqrt(small)


def merge_faces(xy: np.ndarray, labels: np.ndarray, p: FaceParams) -> np.ndarray:
    """(N,) int32 cluster labels after joining the pieces of grazing faces: ``labels`` (N,) int32
    (>= 0; -1 = no cluster, kept) of the points ``xy`` (N, 2) in the lidar frame. Joined clusters take
    the smallest of their numbers, then all are renumbered 0..M'-1 in that order."""
    if p.max_gap_m <= 0.0 or labels.size == 0 or labels.max() < 1:
        return labels
    valid = np.flatnonzero(labels >= 0)
    order = valid[np.argsort(labels[valid], kind="stable")]
    m = int(labels.max()) + 1
    counts = np.bincount(labels[valid], minlength=m)
    present = counts > 0
    starts = np.zeros(m, np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    pts = xy[order].astype(np.float64)
    ids = np.flatnonzero(present)  # clusters that have points (reduceat needs non-empty segments)
    c, u, thick = _cluster_stats(pts, starts[ids], counts[ids])
    k = len(ids)
    # the line of a face: its principal axis, or the beam for a single column (no length of its own)
    proj = np.einsum("ij,ij->i", pts - np.repeat(c, counts[ids], axis=0), np.repeat(u, counts[ids], axis=0))
    lo, hi = np.minimum.reduceat(proj, starts[ids]), np.maximum.reduceat(proj, starts[ids])
    column = (hi - lo) <= 2.0 * p.tolerance_m
    beam = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-6)
    u = np.where(column[:, None], beam, u)
    proj = np.einsum("ij,ij->i", pts - np.repeat(c, counts[ids], axis=0), np.repeat(u, counts[ids], axis=0))
    lo, hi = np.minimum.reduceat(proj, starts[ids]), np.maximum.reduceat(proj, starts[ids])
    face = thick <= 0.5 * p.tolerance_m
    radius = np.sqrt(np.maximum.reduceat(np.sum((pts - np.repeat(c, counts[ids], axis=0)) ** 2, axis=1),
                                         starts[ids]))
    # the firing spacing along the face at its two ends: r * dphi / sin(angle between the face and the beam);
    # only faces at a grazing angle to the beam at one of their ends bridge more than the grid does
    ends = c[:, None, :] + np.stack([lo, hi], axis=1)[:, :, None] * u[:, None, :]  # (k, 2, 2)
    r_ends = np.maximum(np.linalg.norm(ends, axis=2), 1e-6)
    sin_ends = np.abs(ends[..., 0] * u[:, None, 1] - ends[..., 1] * u[:, None, 0]) / r_ends
    gap_ends = np.minimum(p.max_gap_m, p.gap_factor * r_ends * p.azimuth_resolution_rad / np.maximum(sin_ends, 1e-3))
    face &= gap_ends.max(axis=1) > p.min_gap_m
    # candidate pairs (face i, any j != i) whose points may come within max_gap_m
    reach = np.maximum(np.abs(lo), np.abs(hi)) + p.max_gap_m
    dist = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
    cand = face[:, None] & (dist <= reach[:, None] + radius[None, :])
    dxy = c[None, :, :] - c[:, None, :]
    cand &= np.abs(dxy[..., 0] * u[:, None, 1] - dxy[..., 1] * u[:, None, 0]) <= radius[None, :] + p.tolerance_m
    np.fill_diagonal(cand, False)
    fi, fj = np.nonzero(cand)
    if fi.size == 0:
        return labels
    # every point of j against the line of face i
    nj = counts[ids[fj]]
    pair = np.repeat(np.arange(fi.size), nj)
    first = np.repeat(starts[ids[fj]] - np.concatenate([[0], np.cumsum(nj)[:-1]]), nj)
    q = pts[np.arange(pair.size) + first] - c[fi[pair]]
    ui = u[fi[pair]]
    t = q[:, 0] * ui[:, 0] + q[:, 1] * ui[:, 1]
    off = np.abs(q[:, 0] * ui[:, 1] - q[:, 1] * ui[:, 0])
    beyond_hi = t > hi[fi[pair]]
    gap = np.where(beyond_hi, t - hi[fi[pair]], np.maximum(lo[fi[pair]] - t, 0.0))
    allowed = gap_ends[fi[pair], beyond_hi.astype(np.int64)]
    on_line = (off <= p.tolerance_m) & (gap <= allowed)
    support = np.bincount(pair, weights=on_line, minlength=fi.size)
    accept = support >= np.minimum(p.min_support, nj)
    if not accept.any():
        return labels
    graph = coo_matrix((np.ones(int(accept.sum())), (fi[accept], fj[accept])), shape=(k, k))
    _, comp = connected_components(graph, directed=False)
    # each component takes its smallest cluster number; renumber densely in that order
    root = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(root, comp, ids)
    new_of_old = np.full(m, -1, np.int64)
    new_of_old[ids] = root[comp]
    # undo the joins whose result is longer than an object may be (principal-axis extent)
    merged = np.bincount(comp, minlength=comp.max() + 1) > 1
    if merged.any():
        joined = new_of_old[labels[valid]]
        order2 = np.argsort(joined, kind="stable")
        cnt2 = np.bincount(joined, minlength=m)
        ids2 = np.flatnonzero(cnt2)
        st2 = np.zeros(m, np.int64)
        np.cumsum(cnt2[:-1], out=st2[1:])
        xy2 = xy[valid][order2].astype(np.float64)
        c2, u2, _ = _cluster_stats(xy2, st2[ids2], cnt2[ids2])
        t2 = np.einsum("ij,ij->i", xy2 - np.repeat(c2, cnt2[ids2], axis=0), np.repeat(u2, cnt2[ids2], axis=0))
        length = np.zeros(m)
        length[ids2] = np.maximum.reduceat(t2, st2[ids2]) - np.minimum.reduceat(t2, st2[ids2])
        too_long = length[new_of_old[ids]] > p.max_length_m
        new_of_old[ids[too_long]] = ids[too_long]
    _, dense = np.unique(new_of_old[ids], return_inverse=True)
    new_of_old[ids] = dense
    out = labels.copy()
    out[valid] = new_of_old[labels[valid]].astype(np.int32)
    return out
