"""Speed limits: vehicle (hard cap 25 km/h), map, V2X zones, hazards, curves."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_planning.behaviours import speed_limit as sl
from lsv_planning.inputs import HINT_PEDESTRIAN_CROSSING, HINT_ROAD_HAZARD, HINT_SPEED_LIMIT, NS, Hint
from lsv_planning.params import HARD_SPEED_CAP_MPS

KW = dict(max_speed=15 / 3.6, max_lat_accel=1.0, min_curve_speed=1.5, hazard_speed=1.5)


def test_vehicle_limit_and_hard_cap(straight_window):
    cap, which = sl.speed_caps(straight_window(), [], 0, **KW)
    assert np.all(cap == pytest.approx(15 / 3.6)) and np.all(which == 0)
    cap, _ = sl.speed_caps(straight_window(), [], 0, **{**KW, "max_speed": 40.0})
    assert cap.max() == pytest.approx(HARD_SPEED_CAP_MPS)


def test_map_limit_binds_when_lower(straight_window):
    cap, which = sl.speed_caps(straight_window(limit=2.5), [], 0, **KW)
    assert np.all(cap == 2.5) and sl.SOURCES[which[0]] == "map"


def test_v2x_speed_limit_zone_circle_and_polygon(straight_window):
    circle = Hint(HINT_SPEED_LIMIT, 40.0, 0.0, 10 * NS, radius=5.0, speed_limit_mps=2.0)
    cap, which = sl.speed_caps(straight_window(), [circle], 0, **KW)
    w = straight_window()
    inside = np.abs(w.s - 40.0) <= 5.0
    assert np.all(cap[inside] == 2.0) and np.all(cap[~inside] == pytest.approx(15 / 3.6))
    assert sl.SOURCES[which[np.argmax(inside)]] == "v2x_speed_limit"
    poly = Hint(HINT_SPEED_LIMIT, 0.0, 0.0, 10 * NS, zone=np.array([[10, -2], [20, -2], [20, 2], [10, 2]], float),
                speed_limit_mps=1.0)
    cap, _ = sl.speed_caps(w, [poly], 0, **KW)
    assert cap[(w.s > 10.5) & (w.s < 19.5)].max() == 1.0 and cap[w.s > 21].min() > 4.0


def test_hint_cannot_raise_a_limit_and_expired_ones_are_ignored(straight_window):
    faster = Hint(HINT_SPEED_LIMIT, 40.0, 0.0, 10 * NS, radius=100.0, speed_limit_mps=6.0)
    cap, _ = sl.speed_caps(straight_window(limit=3.0), [faster], 0, **KW)
    assert cap.max() == 3.0
    expired = Hint(HINT_SPEED_LIMIT, 40.0, 0.0, 1 * NS, radius=100.0, speed_limit_mps=1.0)
    cap, _ = sl.speed_caps(straight_window(), [expired], 2 * NS, **KW)
    assert cap.min() == pytest.approx(15 / 3.6)
    other = Hint(HINT_PEDESTRIAN_CROSSING, 40.0, 0.0, 10 * NS, radius=100.0, speed_limit_mps=1.0)
    assert sl.speed_caps(straight_window(), [other], 0, **KW)[0].min() == pytest.approx(15 / 3.6)


def test_hazard_zone(straight_window):
    hz = Hint(HINT_ROAD_HAZARD, 40.0, 0.0, 10 * NS, radius=3.0)
    cap, which = sl.speed_caps(straight_window(), [hz], 0, **KW)
    assert cap.min() == 1.5 and sl.SOURCES[which[np.argmin(cap)]] == "v2x_hazard"


def test_curve_limit(straight_window):
    cap, which = sl.speed_caps(straight_window(curvature=0.1), [], 0, **KW)
    assert cap[0] == pytest.approx(np.sqrt(10.0)) and sl.SOURCES[which[0]] == "curve"
    cap, _ = sl.speed_caps(straight_window(curvature=2.0), [], 0, **KW)
    assert cap[0] == 1.5  # never below min_curve_speed
