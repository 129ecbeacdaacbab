"""Vehicle dynamics core: grades and roll-back, brake hold, actuator lags and limits, bicycle kinematics."""

from __future__ import annotations

import math

import pytest

from lsv_sim.dynamics import Actuators, Dynamics, VehicleParams, VehicleState

DT = 0.01


def run(dyn: Dynamics, state: VehicleState, act: Actuators, grade: float, seconds: float) -> VehicleState:
    for _ in range(round(seconds / DT)):
        state = dyn.step(state, act, grade, DT)
    return state


def test_defaults_are_the_delivery_vehicle() -> None:
    p = VehicleParams()
    assert p.mass_kg == 1200.0 and p.wheelbase_m == 1.9


def test_rolls_back_on_a_15_percent_hill_when_nothing_holds_it() -> None:
    dyn = Dynamics()
    s = run(dyn, VehicleState(), Actuators(), grade=0.15, seconds=2.0)
    assert s.speed_mps < -1.0 and s.x_m < -1.0
    # expected acceleration: gravity down the slope, rolling resistance against the motion, a little drag
    theta = math.atan(0.15)
    expected = -9.81 * (math.sin(theta) - 0.015 * math.cos(theta))
    assert s.speed_mps == pytest.approx(expected * 2.0, rel=0.05)


def test_brake_holds_on_a_15_percent_hill_both_ways() -> None:
    dyn = Dynamics()
    held = VehicleState(brake_force_n=9000.0)
    for grade in (0.15, -0.15):
        s = run(dyn, held, Actuators(brake_force_n=9000.0), grade, 3.0)
        assert s.speed_mps == 0.0 and abs(s.x_m) < 1e-9


def test_rolling_resistance_holds_on_a_gentle_slope() -> None:
    s = run(Dynamics(), VehicleState(), Actuators(), grade=0.01, seconds=2.0)
    assert s.speed_mps == 0.0


def test_motor_climbs_the_hill_and_drag_limits_top_speed() -> None:
    dyn = Dynamics()
    climb = run(dyn, VehicleState(), Actuators(drive_force_n=4500.0), grade=0.15, seconds=3.0)
    assert climb.speed_mps > 3.0
    flat = run(dyn, VehicleState(), Actuators(drive_force_n=500.0), grade=0.0, seconds=400.0)
    # terminal speed where 500 N = rolling + drag
    v_term = math.sqrt((500.0 - 0.015 * 1200 * 9.81) / (0.5 * 1.2 * 1.6))
    assert flat.speed_mps == pytest.approx(v_term, rel=0.02)


def test_motor_force_is_a_first_order_lag() -> None:
    dyn = Dynamics()
    s = run(dyn, VehicleState(), Actuators(drive_force_n=2000.0), 0.0, 0.15)  # one time constant
    assert s.drive_force_n == pytest.approx(2000.0 * (1 - math.exp(-1)), rel=0.02)


def test_braking_stops_without_reversing() -> None:
    dyn = Dynamics()
    s = run(dyn, VehicleState(speed_mps=4.0), Actuators(brake_force_n=3600.0), 0.0, 4.0)
    assert s.speed_mps == 0.0
    # 3 m/s^2 of brake + rolling resistance, 0.1 s brake lag: about v^2 / 2a + lag distance
    assert 2.2 < s.x_m < 3.2


def test_steering_rate_limit_and_bicycle_yaw_rate() -> None:
    dyn = Dynamics()
    s = dyn.step(VehicleState(speed_mps=2.0), Actuators(drive_force_n=200.0, steer_rad=0.5, steer_rate_rps=0.3),
                 0.0, 0.1)
    assert s.steer_rad == pytest.approx(0.03, abs=1e-9)  # rate limited to 0.3 rad/s
    s = run(dyn, VehicleState(speed_mps=2.0), Actuators(drive_force_n=190.0, steer_rad=0.2), 0.0, 3.0)
    assert s.steer_rad == pytest.approx(0.2, abs=1e-3)
    assert s.yaw_rate_rps == pytest.approx(s.speed_mps * math.tan(0.2) / 1.9, rel=0.01)
    assert abs(s.y_m) > 0.1


def test_step_is_pure() -> None:
    dyn = Dynamics()
    s0 = VehicleState(speed_mps=1.0)
    act = Actuators(drive_force_n=1000.0, steer_rad=0.1)
    assert dyn.step(s0, act, 0.05, DT) == dyn.step(s0, act, 0.05, DT)
    assert dyn.step(s0, act, 0.05, 0.0) == s0
