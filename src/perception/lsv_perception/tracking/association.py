"""Gated cost matrix and optimal assignment (``scipy.optimize.linear_sum_assignment``)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

FORBIDDEN = 1e9  # cost of a pair outside the gate (finite: the solver needs a feasible matrix)


def gated_cost(d2: np.ndarray, dist_m: np.ndarray, gate_chi2: float, gate_m: np.ndarray,
               track_group: np.ndarray, meas_group: np.ndarray, mismatch_cost: float) -> np.ndarray:
    """(N, M) cost: Mahalanobis d2 plus ``mismatch_cost`` where track and measurement are of
    different known motion groups (group 0 = unknown matches anything); ``FORBIDDEN`` where d2 >
    ``gate_chi2`` or the distance exceeds the track's ``gate_m`` (N,)."""
    cost = d2.copy()
    known = (track_group[:, None] != 0) & (meas_group[None, :] != 0)
    cost += np.where(known & (track_group[:, None] != meas_group[None, :]), mismatch_cost, 0.0)
    cost[(d2 > gate_chi2) | (dist_m > gate_m[:, None]) | ~np.isfinite(d2)] = FORBIDDEN
    return cost


def assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost one-to-one pairs within the gate: (track rows (K,), measurement cols (K,))."""
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows, cols = linear_sum_assignment(cost)
    ok = cost[rows, cols] < FORBIDDEN
    return rows[ok].astype(np.int64), cols[ok].astype(np.int64)
