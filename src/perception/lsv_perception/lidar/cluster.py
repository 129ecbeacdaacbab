"""Euclidean-style clustering as connected components of an occupancy grid (``scipy.ndimage.label``).

Non-ground points are dropped into x/y cells of ``cell_m``; 8-connected occupied cells form one
cluster. The cost is one pass over the points plus one labelling pass over the grid, whatever the
number of clusters (DBSCAN on 20 000 points costs several times the 40 ms budget on this CPU).
A face seen at a grazing angle has its returns further apart than a cell: ``faces.py`` joins its pieces.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from lsv_perception.lidar.faces import FaceParams, merge_faces

_EIGHT = np.ones((3, 3), dtype=bool)


class ClusterGrid:
    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], cell_m: float):
        self.x0, self.y0 = float(x_range[0]), float(y_range[0])
        self.cell_m = float(cell_m)
        self.nx = max(1, math.ceil((x_range[1] - x_range[0]) / cell_m))
        self.ny = max(1, math.ceil((y_range[1] - y_range[0]) / cell_m))
        self._occ = np.zeros(self.nx * self.ny, dtype=bool)

    def label(self, xyz: np.ndarray, min_points: int, faces: FaceParams | None = None) -> np.ndarray:
        """(N,) int32 cluster of each point: 0..M-1, or -1 for points of clusters smaller than
        ``min_points``. Cluster numbers follow the grid's raster order (deterministic). With
        ``faces``, the pieces of a face seen at a grazing angle are joined first (``faces.py``), so
        that its slivers count together against ``min_points``."""
        n = xyz.shape[0]
        if n == 0:
            return np.zeros(0, np.int32)
        ix = ((xyz[:, 0] - self.x0) * (1.0 / self.cell_m)).astype(np.int64)
        iy = ((xyz[:, 1] - self.y0) * (1.0 / self.cell_m)).astype(np.int64)
        np.clip(ix, 0, self.nx - 1, out=ix)
        np.clip(iy, 0, self.ny - 1, out=iy)
        flat = ix * self.ny + iy
        occ = self._occ
        occ.fill(False)
        occ[flat] = True
        grid_labels, count = ndimage.label(occ.reshape(self.nx, self.ny), structure=_EIGHT)
        labels = grid_labels.reshape(-1)[flat].astype(np.int32) - 1
        if faces is not None:
            labels = merge_faces(xyz[:, :2], labels, faces)
            count = int(labels.max()) + 1
        sizes = np.bincount(labels, minlength=count)
        keep = sizes >= max(1, min_points)
        renumber = np.full(count, -1, np.int32)
        renumber[keep] = np.arange(int(keep.sum()), dtype=np.int32)
        return renumber[labels]


def segments(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group points by cluster: (order (K,) indices of the labelled points sorted by cluster
    (stable: scan order kept inside a cluster), starts (M,), counts (M,)) for labels >= 0."""
    valid = np.flatnonzero(labels >= 0)
    lab = labels[valid]
    order = valid[np.argsort(lab, kind="stable")]
    m = int(lab.max()) + 1 if lab.size else 0
    counts = np.bincount(lab, minlength=m)
    starts = np.zeros(m, dtype=np.int64)
    if m:
        np.cumsum(counts[:-1], out=starts[1:])
    return order, starts, counts
