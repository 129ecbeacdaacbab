"""Trajectory queries and pure pursuit geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_control.pure_pursuit import lookahead_distance, pure_pursuit, steering_to_point
from lsv_control.sim_plant import default_params, figure_eight, straight
from lsv_control.trajectory import TrajectoryArrays, interpolate, nearest_index, projection

P = default_params()[1]


def test_lookahead_grows_with_speed_and_is_bounded() -> None:
    assert lookahead_distance(P, 0.0) == P.min_lookahead_m
    assert lookahead_distance(P, 4.0) > lookahead_distance(P, 2.0)
    assert lookahead_distance(P, 1000.0) == P.max_lookahead_m


def test_steering_sign_and_straight() -> None:
    assert steering_to_point(P, 0.0, 0.0, 0.0, 5.0, 0.0) == 0.0
    assert steering_to_point(P, 0.0, 0.0, 0.0, 5.0, 1.0) > 0.0  # goal on the left: steer left
    assert steering_to_point(P, 0.0, 0.0, 0.0, 5.0, -1.0) < 0.0


def test_steering_on_a_circle_is_the_circle_curvature() -> None:
    r = 10.0
    t = np.linspace(0, math.pi, 400)
    traj = TrajectoryArrays.from_columns(r * np.sin(t), r - r * np.cos(t), t, np.full(t.shape, 2.0))
    delta, _, _ = pure_pursuit(P, traj, 0.0, 0.0, 0.0, 0.0, 2.0)
    assert delta == pytest.approx(math.atan(P.wheelbase_m / r), rel=0.02)


def test_projection_lateral_sign() -> None:
    traj = straight(10.0, 2.0)
    s, lat = projection(traj, 4, 2.1, 0.3)
    assert s == pytest.approx(2.1) and lat == pytest.approx(0.3)
    assert projection(traj, 4, 2.1, -0.3)[1] == pytest.approx(-0.3)


def test_nearest_index_does_not_jump_branches_at_the_crossing() -> None:
    loop = figure_eight(15.0, 3.0)
    i0 = 0  # at the origin heading north-east; the other branch crosses heading south-east... (90 deg)
    heading = float(loop.yaw_rad[i0])
    i = nearest_index(loop, 0.05, -0.05, heading, 1.0)
    assert i is not None
    assert abs(((loop.yaw_rad[i] - heading + math.pi) % (2 * math.pi)) - math.pi) < 0.3


def test_interpolate_beyond_the_end_extends_straight() -> None:
    traj = straight(10.0, 2.0)
    x, y, yaw, v, _, _ = interpolate(traj, 12.0)
    assert x == pytest.approx(12.0) and y == 0.0 and yaw == 0.0 and v == traj.speed_mps[-1]


def test_invalid_trajectory_detected() -> None:
    traj = straight(10.0, 2.0)
    bad = TrajectoryArrays.from_columns(traj.x_m, traj.y_m, traj.yaw_rad, -traj.speed_mps)
    assert traj.valid() and not bad.valid()
