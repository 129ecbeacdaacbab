"""Velocity profile along the path (pure): speed caps, acceleration and jerk limits, and a stop
that ends exactly at the stop point.

``profile(s, cap, stop_s, v0, a0, limits)``:

1. the samples are cut at the stop point and a last sample is put exactly on it (speed 0);
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
    v = cap.copy()
    ds = np.diff(s)
    for i in range(len(s) - 2, -1, -1):
        lim = math.sqrt(v[i + 1] * v[i + 1] + 2.0 * decel * ds[i])
        if lim < v[i]:
            v[i] = lim
    return v


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
    # 2. backward pass; harder deceleration only if the vehicle cannot keep to the comfortable one
    decel = lim.comfort_decel
    vb_hard = _backward(s, cap, decel)
    if v0 > vb_hard[0] + 1e-6:
        with np.errstate(divide="ignore", invalid="ignore"):
            need = (v0 * v0 - cap[1:] ** 2) / (2.0 * s[1:])
        decel = float(np.clip(np.nanmax(need) * 1.02, lim.comfort_decel, lim.max_decel))
        vb_hard = _backward(s, cap, decel)
    hard = decel
    vb = _backward(s, cap, ENVELOPE_FRACTION * decel) if v0 <= _backward(s, cap, ENVELOPE_FRACTION * decel)[0] \
        else vb_hard
    # 3. forward pass with the jerk limit. The backward limit was built with a deceleration a bit
    # below the one the forward pass may use, so that braking can start with a jerk-limited ramp
    # and still meet it; the acceleration is taken back early enough to reach a cap with a = 0.
    n = len(s)
    v = np.empty(n)
    v[0] = v0  # the start is where the vehicle is: its speed, whatever the limits say
    a = float(np.clip(a0, -lim.max_decel, lim.accel))
    ds = np.diff(s)
    for i in range(n - 1):
        vi = v[i]
        dt = ds[i] / max(vi, 0.5)
        # the deceleration needed to meet the backward limit within the next braking-ramp distance
        reach = max(0.5 * vi * (decel / lim.jerk), ds[i])  # about the distance a jerk-limited brake onset loses
        j1 = min(n - 1, int(np.searchsorted(s, s[i] + reach, side="right")))
        j1 = max(j1, i + 1)
        seg = s[i + 1:j1 + 1] - s[i]
        want = float(np.min((vb[i + 1:j1 + 1] ** 2 - vi * vi) / (2.0 * seg)))
        if want >= 0.0 and a > 0.0 and vi + a * a / (2.0 * lim.jerk) >= vb[i + 1] - 1e-3:
            want = 0.0  # close to the cap: take the acceleration back now
        want = min(max(want, -hard), lim.accel)
        a = min(max(want, a - lim.jerk * dt), a + lim.jerk * dt)
        v2 = vi * vi + 2.0 * a * ds[i]
        if v2 <= 1e-4 and want > a and i + 1 < n - 1:
            a = want  # the jerk limit would stop the vehicle short of the stop point: release the brake now
            v2 = vi * vi + 2.0 * a * ds[i]
        v[i + 1] = min(math.sqrt(v2) if v2 > 0 else 0.0, vb_hard[i + 1])
        a = (v[i + 1] ** 2 - vi * vi) / (2.0 * ds[i])
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
