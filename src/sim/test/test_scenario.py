"""Scenario files: the shipped ones load; bad ones fail with file, key, expected and got."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from lsv_sim.actors import ActorType
from lsv_sim.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    load_scenario,
    make_world,
    parse_scenario,
    resolve_path,
    shipped_scenarios,
)

REQUIRED = {"delivery_red_light", "crossing_synthetic", "pedestrian_behind_parked_car", "emergency_vehicle_behind",
            "hill_start_stop",
            "patrol_loop", "gnss_dropout", "v2x_silent"}


def base() -> dict:
    return yaml.safe_load((SCENARIO_DIR / "crossing_synthetic.yaml").read_text())


def problems(data: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, "bad.yaml")
    text = str(info.value)
    assert text.startswith("bad.yaml: invalid scenario")
    return text


def test_every_shipped_scenario_loads_and_the_required_ones_exist() -> None:
    names = {load_scenario(p).name for p in shipped_scenarios()}
    assert names >= REQUIRED
    assert resolve_path("hill_start_stop").name == "hill_start_stop.yaml"


def test_synthetic_crossing_contents() -> None:
    sc = load_scenario("crossing_synthetic")
    assert sc.v2x.enabled and sc.lights and sc.crosswalks and sc.goals
    assert sc.ego_start.x_m == -70.0 and sc.ego_start.yaw_rad == 0.0
    ped = next(a for a in sc.actors if a.actor_id == "ped-east")
    assert ped.type is ActorType.PEDESTRIAN and ped.trigger.at_s == 24.0
    assert sc.pass_criteria.min_distance_per_actor_m["ped-east"] == 1.5
    west = next(lt for lt in sc.lights if lt.light_id == "west")
    assert west.plan.cycle_s == 43.0 and west.heading_rad == 0.0


def test_unknown_actor_type_is_named_with_the_choices() -> None:
    d = base()
    d["actors"][0]["type"] = "bicycle"
    text = problems(d)
    assert "actors[0].type: expected an actor type, one of ['pedestrian', 'cyclist', 'car', 'parked_car'," in text
    assert "got 'bicycle'" in text


def test_goal_off_the_map() -> None:
    d = base()
    d["mission"]["goals"][0].update(x=60, y=40)  # 36 m beside the road
    text = problems(d)
    assert "mission.goals[0]: expected a goal on the map, got '(60, 40): 36.5 m from the nearest road" in text
    d["mission"]["goals"][0].update(x=500, y=-1.75)
    assert "outside map.bounds_m" in problems(d)


def test_every_problem_is_reported_at_once() -> None:
    d = base()
    d["duration_s"] = -1
    d["ego"]["start"]["x"] = "west"
    d["lights"][0]["plan"][0]["state"] = "purple"
    d["faults"] = [{"type": "meteor", "at_s": 3}]
    d["colour"] = "blue"
    text = problems(d)
    assert "duration_s: expected a number in [0.1, 86400.0], got -1" in text
    assert "ego.start.x: expected a finite number, got 'west'" in text
    assert "lights[0].plan[0].state: expected one of ['red'," in text
    assert "faults[0].type: expected a fault type, one of ['gnss_dropout'" in text
    assert "colour: expected one of the keys" in text
    assert "(5 problem(s))" in text


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["actors"][0].update(waypoints=[[1, 2, 3]]), "actors[0].waypoints: expected a list of 1+ [x, y]"),
    (lambda d: d["actors"][0].update(speed_mps=[1, 2, 3, 4]), "actors[0].speed_mps: expected one number or a list"),
    (lambda d: d["actors"][1].update(id="ped-east"), "actors[1].id: expected a unique actor id"),
    (lambda d: d["lights"][0].update(stop_line=[[0, 0], [0, 0]]), "lights[0].stop_line: expected two distinct points"),
    (lambda d: d["pass"].update(min_distance_m={"ghost": 1.0}), "pass.min_distance_m.ghost: expected an actor id"),
    (lambda d: d.update(faults=[{"type": "light_dark", "at_s": 1, "target": "north"}]),
     "faults[0].target: expected a light id of this scenario"),
    (lambda d: d.pop("map"), "map: missing (required)"),
    (lambda d: d["map"].update(world="moon"), "map.world: expected one of ['synthetic', 'district'], got 'moon'"),
    (lambda d: d["ego"]["start"].update(place="depot", x=None), "ego.start.place: expected a place of the map"),
    (lambda d: d.update(seed=-3), "seed: expected an integer >= 0, got -3"),
    (lambda d: d["pass"].update(max_comfort_jerk_mps3=-1.0),
     "pass.max_comfort_jerk_mps3: expected a number >= 0.0, got -1.0"),
    (lambda d: d["pass"].update(max_comfort_jerk_mps3="smooth"),
     "pass.max_comfort_jerk_mps3: expected a finite number, got 'smooth'"),
])
def test_clear_errors(edit, message: str) -> None:
    d = base()
    edit(d)
    assert message in problems(d)


def test_max_comfort_jerk_is_parsed() -> None:
    d = base()
    assert parse_scenario(d, "x.yaml").pass_criteria.max_comfort_jerk_mps3 is None  # not judged unless asked
    d["pass"]["max_comfort_jerk_mps3"] = 2.5
    assert parse_scenario(d, "x.yaml").pass_criteria.max_comfort_jerk_mps3 == 2.5
    # The shipped scenarios do not judge it yet: today every stop ends with a jerk spike of 10-18 m/s^3
    # (the ride-comfort issue's smooth stop is open); the figures are reported in every run.


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=f"{bad}: not valid YAML"):
        load_scenario(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(bad)


def test_default_scenario_in_the_district_uses_the_map() -> None:
    sc = load_scenario(None)
    assert sc.name == "delivery_red_light" and sc.map.world == "district"
    assert (sc.ego_start.x_m, sc.ego_start.y_m) == (-135.0, -1.75)  # place: depot
    west = next(lt for lt in sc.lights if lt.light_id == "west")
    assert (west.intersection_id, west.phase_id) == (101, 2)  # from the map's stop line 10059
    assert west.stop_line[0][0] == pytest.approx(-12.0, abs=1e-3) and west.heading_rad == pytest.approx(0.0, abs=1e-3)
    assert {c.crosswalk_id for c in sc.crosswalks} >= {"west_south"}  # crosswalks: from_map
    # the road part of west_south (0, -9): the carriageway x in [-3.5, 3.5], not the 4.5 m onto the sidewalks
    from lsv_sim.evaluation import inside, on_road
    ws = next(c for c in sc.crosswalks if c.crosswalk_id == "west_south")
    probe = np.array([[-3.0, -9.0], [0.0, -9.0], [3.0, -9.0], [-5.0, -9.0], [5.0, -9.0]])
    assert inside(probe, ws.polygon).all()
    assert on_road(probe, ws.carriageway).tolist() == [True, True, True, False, False]
    d = yaml.safe_load((SCENARIO_DIR / "default.yaml").read_text())
    d["mission"]["goals"][0].update(x=-30, y=-40)  # between the streets
    with pytest.raises(ScenarioError, match=r"mission.goals\[0\]: expected a goal on the map, got '\(-30, -40\): "
                                            r"[0-9.]+ m from the nearest lanelet'"):
        parse_scenario(d, "bad.yaml", make_world(sc.map))
    d = yaml.safe_load((SCENARIO_DIR / "default.yaml").read_text())
    d["lights"][0]["stop_line_id"] = 4242
    with pytest.raises(ScenarioError, match=r"lights\[0\].stop_line_id: expected a stop line id of the map \[10053,"):
        parse_scenario(d, "bad.yaml", make_world(sc.map))


def test_places_of_a_world_resolve() -> None:
    class World:
        def __init__(self) -> None:
            self.places = {"depot": {"x": -70.0, "y": -1.75, "yaw": 0.0}}
            self.lanelet_map = None

    d = copy.deepcopy(base())
    d["ego"]["start"] = {"place": "depot", "yaw_deg": 90}
    sc = parse_scenario(d, "ok.yaml", World())
    assert (sc.ego_start.x_m, sc.ego_start.yaw_rad) == (-70.0, pytest.approx(math.pi / 2))


def test_fault_activity_window() -> None:
    sc = load_scenario("gnss_dropout")
    assert [f.type for f in sc.faults_active(14.9)] == []
    assert [f.type for f in sc.faults_active(15.0)] == ["gnss_dropout"]
    assert [f.type for f in sc.faults_active(35.0)] == []
    assert load_scenario("v2x_silent").faults_active(1e6)[0].type == "v2x_silent"  # no duration: to the end
