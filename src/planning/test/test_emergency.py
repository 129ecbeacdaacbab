"""Emergency-vehicle behaviour: every transition, relevance, pull-over geometry."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_planning.behaviours import emergency as em
from lsv_planning.behaviours.emergency import EmergencyPhase, EmergencyState, EmergencyVehicle
from lsv_planning.inputs import (
    CLASS_CAR,
    CLASS_EMERGENCY_VEHICLE,
    HINT_EMERGENCY_VEHICLE,
    NS,
    EgoState,
    Hint,
    TrackedObj,
)

EGO = EgoState(0.0, 0.0, 0.0, 3.0, 0)


def test_normal_to_yielding_fixes_the_stop_point():
    s = em.transition(EmergencyState(), True, 5 * NS, 100.0, 12.0, 3.0)
    assert s.phase == EmergencyPhase.YIELDING and s.start_s == 100.0 and s.stop_s == 112.0


def test_normal_stays_normal_without_emergency_vehicle():
    assert em.transition(EmergencyState(), False, 0, 0.0, 12.0, 3.0) == EmergencyState()


def test_yielding_stays_while_relevant():
    s = EmergencyState(EmergencyPhase.YIELDING, 100.0, 112.0)
    assert em.transition(s, True, NS, 105.0, 12.0, 3.0) == s


def test_yielding_to_clearing_starts_the_timer():
    s = em.transition(EmergencyState(EmergencyPhase.YIELDING, 100.0, 112.0), False, 7 * NS, 112.0, 12.0, 3.0)
    assert s.phase == EmergencyPhase.CLEARING and s.clear_since_ns == 7 * NS and s.stop_s == 112.0


def test_clearing_back_to_yielding_keeps_the_stop_point():
    s = em.transition(EmergencyState(EmergencyPhase.CLEARING, 100.0, 112.0, 7 * NS), True, 8 * NS, 112.0, 12.0, 3.0)
    assert s.phase == EmergencyPhase.YIELDING and s.stop_s == 112.0


def test_clearing_waits_then_returns_to_normal():
    c = EmergencyState(EmergencyPhase.CLEARING, 100.0, 112.0, 7 * NS)
    assert em.transition(c, False, 9 * NS, 112.0, 12.0, 3.0) == c
    n = em.transition(c, False, 10 * NS, 112.0, 12.0, 3.0)
    assert n.phase == EmergencyPhase.NORMAL and n.release_s == 112.0


def test_relevance():
    behind = EmergencyVehicle(-40.0, 0.0, 9.0, 0.0, None, "amb")
    assert em.relevant(behind, EGO, 80.0, 15.0, 3.0)  # closing in from behind
    far = EmergencyVehicle(-200.0, 0.0, 9.0, 0.0, None, "amb")
    assert not em.relevant(far, EGO, 80.0, 15.0, 3.0)
    passed = EmergencyVehicle(20.0, 0.0, 9.0, 0.0, None, "amb")
    assert not em.relevant(passed, EGO, 80.0, 15.0, 3.0)  # ahead and moving away
    diverging = EmergencyVehicle(-40.0, 30.0, 0.0, 9.0, False, "v2x")
    assert not em.relevant(diverging, EGO, 80.0, 15.0, 3.0)
    # near: a V2X-announced one (siren on) standing or not, a tracked one only while it moves; a standing
    # track may be a parked ambulance or a van the classifier takes for one: passed as an obstacle
    near_v2x = EmergencyVehicle(5.0, 3.0, 0.0, 0.0, False, "v2x")
    assert em.relevant(near_v2x, EGO, 80.0, 15.0, 3.0)
    near_moving = EmergencyVehicle(5.0, 3.0, 0.0, 2.0, None, "amb")
    assert em.relevant(near_moving, EGO, 80.0, 15.0, 3.0)
    near_still = EmergencyVehicle(5.0, 3.0, 0.0, 0.0, None, "amb")
    assert not em.relevant(near_still, EGO, 80.0, 15.0, 3.0)
    parked_beside = EmergencyVehicle(2.0, -2.4, 0.2, -0.1, None, "track 14")  # velocity noise of a parked van
    assert not em.relevant(parked_beside, EGO, 80.0, 15.0, 3.0)
    # the vehicle driving towards one never makes it relevant: standing at an incident ahead, or ahead in
    # the same direction and slower (the obstacle behaviour stops or follows behind it)
    standing_ahead = EmergencyVehicle(60.0, 0.0, 0.0, 0.0, None, "amb")
    assert not em.relevant(standing_ahead, EGO, 80.0, 15.0, 3.0)
    slower_ahead = EmergencyVehicle(40.0, 0.0, 2.0, 0.0, None, "amb")
    assert not em.relevant(slower_ahead, EGO, 80.0, 15.0, 3.0)
    oncoming = EmergencyVehicle(60.0, 3.5, -9.0, 0.0, None, "amb")
    assert em.relevant(oncoming, EGO, 80.0, 15.0, 3.0)


def test_collect_from_hints_and_tracks():
    hints = [Hint(HINT_EMERGENCY_VEHICLE, -30.0, 0.0, 10 * NS, time_to_path=2.0),
             Hint(HINT_EMERGENCY_VEHICLE, -30.0, 0.0, 1 * NS)]  # expired
    objs = [TrackedObj(1, CLASS_EMERGENCY_VEHICLE, -20.0, 0.0, 0.0, 8.0, 0.0, 5.0, 2.0),
            TrackedObj(2, CLASS_CAR, -20.0, 0.0, 0.0, 8.0, 0.0, 5.0, 2.0)]
    evs = em.collect(hints, objs, 5 * NS)
    assert [e.converging for e in evs] == [True, None]
    # a sliver of a parked van's side (a few lidar returns at a grazing angle) is no vehicle, whatever its class
    sliver = TrackedObj(3, CLASS_EMERGENCY_VEHICLE, 8.0, -2.4, 0.0, -0.9, 0.2, 0.1, 0.1)
    assert em.collect([], [sliver], 5 * NS) == []


def test_pull_over_shifts_right_within_the_lane():
    off = em.pull_over_offset(3.5, 1.4, 1.0)
    assert off == pytest.approx(0.85)
    assert em.pull_over_offset(1.6, 1.4, 1.0) == 0.0
    s = np.array([100.0, 106.0, 112.0, 130.0])
    lat = em.lateral_offset(EmergencyState(EmergencyPhase.YIELDING, 100.0, 112.0), s, off, 12.0)
    np.testing.assert_allclose(lat, [0.0, -off / 2, -off, -off])
    back = em.lateral_offset(EmergencyState(release_s=112.0), s, off, 12.0)
    np.testing.assert_allclose(back, [-off, -off, -off, 0.0])
    assert em.stop_point(EmergencyState(), 0) is None
    assert em.stop_point(EmergencyState(EmergencyPhase.YIELDING, 100.0, 112.0), 1).s == 112.0


def test_keep_clear_stops_before_a_junction_on_the_way():
    y = EmergencyState(EmergencyPhase.YIELDING, 100.0, 112.0)
    sp = em.keep_clear(y, [(110.0, "stop line 10099")], 100.0, 2.45, 1.0, 1.0)
    assert sp is not None and sp.s == pytest.approx(110.0 - 2.45 - 0.5) and "stop line" in sp.detail
    assert em.keep_clear(y, [(120.0, "crosswalk 3002")], 100.0, 2.45, 1.0, 1.0) is None  # beyond the stop
    assert em.keep_clear(y, [(101.0, "crosswalk 3002")], 100.0, 2.45, 1.0, 1.0) is None  # front already on it
    assert em.keep_clear(y, [(106.0, "stop line")], 100.0, 2.45, 4.0, 1.0) is None  # too close for a comfortable stop
    assert em.keep_clear(EmergencyState(), [(110.0, "x")], 100.0, 2.45, 1.0, 1.0) is None
