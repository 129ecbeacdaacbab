"""Batched Kalman filters for N tracks at once (numpy, no per-track loop).

State per track: ``[x, y, vx, vy, w]`` (m, m, m/s, m/s, rad/s) in the map frame. The motion
model is the coordinated turn (constant speed, constant turn rate ``w``) in Cartesian
velocities; with ``w`` = 0 it is exactly the constant-velocity model, so one state layout and
one code path serve both: tracks whose class group has no yaw-acceleration noise (``turning``
False) keep ``w`` = 0 with zero variance and are plain linear CV filters. Unlike the polar CTRV
form, the velocity here is observable from positions alone from the first frames on (no
singular heading at zero speed). Measurements are positions ``(x, y)``.
"""

from __future__ import annotations

import numpy as np

DIM = 5
SMALL_W = 1e-4  # rad/s; below this the CV limits of the turn terms are used


def turn_terms(w: np.ndarray, dt: float) -> tuple[np.ndarray, ...]:
    """A = sin(w dt)/w, B = (1 - cos(w dt))/w, c = cos(w dt), s = sin(w dt), and dA/dw, dB/dw;
    (N,) each, with the w -> 0 limits where |w| is tiny."""
    wt = w * dt
    s, c = np.sin(wt), np.cos(wt)
    small = np.abs(w) < SMALL_W
    w_safe = np.where(small, 1.0, w)
    a = np.where(small, dt - w * w * dt ** 3 / 6.0, s / w_safe)
    b = np.where(small, w * dt * dt / 2.0, (1.0 - c) / w_safe)
    da = np.where(small, -w * dt ** 3 / 3.0, (dt * c * w - s) / (w_safe * w_safe))
    db = np.where(small, dt * dt / 2.0, (dt * s * w - (1.0 - c)) / (w_safe * w_safe))
    return a, b, c, s, da, db


def predict(x: np.ndarray, p: np.ndarray, dt: float, accel_std: np.ndarray, yaw_accel_std: np.ndarray,
            turning: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predict every track by ``dt`` s (EKF on the coordinated-turn model).

    x: (N, 5); p: (N, 5, 5); accel_std (N,) m/s^2 and yaw_accel_std (N,) rad/s^2 white-noise
    process noise; turning (N,) bool (False: CV, w held at 0). Returns new arrays.
    """
    n = len(x)
    if n == 0 or dt <= 0.0:
        return x.copy(), p.copy()
    w = np.where(turning, x[:, 4], 0.0)
    a, b, c, s, da, db = turn_terms(w, dt)
    vx, vy = x[:, 2], x[:, 3]
    xn = np.empty_like(x)
    xn[:, 0] = x[:, 0] + a * vx - b * vy
    xn[:, 1] = x[:, 1] + b * vx + a * vy
    xn[:, 2] = c * vx - s * vy
    xn[:, 3] = s * vx + c * vy
    xn[:, 4] = w
    f = np.zeros((n, DIM, DIM))
    f[:, 0, 0] = f[:, 1, 1] = f[:, 4, 4] = 1.0
    f[:, 0, 2], f[:, 0, 3], f[:, 1, 2], f[:, 1, 3] = a, -b, b, a
    f[:, 2, 2], f[:, 2, 3], f[:, 3, 2], f[:, 3, 3] = c, -s, s, c
    f[:, 0, 4] = da * vx - db * vy
    f[:, 1, 4] = db * vx + da * vy
    f[:, 2, 4] = -dt * (s * vx + c * vy)
    f[:, 3, 4] = dt * (c * vx - s * vy)
    f[~turning, :, 4] = 0.0
    pn = f @ p @ f.transpose(0, 2, 1)
    # white-noise acceleration on each axis, white-noise yaw acceleration on w
    q = accel_std * accel_std
    q11, q12, q22 = q * dt ** 4 / 4.0, q * dt ** 3 / 2.0, q * dt * dt
    pn[:, 0, 0] += q11
    pn[:, 1, 1] += q11
    pn[:, 0, 2] += q12
    pn[:, 2, 0] += q12
    pn[:, 1, 3] += q12
    pn[:, 3, 1] += q12
    pn[:, 2, 2] += q22
    pn[:, 3, 3] += q22
    pn[:, 4, 4] += np.where(turning, (yaw_accel_std * dt) ** 2, 0.0)
    pn[~turning, 4, :] = 0.0
    pn[~turning, :, 4] = 0.0
    return xn, 0.5 * (pn + pn.transpose(0, 2, 1))


def innovation_d2(x: np.ndarray, p: np.ndarray, z: np.ndarray, r_var: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of every measurement from every track: (N, M).

    z: (M, 2) positions; r_var: (M,) isotropic measurement variance (m^2). Closed-form 2x2
    inverse of S = P_xy + R for all N x M pairs at once."""
    dx = z[None, :, 0] - x[:, None, 0]
    dy = z[None, :, 1] - x[:, None, 1]
    sxx = p[:, None, 0, 0] + r_var[None, :]
    syy = p[:, None, 1, 1] + r_var[None, :]
    sxy = p[:, None, 0, 1] + 0.0 * r_var[None, :]
    det = sxx * syy - sxy * sxy
    return (syy * dx * dx - 2.0 * sxy * dx * dy + sxx * dy * dy) / det


def update(x: np.ndarray, p: np.ndarray, z: np.ndarray, r_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position update of K tracks with their K measurements (rows paired).

    x: (K, 5); p: (K, 5, 5); z: (K, 2); r_var: (K,) m^2. Joseph form keeps P symmetric and
    positive semi-definite. Returns new arrays."""
    if len(x) == 0:
        return x.copy(), p.copy()
    s = p[:, :2, :2].copy()
    s[:, 0, 0] += r_var
    s[:, 1, 1] += r_var
    k = p[:, :, :2] @ np.linalg.inv(s)  # (K, 5, 2)
    y = z - x[:, :2]
    xn = x + np.einsum("kij,kj->ki", k, y)
    ikh = np.broadcast_to(np.eye(DIM), p.shape).copy()
    ikh[:, :, :2] -= k
    pn = ikh @ p @ ikh.transpose(0, 2, 1)
    pn += (k * r_var[:, None, None]) @ k.transpose(0, 2, 1)
    return xn, 0.5 * (pn + pn.transpose(0, 2, 1))
