"""The controller core in closed loop with the simulator's chassis ECU and vehicle dynamics:
figure-of-eight tracking, hill hold and hill start, and the minimal-risk manoeuvre for each
stale input, node error, e-stop and obstacle."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lsv_control.controller import ControlInputs, DiagEntry, ObjectsInput, TrajectoryInput, box_distance
from lsv_control.mrm import MrmState
from lsv_control.sim_plant import (
    Plant,
    figure_eight,
    fresh_inputs,
    heartbeats,
    make_controller,
    no_objects,
    path_error,
    run_closed_loop,
    straight,
    window,
)
from lsv_control.trajectory import TrajectoryArrays

NS = 1_000_000_000
FIG8_SPEED = 4.17  # m/s, 15 km/h
FIG8_MAX_ERROR = 0.25  # m, stated in the README (measured: see benchmarks/control.py)


def fig8_run(duration_s: float = 60.0):
    loop = figure_eight(15.0, FIG8_SPEED)
    state = {"i": 0}

    def planner(plant: Plant, now_ns: int) -> TrajectoryArrays:
        idx = (np.arange(-20, 60) + state["i"]) % loop.size
        d = np.hypot(loop.x_m[idx] - plant.vs.x_m, loop.y_m[idx] - plant.vs.y_m)
        state["i"] = int(idx[np.argmin(d)])
        return window(loop, state["i"] - 8, 200)  # 50 m ahead, as a planner would publish

    plant = Plant(yaw0=float(loop.yaw_rad[0]))
    run = run_closed_loop(make_controller(), plant, duration_s, fresh_inputs(planner))
    return loop, run


def test_figure_eight_tracking() -> None:
    loop, run = fig8_run()
    t = np.array(run.t_s)
    steady = t > 8.0  # after the start from rest
    err = path_error(loop, np.array(run.x)[steady], np.array(run.y)[steady])
    assert err.max() < FIG8_MAX_ERROR
    assert np.nanmax(np.abs(np.array(run.lateral_error)[steady])) < FIG8_MAX_ERROR
    assert abs(np.mean(np.array(run.speed)[steady]) - FIG8_SPEED) < 0.1
    assert set(np.array(run.states)[steady]) == {"NORMAL"}
    assert np.array(run.x)[steady].max() > 14.0 and np.array(run.x)[steady].min() < -14.0  # both lobes driven


def zero_speed(traj: TrajectoryArrays) -> TrajectoryArrays:
    return TrajectoryArrays.from_columns(traj.x_m, traj.y_m, traj.yaw_rad, np.zeros(traj.size))


@pytest.mark.parametrize(("grade", "max_rollback_m", "max_overshoot_mps"), [(0.12, 0.001, 0.2), (0.15, 0.001, 0.45)])
def test_hill_hold_and_hill_start(grade: float, max_rollback_m: float, max_overshoot_mps: float) -> None:
    traj = straight(40.0, 3.0, stop_at_end=True)
    run = run_closed_loop(make_controller(), Plant(grade=grade), 30.0,
                          fresh_inputs(lambda p, now: traj if now >= 5 * NS else zero_speed(traj)))
    t, x, v = np.array(run.t_s), np.array(run.x), np.array(run.speed)
    hold = t < 5.0
    assert np.abs(x[hold]).max() < 1e-3  # held on the slope before the start
    start = (t >= 5.0) & (t < 10.0)
    rollback = -np.minimum.accumulate(x[start]).min()
    assert rollback < max_rollback_m  # m: no rolling back on the uphill start
    assert v[start].min() > -0.01
    assert v.max() < 3.0 + max_overshoot_mps  # smooth: no big overshoot as the grade feed-forward hands over


def test_hill_hold_after_stopping_uphill() -> None:
    traj = straight(20.0, 3.0, stop_at_end=True)
    run = run_closed_loop(make_controller(), Plant(grade=0.12), 40.0, fresh_inputs(lambda p, now: traj))
    t, x, v = np.array(run.t_s), np.array(run.x), np.array(run.speed)
    stopped = t > 25.0
    assert np.abs(v[stopped]).max() < 1e-3
    assert x[stopped].max() - x[stopped].min() < 1e-3  # no creeping back over 15 s
    assert abs(x[-1] - 20.0) < 0.5  # stopped at the end of the trajectory


# --- minimal-risk manoeuvre, each cause, in closed loop ---
STALE_AT = 8 * NS


def driving_inputs(fault: str):
    """Fresh inputs until STALE_AT, then ``fault`` happens (an input stops updating, or a node reports)."""
    traj = straight(200.0, 3.0)
    frozen: dict[str, object] = {}

    def build(plant: Plant, now_ns: int) -> ControlInputs:
        odo, status = plant.odometry(), plant.status()
        tr, objs = TrajectoryInput(traj, now_ns), no_objects(now_ns)
        diags = heartbeats(("localizer", "can_bridge"), now_ns)
        if now_ns >= STALE_AT:
            if fault in ("odometry", "trajectory", "status", "objects"):
                current = {"odometry": odo, "trajectory": tr, "status": status, "objects": objs}[fault]
                frozen.setdefault(fault, current)  # the last message received, never refreshed again
                odo = frozen["odometry"] if fault == "odometry" else odo
                tr = frozen["trajectory"] if fault == "trajectory" else tr
                status = frozen["status"] if fault == "status" else status
                objs = frozen["objects"] if fault == "objects" else objs
            elif fault == "diagnostics_error":
                diags["planner: route"] = DiagEntry("planner", 2, "no route", now_ns)
            elif fault == "node_silent":
                diags = {k: v for k, v in diags.items() if not k.startswith("localizer")}
                diags.update({k: DiagEntry("localizer", 0, "ok", STALE_AT) for k in ("localizer: heartbeat",)})
            elif fault == "status_flag_stale":
                status = dataclasses.replace(status, stale=True)
            elif fault == "chassis_fault":
                status = dataclasses.replace(status, fault_bits=4)  # FAULT_BRAKE
        return ControlInputs(odo, tr, status, objs, diags)

    return build


@pytest.mark.parametrize("fault", ["odometry", "trajectory", "status", "objects", "diagnostics_error",
                                   "node_silent", "status_flag_stale", "chassis_fault"])
def test_comfortable_stop_on_each_fault(fault: str) -> None:
    ctrl = make_controller()
    run = run_closed_loop(ctrl, Plant(), 15.0, driving_inputs(fault), keep_outputs=True)
    t, v = np.array(run.t_s), np.array(run.speed)
    states = np.array(run.states)
    before = t < STALE_AT / NS
    assert states[before][-1] == "NORMAL" and v[before][-1] > 2.5
    timeout = {"odometry": 0.1, "trajectory": 0.5, "status": 0.1, "objects": 0.5, "node_silent": 3.0}.get(fault, 0.0)
    first = int(np.argmax(states == "COMFORTABLE_STOP"))
    assert states[first] == "COMFORTABLE_STOP"
    assert t[first] <= STALE_AT / NS + timeout + 0.5  # DESIGN.md: <= 0.5 s after the timeout
    cmds = np.array(run.accel_cmd)
    during = states == "COMFORTABLE_STOP"
    assert cmds[during][-10:].max() == pytest.approx(-1.0, abs=0.05)  # the comfortable deceleration
    assert states[-1] == "STOPPED" and abs(v[-1]) < 0.01  # the vehicle stands
    assert run.outputs[-1].command.parking_brake
    assert "EMERGENCY_STOP" not in states


def test_emergency_stop_on_estop() -> None:
    base = driving_inputs("none")

    def build(plant: Plant, now_ns: int) -> ControlInputs:
        inp = base(plant, now_ns)
        if now_ns >= STALE_AT:
            inp = dataclasses.replace(inp, status=dataclasses.replace(inp.status, mode=2))  # MODE_ESTOP
        return inp

    run = run_closed_loop(make_controller(), Plant(), 12.0, build, keep_outputs=True)
    states, cmds, v = np.array(run.states), np.array(run.accel_cmd), np.array(run.speed)
    first = int(np.argmax(states == "EMERGENCY_STOP"))
    assert run.t_s[first] == pytest.approx(STALE_AT / NS)
    assert cmds[first + 10] == pytest.approx(-3.0)
    assert states[-1] == "STOPPED" and abs(v[-1]) < 0.01
    assert "e-stop" in run.outputs[-1].mrm.cause


def test_emergency_stop_for_an_obstacle_inside_the_stopping_distance() -> None:
    base = driving_inputs("none")
    obstacle_x = {"x": None}

    def build(plant: Plant, now_ns: int) -> ControlInputs:
        inp = base(plant, now_ns)
        if now_ns >= STALE_AT:
            if obstacle_x["x"] is None:  # a pedestrian steps out 2.7 m in front of the bumper
                obstacle_x["x"] = plant.vs.x_m + 2.45 + 2.7
            inp = dataclasses.replace(inp, objects=ObjectsInput.squares([[obstacle_x["x"], 0.3]], 0.6, now_ns))
        return inp

    run = run_closed_loop(make_controller(), Plant(), 12.0, build, keep_outputs=True)
    states, x = np.array(run.states), np.array(run.x)
    first = int(np.argmax(states == "EMERGENCY_STOP"))
    assert run.t_s[first] == pytest.approx(STALE_AT / NS)
    assert "obstacle" in run.outputs[first].mrm.cause
    assert x.max() + 2.45 < obstacle_x["x"] - 0.3  # front bumper stopped short of the obstacle's edge
    assert states[-1] == "STOPPED"


def test_obstacle_beside_the_path_is_ignored() -> None:
    base = driving_inputs("none")

    def build(plant: Plant, now_ns: int) -> ControlInputs:
        inp = base(plant, now_ns)
        return dataclasses.replace(inp, objects=ObjectsInput.squares([[plant.vs.x_m + 5.0, 3.0]], 0.6, now_ns))

    run = run_closed_loop(make_controller(), Plant(), 8.0, build)
    assert set(run.states[100:]) == {"NORMAL"}


def test_parked_car_beside_the_corridor_is_judged_by_its_footprint() -> None:
    """A parked car (4.5 x 1.8 m) along the lane, its side 1.15 m from the path: clear of the 1.0 m
    corridor half width (vehicle 1.4 m + 0.3 m margin). A disc round its centre (2.4 m radius) would
    have stopped the vehicle; the same car turned across the lane blocks it."""
    base = driving_inputs("none")

    def parked(yaw: float):
        def build(plant: Plant, now_ns: int) -> ControlInputs:
            car = ObjectsInput(np.array([[25.0, 2.05]]), np.array([yaw]), np.array([[4.5, 1.8]]), now_ns)
            return dataclasses.replace(base(plant, now_ns), objects=car)
        return build

    along = run_closed_loop(make_controller(), Plant(), 20.0, parked(0.0))
    assert set(along.states[100:]) == {"NORMAL"} and max(along.x) > 28.0  # drove past it
    across = run_closed_loop(make_controller(), Plant(), 20.0, parked(np.pi / 2))
    assert "EMERGENCY_STOP" in across.states or "COMFORTABLE_STOP" in across.states
    assert max(across.x) + 2.45 < 25.0 - 0.9  # front bumper short of the car's near side


def test_box_distance_is_zero_inside_and_euclidean_outside() -> None:
    objs = ObjectsInput(np.array([[0.0, 0.0]]), np.array([np.pi / 2]), np.array([[4.0, 2.0]]), 0)  # long along y
    px, py = np.array([0.0, 0.9, 2.0, 0.0, 4.0]), np.array([0.0, 1.9, 0.0, 3.0, 5.0])
    np.testing.assert_allclose(box_distance(px, py, objs)[0], [0.0, 0.0, 1.0, 1.0, np.hypot(3.0, 3.0)])


def test_resumes_after_the_input_recovers() -> None:
    base = driving_inputs("trajectory")

    def build(plant: Plant, now_ns: int) -> ControlInputs:
        if now_ns >= 15 * NS:  # the planner is back
            return driving_inputs("none")(plant, now_ns)
        return base(plant, now_ns)

    run = run_closed_loop(make_controller(), Plant(), 25.0, build)
    states, v = np.array(run.states), np.array(run.speed)
    assert "STOPPED" in states[: 15 * 50]
    assert states[-1] == "NORMAL" and v[-1] > 2.5


def test_starts_stopped_until_all_inputs_arrive() -> None:
    ctrl = make_controller()
    out = ctrl.step(0, ControlInputs())
    assert out.mrm.state is MrmState.STOPPED and out.command.acceleration_mps2 < 0.0
    assert out.command.parking_brake
    assert any("missing" in c for c in out.comfortable_causes)


def test_trajectory_with_nan_is_not_followed() -> None:
    traj = straight(50.0, 3.0)
    bad = TrajectoryArrays.from_columns(traj.x_m, traj.y_m, traj.yaw_rad, np.where(traj.s_m > 20, np.nan, 3.0))
    run = run_closed_loop(make_controller(), Plant(), 15.0,
                          fresh_inputs(lambda p, now: traj if now < 5 * NS else bad), keep_outputs=True)
    assert run.states[-1] == "STOPPED"
    assert any("invalid" in c for c in run.outputs[-1].comfortable_causes)
    assert all(np.isfinite(o.command.acceleration_mps2) for o in run.outputs)


def test_inputs_from_the_future_after_a_clock_jump_back_are_stale() -> None:
    ctrl = make_controller()
    plant = Plant(now_ns=100 * NS)
    inp = fresh_inputs(lambda p, now: straight(50.0, 3.0))(plant, 100 * NS)  # all received at t = 100 s
    out = ctrl.step(100 * NS + 10_000_000, inp)
    assert not out.comfortable_causes
    out = ctrl.step(1 * NS, inp)  # /clock restarted at 1 s: the 100 s data must not look fresh
    assert any("odometry stale" in c for c in out.comfortable_causes)
    assert any("trajectory stale" in c for c in out.comfortable_causes)


def test_hill_start_without_the_assist_rolls_back_a_little_at_most() -> None:
    """Without the parking-brake assist the feed-forward alone limits the roll-back on 12 %."""
    traj = straight(40.0, 3.0, stop_at_end=True)
    ctrl = make_controller(controller__hill_start_assist=False)
    run = run_closed_loop(ctrl, Plant(grade=0.12), 12.0,
                          fresh_inputs(lambda p, now: traj if now >= 5 * NS else zero_speed(traj)), keep_outputs=True)
    t, x = np.array(run.t_s), np.array(run.x)
    assert -np.minimum.accumulate(x[t >= 5.0]).min() < 0.005
    assert not any(o.command.parking_brake for o in run.outputs if o.mrm.state is MrmState.NORMAL)


def test_hill_start_assist_requests_the_parking_brake_only_while_needed() -> None:
    traj = straight(40.0, 3.0, stop_at_end=True)
    run = run_closed_loop(make_controller(), Plant(grade=0.12), 8.0,
                          fresh_inputs(lambda p, now: traj if now >= 5 * NS else zero_speed(traj)), keep_outputs=True)
    t = np.array(run.t_s)
    held = np.array([o.command.parking_brake for o in run.outputs])
    assert held[(t >= 5.0) & (t < 5.2)].all()  # ramping up: still held
    assert not held[t > 6.5].any()  # released once the request covers the grade


def test_starts_on_a_trajectory_whose_first_point_is_at_rest() -> None:
    """A planner's profile from rest begins with 0 m/s under the vehicle: the controller must still start."""
    s = np.arange(0.0, 60.0, 0.5)
    v = np.minimum(3.0, np.sqrt(2.0 * 0.5 * s))  # 0 m/s at the vehicle
    traj = TrajectoryArrays.from_columns(s, np.zeros_like(s), np.zeros_like(s), v, np.where(v < 3.0, 0.5, 0.0))
    run = run_closed_loop(make_controller(), Plant(), 10.0, fresh_inputs(lambda p, now: traj))
    assert run.x[-1] > 5.0


def test_stays_stopped_on_a_trajectory_at_rest() -> None:
    traj = zero_speed(straight(40.0, 3.0))
    run = run_closed_loop(make_controller(), Plant(grade=0.12), 5.0, fresh_inputs(lambda p, now: traj))
    assert abs(run.x[-1]) < 1e-3 and max(run.accel_cmd) < 0.0


def test_a_silent_advisory_node_is_reported_but_does_not_stop_the_vehicle():
    """V2X is advice: the v2x_client going silent is named (the node's diagnostics say so) while
    the vehicle carries on; a silent required node stops it."""
    ctl = make_controller()
    now = 10 * 1_000_000_000
    alive = {"localizer: ekf": DiagEntry("localizer", 0, "ok", now),
             "can_bridge: bus": DiagEntry("can_bridge", 0, "ok", now),
             "v2x_client: receive": DiagEntry("v2x_client", 0, "ok", now - 5 * 1_000_000_000)}  # 5 s silent
    assert ctl.silent_nodes(["v2x_client"], alive, now) == ["v2x_client"]
    assert ctl.silent_nodes(["localizer", "can_bridge"], alive, now) == []
    inputs = ControlInputs(diagnostics=alive)
    causes = ctl.comfortable_causes(now, inputs)
    assert not any("v2x_client" in c for c in causes)
    alive["v2x_client: receive"] = DiagEntry("v2x_client", 0, "ok", now)
    assert ctl.silent_nodes(["v2x_client"], alive, now) == []
    del alive["localizer: ekf"]
    assert any(c == "node silent on /diagnostics: localizer" for c in ctl.comfortable_causes(now, inputs))


def test_a_restarted_required_node_stops_the_vehicle_an_advisory_one_does_not():
    """A localizer that came back (new run_id) restarts with the vehicle at rest: its restart is a
    comfortable-stop cause for restart_hold_s (the node keeps it that long); a restarted V2X client is not."""
    ctl = make_controller()
    now = 10 * 1_000_000_000
    alive = {"localizer: ekf": DiagEntry("localizer", 0, "ok", now),
             "can_bridge: bus": DiagEntry("can_bridge", 0, "ok", now),
             "v2x_client: receive": DiagEntry("v2x_client", 0, "ok", now)}
    assert "node restarted: localizer" in ctl.comfortable_causes(now, ControlInputs(diagnostics=alive,
                                                                                   restarted=("localizer",)))
    causes = ctl.comfortable_causes(now, ControlInputs(diagnostics=alive, restarted=("v2x_client",)))
    assert not any("restarted" in c for c in causes)
    assert ctl.p.restart_hold_s > 0.0
