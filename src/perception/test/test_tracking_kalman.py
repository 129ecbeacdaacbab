"""Batched coordinated-turn / constant-velocity Kalman filter and the gated association."""

import math

import numpy as np
import pytest

from lsv_perception.tracking import kalman
from lsv_perception.tracking.association import FORBIDDEN, assign, gated_cost


def _state(x, y, vx, vy, w=0.0):
    return np.array([[x, y, vx, vy, w]], float), np.eye(5)[None] * 0.01


def test_cv_prediction_moves_in_a_straight_line():
    x, p = _state(1.0, 2.0, 3.0, -1.0)
    xn, pn = kalman.predict(x, p, 0.5, np.array([1.0]), np.array([0.0]), np.array([False]))
    np.testing.assert_allclose(xn[0], [2.5, 1.5, 3.0, -1.0, 0.0])
    assert pn[0, 0, 0] > p[0, 0, 0] and pn[0, 4, 4] == 0.0  # uncertainty grows; no turn rate in CV


def test_constant_turn_prediction_stays_on_the_circle():
    # speed 5 m/s, turn rate 0.5 rad/s: a circle of radius 10 m around (0, 10)
    x, p = _state(0.0, 0.0, 5.0, 0.0, 0.5)
    for _ in range(20):
        x, p = kalman.predict(x, p, 0.1, np.array([1.0]), np.array([0.3]), np.array([True]))
    assert math.hypot(x[0, 0], x[0, 1] - 10.0) == pytest.approx(10.0)
    assert math.atan2(x[0, 3], x[0, 2]) == pytest.approx(1.0)  # heading turned by w * t
    assert math.hypot(x[0, 2], x[0, 3]) == pytest.approx(5.0)


def test_turn_jacobian_matches_finite_differences():
    x0 = np.array([[1.0, -2.0, 3.0, 1.5, 0.4]])
    p = np.eye(5)[None]
    dt = 0.1
    # F from predict: recover it through P' = F P F^T with P = I and zero process noise
    _, pn = kalman.predict(x0, p, dt, np.array([0.0]), np.array([0.0]), np.array([True]))
    numeric = np.zeros((5, 5))
    eps = 1e-6
    for j in range(5):
        d = np.zeros((1, 5))
        d[0, j] = eps
        xp, _ = kalman.predict(x0 + d, p, dt, np.array([0.0]), np.array([0.0]), np.array([True]))
        xm, _ = kalman.predict(x0 - d, p, dt, np.array([0.0]), np.array([0.0]), np.array([True]))
        numeric[:, j] = (xp[0] - xm[0]) / (2 * eps)
    np.testing.assert_allclose(pn[0], numeric @ numeric.T, atol=1e-6)


def test_small_turn_rate_uses_the_straight_line_limit():
    a, b, _, _, _, db = kalman.turn_terms(np.array([0.0, 1e-7, 1e-3]), 0.1)
    np.testing.assert_allclose(a, 0.1, atol=1e-6)
    np.testing.assert_allclose(b, 0.0, atol=1e-5)
    np.testing.assert_allclose(db, 0.005, atol=1e-5)


def test_update_pulls_towards_the_measurement_and_shrinks_covariance():
    x, p = _state(0.0, 0.0, 0.0, 0.0)
    p = np.eye(5)[None] * 1.0
    xn, pn = kalman.update(x, p, np.array([[1.0, 0.0]]), np.array([1.0]))
    assert xn[0, 0] == pytest.approx(0.5)
    assert pn[0, 0, 0] == pytest.approx(0.5)
    assert np.allclose(pn[0], pn[0].T)


def test_mahalanobis_distances_of_all_pairs():
    x = np.array([[0.0, 0.0, 0, 0, 0], [10.0, 0.0, 0, 0, 0]])
    p = np.stack([np.eye(5) * 1.0, np.eye(5) * 4.0])
    z = np.array([[1.0, 0.0], [10.0, 2.0]])
    d2 = kalman.innovation_d2(x, p, z, np.array([0.0, 0.0]))
    np.testing.assert_allclose(d2, [[1.0, 104.0], [81.0 / 4.0, 1.0]])


def test_gate_and_class_penalty_then_hungarian():
    d2 = np.array([[1.0, 2.0], [1.5, 50.0]])
    dist = np.array([[1.0, 1.0], [1.0, 1.0]])
    cost = gated_cost(d2, dist, 13.8, np.array([3.0, 3.0]), np.array([1, 3]), np.array([1, 3]), 4.0)
    assert cost[1, 1] == FORBIDDEN               # outside the chi-square gate
    assert cost[0, 1] == 2.0 + 4.0               # vehicle track, pedestrian measurement: penalty
    rows, cols = assign(cost)
    # the greedy choice (0, 0) would leave track 1 without its only candidate
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 1), (1, 0)]
    far = gated_cost(d2, dist * 5.0, 13.8, np.array([3.0, 3.0]), np.array([0, 0]), np.array([0, 0]), 4.0)
    assert (far == FORBIDDEN).all()             # beyond gate_m
    assert assign(np.zeros((0, 3)))[0].size == 0
