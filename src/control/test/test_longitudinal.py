"""Longitudinal core: DRIVE / HOLD transitions, feed-forward, hold, anti-windup."""

from __future__ import annotations

import math

import pytest

from lsv_control.longitudinal import LongInputs, LongState, LongStatus, grade_accel, transition, update
from lsv_control.sim_plant import default_params

P = default_params()[2]
DT = 0.02


def test_drive_to_hold_when_reference_and_speed_are_zero() -> None:
    assert transition(LongState.DRIVE, LongInputs(0.05, 0.0, 0.0, 0.0), P) is LongState.HOLD


def test_drive_stays_while_still_rolling() -> None:
    assert transition(LongState.DRIVE, LongInputs(0.5, 0.0, 0.0, 0.0), P) is LongState.DRIVE
    assert transition(LongState.DRIVE, LongInputs(0.05, 1.0, 0.0, 0.0), P) is LongState.DRIVE


def test_hold_to_drive_when_reference_rises() -> None:
    assert transition(LongState.HOLD, LongInputs(0.0, 1.0, 0.5, 0.0), P) is LongState.DRIVE


def test_hold_stays_with_small_reference() -> None:
    assert transition(LongState.HOLD, LongInputs(0.0, 0.1, 0.0, 0.0), P) is LongState.HOLD


def test_hold_requests_negative_accel_without_grade_feedforward() -> None:
    a, st = update(LongStatus(LongState.HOLD, 0.7), LongInputs(0.0, 0.0, 0.0, 0.12), DT, P)
    assert a == P.hold_accel_mps2 < 0.0
    assert st.integral == 0.0


def test_uphill_start_gets_the_grade_feedforward() -> None:
    a_flat, _ = update(LongStatus(LongState.HOLD), LongInputs(0.0, 1.0, 0.5, 0.0), DT, P)
    a_hill, _ = update(LongStatus(LongState.HOLD), LongInputs(0.0, 1.0, 0.5, 0.12), DT, P)
    assert a_hill - a_flat == pytest.approx(min(grade_accel(0.12), P.max_accel_mps2 - a_flat), abs=1e-9)
    assert grade_accel(0.12) == pytest.approx(9.81 * math.sin(math.atan(0.12)))


def test_uphill_feedforward_is_dropped_when_stopping() -> None:
    a_flat, _ = update(LongStatus(LongState.DRIVE), LongInputs(0.3, 0.0, 0.0, 0.0), DT, P)
    a_hill, _ = update(LongStatus(LongState.DRIVE), LongInputs(0.3, 0.0, 0.0, 0.12), DT, P)
    a_down, _ = update(LongStatus(LongState.DRIVE), LongInputs(0.3, 0.0, 0.0, -0.12), DT, P)
    assert a_hill == a_flat and a_down < a_flat


def test_integral_does_not_wind_up_in_saturation() -> None:
    st = LongStatus(LongState.DRIVE)
    for _ in range(500):
        a, st = update(st, LongInputs(0.0, 4.0, 0.0, 0.0), DT, P)
        assert a <= P.max_accel_mps2
    assert st.integral < P.integral_limit_mps2  # saturated by kp*err alone: no integration


def test_integral_is_bounded() -> None:
    st = LongStatus(LongState.DRIVE)
    for _ in range(5000):
        _, st = update(st, LongInputs(3.0, 3.2, 0.0, 0.0), DT, P)
    assert st.integral == pytest.approx(P.integral_limit_mps2)
