"""Extended Kalman filter for the planar pose of a low-speed vehicle (pure, no ROS, time as argument).

State ``[x, y, yaw, v, w, b]``: rear-axle position in the map frame (m), heading (rad), speed along
the heading (m/s), yaw rate (rad/s), gyro bias (rad/s). Motion model: constant speed and yaw rate
with white acceleration / yaw-acceleration noise, a random-walk gyro bias. Measurements:

- wheel speed (VehicleStatus.speed_mps): ``v``, dropped when not finite or beyond the physical limit
  ``max_wheel_speed_mps`` (a CAN signal at its raw maximum, a bit error) and gated by the Mahalanobis
  distance of its innovation (chi-square, 1 dof: a jump no vehicle can make is not fused);
- IMU yaw rate: ``w + b``;
- steering (VehicleStatus.steering_angle_rad) with the measured speed: the kinematic-bicycle yaw rate
  ``v tan(delta) / L`` as a (looser) measurement of ``w``: this keeps the heading and makes the gyro
  bias observable without GNSS;
- GNSS position (projected to the map frame): ``[x, y] + R(yaw) [lx, ly]`` (the antenna ``lx`` m ahead of
  and ``ly`` m left of the rear axle: ``antenna_m``, from the sensor extrinsics file, see
  ``extrinsics.py``), gated by the Mahalanobis distance of its innovation (chi-square, 2 dof).

Without GNSS the filter dead-reckons on wheel speed + yaw rate; its covariance grows with the
process noise so that the reported uncertainty keeps bounding the drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from lsv_common.params import spec

NS = 1_000_000_000
X, Y, YAW, V, W, B = range(6)
N_STATE = 6


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


@dataclass(frozen=True)
class EkfParams:
    wheelbase_m: float = field(metadata=spec("wheelbase, for the steering yaw rate", unit="m", min=0.5, max=6.0,
                                             name="ekf.wheelbase_m"))
    accel_noise_mps2: float = field(metadata=spec("process noise: longitudinal acceleration (1 sigma)",
                                                  unit="m/s^2", min=0.01, max=10.0, name="ekf.accel_noise_mps2"))
    yaw_accel_noise_rps2: float = field(metadata=spec("process noise: yaw acceleration (1 sigma)", unit="rad/s^2",
                                                      min=0.001, max=10.0, name="ekf.yaw_accel_noise_rps2"))
    position_noise_mps: float = field(metadata=spec("process noise: unmodelled position motion (slip), 1 sigma "
                                                    "per sqrt(s)", unit="m/sqrt(s)", min=0.0, max=5.0,
                                                    name="ekf.position_noise_mps"))
    bias_noise_rps: float = field(metadata=spec("process noise: gyro bias random walk per sqrt(s)",
                                                unit="rad/s/sqrt(s)", min=0.0, max=0.1, name="ekf.bias_noise_rps"))
    initial_bias_sigma_rps: float = field(metadata=spec("gyro bias uncertainty at start", unit="rad/s", min=0.0,
                                                        max=0.5, name="ekf.initial_bias_sigma_rps"))
    wheel_speed_sigma_mps: float = field(metadata=spec("wheel speed noise (1 sigma)", unit="m/s", min=0.001,
                                                       max=2.0, name="ekf.wheel_speed_sigma_mps"))
    wheel_speed_scale_sigma: float = field(metadata=spec("wheel speed error proportional to speed (tyre radius)",
                                                         min=0.0, max=0.2, name="ekf.wheel_speed_scale_sigma"))
    max_wheel_speed_mps: float = field(metadata=spec("wheel speeds beyond this (either direction) are not physical "
                                                     "(a CAN signal at its raw maximum, a bit error): dropped",
                                                     unit="m/s", min=1.0, max=50.0, name="ekf.max_wheel_speed_mps"))
    wheel_speed_gate_chi2: float = field(metadata=spec("Mahalanobis gate on wheel-speed innovations (chi-square, "
                                                       "1 dof; 20 = 4.5 sigma: at 50 Hz a false rejection about "
                                                       "once an hour)", min=1.0, max=1000.0,
                                                       name="ekf.wheel_speed_gate_chi2"))
    gyro_sigma_rps: float = field(metadata=spec("gyro yaw-rate noise (1 sigma)", unit="rad/s", min=0.0001,
                                                max=1.0, name="ekf.gyro_sigma_rps"))
    steer_yaw_rate_sigma_rps: float = field(metadata=spec("steering-model yaw rate error (1 sigma, plus 10 % of "
                                                          "the value)", unit="rad/s", min=0.001, max=2.0,
                                                          name="ekf.steer_yaw_rate_sigma_rps"))
    gnss_sigma_m: float = field(metadata=spec("GNSS position noise when the fix carries no covariance",
                                              unit="m", min=0.01, max=50.0, name="ekf.gnss_sigma_m"))
    gnss_min_sigma_m: float = field(metadata=spec("floor on the GNSS position sigma (receivers are optimistic)",
                                                  unit="m", min=0.0, max=10.0, name="ekf.gnss_min_sigma_m"))
    gnss_gate_chi2: float = field(metadata=spec("Mahalanobis gate on GNSS innovations (chi-square, 2 dof; "
                                                "13.8 = 99.9 %)", min=1.0, max=1000.0, name="ekf.gnss_gate_chi2"))


class Outcome(Enum):
    """What became of a measurement."""

    ACCEPTED = "accepted"
    GATED = "gated"  # innovation beyond the Mahalanobis gate
    OUT_OF_RANGE = "out_of_range"  # beyond a physical limit
    NON_FINITE = "non_finite"


@dataclass(frozen=True)
class UpdateResult:
    outcome: Outcome
    mahalanobis2: float  # squared Mahalanobis distance of the innovation (inf when not computed)

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED


class Ekf:
    """The filter. ``t_ns`` is the time its state refers to; every call takes ``now_ns``.

    ``antenna_m``: the GNSS antenna in base_link, (x forward, y left) in m.
    """

    def __init__(self, p: EkfParams, antenna_m: tuple[float, float]):
        self.p = p
        self.antenna_m = (float(antenna_m[0]), float(antenna_m[1]))
        self.x = np.zeros(N_STATE)
        self.P = np.eye(N_STATE)
        self.t_ns: int | None = None

    @property
    def initialized(self) -> bool:
        return self.t_ns is not None

    def initialize(self, now_ns: int, x: float, y: float, yaw: float, pos_sigma_m: float, yaw_sigma_rad: float,
                   speed_mps: float | None = None) -> None:
        """Start at base_link (x, y, yaw); ``speed_mps`` None when unknown (its sigma is then the physical
        limit, so that the wheel-speed gate takes the first wheel speed whatever it is)."""
        speed_sigma = 0.5 if speed_mps is not None else self.p.max_wheel_speed_mps
        self.x = np.array([x, y, _wrap(yaw), speed_mps or 0.0, 0.0, 0.0])
        self.P = np.diag([pos_sigma_m**2, pos_sigma_m**2, yaw_sigma_rad**2, speed_sigma**2, 0.1**2,
                          self.p.initial_bias_sigma_rps**2])
        self.t_ns = now_ns

    def predict(self, now_ns: int) -> None:
        """Propagate the state to ``now_ns`` (no-op for a time at or before the state's)."""
        if self.t_ns is None or now_ns <= self.t_ns:
            return
        dt = (now_ns - self.t_ns) / NS
        # long gaps are integrated in steps so that the linearisation stays good
        steps = max(1, math.ceil(dt / 0.05))
        h = dt / steps
        for _ in range(steps):
            self._predict_step(h)
        self.t_ns = now_ns

    def _predict_step(self, dt: float) -> None:
        p = self.p
        x, y, yaw, v, w, b = self.x
        c, s = math.cos(yaw + 0.5 * w * dt), math.sin(yaw + 0.5 * w * dt)
        self.x = np.array([x + v * c * dt, y + v * s * dt, _wrap(yaw + w * dt), v, w, b])
        F = np.eye(N_STATE)
        F[X, YAW] = -v * s * dt
        F[X, V] = c * dt
        F[X, W] = -0.5 * v * s * dt * dt
        F[Y, YAW] = v * c * dt
        F[Y, V] = s * dt
        F[Y, W] = 0.5 * v * c * dt * dt
        F[YAW, W] = dt
        Q = np.zeros((N_STATE, N_STATE))
        qa, qw = p.accel_noise_mps2**2, p.yaw_accel_noise_rps2**2
        # white acceleration: the usual [dt^3/3, dt^2/2; dt^2/2, dt] blocks, mapped along the heading
        Q[V, V] = qa * dt
        Q[W, W] = qw * dt
        Q[YAW, YAW] = qw * dt**3 / 3.0
        Q[YAW, W] = Q[W, YAW] = qw * dt**2 / 2.0
        qpos = qa * dt**3 / 3.0
        Q[X, X] = qpos * c * c + p.position_noise_mps**2 * dt
        Q[Y, Y] = qpos * s * s + p.position_noise_mps**2 * dt
        Q[X, Y] = Q[Y, X] = qpos * c * s
        Q[X, V] = Q[V, X] = qa * dt**2 / 2.0 * c
        Q[Y, V] = Q[V, Y] = qa * dt**2 / 2.0 * s
        Q[B, B] = p.bias_noise_rps**2 * dt
        self.P = F @ self.P @ F.T + Q

    def _update(self, z: np.ndarray, hx: np.ndarray, H: np.ndarray, R: np.ndarray,
                gate_chi2: float | None = None, angle_rows: tuple[int, ...] = ()) -> UpdateResult:
        innov = z - hx
        for r in angle_rows:
            innov[r] = _wrap(float(innov[r]))
        S = H @ self.P @ H.T + R
        try:
            S_inv = np.linalg.inv(S)
        except np.linalg.LinAlgError:
            return UpdateResult(Outcome.GATED, math.inf)
        d2 = float(innov @ S_inv @ innov)
        if gate_chi2 is not None and not d2 <= gate_chi2:
            return UpdateResult(Outcome.GATED, d2)
        K = self.P @ H.T @ S_inv
        self.x = self.x + K @ innov
        self.x[YAW] = _wrap(float(self.x[YAW]))
        I_KH = np.eye(N_STATE) - K @ H
        self.P = I_KH @ self.P @ I_KH.T + K @ R @ K.T  # Joseph form: stays symmetric positive definite
        return UpdateResult(Outcome.ACCEPTED, d2)

    def check_wheel_speed(self, speed_mps: float) -> Outcome:
        """ACCEPTED for a finite wheel speed within the physical limit (before the gate)."""
        if not math.isfinite(speed_mps):
            return Outcome.NON_FINITE
        if abs(speed_mps) > self.p.max_wheel_speed_mps:
            return Outcome.OUT_OF_RANGE
        return Outcome.ACCEPTED

    def update_wheel_speed(self, now_ns: int, speed_mps: float) -> UpdateResult:
        """Fuse a wheel speed (m/s) that is finite, within ``max_wheel_speed_mps`` and inside the gate."""
        outcome = self.check_wheel_speed(speed_mps)
        if outcome is not Outcome.ACCEPTED:
            return UpdateResult(outcome, math.inf)
        self.predict(now_ns)
        H = np.zeros((1, N_STATE))
        H[0, V] = 1.0
        sigma = self.p.wheel_speed_sigma_mps + self.p.wheel_speed_scale_sigma * abs(speed_mps)
        return self._update(np.array([speed_mps]), self.x[[V]], H, np.array([[sigma**2]]),
                            gate_chi2=self.p.wheel_speed_gate_chi2)

    def update_gyro(self, now_ns: int, yaw_rate_rps: float) -> None:
        self.predict(now_ns)
        H = np.zeros((1, N_STATE))
        H[0, W] = 1.0
        H[0, B] = 1.0
        self._update(np.array([yaw_rate_rps]), np.array([self.x[W] + self.x[B]]), H,
                     np.array([[self.p.gyro_sigma_rps**2]]))

    def update_steering(self, now_ns: int, speed_mps: float, steer_rad: float) -> None:
        self.predict(now_ns)
        w_model = speed_mps * math.tan(steer_rad) / self.p.wheelbase_m
        H = np.zeros((1, N_STATE))
        H[0, W] = 1.0
        sigma = self.p.steer_yaw_rate_sigma_rps + 0.1 * abs(w_model)
        self._update(np.array([w_model]), self.x[[W]], H, np.array([[sigma**2]]))

    def update_gnss(self, now_ns: int, x_m: float, y_m: float, cov: np.ndarray | None) -> UpdateResult:
        """Fuse a GNSS antenna position (map frame); ``cov`` (2, 2) m^2 or None for the configured sigma."""
        self.predict(now_ns)
        p = self.p
        if cov is None or not np.isfinite(cov).all():
            R = np.eye(2) * p.gnss_sigma_m**2
        else:
            R = np.array(cov, dtype=np.float64).reshape(2, 2)
            R = 0.5 * (R + R.T) + np.eye(2) * p.gnss_min_sigma_m**2
        c, s = math.cos(float(self.x[YAW])), math.sin(float(self.x[YAW]))
        lx, ly = self.antenna_m
        hx = np.array([self.x[X] + c * lx - s * ly, self.x[Y] + s * lx + c * ly])
        H = np.zeros((2, N_STATE))
        H[0, X] = H[1, Y] = 1.0
        H[0, YAW] = -s * lx - c * ly
        H[1, YAW] = c * lx - s * ly
        return self._update(np.array([x_m, y_m]), hx, H, R, gate_chi2=p.gnss_gate_chi2)

    def base_from_antenna(self, x_m: float, y_m: float, yaw_rad: float) -> tuple[float, float]:
        """base_link position of a vehicle heading ``yaw_rad`` whose antenna is at (x_m, y_m)."""
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        lx, ly = self.antenna_m
        return x_m - (c * lx - s * ly), y_m - (s * lx + c * ly)

    def position_sigma_m(self) -> float:
        """Square root of the largest eigenvalue of the position covariance (m)."""
        return float(math.sqrt(max(np.linalg.eigvalsh(self.P[:2, :2])[-1], 0.0)))
