"""Velocity profile along the path (pure): speed caps, acceleration and jerk limits, and a stop
that ends exactly at the stop point.

``profile(s, cap, stop_s, v0, a0, limits)``:

1. the samples are cut at the stop point and a last sample is put exactly on it (speed 0); a cap
   the vehicle is already above is relaxed to a comfortable deceleration from its speed;
2. backward pass: v <= sqrt(v_next^2 + 2 d ds), with d the comfortable deceleration, raised
   (up to the hardest planned deceleration) only when the vehicle is already too fast to stop
   comfortably before a constraint;
3. forward pass from the current speed and acceleration: the acceleration moves towards the one
   that reaches the next sample's backward limit, changing by at most jerk x dt per step, and the
   speed is clipped to the backward limit (so caps and the stop hold even where the jerk limit
   would not let the acceleration follow: that is where the jerk limit gives way; likewise the
   brake is released at once where keeping the jerk limit would stop the vehicle short of the
   stop point);
4. time stamps from the trapezoidal rule, acceleration per sample from (v1^2 - v0^2) / 2 ds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ENVELOPE_FRACTION = 0.8  # the backward target uses this share of the deceleration (room for the jerk ramp)


@dataclass(frozen=True)
class Limits:
    accel: float  # m/s^2
    comfort_decel: float  # m/s^2, > 0
    max_decel: float  # m/s^2, > 0
    jerk: float  # m/s^3


@dataclass(frozen=True)
class Profile:
    s: np.ndarray  # (M,) arc length from the start, m
    v: np.ndarray  # (M,) m/s
    a: np.ndarray  # (M,) m/s^2
    t: np.ndarray  # (M,) s from the start
    decel_used: float  # the deceleration the backward pass had to use


def _backward(s: np.ndarray, cap: np.ndarray, decel: float) -> np.ndarray:
    v = cap.tolist()
    sl = s.tolist()
    for i in range(len(sl) - 2, -1, -1):
        lim = math.sqrt(v[i + 1] * v[i + 1] + 2.0 * decel * (sl[i + 1] - sl[i]))
        if lim < v[i]:
            v[i] = lim
    return np.asarray(v)


def profile(s: np.ndarray, cap: np.ndarray, stop_s: float | None, v0: float, a0: float, lim: Limits) -> Profile:
    """``s`` (M,) increasing from 0 (the vehicle), ``cap`` (M,) m/s; ``stop_s`` None = no stop in the window."""
    s = np.asarray(s, dtype=np.float64)
    cap = np.minimum(np.asarray(cap, dtype=np.float64), 1e3)
    v0 = max(float(v0), 0.0)
    if stop_s is not None:
        if stop_s <= 1e-3:
            z = np.zeros(1)
            return Profile(z, z.copy(), np.full(1, -lim.max_decel if v0 > 0.05 else 0.0), z.copy(), lim.max_decel)
        keep = s < stop_s - 1e-3
        s = np.concatenate([s[keep], [stop_s]])
        cap = np.concatenate([cap[keep], [0.0]])
    if len(s) < 2:
        z = np.zeros(1)
        return Profile(z, z.copy(), z.copy(), z.copy(), lim.comfort_decel)
    # a speed cap the vehicle is already above (a V2X zone appearing around it, a limit right ahead) is
    # reached with the comfortable deceleration, not by braking hard: only stops justify that
    relax = np.sqrt(np.maximum(v0 * v0 - 2.0 * lim.comfort_decel * s, 0.0))
    if stop_s is not None:
        relax[-1] = 0.0
    cap = np.maximum(cap, relax)
    # 2. backward pass; harder deceleration only if the vehicle cannot keep to the comfortable one
    decel = lim.comfort_decel
    vb_hard = _backward(s, cap, decel)
    if v0 > vb_hard[0] + 1e-6:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = (v0 * v0 - cap[1:] ** 2) / (2.0 * s[1:])
        decel = float(np.clip(np.nanmax(need) * 1.02, lim.comfort_decel, lim.max_decel))
        vb_hard = _backward(s, cap, decel)
    hard = decel
    vb = _backward(s, cap, ENVELOPE_FRACTION * decel)
    if v0 > vb[0]:
        vb = vb_hard
    # 3. forward pass with the jerk limit. The backward limit was built with a deceleration a bit
    # below the one the forward pass may use, so that braking can start with a jerk-limited ramp
    # and still meet it; the acceleration is taken back early enough to reach a cap with a = 0.
    n = len(s)
    sl, vbl, vb2, vhl = s.tolist(), vb.tolist(), (vb * vb).tolist(), vb_hard.tolist()
    vl = [0.0] * n
    vl[0] = v0  # the start is where the vehicle is: its speed, whatever the limits say
    a = min(max(float(a0), -lim.max_decel), lim.accel)
    jerk, acc_max = lim.jerk, lim.accel
    brake_time = decel / jerk
    j1 = 1
    for i in range(n - 1):
        vi = vl[i]
        ds_i = sl[i + 1] - sl[i]
        dt = ds_i / max(vi, 0.5)
        # the deceleration needed to meet the backward limit within about the distance a
        # jerk-limited brake onset loses
        reach = sl[i] + max(0.5 * vi * brake_time, ds_i)
        j1 = max(j1, i + 1)
        while j1 < n - 1 and sl[j1] <= reach:  # up to the first sample beyond the reach
            j1 += 1
        v2i = vi * vi
        want = min((vb2[j] - v2i) / (2.0 * (sl[j] - sl[i])) for j in range(i + 1, j1 + 1))
        if want >= 0.0 and a > 0.0 and vi + a * a / (2.0 * jerk) >= vbl[i + 1] - 1e-3:
            want = 0.0  # close to the cap: take the acceleration back now
        want = min(max(want, -hard), acc_max)
        a = min(max(want, a - jerk * dt), a + jerk * dt)
        v2 = v2i + 2.0 * a * ds_i
        if v2 <= 1e-4 and want > a and i + 1 < n - 1:
            a = want  # the jerk limit would stop the vehicle short of the stop point: release the brake now
            v2 = v2i + 2.0 * a * ds_i
        vn = min(math.sqrt(v2) if v2 > 0 else 0.0, vhl[i + 1])
        vl[i + 1] = vn
        a = (vn * vn - v2i) / (2.0 * ds_i)
    v = np.asarray(vl)
    ds = np.diff(s)
    if stop_s is not None:
        v[-1] = 0.0
    # 4. time and acceleration
    vs = v[:-1] + v[1:]
    dt = np.where(vs > 1e-6, 2.0 * ds / np.maximum(vs, 1e-6), np.inf)
    acc = np.empty(n)
    acc[:-1] = (v[1:] ** 2 - v[:-1] ** 2) / (2.0 * ds)
    acc[-1] = acc[-2] if n > 1 else 0.0
    # a stretch at standstill (both ends 0) ends the motion: cut the profile there
    stall = np.nonzero(~np.isfinite(dt))[0]
    if len(stall):
        k = int(stall[0]) + 1
        s, v, acc, dt = s[:k], v[:k], acc[:k], dt[: k - 1]
        acc[-1] = 0.0
    t = np.concatenate([[0.0], np.cumsum(dt)])
    return Profile(s, v, acc, t, decel)
