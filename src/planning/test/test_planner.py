"""The planner cycle on the district map: missing inputs, routing errors and closed-loop behaviour
with a toy vehicle that follows the trajectory exactly (no controller, no dynamics)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lsv_planning.decision import DecisionState
from lsv_planning.inputs import (
    CLASS_CAR,
    CLASS_PEDESTRIAN,
    HINT_EMERGENCY_VEHICLE,
    NS,
    STATE_PROTECTED_GREEN,
    STATE_RED,
    EgoState,
    Hint,
    PlannerInputs,
    Signal,
    Stamped,
    TrackedObj,
)
from lsv_planning.mission import Goal, GoalKind, load_yaml
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner
from lsv_planning.toy_vehicle import ToyVehicle  # steps DT = 0.1 s

DT = 0.1


def make_params(**kw) -> PlannerParams:
    return PlannerParams(map_path="package://lsv_sim/maps/district.osm", map_origin_lat_deg=30.2741,
                         map_origin_lon_deg=120.1551, **kw)
DROP = Goal("parcel-drop", GoalKind.STOP, -1.75, -72.9, -math.pi / 2, dwell_s=2.0)


def run(planner, car, seconds, signals=None, objects=None, hints=None, stop_when=None, t0=0.0):
    """signals/objects/hints: callables t -> items (None = input absent). Returns the trace."""
    trace = []
    for k in range(int(seconds / DT)):
        t = t0 + k * DT
        now = int(t * NS)
        inp = PlannerInputs(car.ego(now),
                            Stamped(now, tuple(signals(t))) if signals else None,
                            Stamped(now, tuple(hints(t))) if hints else Stamped(now, ()),
                            Stamped(now, tuple(objects(t))) if objects else Stamped(now, ()))
        pts, dec = planner.plan(now, inp)
        trace.append((t, car.x, car.y, car.v, dec))
        car.follow(pts)
        if stop_when and stop_when(dec):
            break
    return trace


def v2x_green(intersection: int):
    """An authenticated V2X green for phase 2 (an unauthenticated one needs a camera green)."""
    return lambda t: [Signal(intersection, 2, STATE_PROTECTED_GREEN, authenticated=True)]


def west_light(red_until):
    return lambda t: [Signal(101, 2, STATE_RED if t < red_until else STATE_PROTECTED_GREEN,
                             max_end_ns=int(red_until * NS) if t < red_until else 0, authenticated=True)]


# -- missing inputs ------------------------------------------------------------------------------
def test_no_odometry_gives_an_empty_trajectory(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    pts, dec = pl.plan(10 * NS, PlannerInputs())
    assert len(pts) == 0 and dec.state == DecisionState.NO_ODOMETRY and "no odometry" in dec.detail
    stale = PlannerInputs(EgoState(-60.0, -1.75, 0.0, 0.0, 9 * NS))
    pts, dec = pl.plan(10 * NS, stale)
    assert len(pts) == 0 and dec.state == DecisionState.NO_ODOMETRY and "1.00 s old" in dec.detail


def test_no_mission_holds(road_map):
    pl = Planner(make_params(), road_map)
    pts, dec = pl.plan(NS, PlannerInputs(EgoState(-60.0, -1.75, 0.0, 0.0, NS)))
    assert len(pts) == 0 and dec.state == DecisionState.IDLE


def test_unreachable_goal_is_reported_and_held(road_map):
    pl = Planner(make_params(), road_map, [Goal("customer", GoalKind.STOP, 100.0, -1.75, 0.0)])
    pts, dec = pl.plan(NS, PlannerInputs(EgoState(-60.0, 1.75, math.pi, 0.0, NS)))  # on the dead-end stub
    assert len(pts) == 0 and dec.state == DecisionState.NO_ROUTE
    assert "customer" in dec.detail and "unreachable" in dec.detail
    json.dumps(dec.to_dict())


def test_stale_objects_stop_the_vehicle(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-100.0, -1.75, 0.0, 4.0)
    trace = []
    for k in range(120):
        now = int(k * DT * NS)
        inp = PlannerInputs(car.ego(now), Stamped(now, ()), Stamped(now, ()), Stamped(0, ()))  # objects at t=0 only
        pts, dec = pl.plan(now, inp)
        trace.append((car.x, car.v, dec))
        car.follow(pts)
    assert trace[-1][1] == 0.0 and trace[-1][2].reason == "objects_stale"
    assert trace[-1][0] - trace[10][0] < 4.0 ** 2 / 2.0 + 2.0  # a comfortable stop, not a run to the light
    assert trace[-1][2].info["inputs"]["objects"] is False


# -- closed loop ---------------------------------------------------------------------------------
def test_red_light_stop_then_go_and_deliver(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-60.0, -1.75, 0.0)
    trace = run(pl, car, 60.0, signals=west_light(25.0),
                stop_when=lambda d: d.state == DecisionState.MISSION_COMPLETE)
    states = [d.state for *_, d in trace]
    red = [(t, x, v, d) for t, x, _, v, d in trace if t < 25.0]
    front_max = max(x for _, x, _, _ in red) + 2.45
    assert front_max <= -12.0 - 0.3  # front bumper stayed before the stop line at x = -12
    assert any(d.state == DecisionState.STOPPED and d.reason == "red_light" for *_, d in red)
    assert DecisionState.DWELLING in states and states[-1] == DecisionState.MISSION_COMPLETE
    dwell = [(x, y) for _, x, y, _, d in trace if d.state == DecisionState.DWELLING]
    assert math.hypot(dwell[0][0] - DROP.x, dwell[0][1] - DROP.y) < 0.5
    assert max(v for *_, v, _ in trace) <= 15 / 3.6 + 1e-6


def test_without_v2x_the_camera_light_state_stops_and_releases_the_vehicle(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-60.0, -1.75, 0.0)
    trace = []
    for k in range(int(60.0 / DT)):
        t, now = k * DT, int(k * DT * NS)
        # the camera sees the west light (stop line x = -12) from 40 m, red until 25 s, no timing
        state = STATE_RED if t < 25.0 else STATE_PROTECTED_GREEN
        seen = Stamped(now, (Signal(101, 2, state),) if car.x > -52.0 else ())
        pts, dec = pl.plan(now, PlannerInputs(car.ego(now), None, Stamped(now, ()), Stamped(now, ()),
                                              perceived_signals=seen))
        trace.append((t, car.x, car.v, dec))
        car.follow(pts)
        if dec.state == DecisionState.MISSION_COMPLETE:
            break
    red = [(x, v, d) for t, x, v, d in trace if t < 25.0]
    assert max(x for x, _, _ in red) + 2.45 <= -12.0 - 0.3  # front bumper stayed before the line
    assert any(d.state == DecisionState.STOPPED and d.reason == "red_light" for *_, d in red)
    assert trace[-1][3].state == DecisionState.MISSION_COMPLETE
    assert json.loads(json.dumps(red[-1][2].info))["inputs"]["perceived_signals"] is True


def test_unknown_or_stale_signal_stops_at_the_line(road_map):
    for signals in (None, "stale"):
        pl = Planner(make_params(), road_map, [DROP])
        car = ToyVehicle(-40.0, -1.75, 0.0, 4.0)
        trace = []
        for k in range(300):
            now = int(k * DT * NS)
            sig = None if signals is None else Stamped(now - 3 * NS, (Signal(101, 2, STATE_PROTECTED_GREEN),))
            pts, dec = pl.plan(now, PlannerInputs(car.ego(now), sig, Stamped(now, ()), Stamped(now, ())))
            trace.append((car.x, car.v, dec))
            car.follow(pts)
        assert trace[-1][1] == 0.0 and trace[-1][2].reason == "unknown_signal"
        assert -12.0 - 2.45 - 1.0 < trace[-1][0] <= -12.0 - 2.45


def test_v2x_green_never_overrides_an_obstacle(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-50.0, -1.75, 0.0, 4.0)
    parked = TrackedObj(5, CLASS_CAR, -20.0, -1.75, 0.0, 0.0, 0.0, 4.0, 1.8, 0.9)
    trace = run(pl, car, 25.0, signals=v2x_green(101),
                objects=lambda t: [parked])
    x_end, v_end, dec = trace[-1][1], trace[-1][3], trace[-1][4]
    assert v_end == 0.0 and dec.reason == "obstacle" and dec.state == DecisionState.STOPPED
    assert x_end + 2.45 <= -22.0 - 3.0 + 0.3  # front bumper 3 m behind the car's rear


def test_follows_a_slower_lead_vehicle(road_map):
    pl = Planner(make_params(), road_map, [Goal("far", GoalKind.STOP, 150.0, -1.75, 0.0)])
    car = ToyVehicle(20.0, -1.75, 0.0, 4.0)
    lead = lambda t: [TrackedObj(9, CLASS_CAR, 40.0 + 2.0 * t, -1.75, 0.0, 2.0, 0.0, 4.0, 1.8, 0.9)]  # noqa: E731
    trace = run(pl, car, 30.0, signals=v2x_green(103), objects=lead)
    t, x, _, v, dec = trace[-1]
    gap = (40.0 + 2.0 * t - 2.0) - (x + 2.45)
    assert v == pytest.approx(2.0, abs=0.3) and dec.reason == "lead_vehicle"
    # standstill margin + time gap, plus up to ~v * decel / jerk that the jerk-limited brake onset keeps in hand
    assert 3.0 + 1.5 * 2.0 - 0.5 <= gap <= 3.0 + 1.5 * 2.0 + 2.0


def test_yields_to_a_pedestrian_on_the_crosswalk(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-30.0, -1.75, 0.0, 3.0)
    ped = lambda t: [TrackedObj(3, CLASS_PEDESTRIAN, 2.0, -9.0, math.pi, -0.1, 0.0, 0.5, 0.5, 0.9)]  # noqa: E731
    trace = run(pl, car, 30.0, signals=v2x_green(101), objects=ped)
    assert trace[-1][3] == 0.0 and trace[-1][4].reason == "crosswalk"
    cw = trace[-1][4].info["crosswalks"]
    assert cw and cw[0]["crosswalk"] == 3001 and cw[0]["yield"]


@pytest.mark.parametrize(("x", "vx", "holds"), [
    (3.0, 1.2, True),  # far lane, 0.5 m from the kerb, walking away: still on the road
    (5.5, 1.2, False),  # the crosswalk's far-sidewalk part, walking away
    (-6.0, 0.0, False),  # waiting on the near sidewalk part, 2.5 m from the kerb
])
def test_crosswalk_yield_covers_the_whole_carriageway_and_only_it(road_map, x, vx, holds):
    # west_south (0, -9) crosses the south street (lanes x in [-3.5, 3.5]); the ego comes round the corner
    pl = Planner(make_params(), road_map, [DROP])
    car = ToyVehicle(-30.0, -1.75, 0.0, 3.0)
    ped = lambda t: [TrackedObj(3, CLASS_PEDESTRIAN, x, -9.0, 0.0, vx, 0.0, 0.5, 0.5, 0.9)]  # noqa: E731
    trace = run(pl, car, 30.0, signals=v2x_green(101), objects=ped)
    assert (trace[-1][4].reason == "crosswalk") == holds
    assert (min(y for _, _, y, _, _ in trace) > -7.0) == holds  # held before the crosswalk, or drove over it


def test_pulls_over_for_an_emergency_vehicle_then_resumes(road_map):
    pl = Planner(make_params(), road_map, [Goal("customer", GoalKind.STOP, 160.0, -1.75, 0.0)])
    car = ToyVehicle(40.0, -1.75, 0.0, 4.0)

    def ambulance(t):
        x = -20.0 + 9.0 * t
        if x > 150.0:
            return []
        return [Hint(HINT_EMERGENCY_VEHICLE, x, 1.75, int((t + 1.0) * NS), source_id="amb", vx=9.0,
                     time_to_path=0.0 if x < car.x else -1.0)]

    trace = run(pl, car, 30.0, hints=ambulance, signals=v2x_green(103))
    stopped = [(t, y, d) for t, _, y, v, d in trace if v == 0.0 and d.reason == "emergency_vehicle"]
    assert stopped, "never stopped for the ambulance"
    assert min(y for _, y, _ in stopped) < -1.75 - 0.6  # pulled to the right edge of the lane
    assert trace[-1][3] > 1.0 and trace[-1][4].info["emergency"] == "normal"  # drives on once it has passed


def test_patrol_loop_goes_round_without_stopping(road_map):
    from pathlib import Path

    goals = load_yaml(Path(__file__).resolve().parents[2] / "sim" / "scenarios" / "patrol_loop.yaml")
    patrol = [g for g in goals if g.kind == GoalKind.PATROL]
    pl = Planner(make_params(), road_map, patrol)
    car = ToyVehicle(1.75, 45.0, math.pi / 2, 0.0)
    trace = run(pl, car, 60.0, signals=lambda t: [])
    idx = [d.info["mission"]["index"] for *_, d in trace if "mission" in d.info]
    assert max(idx) >= 1  # passed the first waypoint
    passing = [v for t, _, _, v, d in trace if t > 10.0]
    assert min(passing) > 1.0  # no stop at the waypoint


def test_red_light_warning_adds_a_red(road_map):
    from lsv_planning.inputs import HINT_RED_LIGHT_WARNING

    pl = Planner(make_params(), road_map, [DROP])
    now = NS
    green = Stamped(now, (Signal(101, 2, STATE_PROTECTED_GREEN, authenticated=True),))
    ego = EgoState(-45.0, -1.75, 0.0, 3.0, now)
    _, dec = pl.plan(now, PlannerInputs(ego, green, Stamped(now, ()), Stamped(now, ())))
    assert dec.info["stop"]["reason"] != "red_light"
    rlw = Hint(HINT_RED_LIGHT_WARNING, -12.0, -1.75, now + NS, hint_id=2, intersection_id=101)
    _, dec = pl.plan(now + NS // 10, PlannerInputs(ego, green, Stamped(now, (rlw,)), Stamped(now, ())))
    assert dec.info["stop"]["reason"] == "red_light"


def test_overshot_stop_goal_is_routed_round_to_again(road_map):
    pl = Planner(make_params(), road_map, [Goal("customer", GoalKind.STOP, 100.0, -1.75, 0.0)])
    now = NS
    _, dec = pl.plan(now, PlannerInputs(EgoState(90.0, -1.75, 0.0, 3.0, now), None, Stamped(now, ()),
                                        Stamped(now, ())))
    assert dec.info["stop"]["distance_m"] < 11.0  # the goal straight ahead on main.fwd
    now += NS
    _, dec = pl.plan(now, PlannerInputs(EgoState(106.0, -1.75, 0.0, 0.0, now), None, Stamped(now, ()),
                                        Stamped(now, ())))
    assert dec.state != DecisionState.NO_ROUTE
    assert dec.info["route"]["length_m"] > 100.0 and dec.info["stop"]["distance_m"] > 50.0


def test_moving_off_from_rest_asks_for_the_engage_speed(road_map):
    pl = Planner(make_params(), road_map, [DROP])
    now = NS
    pts, _ = pl.plan(now, PlannerInputs(EgoState(-60.0, -1.75, 0.0, 0.0, now), None, Stamped(now, ()),
                                        Stamped(now, ())))
    # a red/unknown light 30 m ahead: still moves off towards it
    assert pts.v[0] == pytest.approx(0.5)
    # standing 0.3 m before the stop point: stays
    pl2 = Planner(make_params(), road_map, [DROP])
    pts, dec = pl2.plan(now, PlannerInputs(EgoState(-12.0 - 0.5 - 2.45 - 0.3, -1.75, 0.0, 0.0, now), None,
                                           Stamped(now, ()), Stamped(now, ())))
    assert np.all(pts.v == 0.0) and dec.reason == "unknown_signal"
