"""V2X is advice, never permission (safety review item 6): without a camera reading of the light, a
V2X green takes the vehicle over a signalised stop line only when the SPaT was authenticated (signed
by a road-side unit in the v2x_client's trust store: TrafficSignal.SOURCE_V2X_AUTHENTICATED); an
unauthenticated green (unsigned, or forged) leaves the vehicle approaching so that it can stop at the
line, and it crosses only on a camera green. A perceived red stops the vehicle whatever V2X says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_planning.behaviours import traffic_light as tl
from lsv_planning.behaviours.traffic_light import LightDecision, LineAhead
from lsv_planning.decision import DecisionState
from lsv_planning.inputs import (
    NS,
    STATE_PERMISSIVE_GREEN,
    STATE_PROTECTED_GREEN,
    STATE_RED,
    STATE_YELLOW,
    PlannerInputs,
    Signal,
    Stamped,
)
from lsv_planning.lanelet_map import SignalStopLine
from lsv_planning.mission import Goal, GoalKind
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner
from lsv_planning.toy_vehicle import ToyVehicle

NOW = 1_000 * NS
LINE = SignalStopLine(5003, 10059, np.array([[-12.0, 0.0], [-12.0, -3.5]]), 101, 2, (1016,))
STOP_LINE_X = -12.0  # the west light of intersection 101 (district map), eastbound approach
FRONT_M = 2.45
DT = 0.1


def v2x(state, authenticated: bool, min_end_s: float = 60.0) -> Signal:
    return Signal(101, 2, state, min_end_ns=NOW + int(min_end_s * NS), authenticated=authenticated)


def camera(state) -> Signal:
    """The colour the camera sees now (no timing), matched by lanelet."""
    return Signal(101, 2, state, lanelet_id=1016)


def run(signals=None, perceived=None, ego_s=0.0, speed=4.0, prev=None):
    return tl.evaluate([LineAhead(LINE, 50.0)], prev or {}, signals, NOW, ego_s, speed, 4.0, front_m=FRONT_M,
                       margin_m=0.5, accel=0.8, comfort_decel=1.0, max_decel=3.0, time_margin_s=1.0,
                       perceived=perceived)


# -- the decision per stop line ------------------------------------------------------------------
def test_unauthenticated_v2x_green_without_camera_stops_at_the_line():
    stops, dec, report = run([v2x(STATE_PROTECTED_GREEN, authenticated=False)])
    assert [s.reason for s in stops] == ["unknown_signal"] and dec[10059] == LightDecision.STOP
    assert stops[0].s == pytest.approx(50.0 - 0.5 - FRONT_M)  # the front bumper stops at the line
    assert report[0]["unconfirmed_v2x"] == 1  # said in the decision: a V2X green nobody vouches for


def test_authenticated_v2x_green_without_camera_crosses():
    stops, dec, report = run([v2x(STATE_PROTECTED_GREEN, authenticated=True)])
    assert stops == [] and dec[10059] == LightDecision.GO and report[0]["unconfirmed_v2x"] == 0


def test_camera_green_crosses_with_or_without_unauthenticated_v2x():
    for signals in (None, [v2x(STATE_PROTECTED_GREEN, authenticated=False)]):
        stops, dec, _ = run(signals, perceived=[camera(STATE_PERMISSIVE_GREEN)])
        assert stops == [] and dec[10059] == LightDecision.GO


def test_camera_red_with_authenticated_v2x_green_stops():
    stops, dec, _ = run([v2x(STATE_PROTECTED_GREEN, authenticated=True)], perceived=[camera(STATE_RED)])
    assert [s.reason for s in stops] == ["red_light"] and dec[10059] == LightDecision.STOP


def test_unauthenticated_v2x_red_still_stops():
    stops, _, _ = run([v2x(STATE_RED, authenticated=False)], perceived=[camera(STATE_PERMISSIVE_GREEN)])
    assert [s.reason for s in stops] == ["red_light"]


def test_unauthenticated_v2x_yellow_cannot_commit_the_vehicle_into_the_junction():
    # 5 m before the line at 4 m/s: a stop needs 1.6 m/s^2 (more than comfortable, less than the hardest).
    # An authenticated yellow there is the dilemma zone (proceed); a forged one must not be.
    _, dec, _ = run([v2x(STATE_YELLOW, authenticated=True, min_end_s=3.0)], ego_s=42.0)
    assert dec[10059] == LightDecision.COMMITTED
    stops, dec, _ = run([v2x(STATE_YELLOW, authenticated=False, min_end_s=3.0)], ego_s=42.0)
    assert dec[10059] == LightDecision.STOP and [s.reason for s in stops] == ["unknown_signal"]


# -- closed loop on the district map (planner + a vehicle that follows the plan exactly) -----------
DROP = Goal("parcel-drop", GoalKind.STOP, -1.75, -72.9, -math.pi / 2, dwell_s=2.0)


def drive(road_map, authenticated: bool, seconds: float = 30.0, camera_from_s: float | None = None) -> list:
    """40 m before the west light, a V2X green for phase 2 all along; the camera sees nothing, or a green
    from ``camera_from_s``. Returns (t, front bumper x, speed, decision) per cycle."""
    params = PlannerParams(map_path="package://lsv_sim/maps/district.osm", map_origin_lat_deg=30.2741,
                           map_origin_lon_deg=120.1551)
    planner = Planner(params, road_map, [DROP])
    car = ToyVehicle(-52.0, -1.75, 0.0, 4.0)
    trace = []
    for k in range(int(seconds / DT)):
        t, now = k * DT, k * int(DT * NS)
        sig = Signal(101, 2, STATE_PROTECTED_GREEN, min_end_ns=now + 30 * NS, authenticated=authenticated)
        seen = (Signal(101, 2, STATE_PROTECTED_GREEN),) if camera_from_s is not None and t >= camera_from_s else ()
        pts, dec = planner.plan(now, PlannerInputs(car.ego(now), Stamped(now, (sig,)), Stamped(now, ()),
                                                   Stamped(now, ()), perceived_signals=Stamped(now, seen)))
        trace.append((t, car.x + FRONT_M, car.v, dec))
        car.follow(pts)
    return trace


def test_forged_v2x_green_without_camera_holds_the_vehicle_at_the_stop_line(road_map):
    trace = drive(road_map, authenticated=False)
    assert max(x for _, x, _, _ in trace) <= STOP_LINE_X  # never over the line
    _, x, v, dec = trace[-1]
    assert v == 0.0 and x > STOP_LINE_X - 1.5 and dec.state == DecisionState.STOPPED
    assert dec.reason == "unknown_signal"


def test_forged_v2x_green_is_crossed_only_once_the_camera_sees_green(road_map):
    trace = drive(road_map, authenticated=False, camera_from_s=20.0)
    before = [x for t, x, _, _ in trace if t < 20.0]
    assert max(before) <= STOP_LINE_X and trace[-1][1] > STOP_LINE_X + 5.0


def test_authenticated_v2x_green_without_camera_drives_through(road_map):
    trace = drive(road_map, authenticated=True, seconds=20.0)
    assert trace[-1][1] > STOP_LINE_X + 5.0 and min(v for _, _, v, _ in trace[10:]) > 1.0  # no stop


# -- the message field that carries it ----------------------------------------------------------
def test_signals_from_msg_marks_only_authenticated_v2x_as_authenticated():
    from lsv_msgs.msg import TrafficSignal, TrafficSignalArray
    from lsv_planning.convert import signals_from_msg

    msg = TrafficSignalArray(signals=[TrafficSignal(intersection_id=101, phase_id=2, state=6, source=src)
                                      for src in (TrafficSignal.SOURCE_V2X, TrafficSignal.SOURCE_V2X_AUTHENTICATED,
                                                  TrafficSignal.SOURCE_PERCEPTION, 0)])
    got = signals_from_msg(msg, NOW)
    assert [s.authenticated for s in got.items] == [False, True, False, False]
