"""Track life cycle: birth -> confirmation -> coasting -> deletion, as a pure transition function.

``transition(state, hit, hits, since_update_s, params)`` is the reference (one track, an Enum);
``transition_array`` applies the same table to every track at once (numpy masks, the hot path).
The tests check that both agree on every transition.

    TENTATIVE --hit, hits >= confirm_hits--> CONFIRMED
    TENTATIVE --miss, since_update_s > tentative_timeout_s--> DELETED
    CONFIRMED --miss--> COASTING
    COASTING  --hit--> CONFIRMED
    COASTING  --miss, since_update_s > coast_timeout_s--> DELETED
    DELETED   stays DELETED
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class TrackState(IntEnum):
    TENTATIVE = 0  # born from one unmatched measurement, not published by default
    CONFIRMED = 1  # enough hits; updated in the last cycle
    COASTING = 2   # confirmed, but missed in the last cycle: predicted only
    DELETED = 3    # to be removed; its id is never reused


def transition(state: TrackState, hit: bool, hits: int, since_update_s: float, confirm_hits: int,
               tentative_timeout_s: float, coast_timeout_s: float) -> TrackState:
    """Next state of one track after a cycle. ``hits`` counts the measurements so far (this one
    included); ``since_update_s`` is the time since the track's last measurement (0 on a hit)."""
    if state is TrackState.DELETED:
        return TrackState.DELETED
    if state is TrackState.TENTATIVE:
        if hit:
            return TrackState.CONFIRMED if hits >= confirm_hits else TrackState.TENTATIVE
        return TrackState.DELETED if since_update_s > tentative_timeout_s else TrackState.TENTATIVE
    if hit:  # CONFIRMED or COASTING
        return TrackState.CONFIRMED
    if state is TrackState.CONFIRMED:
        return TrackState.DELETED if since_update_s > coast_timeout_s else TrackState.COASTING
    return TrackState.DELETED if since_update_s > coast_timeout_s else TrackState.COASTING


def transition_array(state: np.ndarray, hit: np.ndarray, hits: np.ndarray, since_update_s: np.ndarray,
                     confirm_hits: int, tentative_timeout_s: float, coast_timeout_s: float) -> np.ndarray:
    """``transition`` for every track: (N,) int8 states, (N,) bool hits this cycle, (N,) int hit
    counts, (N,) float s since the last update -> (N,) int8 next states."""
    state = np.asarray(state)
    out = state.copy()
    tent = state == TrackState.TENTATIVE
    live = (state == TrackState.CONFIRMED) | (state == TrackState.COASTING)
    out[tent & hit & (hits >= confirm_hits)] = TrackState.CONFIRMED
    out[tent & ~hit & (since_update_s > tentative_timeout_s)] = TrackState.DELETED
    out[live & hit] = TrackState.CONFIRMED
    miss = live & ~hit
    out[miss] = np.where(since_update_s[miss] > coast_timeout_s, TrackState.DELETED, TrackState.COASTING)
    return out
