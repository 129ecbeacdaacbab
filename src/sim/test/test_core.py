"""The pure simulator: ECU + dynamics driven by CAN frames, actors, lights, faults, determinism, RSU."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_can_bridge import frames
from lsv_can_bridge.chassis_config import load_chassis_config
from lsv_can_bridge.values import GEAR_DRIVE, Command
from lsv_sim.core import ScenarioRsu, Simulator, SyntheticWorld
from lsv_sim.lights import LightState
from lsv_sim.scenario import load_scenario, parse_scenario

CONFIG = load_chassis_config("dbc/lsv_chassis.yaml")
MS = 1_000_000


class Driver:
    """What the bridge would put on the bus every 20 ms for an acceleration plan a(t)."""

    def __init__(self, plan):
        self.plan = plan
        self.counters: dict[int, int] = {}

    def __call__(self, sim: Simulator) -> None:
        if sim.t_ns % (20 * MS):
            return
        accel = self.plan(sim.t_s)
        cmd = Command(acceleration_mps2=accel, speed_limit_mps=4.0, steering_rate_rps=0.5, gear=GEAR_DRIVE,
                      enable=True)
        for frame_id, data in frames.build_command_frames(CONFIG, cmd, self.counters):
            sim.on_can_frame(frame_id, data, frame_id > 0x7FF)


def run(sim: Simulator, driver=None, seconds: float | None = None) -> Simulator:
    end = sim.t_ns + round((seconds if seconds is not None else sim.scenario.duration_s) * 1e9)
    while sim.t_ns < end and not sim.done:
        if driver is not None:
            driver(sim)
        sim.step()
    return sim


def straight(grade_pct: float = 0.0, duration: float = 12.0, **extra):
    d = {"name": "s", "duration_s": duration, "map": {"world": "synthetic", "grade_pct": grade_pct,
                                                      "bounds_m": [-50, -50, 200, 50]},
         "ego": {"start": {"x": 0, "y": 0}}}
    d.update(extra)
    return parse_scenario(d, "s.yaml")


def test_without_commands_the_ego_stays_parked_and_the_run_ends() -> None:
    sim = run(Simulator(load_scenario("crossing_synthetic"), CONFIG))
    assert sim.done and sim.steps == 6000 and len(sim.trace) == 6001
    assert sim.ego.distance_m == 0.0 and sim.ego.speed_mps == 0.0
    ego, _actors, _lights = sim.trace.view()
    assert ego[-1, 0] == pytest.approx(60.0)
    assert ego[0, 1] == pytest.approx(-70.0)  # the start pose is the footprint centre


def test_can_commands_drive_the_ego() -> None:
    sim = run(Simulator(straight(), CONFIG), Driver(lambda t: 1.0 if t < 3.0 else (0.0 if t < 6.0 else -1.0)))
    ego = sim.trace.view()[0]
    assert ego[:, 4].max() == pytest.approx(3.0, abs=0.3)
    assert sim.ego.speed_mps == pytest.approx(0.0, abs=0.05)
    assert ego[-1, 1] > 15.0 and abs(ego[-1, 2]) < 1e-6
    assert sim.frames_in > 0


def test_ecu_watchdog_stops_the_ego_when_the_frames_stop() -> None:
    drv = Driver(lambda t: 1.0)
    sim = run(Simulator(straight(), CONFIG), drv, seconds=3.0)
    v = sim.ego.speed_mps
    assert v > 2.0
    run(sim, None, seconds=3.0)  # the bridge went silent
    assert sim.ego.speed_mps == 0.0 and sim.ecu.state.watchdog_trips == 1


def test_hill_start_holds_without_rolling_back() -> None:
    sim = run(Simulator(straight(grade_pct=12.0), CONFIG), Driver(lambda t: 0.0 if t < 2.0 else 0.5), seconds=6.0)
    ego = sim.trace.view()[0]
    assert ego[:, 4].min() > -0.05  # no roll-back while starting on 12 %
    assert sim.ego.speed_mps > 1.0
    assert ego[-1, 7] > ego[0, 7] + 0.12 * 2.0  # it climbed


def test_same_inputs_same_run() -> None:
    plan = Driver(lambda t: 1.0 if t < 3.0 else (0.0 if t < 10.0 else -1.5))
    a = run(Simulator(load_scenario("crossing_synthetic"), CONFIG), plan, seconds=30.0)
    b = run(Simulator(load_scenario("crossing_synthetic"), CONFIG), Driver(plan.plan), seconds=30.0)
    for x, y in zip(a.trace.view(), b.trace.view(), strict=True):
        assert np.array_equal(x, y)
    assert a.trace.events == b.trace.events
    assert a.ego.distance_m > 20.0
    assert any("ped-east moving" in e for _, e in a.trace.events)


def test_lights_follow_their_plan_and_faults_switch_on_and_off() -> None:
    sc = straight(duration=30.0, lights=[{"id": "w", "stop_line": [[10, 2], [10, -2]], "heading_deg": 0,
                                          "plan": [{"state": "red", "duration_s": 10},
                                                   {"state": "green", "duration_s": 10}]}],
                  faults=[{"type": "light_dark", "at_s": 22, "duration_s": 3, "target": "w"},
                          {"type": "chassis_status_silent", "at_s": 5, "duration_s": 1}])
    sim = Simulator(sc, CONFIG)
    states, silent = {}, []
    while not sim.done:
        sim.step()
        states[round(sim.t_s, 2)] = sim.light_state(0)
        silent.append((round(sim.t_s, 2), sim.status_frames() == []))
    assert states[5.0] is LightState.RED and states[15.0] is LightState.GREEN and states[21.0] is LightState.RED
    assert states[23.0] is LightState.DARK and states[25.0] is LightState.RED
    assert all(s for t, s in silent if 5.0 <= t < 6.0)
    assert not all(s for t, s in silent if 6.5 <= t < 7.5)  # status frames flow again
    events = [e for _, e in sim.trace.events]
    assert "light w green" in events and "light w dark" in events
    assert "fault chassis_status_silent on" in events and "fault light_dark off" in events
    gt = sim.ground_truth()
    assert gt.lights[0].state is LightState.GREEN and gt.faults == frozenset()  # t = 30 s: 10 s into the cycle


def test_synthetic_world_grade_height_and_projection() -> None:
    w = SyntheticWorld(straight(grade_pct=10.0).map)
    assert w.grade_at(0.0, 0.0, 0.0) == pytest.approx(0.1)
    assert w.grade_at(0.0, 0.0, math.pi) == pytest.approx(-0.1)
    assert w.grade_at(0.0, 0.0, math.pi / 2) == pytest.approx(0.0)
    assert w.height_at([[50.0, 3.0], [0.0, 0.0]]).tolist() == pytest.approx([5.0, 0.0])
    lat, lon = w.to_latlon(100.0, 50.0)
    assert w.from_latlon(lat, lon) == pytest.approx((100.0, 50.0), abs=1e-6)


def test_rsu_messages_from_ground_truth_decode_in_the_v2x_client() -> None:
    from lsv_v2x_client.codec import Codec
    from lsv_v2x_client.messages import Bsm, MapData, Rsi, Rsm, Spat
    from lsv_v2x_client.messages import LightState as V2xLight

    sc = load_scenario("crossing_synthetic")
    sim = Simulator(sc, CONFIG)
    run(sim, seconds=26.0)  # west red -> green at 25 s, pedestrian and cross traffic out
    rsu = ScenarioRsu(sc, sim.world)
    codec = Codec("csae53")
    t0 = 1_780_300_800 * 10**9
    first = [codec.decode(codec.encode(m)) for m in rsu.messages(sim.ground_truth(), t0 + sim.t_ns)]
    kinds = [type(m) for m in first]
    assert Spat in kinds and MapData in kinds and Rsi in kinds and Rsm in kinds
    second = rsu.messages(sim.ground_truth(), t0 + sim.t_ns + 100 * MS)
    assert MapData not in [type(m) for m in second]  # MAP once a second
    spat = next(m for m in first if isinstance(m, Spat))
    phases = {p.phase_id: p for p in spat.intersections[0].phases}
    assert phases[2].steps[0].light is V2xLight.PROTECTED_GREEN  # west light, green since 25 s
    assert phases[2].steps[0].likely_end == 140  # 14 s left, 0.1 s units
    rsm = next(m for m in first if isinstance(m, Rsm))
    assert "pedestrian" in {p.ptc_type for p in rsm.participants}
    bsms = [m for m in first if isinstance(m, Bsm)]
    assert len(bsms) == 1 and not bsms[0].is_emergency  # the moving cross-traffic car

    ev = straight(actors=[{"id": "amb", "type": "emergency_vehicle", "waypoints": [[-50, 0], [100, 0]]}],
                  v2x={"enabled": True, "rsu": {"position": [0, 0]}})
    sim2 = run(Simulator(ev, CONFIG), seconds=5.0)
    ems = [m for m in ScenarioRsu(ev, sim2.world).messages(sim2.ground_truth(), t0) if isinstance(m, Bsm)]
    assert len(ems) == 1 and codec.decode(codec.encode(ems[0])).is_emergency


def test_district_world_heights_and_grades_reach_the_ego() -> None:
    sim = run(Simulator(load_scenario("hill_start_stop"), CONFIG), seconds=0.1)
    gt = sim.ground_truth()
    assert gt.ego_z_m > 12.0  # patrol_start is above the junction (12 m)
    assert gt.ego_pitch_rad > 0.02  # nose up on the climb
    assert sim.world.grade_at(1.75, 112.8, math.pi / 2) == pytest.approx(0.116, abs=0.01)
