"""Evaluation from ground truth: geometry, each metric on a hand-made trace, the report files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lsv_sim.core import EgoShape, Trace
from lsv_sim.evaluation import (
    evaluate,
    inside,
    overlap,
    rect_distance,
    rectangles,
    summary_table,
    write_report,
)
from lsv_sim.lights import LightState
from lsv_sim.scenario import parse_scenario

SHAPE = EgoShape(3.0, 1.4, 0.55)
DT = 0.01


def scenario(**extra):
    d = {"name": "t", "duration_s": 20, "map": {"world": "synthetic", "bounds_m": [-100, -100, 100, 100]},
         "ego": {"start": {"x": 0, "y": 0}}}
    d.update(extra)
    return parse_scenario(d, "t.yaml")


def trace(x: np.ndarray, speed: np.ndarray, actors: list[np.ndarray] | None = None,
          lights: list[np.ndarray] | None = None, y: np.ndarray | None = None) -> Trace:
    """Ego driving along +x (footprint centre x[k]); actors as (T, 4) x, y, yaw, speed."""
    n = len(x)
    actors = actors or []
    lights = lights or []
    tr = Trace(len(actors), len(lights), capacity=4)
    accel = np.gradient(speed, DT) if n > 1 else np.zeros(n)
    y = np.zeros(n) if y is None else y
    for k in range(n):
        tr.append((k * DT, x[k], y[k], 0.0, speed[k], accel[k], 0.0, 0.0),
                  np.array([a[k] for a in actors]).reshape(-1, 4), np.array([lt[k] for lt in lights], dtype=np.int8))
    return tr


def test_rectangle_geometry() -> None:
    a = rectangles(np.array([0.0, 0.0]), np.zeros(2), np.zeros(2), 4.0, 2.0)
    b = rectangles(np.array([3.9, 5.0]), np.zeros(2), np.array([0.0, math.pi / 4]), 4.0, 2.0)
    assert overlap(a, b).tolist() == [True, False]
    d = rect_distance(a, b)
    assert d[0] == 0.0
    assert d[1] == pytest.approx(5.0 - 2.0 - math.sqrt(2) * 1.5, abs=1e-9)  # corner of the rotated one
    rot = rectangles(np.array([0.0]), np.zeros(1), np.array([math.pi / 2]), 4.0, 2.0)
    assert rot[0].max(axis=0) == pytest.approx([1.0, 2.0])
    sq = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    assert inside(np.array([[0.5, 0.5], [1.5, 0.5]]), sq).tolist() == [True, False]


def test_collision_and_min_distance() -> None:
    sc = scenario(actors=[{"id": "parked", "type": "parked_car", "waypoints": [[20, 0]]},
                          {"id": "far", "type": "parked_car", "waypoints": [[20, 10]]}])
    n = 1000
    x = np.linspace(0.0, 19.0, n)  # drives into the parked car (rear at 17.75, ego front at x + 1.5)
    act = [np.tile([20.0, 0.0, 0.0, 0.0], (n, 1)), np.tile([20.0, 10.0, 0.0, 0.0], (n, 1))]
    s = evaluate(sc, trace(x, np.full(n, 2.0), act), SHAPE)
    assert [c["actor"] for c in s["collisions"]] == ["parked"]
    assert s["collisions"][0]["t_s"] == pytest.approx((17.75 - 1.5) / 19.0 * (n - 1) * DT, abs=0.02)
    assert s["min_distance_m"]["parked"]["distance_m"] == 0.0
    assert s["min_distance_m"]["far"]["distance_m"] == pytest.approx(10.0 - 0.9 - 0.7, abs=1e-3)
    assert not s["passed"] and s["checks"][0] == {"name": "no_collision", "passed": False, "value": 1, "limit": 0}


LIGHT = {"id": "w", "intersection_id": 101, "phase_id": 2, "stop_line": [[10, 2], [10, -2]], "heading_deg": 0,
         "plan": [{"state": "red", "duration_s": 10}]}


@pytest.mark.parametrize(("state", "heading", "violations"), [
    (LightState.RED, 0.0, 1), (LightState.GREEN, 0.0, 0), (LightState.RED, 180.0, 0), (LightState.DARK, 0.0, 0)])
def test_red_light_violation(state: LightState, heading: float, violations: int) -> None:
    sc = scenario(lights=[{**LIGHT, "heading_deg": heading}])
    n = 500
    x = np.linspace(0.0, 15.0, n)  # the front bumper (x + 1.5) crosses x = 10
    s = evaluate(sc, trace(x, np.full(n, 3.0), lights=[np.full(n, int(state))]), SHAPE)
    assert len(s["red_light_violations"]) == violations
    if violations:
        assert s["red_light_violations"][0]["light"] == "w"
        assert s["red_light_violations"][0]["t_s"] == pytest.approx(8.5 / 15.0 * (n - 1) * DT, abs=0.02)


def test_stop_line_needs_a_stop_just_before_it() -> None:
    sc = scenario(stop_lines=[{"id": "s", "line": [[10, 2], [10, -2]], "heading_deg": 0}])
    n = 600
    x = np.linspace(0.0, 15.0, n)
    rolling = evaluate(sc, trace(x, np.full(n, 2.0)), SHAPE)
    assert [v["stop_line"] for v in rolling["stop_line_violations"]] == ["s"]
    speed = np.full(n, 2.0)
    speed[(x + 1.5 > 8.0) & (x + 1.5 < 9.0)] = 0.0  # at rest 1-2 m before the line
    stopped = evaluate(sc, trace(x, speed), SHAPE)
    assert stopped["stop_line_violations"] == []


def test_crosswalk_yield() -> None:
    cw = {"id": "cw", "polygon": [[10, -5], [13, -5], [13, 5], [10, 5]]}
    n = 800
    x = np.linspace(0.0, 20.0, n)
    on = np.tile([11.5, 3.0, -math.pi / 2, 1.2], (n, 1))  # standing on the crosswalk, beside the ego lane
    off = np.tile([11.5, 7.0, -math.pi / 2, 0.0], (n, 1))
    sc = scenario(crosswalks=[cw], actors=[{"id": "ped", "type": "pedestrian", "waypoints": [[11.5, 3]]}])
    s = evaluate(sc, trace(x, np.full(n, 2.0), [on]), SHAPE)
    assert [(v["crosswalk"], v["actor"]) for v in s["crosswalk_yield_violations"]] == [("cw", "ped")]
    assert evaluate(sc, trace(x, np.full(n, 2.0), [off]), SHAPE)["crosswalk_yield_violations"] == []
    # standing still at the crosswalk edge while the pedestrian crosses is yielding
    x_wait = np.full(n, 9.0)
    assert evaluate(sc, trace(x_wait, np.zeros(n), [on]), SHAPE)["crosswalk_yield_violations"] == []
    # a car on the crosswalk is no pedestrian
    sc_car = scenario(crosswalks=[cw], actors=[{"id": "car", "type": "car", "waypoints": [[11.5, 3], [11.5, 9]]}])
    assert evaluate(sc_car, trace(x, np.full(n, 2.0), [on]), SHAPE)["crosswalk_yield_violations"] == []


def test_crosswalk_yield_counts_walkers_on_the_carriageway_part_only() -> None:
    # the crosswalk reaches 2 m onto each sidewalk of a road y in [-3, 3]
    cw = {"id": "cw", "polygon": [[10, -5], [13, -5], [13, 5], [10, 5]],
          "carriageway": [[0, -3], [30, -3], [30, 3], [0, 3]]}
    sc = scenario(crosswalks=[cw], actors=[{"id": "ped", "type": "pedestrian", "waypoints": [[11.5, 3]]}])
    n = 800
    x = np.linspace(0.0, 20.0, n)
    on_road = np.tile([11.5, 2.5, math.pi / 2, 1.2], (n, 1))  # far lane, 0.5 m from the kerb
    on_sidewalk = np.tile([11.5, 4.0, math.pi / 2, 1.2], (n, 1))  # the crosswalk's sidewalk part
    s = evaluate(sc, trace(x, np.full(n, 2.0), [on_road]), SHAPE)
    assert [v["actor"] for v in s["crosswalk_yield_violations"]] == ["ped"]
    assert evaluate(sc, trace(x, np.full(n, 2.0), [on_sidewalk]), SHAPE)["crosswalk_yield_violations"] == []
    # without a carriageway the whole polygon counts
    whole = scenario(crosswalks=[{k: v for k, v in cw.items() if k != "carriageway"}],
                     actors=[{"id": "ped", "type": "pedestrian", "waypoints": [[11.5, 3]]}])
    assert len(evaluate(whole, trace(x, np.full(n, 2.0), [on_sidewalk]), SHAPE)["crosswalk_yield_violations"]) == 1


def test_deceleration_jerk_rollback() -> None:
    n = 301
    t = np.arange(n) * DT
    speed = np.where(t < 1.0, 3.0, np.maximum(3.0 - 2.0 * (t - 1.0), 0.0))
    speed[-20:] = -0.5  # rolls back for 0.2 s
    s = evaluate(scenario(), trace(np.cumsum(speed) * DT, speed), SHAPE)
    assert s["deceleration_mps2"]["max"] > 20.0  # to -0.5 m/s within a step
    assert s["rollback_m"] == pytest.approx(0.5 * 0.19, abs=0.01)
    smooth = np.where(t < 1.0, 3.0, 3.0 - 1.0 * (t - 1.0))
    s2 = evaluate(scenario(), trace(np.cumsum(smooth) * DT, smooth), SHAPE)
    assert s2["deceleration_mps2"]["max"] == pytest.approx(1.0, abs=0.01)
    assert s2["deceleration_mps2"]["mean"] == pytest.approx(1.0, abs=0.02)
    assert s2["jerk_mps3"]["max"] == pytest.approx(1.0 / 0.1, rel=0.1)  # a 1 m/s^2 step over the 0.1 s window


def test_goals_in_order_with_time() -> None:
    sc = scenario(mission={"goals": [{"id": "a", "x": 10, "y": 0, "kind": "pass"},
                                     {"id": "b", "x": 20, "y": 0, "kind": "stop", "tolerance_m": 1.0}]},
                  **{"pass": {"goal_reached": True, "max_time_s": 30}})
    n = 2000
    x = np.minimum(np.linspace(0.0, 40.0, n), 20.0)
    speed = np.where(x < 20.0, 2.0, 0.0)
    s = evaluate(sc, trace(x, speed), SHAPE)
    assert [g["reached"] for g in s["goals"]] == [True, True]
    assert s["goals"][0]["t_s"] == pytest.approx(8.0 / 40.0 * (n - 1) * DT, abs=0.02)  # within 2 m
    assert s["goal_reached"] and s["time_to_goal_s"] == s["goals"][1]["t_s"]
    assert s["passed"]
    never = evaluate(sc, trace(np.zeros(n), np.zeros(n)), SHAPE)
    assert not never["goal_reached"] and never["time_to_goal_s"] is None
    assert never["goals"][0]["closest_m"] == 10.0 and not never["passed"]


def test_report_files_and_identical_json(tmp_path: Path) -> None:
    sc = scenario(actors=[{"id": "ped", "type": "pedestrian", "waypoints": [[5, 5], [5, -5]]}],
                  lights=[LIGHT], crosswalks=[{"id": "cw", "polygon": [[4, -5], [6, -5], [6, 5], [4, 5]]}])
    n = 300
    x = np.linspace(0.0, 3.0, n)
    act = [np.column_stack([np.full(n, 5.0), np.linspace(5, -5, n), np.full(n, -math.pi / 2), np.full(n, 1.0)])]
    tr = trace(x, np.full(n, 1.0), act, [np.full(n, int(LightState.RED))])
    tr.events.append((1.0, "ped moving"))
    s1 = write_report(tmp_path / "a", sc, tr, SHAPE)
    s2 = write_report(tmp_path / "b", sc, tr, SHAPE, plots=False)
    assert (tmp_path / "a/summary.json").read_bytes() == (tmp_path / "b/summary.json").read_bytes()
    assert s1 == s2 == json.loads((tmp_path / "a/summary.json").read_text())
    for png in ("trajectory.png", "speed_accel.png", "events.png"):
        assert (tmp_path / "a" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = summary_table(s1)
    assert "min distance ped" in table and "check no_collision" in table
    early = write_report(tmp_path / "c", sc, tr, SHAPE, plots=False, completed=False)
    assert not early["completed"] and not early["passed"]
    assert early["checks"][0] == {"name": "completed", "passed": False, "value": 2.99, "limit": 20.0}
    assert "(stopped early)" in summary_table(early)
    # what the planner and the controller saw is part of the record: the stack's perception unless told
    assert s1["perception"] == "stack"
    oracle = write_report(tmp_path / "d", sc, tr, SHAPE, plots=False, perception="oracle")
    assert json.loads((tmp_path / "d/summary.json").read_text())["perception"] == "oracle"
    assert any(line.split()[:2] == ["perception", "oracle"] for line in summary_table(oracle).splitlines())


def test_every_fault_type_but_the_generic_ones_names_the_diagnostic_it_expects():
    """A fault scenario without `expect_diagnostic` is judged on the type's default text: the perception
    faults of issue #15 have theirs (their scenarios rely on it)."""
    from lsv_sim.evaluation import DEFAULT_DIAGNOSTIC
    from lsv_sim.scenario import FAULT_TYPES

    generic = {"lidar_dropout", "camera_dropout", "v2x_silent", "light_dark", "lidar_freeze", "camera_freeze",
               "kill_node", "v2x_forged_green"}  # any non-OK status, or their scenario's own text
    assert set(FAULT_TYPES) - generic <= set(DEFAULT_DIAGNOSTIC), set(FAULT_TYPES) - generic - set(DEFAULT_DIAGNOSTIC)
