"""Traffic-light behaviour: every transition of the per-stop-line state machine, signal timing, matching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_planning.behaviours import traffic_light as tl
from lsv_planning.behaviours.traffic_light import LightDecision, LightInputs, LineAhead
from lsv_planning.inputs import (
    NS,
    STATE_DARK,
    STATE_PERMISSIVE_GREEN,
    STATE_PROTECTED_GREEN,
    STATE_RED,
    STATE_UNAVAILABLE,
    STATE_YELLOW,
    Signal,
)
from lsv_planning.lanelet_map import SignalStopLine

COMFORT, HARD = 1.0, 3.0


def u(green=False, changing=False, decel=0.5):
    return LightInputs(green, changing, decel, COMFORT, HARD)


# -- transitions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("prev", [None, LightDecision.STOP, LightDecision.GO, LightDecision.COMMITTED])
def test_any_to_go_when_green_on_arrival(prev):
    assert tl.transition(prev, u(green=True, decel=math.inf)) == LightDecision.GO


@pytest.mark.parametrize("prev", [None, LightDecision.GO, LightDecision.COMMITTED])
def test_dilemma_zone_commits(prev):
    # light changing (yellow) and a stop would need 1.5 m/s^2 > comfortable: proceed
    assert tl.transition(prev, u(changing=True, decel=1.5)) == LightDecision.COMMITTED


def test_stop_stays_stop_in_dilemma_range():
    # already decided to stop: keep stopping (the stop is feasible within the hard limit)
    assert tl.transition(LightDecision.STOP, u(changing=True, decel=1.5)) == LightDecision.STOP


@pytest.mark.parametrize("prev", [None, LightDecision.GO, LightDecision.COMMITTED, LightDecision.STOP])
def test_comfortable_stop_possible_means_stop(prev):
    assert tl.transition(prev, u(changing=True, decel=0.8)) == LightDecision.STOP
    assert tl.transition(prev, u(changing=False, decel=0.8)) == LightDecision.STOP


def test_committed_stays_committed_when_the_light_turns_red():
    assert tl.transition(LightDecision.COMMITTED, u(changing=False, decel=2.0)) == LightDecision.COMMITTED


def test_red_needing_hard_braking_still_stops():
    assert tl.transition(LightDecision.GO, u(changing=False, decel=2.5)) == LightDecision.STOP
    assert tl.transition(None, u(changing=False, decel=2.5)) == LightDecision.STOP


@pytest.mark.parametrize("prev", [None, LightDecision.GO, LightDecision.STOP])
def test_red_beyond_the_hardest_braking_proceeds(prev):
    assert tl.transition(prev, u(changing=False, decel=4.0)) == LightDecision.COMMITTED


# -- timing --------------------------------------------------------------------------------------
NOW = 1_000 * NS


def sig(state, min_end=0.0, likely=0.0, max_end=0.0, **kw):
    """A V2X state with its timing, from an authenticated SPaT unless said otherwise (an unauthenticated
    green counts only with a camera green: test_v2x_authentication.py)."""
    kw.setdefault("authenticated", True)
    f = lambda x: NOW + int(x * NS) if x else 0  # noqa: E731
    return Signal(101, 2, state, min_end_ns=f(min_end), likely_end_ns=f(likely), max_end_ns=f(max_end), **kw)


def test_green_lasting_past_arrival():
    assert tl.green_on_arrival([sig(STATE_PROTECTED_GREEN, min_end=20)], NOW, 10.0, 1.0) == (True, True)
    assert tl.green_on_arrival([sig(STATE_PERMISSIVE_GREEN)], NOW, 10.0, 1.0) == (True, True)  # end unknown


def test_green_ending_before_arrival():
    assert tl.green_on_arrival([sig(STATE_PROTECTED_GREEN, min_end=5)], NOW, 10.0, 1.0) == (False, True)


def test_red_ending_before_arrival_counts_as_green_on_arrival():
    assert tl.green_on_arrival([sig(STATE_RED, max_end=5)], NOW, 10.0, 1.0) == (True, False)
    assert tl.green_on_arrival([sig(STATE_RED, max_end=12)], NOW, 10.0, 1.0) == (False, False)
    assert tl.green_on_arrival([sig(STATE_RED)], NOW, 10.0, 1.0) == (False, False)  # end unknown


def test_yellow_unknown_and_no_signal_are_not_green():
    assert tl.green_on_arrival([sig(STATE_YELLOW, min_end=30)], NOW, 1.0, 0.0) == (False, True)
    assert tl.green_on_arrival([sig(STATE_UNAVAILABLE)], NOW, 1.0, 0.0)[0] is False
    assert tl.green_on_arrival([sig(STATE_DARK)], NOW, 1.0, 0.0)[0] is False
    assert tl.green_on_arrival([], NOW, 1.0, 0.0) == (False, False)


def test_all_matched_signals_must_be_green():
    both = [sig(STATE_PROTECTED_GREEN), sig(STATE_RED)]
    assert tl.green_on_arrival(both, NOW, 5.0, 0.0)[0] is False


def test_arrival_time():
    assert tl.arrival_time_s(40.0, 4.0, 4.0, 1.0) == pytest.approx(10.0)
    assert tl.arrival_time_s(2.0, 0.0, 4.0, 1.0) == pytest.approx(2.0)  # 0.5 a t^2 = 2
    assert tl.arrival_time_s(0.0, 0.0, 4.0, 1.0) == 0.0


# -- matching and evaluation ---------------------------------------------------------------------
LINE = SignalStopLine(5003, 10059, np.array([[-12.0, 0.0], [-12.0, -3.5]]), 101, 2, (1016,))


def test_matching_by_lanelet_or_intersection_and_phase():
    assert tl.matches(LINE, Signal(101, 2, STATE_RED))
    assert tl.matches(LINE, Signal(999, 9, STATE_RED, lanelet_id=1016))
    assert not tl.matches(LINE, Signal(101, 4, STATE_RED))
    assert not tl.matches(LINE, Signal(103, 2, STATE_RED))


def run(signals, ego_s=0.0, speed=4.0, prev=None, perceived=None):
    return tl.evaluate([LineAhead(LINE, 50.0)], prev or {}, signals, NOW, ego_s, speed, 4.0, front_m=2.45,
                       margin_m=0.5, accel=0.8, comfort_decel=COMFORT, max_decel=HARD, time_margin_s=1.0,
                       perceived=perceived)


def test_red_light_gives_a_stop_before_the_line_with_the_front_bumper():
    stops, dec, report = run([sig(STATE_RED, max_end=60)])
    assert len(stops) == 1 and stops[0].reason == "red_light"
    assert stops[0].s == pytest.approx(50.0 - 0.5 - 2.45)
    assert dec[10059] == LightDecision.STOP and report[0]["decision"] == "stop"


def test_no_signal_is_unknown_and_stops():
    for signals in (None, [], [Signal(103, 1, STATE_PROTECTED_GREEN)]):
        stops, _, _ = run(signals)
        assert [s.reason for s in stops] == ["unknown_signal"]


def test_green_light_no_stop():
    stops, dec, _ = run([sig(STATE_PROTECTED_GREEN, min_end=60)])
    assert stops == [] and dec[10059] == LightDecision.GO


def test_yellow_close_to_the_line_proceeds_far_from_it_stops():
    stops, dec, _ = run([sig(STATE_YELLOW, min_end=3)], ego_s=42.0, speed=4.0)  # 5 m to stop: 1.6 m/s^2
    assert stops == [] and dec[10059] == LightDecision.COMMITTED
    stops, dec, _ = run([sig(STATE_YELLOW, min_end=3)], ego_s=20.0, speed=4.0)  # 27 m: 0.3 m/s^2
    assert len(stops) == 1 and dec[10059] == LightDecision.STOP


def test_passed_line_is_dropped():
    stops, dec, report = run([sig(STATE_RED)], ego_s=50.0)
    assert stops == [] and dec == {} and report == []


# -- V2X and the camera ----------------------------------------------------------------------------
def seen(state):
    """A light state perceived by the camera: the colour now, no timing, matched by lanelet."""
    return Signal(101, 2, state, lanelet_id=1016)


def test_the_camera_alone_decides_without_v2x():
    stops, dec, report = run(None, perceived=[seen(STATE_RED)])
    assert [s.reason for s in stops] == ["red_light"] and report[0]["sources"] == ["camera"]
    stops, dec, _ = run(None, perceived=[seen(STATE_PERMISSIVE_GREEN)])
    assert stops == [] and dec[10059] == LightDecision.GO
    stops, _, _ = run(None, perceived=[seen(STATE_YELLOW)])  # 50 m ahead: a comfortable stop
    assert [s.reason for s in stops] == ["red_light"]


def test_a_perceived_red_stops_the_vehicle_whatever_v2x_says():
    stops, dec, report = run([sig(STATE_PROTECTED_GREEN, min_end=60)], perceived=[seen(STATE_RED)])
    assert [s.reason for s in stops] == ["red_light"] and dec[10059] == LightDecision.STOP
    assert report[0]["sources"] == ["v2x", "camera"]


def test_a_perceived_green_never_overrides_a_v2x_red():
    stops, _, _ = run([sig(STATE_RED, max_end=60)], perceived=[seen(STATE_PERMISSIVE_GREEN)])
    assert [s.reason for s in stops] == ["red_light"]


def test_where_both_agree_the_v2x_timing_counts():
    # red now, green 3 s from now, the line 12 s away: V2X alone lets the vehicle drive on; the camera
    # seeing the same red (no timing) must not turn that into a stop
    v2x = [sig(STATE_RED, max_end=3)]
    assert run(v2x)[0] == []
    stops, dec, _ = run(v2x, perceived=[seen(STATE_RED)])
    assert stops == [] and dec[10059] == LightDecision.GO


def test_fuse_keeps_a_contradiction_and_drops_an_agreement():
    v2x = [sig(STATE_PROTECTED_GREEN, min_end=20)]
    assert tl.fuse(v2x, [seen(STATE_PERMISSIVE_GREEN)]) == v2x
    assert tl.fuse(v2x, [seen(STATE_RED)]) == [*v2x, seen(STATE_RED)]
    assert tl.fuse([], [seen(STATE_RED)]) == [seen(STATE_RED)]
    assert [tl.colour(s) for s in (STATE_PERMISSIVE_GREEN, STATE_YELLOW, STATE_RED, STATE_DARK)] == [
        "green", "changing", "red", "unknown"]
