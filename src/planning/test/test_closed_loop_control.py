"""Planner + the control package's controller + the simulator's chassis ECU and dynamics, in one
process (``lsv_control.sim_plant``): the delivery from the default scenario with a red light.
Asserts physical outcomes: stopped before the stop line while red, goal reached, lane kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_control import sim_plant as sp
from lsv_planning.inputs import NS, STATE_PROTECTED_GREEN, STATE_RED, EgoState, PlannerInputs, Signal, Stamped
from lsv_planning.lanelet_map import load_road_map
from lsv_planning.mission import Goal, GoalKind
from lsv_planning.params import PlannerParams
from lsv_planning.planner import Planner

RED_UNTIL_S = 25.0
STOP_LINE_X = -12.0
FRONT_M = 2.45


@pytest.mark.slow
def test_red_light_and_delivery_with_the_controller_and_chassis():
    from lsv_control.controller import ControlInputs, TrajectoryInput
    from lsv_control.trajectory import TrajectoryArrays

    rm = load_road_map("package://lsv_sim/maps/district.osm", 30.2741, 120.1551)
    params = PlannerParams(map_path="package://lsv_sim/maps/district.osm", map_origin_lat_deg=30.2741,
                           map_origin_lon_deg=120.1551)
    goal = Goal("parcel-drop", GoalKind.STOP, -1.75, -72.9, -math.pi / 2, dwell_s=3.0)
    planner = Planner(params, rm, [goal])
    plant = sp.Plant(x0=-60.0, y0=-1.75, yaw0=0.0)
    controller = sp.make_controller()
    state = {"traj": None, "last": -NS}
    trace = []

    def inputs(plant, now):
        if now - state["last"] >= NS // 10:  # the planner at 10 Hz
            o = plant.odometry()
            red = now < RED_UNTIL_S * NS
            sig = Signal(101, 2, STATE_RED if red else STATE_PROTECTED_GREEN,
                         max_end_ns=int(RED_UNTIL_S * NS) if red else 0, authenticated=True)
            pts, dec = planner.plan(now, PlannerInputs(EgoState(o.x_m, o.y_m, o.yaw_rad, o.speed_mps, now),
                                                       Stamped(now, (sig,)), Stamped(now, ()), Stamped(now, ())))
            state["traj"] = TrajectoryArrays.from_columns(pts.x, pts.y, pts.yaw, pts.v, pts.a, pts.grade)
            state["last"] = now
            trace.append((now / NS, o.x_m, o.y_m, o.speed_mps, dec.state.value))
        return ControlInputs(plant.odometry(), TrajectoryInput(state["traj"], now), plant.status(),
                             sp.no_objects(now), sp.heartbeats(("localizer", "can_bridge"), now))

    run = sp.run_closed_loop(controller, plant, 60.0, inputs)
    t, x, y, v, s = (np.array([r[i] for r in trace]) for i in range(5))
    while_red = t < RED_UNTIL_S
    assert x[while_red].max() + FRONT_M < STOP_LINE_X  # front bumper never past the stop line on red
    assert np.any(while_red & (v < 0.05) & (x > STOP_LINE_X - FRONT_M - 1.5))  # stopped close to it
    done = np.nonzero(s == "mission_complete")[0]
    assert len(done), f"mission not completed; last states {sorted(set(s[-50:]))}"
    assert math.hypot(x[done[0]] - goal.x, y[done[0]] - goal.y) < 1.0
    err = np.abs(np.asarray(run.lateral_error, dtype=float))
    err = err[np.isfinite(err)]
    print(f"district route (straight, red light, right turn, drop): max |lateral error| {err.max():.3f} m, "
          f"rms {np.sqrt(np.mean(err ** 2)):.3f} m")  # quoted in the README
    assert err.max() < 0.5
    assert v.max() <= 15 / 3.6 + 0.2
