"""Slope-aware ground removal on a local grid (no single global plane).

Each grid cell's ground height is the lowest return in it, accepted when it is consistent with the
lowest return of the cells around it (rise at most ``max_slope`` per metre over the window). A cell
whose lowest return is too high for its neighbourhood sees no ground (a car roof, a wall top) and
takes the neighbourhood's lowest ground instead. A point is ground when it lies within
``height_threshold_m`` of its cell's ground. Because every cell has its own ground height, a 15 %
street grade, a crest or a dip are followed cell by cell. All operations are array-wide (numpy
``minimum.at`` and ``scipy.ndimage.minimum_filter``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


class GroundGrid:
    """A reusable 2D grid over the crop area (x, y in the lidar frame)."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], cell_m: float,
                 window_cells: int, max_slope: float, height_threshold_m: float):
        self.x0, self.y0 = float(x_range[0]), float(y_range[0])
        self.cell_m = float(cell_m)
        self.nx = max(1, math.ceil((x_range[1] - x_range[0]) / cell_m))
        self.ny = max(1, math.ceil((y_range[1] - y_range[0]) / cell_m))
        self.window = int(window_cells) | 1  # odd
        # the farthest cell of the window is (window // 2) cells away along both axes
        self.allowance_m = max_slope * (self.window // 2) * cell_m * math.sqrt(2.0) + height_threshold_m
        self.height_threshold_m = float(height_threshold_m)
        self._min = np.empty(self.nx * self.ny, dtype=np.float32)

    def cells(self, xyz: np.ndarray) -> np.ndarray:
        """(N,) int64 flat cell index of each point (points must be inside the grid's x/y range)."""
        ix = ((xyz[:, 0] - self.x0) * (1.0 / self.cell_m)).astype(np.int64)
        iy = ((xyz[:, 1] - self.y0) * (1.0 / self.cell_m)).astype(np.int64)
        np.clip(ix, 0, self.nx - 1, out=ix)
        np.clip(iy, 0, self.ny - 1, out=iy)
        return ix * self.ny + iy

    def ground_height(self, xyz: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """(N,) float32 estimated ground height under each point (same frame as z)."""
        cell_min = self._min
        cell_min.fill(np.inf)
        np.minimum.at(cell_min, cells, xyz[:, 2])
        grid = cell_min.reshape(self.nx, self.ny)
        around = ndimage.minimum_filter(grid, size=self.window, mode="constant", cval=np.inf)
        with np.errstate(invalid="ignore"):  # inf - inf in empty cells: never indexed below
            ground = np.where(grid - around <= self.allowance_m, grid, around)
        return ground.reshape(-1)[cells]

    def split(self, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ground mask (N,) bool, height above ground (N,) float32, cells (N,) int64)."""
        if xyz.shape[0] == 0:
            return np.zeros(0, bool), np.zeros(0, np.float32), np.zeros(0, np.int64)
        cells = self.cells(xyz)
        above = xyz[:, 2] - self.ground_height(xyz, cells)
        return above <= self.height_threshold_m, above, cells
