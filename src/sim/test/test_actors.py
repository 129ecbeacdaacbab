"""Scripted actors: triggers, phases (every transition), motion along waypoints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_sim.actors import (
    ActorSpec,
    ActorType,
    Path,
    Phase,
    Trigger,
    footprint,
    initial_state,
    step_actor,
    transition,
)

NO_TRIGGER = Trigger()


def spec(trigger: Trigger = NO_TRIGGER, speed: float = 1.5, loop: bool = False, accel: float = 1.0,
         wps: list | None = None, type_: ActorType = ActorType.PEDESTRIAN) -> ActorSpec:
    w = np.array(wps or [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0]])
    return ActorSpec("a", type_, w, np.full(max(len(w) - 1, 1), speed), trigger, 0.5, 0.5, 1.7, accel, loop)


def run(s: ActorSpec, seconds: float, ego=(100.0, 100.0), dt: float = 0.01):
    path = Path(s.waypoints)
    st = initial_state(s, path)
    t = 0.0
    states = [st]
    for _ in range(round(seconds / dt)):
        st = step_actor(s, path, st, t, dt, ego)
        t += dt
        states.append(st)
    return states


def test_transitions() -> None:
    s = spec(Trigger(ego_within_m=10.0, delay_s=1.0))
    assert transition(Phase.WAITING, 0.0, 0.0, s, 20.0, False) is Phase.WAITING
    assert transition(Phase.WAITING, 0.0, 0.0, s, 9.0, False) is Phase.DELAY
    assert transition(Phase.DELAY, 5.0, 5.5, s, 9.0, False) is Phase.DELAY
    assert transition(Phase.DELAY, 5.0, 6.0, s, 9.0, False) is Phase.MOVING
    assert transition(Phase.MOVING, 6.0, 7.0, s, 9.0, False) is Phase.MOVING
    assert transition(Phase.MOVING, 6.0, 7.0, s, 9.0, True) is Phase.DONE
    assert transition(Phase.MOVING, 6.0, 7.0, spec(loop=True), 9.0, True) is Phase.MOVING
    assert transition(Phase.DONE, 0.0, 7.0, s, 0.0, False) is Phase.DONE
    assert transition(Phase.WAITING, 0.0, 0.0, spec(Trigger()), 99.0, False) is Phase.MOVING  # no trigger
    assert transition(Phase.WAITING, 0.0, 0.0, spec(speed=0.0), 0.0, False) is Phase.DONE  # never moves
    timed = spec(Trigger(at_s=3.0))
    assert transition(Phase.WAITING, 0.0, 2.9, timed, 0.0 + 99, False) is Phase.WAITING
    assert transition(Phase.WAITING, 0.0, 3.0, timed, 99.0, False) is Phase.MOVING


def test_waits_for_the_ego_then_walks_the_path_and_stops_at_the_end() -> None:
    s = spec(Trigger(ego_within_m=5.0))
    assert all(st.phase is Phase.WAITING and st.s_m == 0.0 for st in run(s, 5.0))
    states = run(s, 20.0, ego=(1.0, 1.0))
    assert max(st.speed_mps for st in states) == pytest.approx(1.5)
    last = states[-1]
    assert last.phase is Phase.DONE and last.speed_mps == 0.0
    assert (last.x_m, last.y_m) == pytest.approx((10.0, 5.0))
    assert last.yaw_rad == pytest.approx(math.pi / 2)
    # bounded acceleration (the arrival step stops from a crawl), never backwards
    v = np.array([st.speed_mps for st in states])
    dv = np.abs(np.diff(v))
    arrival = int(np.nonzero((v[:-1] > 0.0) & (v[1:] == 0.0))[0][-1])
    assert np.all(np.delete(dv, arrival) <= 1.0 * 0.01 + 1e-9)
    assert dv[arrival] <= 0.05
    assert np.all(np.diff([st.s_m for st in states]) >= 0.0)


def test_loop_starts_over() -> None:
    s = spec(loop=True, speed=5.0, accel=0.0, wps=[[0, 0], [10, 0]])
    states = run(s, 3.0)
    assert states[-1].phase is Phase.MOVING
    assert states[-1].s_m == pytest.approx(5.0, abs=0.06)  # 15 m on a 10 m path


def test_parked_car_never_moves() -> None:
    s = ActorSpec("p", ActorType.PARKED_CAR, np.array([[3.0, 4.0]]), np.zeros(1), Trigger(), 4.5, 1.8, 1.5, 0.0,
                  yaw_rad=0.5)
    st = run(s, 2.0)[-1]
    assert (st.x_m, st.y_m, st.yaw_rad, st.phase) == (3.0, 4.0, 0.5, Phase.DONE)
    assert not s.is_vulnerable and s.is_vehicle and s.classification == 1


def test_path_pose_and_footprint() -> None:
    p = Path(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert p.length == 5.0
    assert p.pose(2.5) == pytest.approx((1.5, 2.0, math.atan2(4, 3)))
    assert p.pose(99.0)[:2] == pytest.approx((3.0, 4.0))
    fp = footprint(1.0, 2.0, math.pi / 2, 4.0, 2.0)
    assert fp.min(axis=0) == pytest.approx([0.0, 0.0])
    assert fp.max(axis=0) == pytest.approx([2.0, 4.0])
