"""Velocity profile: exact stops, caps, acceleration and jerk limits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsv_planning.velocity import Limits, profile

LIM = Limits(accel=0.8, comfort_decel=1.0, max_decel=3.0, jerk=1.0)
S = np.arange(0.0, 80.0 + 1e-9, 0.5)
V15 = 15 / 3.6


def jerk(p):
    """Largest |da/dt| between samples, leaving out the final sample into the stop."""
    if len(p.t) < 4:
        return 0.0
    return float(np.max(np.abs(np.diff(p.a[:-1]) / np.diff(p.t[:-1]))))


def test_stops_exactly_at_the_stop_point():
    p = profile(S, np.full(len(S), V15), 40.3, 4.0, 0.0, LIM)
    assert p.s[-1] == pytest.approx(40.3) and p.v[-1] == 0.0
    assert np.all(p.v[:-1] > 0) and np.all(np.diff(p.s) > 0) and np.all(np.diff(p.t) > 0)
    assert p.a.min() >= -LIM.comfort_decel - 1e-6  # a comfortable stop when there is room
    assert jerk(p) <= LIM.jerk * 1.05  # 5 %: the forward pass estimates dt before it knows the next speed


def test_start_from_rest_respects_acceleration_jerk_and_cap():
    p = profile(S, np.full(len(S), V15), None, 0.0, 0.0, LIM)
    assert p.v.max() <= V15 + 1e-9 and p.v[-1] == pytest.approx(V15, abs=0.01)
    assert p.a.max() <= LIM.accel + 1e-6
    assert jerk(p) <= LIM.jerk * 1.05  # 5 %: the forward pass estimates dt before it knows the next speed
    assert p.t[-1] > 80.0 / V15


def test_close_stop_uses_harder_braking_up_to_the_limit():
    p = profile(S, np.full(len(S), V15), 5.0, 4.0, 0.0, LIM)
    assert p.s[-1] == pytest.approx(5.0) and p.v[-1] == 0.0
    assert LIM.comfort_decel < p.decel_used <= LIM.max_decel
    assert p.a.min() >= -LIM.max_decel - 1e-6


def test_stop_point_behind_is_an_immediate_stop():
    p = profile(S, np.full(len(S), V15), -1.0, 2.0, 0.0, LIM)
    assert len(p.s) == 1 and p.v[0] == 0.0 and p.a[0] == -LIM.max_decel
    held = profile(S, np.full(len(S), V15), 0.0, 0.0, 0.0, LIM)
    assert len(held.s) == 1 and held.a[0] == 0.0


def test_lower_cap_ahead_is_reached_before_it():
    cap = np.where(S >= 40.0, 2.0, V15)
    p = profile(S, cap, None, V15, 0.0, LIM)
    assert np.all(p.v <= cap[: len(p.v)] + 1e-9)
    assert p.v[S >= 40.0].max() <= 2.0 + 1e-9


def test_zero_cap_everywhere_holds():
    p = profile(S, np.zeros(len(S)), None, 0.0, 0.0, LIM)
    assert np.all(p.v == 0.0)


@settings(max_examples=60, deadline=None)
@given(v0=st.floats(0.0, 6.9), stop=st.one_of(st.none(), st.floats(0.5, 79.0)),
       caps=st.lists(st.floats(0.5, 6.9), min_size=4, max_size=4), a0=st.floats(-2.0, 0.8))
def test_properties(v0, stop, caps, a0):
    cap = np.repeat(np.asarray(caps), int(np.ceil(len(S) / 4)))[: len(S)]
    p = profile(S, cap, stop, v0, a0, LIM)
    # caps hold after the first sample (the vehicle is where it is, at its speed), or where the vehicle was
    # above one, it slows down to it at the comfortable deceleration
    idx = np.clip(np.searchsorted(S, p.s[1:], side="right") - 1, 0, len(S) - 1)
    relaxed = np.sqrt(np.maximum(v0 * v0 - 2.0 * LIM.comfort_decel * p.s[1:], 0.0))
    assert np.all(p.v[1:] <= np.maximum(cap[idx], relaxed) + 1e-6)
    assert np.all(p.v >= 0.0)
    assert p.a.max() <= LIM.accel + 1e-6
    assert p.a.min() >= -LIM.max_decel - 1e-6 or p.decel_used == LIM.max_decel
    if stop is not None and len(p.s) > 1:
        assert p.s[-1] == pytest.approx(stop) and p.v[-1] == 0.0
    assert np.all(np.diff(p.t) >= 0.0)


def test_already_above_a_cap_slows_down_comfortably():
    p = profile(S, np.full(len(S), 1.0), None, 4.0, 0.0, LIM)
    assert p.decel_used == LIM.comfort_decel and p.a.min() >= -LIM.comfort_decel - 1e-6
    assert p.v[-1] == pytest.approx(1.0)
