"""The multi-object tracker: measurements in the map frame in, tracks with ids out.

``MultiObjectTracker(params).update(t_ns, measurements)`` predicts every track to ``t_ns``,
associates (gated Mahalanobis cost + class-group penalty, Hungarian), updates the matched
tracks, steps the life cycle (``lifecycle.transition_array``) and starts tentative tracks from
the unmatched measurements. ``tracks(t_ns)`` gives the live tracks predicted to ``t_ns``
without changing the state. Time is always an argument (``t_ns``, nanoseconds); nothing here
reads a clock. All per-track work is numpy over arrays of tracks.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from lsv_perception.tracking import kalman
from lsv_perception.tracking.association import assign, gated_cost
from lsv_perception.tracking.lifecycle import TrackState, transition_array
from lsv_perception.tracking.params import GROUP_OF_CLASS, MOTION_GROUPS, N_CLASSES, SOURCE_V2X, TrackerParams

log = logging.getLogger(__name__)

NS = 1_000_000_000
MOTION_GROUP_VEHICLE = MOTION_GROUPS.index("vehicle")


class MeasurementError(ValueError):
    """Measurement arrays of inconsistent shapes."""


@dataclass
class Measurements:
    """M objects measured at one time, in the map frame.

    xy (M, 2) m; z (M,) m box centre height; dims (M, 3) length, width, height m; yaw (M,) rad;
    class_ids (M,) lsv_msgs CLASS_*; scores (M,) in [0, 1]; sources (M,) lsv_msgs SOURCE_*.
    """

    xy: np.ndarray
    z: np.ndarray
    dims: np.ndarray
    yaw: np.ndarray
    class_ids: np.ndarray
    scores: np.ndarray
    sources: np.ndarray

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, np.float64).reshape(-1, 2)
        m = len(self.xy)
        self.z = np.asarray(self.z, np.float64).reshape(-1)
        self.dims = np.asarray(self.dims, np.float64).reshape(-1, 3)
        self.yaw = np.asarray(self.yaw, np.float64).reshape(-1)
        self.class_ids = np.asarray(self.class_ids, np.int64).reshape(-1)
        self.scores = np.asarray(self.scores, np.float64).reshape(-1)
        self.sources = np.asarray(self.sources, np.int64).reshape(-1)
        for name in ("z", "dims", "yaw", "class_ids", "scores", "sources"):
            if len(getattr(self, name)) != m:
                raise MeasurementError(f"Measurements.{name} has {len(getattr(self, name))} rows, xy has {m}")

    def __len__(self) -> int:
        return len(self.xy)

    @classmethod
    def empty(cls) -> Measurements:
        return cls(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0),
                   np.zeros(0, np.int64))

    def valid(self) -> np.ndarray:
        """(M,) bool: rows with finite values, a known class id and positive sizes."""
        return (np.isfinite(self.xy).all(axis=1) & np.isfinite(self.z) & np.isfinite(self.yaw)
                & np.isfinite(self.dims).all(axis=1) & (self.dims > 0.0).all(axis=1) & np.isfinite(self.scores)
                & (self.class_ids >= 0) & (self.class_ids < N_CLASSES))

    def select(self, mask: np.ndarray) -> Measurements:
        return Measurements(self.xy[mask], self.z[mask], self.dims[mask], self.yaw[mask], self.class_ids[mask],
                            self.scores[mask], self.sources[mask])


@dataclass
class Tracks:
    """Tracks at one time (arrays of N rows); ``state`` holds ``TrackState`` values."""

    ids: np.ndarray            # (N,) int64, never reused
    state: np.ndarray          # (N,) int8 TrackState
    x: np.ndarray              # (N, 5) x, y, vx, vy, w
    p: np.ndarray              # (N, 5, 5) covariance
    z: np.ndarray              # (N,) box centre height, m
    dims: np.ndarray           # (N, 3) m
    yaw: np.ndarray            # (N,) rad: direction of travel when moving, else the box yaw
    class_ids: np.ndarray      # (N,) int64
    scores: np.ndarray         # (N,) existence score in [0, 1]
    source_mask: np.ndarray    # (N,) int64 OR of 1 << SOURCE_*
    age_s: np.ndarray          # (N,)
    hits: np.ndarray           # (N,) int64

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class UpdateStats:
    measurements: int = 0
    matched: int = 0
    born: int = 0
    deleted: int = 0
    dropped_invalid: int = 0
    dropped_late: int = 0
    dropped_capacity: int = 0


@dataclass
class _State:
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    state: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, kalman.DIM)))
    p: np.ndarray = field(default_factory=lambda: np.zeros((0, kalman.DIM, kalman.DIM)))
    z: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dims: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    yaw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    votes: np.ndarray = field(default_factory=lambda: np.zeros((0, N_CLASSES)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    source_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    born_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    updated_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    hits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # the last measured box: its centre minus the track's position after that update, length and width, yaw
    box_off: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    box_dims: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    box_yaw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the first measured box (centre, length and width, yaw): a track publishes a velocity once every corner of
    # its box moved motion_min_distance_m from there (then for good)
    first_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    first_dims: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    first_yaw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    moving: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    ARRAYS = ("ids", "state", "x", "p", "z", "dims", "yaw", "votes", "scores", "source_mask", "born_ns", "updated_ns",
              "hits", "box_off", "box_dims", "box_yaw", "first_xy", "first_dims", "first_yaw", "moving")

    def keep(self, mask: np.ndarray) -> None:
        for name in self.ARRAYS:
            setattr(self, name, getattr(self, name)[mask])

    def append(self, other: _State) -> None:
        for name in self.ARRAYS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2.0 * np.pi) - np.pi


_CORNER_SIGNS = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])


def box_corners(xy: np.ndarray, length_width: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """(K, 4, 2) footprint corners of K boxes: centres (K, 2), length and width (K, 2) m, yaw (K,) rad."""
    c, sn = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    a = 0.5 * _CORNER_SIGNS[None, :, 0] * length_width[:, None, 0]  # (K, 4) along
    b = 0.5 * _CORNER_SIGNS[None, :, 1] * length_width[:, None, 1]  # (K, 4) across
    return np.stack([xy[:, None, 0] + c * a - sn * b, xy[:, None, 1] + sn * a + c * b], axis=2)


def along_side(corners: np.ndarray, lengths: np.ndarray, box_xy: np.ndarray, box_lw: np.ndarray, box_yaw: np.ndarray,
               tol_m: float, along_margin_m: float) -> np.ndarray:
    """(M, N) bool: footprint m (corners (M, 4, 2), length (M,)) is a piece of a long side of the longer box n
    (centre (N, 2), length and width (N, 2), yaw (N,)): every corner within ``tol_m`` of that side's line,
    the centre no further than ``along_margin_m`` beyond the box's ends (a face seen at a grazing angle,
    cut into slivers by the clustering)."""
    if len(corners) == 0 or len(box_xy) == 0:
        return np.zeros((len(corners), len(box_xy)), bool)
    d = corners[:, None, :, :] - box_xy[None, :, None, :]  # (M, N, 4, 2)
    c, sn = np.cos(box_yaw)[None, :, None], np.sin(box_yaw)[None, :, None]
    along = c * d[..., 0] + sn * d[..., 1]
    across = -sn * d[..., 0] + c * d[..., 1]
    half_w = 0.5 * box_lw[None, :, 1, None]
    on_side = ((np.abs(across - half_w) <= tol_m).all(axis=2) | (np.abs(across + half_w) <= tol_m).all(axis=2))
    centre_along = np.abs(along.mean(axis=2))
    return (on_side & (centre_along <= 0.5 * box_lw[None, :, 0] + along_margin_m)
            & (lengths[:, None] < box_lw[None, :, 0]))


class MultiObjectTracker:
    """Tracks objects from successive measurement sets; deterministic given its inputs."""

    def __init__(self, params: TrackerParams | None = None):
        self.p = params or TrackerParams()
        self._s = _State()
        self._next_id = 1
        self.t_ns: int | None = None
        self.last_stats = UpdateStats()
        self._accel = self.p.group_array("accel_std_mps2")
        self._yaw_accel = self.p.group_array("yaw_accel_std_rps2")
        self._gate_m = self.p.group_array("gate_m")
        self._init_speed = self.p.group_array("init_speed_std_mps")

    def __len__(self) -> int:
        return len(self._s.ids)

    # ------------------------------------------------------------------ internals
    def _groups(self) -> np.ndarray:
        return GROUP_OF_CLASS[np.argmax(self._s.votes, axis=1)] if len(self._s.ids) else np.zeros(0, np.int64)

    def _predict(self, x: np.ndarray, p: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        g = self._groups()
        return kalman.predict(x, p, dt, self._accel[g], self._yaw_accel[g], self._yaw_accel[g] > 0.0)

    def _r_var(self, meas: Measurements) -> np.ndarray:
        """(M,) position variance of each measurement: the sensor's noise plus a share of the box size
        (a partial view moves a large box's centre)."""
        std = np.where(meas.sources == SOURCE_V2X, self.p.v2x_std_m, self.p.lidar_std_m)
        size = self.p.size_std_factor * 0.5 * np.max(meas.dims[:, :2], axis=1) if len(meas) else np.zeros(0)
        return std * std + size * size

    # ------------------------------------------------------------------ API
    def update(self, t_ns: int, meas: Measurements) -> UpdateStats:
        """One cycle with the measurements taken at ``t_ns``; returns what happened.

        A measurement set older than the tracker's time by up to ``max_measurement_lag_s`` is
        applied at the tracker's time (no prediction backwards); an older one is dropped."""
        stats = UpdateStats(measurements=len(meas))
        p = self.p
        if self.t_ns is not None and t_ns < self.t_ns:
            if (self.t_ns - t_ns) / NS > p.max_measurement_lag_s:
                stats.dropped_late = len(meas)
                self.last_stats = stats
                return stats
            t_ns = self.t_ns
        ok = meas.valid()
        stats.dropped_invalid = int((~ok).sum())
        if stats.dropped_invalid:
            meas = meas.select(ok)
        s = self._s
        dt = 0.0 if self.t_ns is None else (t_ns - self.t_ns) / NS
        s.x, s.p = self._predict(s.x, s.p, dt)
        self.t_ns = t_ns
        n, m = len(s.ids), len(meas)
        r_var = self._r_var(meas)
        rows = cols = np.zeros(0, np.int64)
        if n and m:
            d2 = kalman.innovation_d2(s.x, s.p, meas.xy, r_var)
            dist = np.hypot(meas.xy[None, :, 0] - s.x[:, None, 0], meas.xy[None, :, 1] - s.x[:, None, 1])
            track_group = self._groups()
            cost = gated_cost(d2, dist, p.gate_chi2, self._gate_m[track_group], track_group,
                              GROUP_OF_CLASS[meas.class_ids], p.class_mismatch_cost)
            rows, cols = assign(cost)
        stats.matched = len(rows)
        hit = np.zeros(n, bool)
        hit[rows] = True
        if len(rows):
            self._apply(rows, cols, meas, r_var, t_ns)
        s.scores[~hit] *= p.score_miss_decay
        # life cycle
        since = (t_ns - s.updated_ns) / NS
        new_state = transition_array(s.state, hit, s.hits, since, p.confirm_hits, p.tentative_timeout_s,
                                     p.coast_timeout_s)
        s.state = new_state.astype(np.int8)
        alive = s.state != TrackState.DELETED
        stats.deleted = int((~alive).sum())
        if stats.deleted:
            s.keep(alive)
        # births from unmatched measurements
        unmatched = np.ones(m, bool)
        unmatched[cols] = False
        born = unmatched & (meas.scores >= p.birth_min_score)
        if not p.v2x_birth:
            born &= meas.sources != SOURCE_V2X
        if born.any() and len(s.ids):
            d = np.hypot(meas.xy[:, None, 0] - s.x[None, :, 0], meas.xy[:, None, 1] - s.x[None, :, 1])
            born &= ~(d < p.birth_min_distance_m).any(axis=1)
            born &= ~self._inside_tracks(meas.xy, p.birth_box_margin_m).any(axis=1)
        if born.any():
            born &= ~self._fragment(meas)
        idx = np.flatnonzero(born)
        if len(idx) > 1 and p.birth_min_distance_m > 0.0:  # two new ones on top of each other: the first wins
            d = np.hypot(meas.xy[idx, None, 0] - meas.xy[None, idx, 0], meas.xy[idx, None, 1] - meas.xy[None, idx, 1])
            close = np.triu(d < p.birth_min_distance_m, k=1).any(axis=0)
            idx = idx[~close]
        room = max(0, p.max_tracks - len(s.ids))
        if len(idx) > room:
            stats.dropped_capacity = len(idx) - room
            idx = idx[np.argsort(-meas.scores[idx], kind="stable")[:room]]
        if len(idx):
            self._birth(meas.select(idx), r_var[idx], t_ns)
            stats.born = len(idx)
        self.last_stats = stats
        return stats

    def _inside_tracks(self, xy: np.ndarray, margin_m: float) -> np.ndarray:
        """(M, N) bool: point m lies in track n's box (its yaw, length, width) grown by ``margin_m``."""
        s = self._s
        return _inside_boxes(xy, s.x[:, :2], s.dims[:, :2], s.yaw, margin_m)

    def _fragment(self, meas: Measurements) -> np.ndarray:
        """(M,) bool: measurement m is a piece of a bigger object, so no track of its own: a sliver along a
        long side of a longer track's box, or inside / along a longer measurement of the same set."""
        p, s = self.p, self._s
        corners = box_corners(meas.xy, meas.dims[:, :2], meas.yaw)
        frag = along_side(corners, meas.dims[:, 0], s.x[:, :2], s.dims[:, :2], s.yaw, p.birth_box_margin_m,
                          p.birth_along_margin_m).any(axis=1)
        same = along_side(corners, meas.dims[:, 0], meas.xy, meas.dims[:, :2], meas.yaw, p.birth_box_margin_m,
                          p.birth_along_margin_m)
        same |= (_inside_boxes(meas.xy, meas.xy, meas.dims[:, :2], meas.yaw, p.birth_box_margin_m)
                 & (meas.dims[:, None, 0] < meas.dims[None, :, 0]))
        np.fill_diagonal(same, False)
        return frag | same.any(axis=1)

    def _measured_positions(self, rows: np.ndarray, cols: np.ndarray,
                            meas: Measurements) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K, 2) track positions the matched measurements stand for. Where the box's extent changed by more
        than ``shape_change_m`` since the track's last measurement (more or less of a face in view, a
        sliver joined), its centre slid along the object without the object moving: of the four corners,
        each paired with the same corner of the last box (predicted), the one that moved least gives the
        motion instead (the corner that stayed in view). Returns the positions (K, 2), which rows used a
        corner (K,) and how far the least-moving corner moved from the track's first box (K,) m."""
        s = self._s
        k = len(rows)
        prev_xy = s.x[rows, :2] + s.box_off[rows]
        prev = box_corners(prev_xy, s.box_dims[rows], s.box_yaw[rows])
        new = box_corners(meas.xy[cols], meas.dims[cols, :2], meas.yaw[cols])
        # each new corner's side of the new centre along the last box's axes names its partner corner
        c, sn = np.cos(s.box_yaw[rows])[:, None], np.sin(s.box_yaw[rows])[:, None]
        rel = new - meas.xy[cols][:, None, :]
        a = c * rel[..., 0] + sn * rel[..., 1]
        b = -sn * rel[..., 0] + c * rel[..., 1]
        partner = np.where(a >= 0.0, np.where(b >= 0.0, 0, 1), np.where(b < 0.0, 2, 3))  # _CORNER_SIGNS order
        d = new - prev[np.arange(k)[:, None], partner]  # (K, 4, 2)
        shift = d[np.arange(k), np.argmin(np.hypot(d[..., 0], d[..., 1]), axis=1)]
        first = box_corners(s.first_xy[rows], s.first_dims[rows], s.first_yaw[rows])
        c0, s0 = np.cos(s.first_yaw[rows])[:, None], np.sin(s.first_yaw[rows])[:, None]
        a0, b0 = c0 * rel[..., 0] + s0 * rel[..., 1], -s0 * rel[..., 0] + c0 * rel[..., 1]
        partner0 = np.where(a0 >= 0.0, np.where(b0 >= 0.0, 0, 1), np.where(b0 < 0.0, 2, 3))
        d0 = new - first[np.arange(k)[:, None], partner0]
        step = np.hypot(d0[..., 0], d0[..., 1]).min(axis=1)
        ext_along = np.abs(a).max(axis=1) * 2.0  # the new box's extents along the last box's axes
        ext_across = np.abs(b).max(axis=1) * 2.0
        changed = np.maximum(np.abs(ext_along - s.box_dims[rows, 0]),
                             np.abs(ext_across - s.box_dims[rows, 1])) > self.p.shape_change_m
        return np.where(changed[:, None], s.x[rows, :2] + shift, meas.xy[cols]), changed, step

    def _apply(self, rows: np.ndarray, cols: np.ndarray, meas: Measurements, r_var: np.ndarray, t_ns: int) -> None:
        s, p = self._s, self.p
        z, changed, step = self._measured_positions(rows, cols, meas)
        s.moving[rows] |= step >= p.motion_min_distance_m
        s.x[rows], s.p[rows] = kalman.update(s.x[rows], s.p[rows], z, r_var[cols])
        s.x[rows, :2] += meas.xy[cols] - z  # the centre moved with the view, not with the object
        # a changed view is taken as it is (a box smoothed towards it would reach past the faces in view)
        a = np.where(changed, 1.0, p.dimension_smoothing)
        s.dims[rows] += a[:, None] * (meas.dims[cols] - s.dims[rows])
        s.z[rows] += a * (meas.z[cols] - s.z[rows])
        s.scores[rows] += p.score_smoothing * (meas.scores[cols] - s.scores[rows])
        s.votes[rows] *= p.class_memory
        s.votes[rows, meas.class_ids[cols]] += np.maximum(meas.scores[cols], 0.05)
        s.source_mask[rows] |= np.left_shift(1, meas.sources[cols])
        s.hits[rows] += 1
        s.updated_ns[rows] = t_ns
        # yaw: direction of travel when moving, else the box yaw (flipped to the nearer of the two ends)
        speed = np.hypot(s.x[rows, 2], s.x[rows, 3])
        moving = (speed >= p.min_speed_for_heading_mps) & (s.moving[rows]
                                                             | (self._groups()[rows] != MOTION_GROUP_VEHICLE))
        box = meas.yaw[cols]
        flip = np.abs(_wrap(box - s.yaw[rows])) > 0.5 * np.pi
        box = _wrap(np.where(flip, box + np.pi, box))
        s.yaw[rows] = np.where(moving, np.arctan2(s.x[rows, 3], s.x[rows, 2]), box)
        s.box_off[rows] = meas.xy[cols] - s.x[rows, :2]
        s.box_dims[rows] = meas.dims[cols, :2]
        s.box_yaw[rows] = meas.yaw[cols]

    def _birth(self, meas: Measurements, r_var: np.ndarray, t_ns: int) -> None:
        k = len(meas)
        group = GROUP_OF_CLASS[meas.class_ids]
        x = np.zeros((k, kalman.DIM))
        x[:, :2] = meas.xy
        pm = np.zeros((k, kalman.DIM, kalman.DIM))
        pm[:, 0, 0] = pm[:, 1, 1] = r_var
        v2 = self._init_speed[group] ** 2
        pm[:, 2, 2] = pm[:, 3, 3] = v2
        pm[:, 4, 4] = np.where(self._yaw_accel[group] > 0.0, self.p.initial_yaw_rate_std_rps ** 2, 0.0)
        votes = np.zeros((k, N_CLASSES))
        votes[np.arange(k), meas.class_ids] = np.maximum(meas.scores, 0.05)
        state = np.full(k, TrackState.CONFIRMED if self.p.confirm_hits <= 1 else TrackState.TENTATIVE, np.int8)
        new = _State(ids=np.arange(self._next_id, self._next_id + k, dtype=np.int64), state=state, x=x, p=pm,
                     z=meas.z.copy(), dims=meas.dims.copy(), yaw=_wrap(meas.yaw), votes=votes,
                     scores=meas.scores.copy(), source_mask=np.left_shift(1, meas.sources).astype(np.int64),
                     born_ns=np.full(k, t_ns, np.int64), updated_ns=np.full(k, t_ns, np.int64),
                     hits=np.ones(k, np.int64), box_off=np.zeros((k, 2)), box_dims=meas.dims[:, :2].copy(),
                     box_yaw=meas.yaw.copy(), first_xy=meas.xy.copy(),
                     first_dims=meas.dims[:, :2].copy(), first_yaw=meas.yaw.copy(), moving=np.zeros(k, bool))
        self._next_id += k
        self._s.append(new)

    def tracks(self, t_ns: int | None = None, include_tentative: bool = False) -> Tracks:
        """Live tracks predicted to ``t_ns`` (default: the tracker's time); the state is unchanged."""
        s = self._s
        keep = np.ones(len(s.ids), bool) if include_tentative else s.state != TrackState.TENTATIVE
        t = self.t_ns if t_ns is None or self.t_ns is None else t_ns
        dt = 0.0 if t is None or self.t_ns is None else max(0.0, (t - self.t_ns) / NS)
        x, pcov = self._predict(s.x, s.p, dt) if dt > 0.0 else (s.x, s.p)
        # a vehicle without motion seen yet stands (a centre sliding along a face must not make it move); small
        # road users keep their filtered velocity from the start (a pedestrian stepping out is not delayed)
        shown = s.moving | (self._groups() != MOTION_GROUP_VEHICLE)
        x = np.where(shown[:, None], x, np.concatenate([s.x[:, :2], np.zeros((len(s.x), 3))], axis=1))
        speed = np.hypot(x[:, 2], x[:, 3])
        yaw = np.where(speed >= self.p.min_speed_for_heading_mps, np.arctan2(x[:, 3], x[:, 2]), s.yaw)
        age = ((t or 0) - s.born_ns) / NS
        return Tracks(s.ids[keep].copy(), s.state[keep].copy(), x[keep].copy(), pcov[keep].copy(), s.z[keep].copy(),
                      s.dims[keep].copy(), yaw[keep], np.argmax(s.votes[keep], axis=1).astype(np.int64),
                      s.scores[keep].copy(), s.source_mask[keep].copy(), age[keep], s.hits[keep].copy())


def _inside_boxes(xy: np.ndarray, box_xy: np.ndarray, box_lw: np.ndarray, box_yaw: np.ndarray,
                  margin_m: float) -> np.ndarray:
    """(M, N) bool: point m (xy (M, 2)) lies in box n (centre (N, 2), length and width (N, 2), yaw (N,))
    grown by ``margin_m``."""
    dx = xy[:, None, 0] - box_xy[None, :, 0]
    dy = xy[:, None, 1] - box_xy[None, :, 1]
    c, sn = np.cos(box_yaw)[None, :], np.sin(box_yaw)[None, :]
    along, across = c * dx + sn * dy, -sn * dx + c * dy
    return ((np.abs(along) <= 0.5 * box_lw[None, :, 0] + margin_m)
            & (np.abs(across) <= 0.5 * box_lw[None, :, 1] + margin_m))


def yaw_variance(x: np.ndarray, p: np.ndarray, min_speed: float) -> np.ndarray:
    """(N,) variance of the direction of travel (rad^2) from the velocity covariance; pi^2/3
    (uniform) below ``min_speed``."""
    vx, vy = x[:, 2], x[:, 3]
    v2 = vx * vx + vy * vy
    var = (vy * vy * p[:, 2, 2] + vx * vx * p[:, 3, 3] - 2.0 * vx * vy * p[:, 2, 3]) / np.maximum(v2 * v2, 1e-12)
    return np.where(np.sqrt(v2) >= min_speed, np.minimum(var, math.pi ** 2 / 3.0), math.pi ** 2 / 3.0)
