"""Ground-truth visibility of the actors from the ego's lidar (pure: poses are arguments).

``lidar_returns(caster, params, T_map_lidar, actors)`` counts, per actor, the returns one
noise-free revolution of the simulated lidar (``lsv_sim.sensors.lidar``) puts on it: it casts
the lidar's own beams, but only the azimuth columns an actor's box spans, with the same
``RayCaster`` (static world + every actor), so an actor behind a parked car, a bus or a building
gets no returns and the counts equal those of a full ``Lidar.scan`` without noise and dropout
(``test_visibility.py`` checks it). The evaluation (``lsv_sim.perceived``) calls an actor
visible from the first scan with at least ``VISIBLE_MIN_RETURNS`` returns on it.

Reads the lidar module only (``beam_directions``, ``RayCaster.cast``); it does not change it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lsv_sim.sensors import Actor, fill_rays
from lsv_sim.sensors.lidar import LidarParams, beam_directions

NEAR_M = 0.3  # m; an actor this close to the lidar (horizontally) or around it is looked at in every column


class LidarVisibility:
    """The beams of one lidar (``LidarParams``) cast through a shared ``RayCaster``."""

    def __init__(self, caster: Any, params: LidarParams):
        self.caster = caster
        self.params = params
        d, _ = beam_directions(params)
        self.channels = params.channels
        self.steps = params.azimuth_steps
        self._cols = tuple(np.ascontiguousarray(d[:, i]) for i in range(3))
        self.last_rays = 0  # rays cast by the last call (for the run's timing line)

    def columns(self, t_map_lidar: np.ndarray, actor: Actor) -> np.ndarray:
        """Azimuth column indices (0 .. azimuth_steps - 1) that can hit ``actor``'s box (empty when
        all of it is beyond the lidar's range)."""
        v, _ = actor.mesh()
        rel = v - t_map_lidar[:3, 3]
        r = t_map_lidar[:3, :3]
        # into the lidar frame, element-wise (R^T rel): no BLAS threads (see lsv_sim.sensors.fill_rays)
        lx = rel[:, 0] * r[0, 0] + rel[:, 1] * r[1, 0] + rel[:, 2] * r[2, 0]
        ly = rel[:, 0] * r[0, 1] + rel[:, 1] * r[1, 1] + rel[:, 2] * r[2, 1]
        nearest = _box_distance_2d(lx, ly)
        if nearest > self.params.max_range_m:
            return np.zeros(0, np.int64)
        if nearest < NEAR_M:
            return np.arange(self.steps)
        az = np.arctan2(ly, lx)
        centre = math.atan2(float(ly.mean()), float(lx.mean()))
        d = (az - centre + math.pi) % (2.0 * math.pi) - math.pi
        if d.max() - d.min() >= math.pi:
            return np.arange(self.steps)
        step = 2.0 * math.pi / self.steps
        k0 = math.floor((centre + float(d.min())) / step)
        k1 = math.ceil((centre + float(d.max())) / step)
        return np.arange(k0, k1 + 1) % self.steps

    def returns(self, t_map_lidar: np.ndarray, actors: Sequence[Actor]) -> np.ndarray:
        """(K,) int64: returns of one noise-free revolution on each of ``actors`` (their order),
        occlusion by the world and by the other actors included."""
        m = np.asarray(t_map_lidar, dtype=np.float64)
        counts = np.zeros(len(actors), np.int64)
        self.last_rays = 0
        if not actors:
            return counts
        wanted = np.zeros(self.steps, bool)
        for a in actors:
            wanted[self.columns(m, a)] = True
        cols = np.flatnonzero(wanted)
        if len(cols) == 0:
            return counts
        # rays are ordered by azimuth then ring (lidar.beam_directions)
        idx = (cols[:, None] * self.channels + np.arange(self.channels)[None, :]).ravel()
        rays = np.empty((len(idx), 6), np.float32)
        fill_rays(rays, m[:3, 3], tuple(np.ascontiguousarray(c[idx]) for c in self._cols), m[:3, :3])
        self.last_rays = len(idx)
        t_hit, _, oid, _ = self.caster.cast(rays, actors)
        p = self.params
        keep = (t_hit >= p.min_range_m) & (t_hit <= p.max_range_m) & (oid > 0)
        index = {a.object_id: k for k, a in enumerate(actors)}
        ids, n = np.unique(oid[keep], return_counts=True)
        for i, c in zip(ids, n, strict=True):
            k = index.get(int(i))
            if k is not None:
                counts[k] = int(c)
        return counts


def _box_distance_2d(x: np.ndarray, y: np.ndarray) -> float:
    """Horizontal distance from the origin to the convex hull of the points (x, y), roughly: to
    their axis-aligned bounds in the lidar frame (0 inside). Used only to skip far actors."""
    dx = max(float(x.min()), 0.0, -float(x.max()))
    dy = max(float(y.min()), 0.0, -float(y.max()))
    return math.hypot(dx, dy)
