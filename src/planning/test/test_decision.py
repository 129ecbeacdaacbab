"""Decision state machine: every rule / transition."""

from __future__ import annotations

import math

import pytest

from lsv_planning.decision import DecisionInputs, DecisionState, transition
from lsv_planning.mission import MissionPhase

D = DecisionState


def u(odom=True, mission=MissionPhase.DRIVING, route=True, stop=False, dist=math.inf, speed=3.0):
    return DecisionInputs(odom, mission, route, stop, dist, speed)


@pytest.mark.parametrize("prev", list(DecisionState))
def test_no_odometry_from_any_state(prev):
    assert transition(prev, u(odom=False)) == D.NO_ODOMETRY


@pytest.mark.parametrize("prev", list(DecisionState))
def test_mission_idle_and_done(prev):
    assert transition(prev, u(mission=MissionPhase.IDLE)) == D.IDLE
    assert transition(prev, u(mission=MissionPhase.DONE)) == D.MISSION_COMPLETE


@pytest.mark.parametrize("prev", list(DecisionState))
def test_no_route(prev):
    assert transition(prev, u(route=False)) == D.NO_ROUTE


def test_dwelling():
    assert transition(D.STOPPED, u(mission=MissionPhase.DWELLING, speed=0.0)) == D.DWELLING


def test_driving_to_stopping_to_stopped_and_back():
    s = transition(D.DRIVING, u(stop=True, dist=10.0, speed=3.0))
    assert s == D.STOPPING
    s = transition(s, u(stop=True, dist=0.5, speed=0.1))
    assert s == D.STOPPED
    s = transition(s, u(stop=False, speed=0.0))
    assert s == D.DRIVING


def test_stopped_hysteresis():
    # a small speed wobble while the stop is still there keeps STOPPED
    assert transition(D.STOPPED, u(stop=True, dist=4.0, speed=0.3)) == D.STOPPED
    # from STOPPING the same input is still STOPPING
    assert transition(D.STOPPING, u(stop=True, dist=4.0, speed=0.3)) == D.STOPPING
    # moving off faster than resume speed with a stop ahead: STOPPING (approaching the next stop)
    assert transition(D.STOPPED, u(stop=True, dist=20.0, speed=1.0)) == D.STOPPING


@pytest.mark.parametrize("prev", [D.NO_ODOMETRY, D.IDLE, D.NO_ROUTE, D.MISSION_COMPLETE, D.DWELLING])
def test_recovery_to_driving(prev):
    assert transition(prev, u()) == D.DRIVING
