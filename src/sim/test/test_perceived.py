"""Perception checks (lsv_sim.perceived, through lsv_sim.evaluation): association by distance, first
visible / first perceived times, no seeing through a parked car unless from V2X, detection delay,
V2X ahead of visibility, oracle mode, the schema of the new pass criteria."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from lsv_sim.core import EgoShape, Trace
from lsv_sim.evaluation import evaluate, summary_table, write_report
from lsv_sim.perceived import (
    COLUMNS,
    EARLY_TOLERANCE_S,
    NOT_JUDGED_ORACLE,
    V2X_BIT,
    PerceptionRecord,
    associate,
    point_box_distance,
)
from lsv_sim.scenario import ScenarioError, parse_scenario

LIDAR, CAMERA = 1 << 2, 1 << 1
DT = 0.01
N = 1001  # 10 s
PED_XY = (20.0, -3.0)
CAR_XY = (17.5, -3.5)  # parked, 4.5 x 1.8: the pedestrian stands 0.25 m off its front


def scenario(**pass_criteria):
    d = {"name": "t", "duration_s": 10, "map": {"world": "synthetic", "bounds_m": [-100, -100, 100, 100]},
         "ego": {"start": {"x": 0, "y": 0}},
         "actors": [{"id": "car", "type": "parked_car", "waypoints": [list(CAR_XY)]},
                    {"id": "ped", "type": "pedestrian", "waypoints": [list(PED_XY), [20.0, 5.0]]}],
         "pass": pass_criteria}
    if "perceived_before_visible_s" in pass_criteria:
        d["v2x"] = {"enabled": True}
    return parse_scenario(d, "t.yaml")


def trace() -> Trace:
    """The ego at 1 m/s from x = 0; both actors stand still."""
    tr = Trace(2, 0, capacity=4)
    actors = np.array([[*CAR_XY, 0.0, 0.0], [*PED_XY, 0.0, 0.0]])
    for k in range(N):
        tr.append((k * DT, k * DT, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0), actors, np.zeros(0, np.int8))
    return tr


def record(visible_from_s: float, perceived: list[tuple[float, int]]) -> PerceptionRecord:
    """Lidar scans every 0.1 s: the pedestrian has no return before ``visible_from_s``, 3 for 0.5 s
    (in sight, too few for a detector), then 12 (detectable); perceived: (stamp, source mask) of an
    object right on the pedestrian."""
    rec = PerceptionRecord()
    for k in range(100):
        t = round(0.1 * k, 3)
        rec.add_visibility(t, np.array([300, 0 if t < visible_from_s - 1e-9 else 3 if t < visible_from_s + 0.5 - 1e-9
                                        else 12]))
    for t, mask in perceived:
        rec.add_perceived(t, t + 0.05, np.array([[7, PED_XY[0] + 0.3, PED_XY[1], mask, 6]]))
    rec.add_perceived(9.0, 9.1, np.zeros((0, len(COLUMNS))))  # empty outputs: as the node records them
    rec.add_perceived(9.1, 9.2, [])
    return rec


def checks(summary: dict) -> dict[str, dict]:
    return {c["name"]: c for c in summary["checks"]}


def run(sc, rec, perception: str = "stack") -> dict:
    return evaluate(sc, trace(), EgoShape(), perceived=rec, perception=perception)


def test_association_takes_the_nearest_actor_of_a_compatible_class_within_the_radius() -> None:
    actors = np.array([[*CAR_XY, 0.0], [*PED_XY, 0.0]])
    sizes, classes = [(4.5, 1.8), (0.5, 0.5)], [1, 6]  # parked car, pedestrian
    objs = np.array([[1, 17.5, -3.5, LIDAR, 1],  # the car's centre
                     [2, 20.9, -3.0, LIDAR, 6],  # 0.65 m off the pedestrian
                     [3, 19.9, -3.0, LIDAR, 0],  # inside the pedestrian's box, 0.15 m off the car's front: unknown
                     [4, 30.0, -3.0, LIDAR, 0],  # nothing there
                     [5, 20.0, -2.5, LIDAR, 8],  # a sliver of the car's side drifted off its front (an "emergency
                     [6, 20.0, -2.5, LIDAR, 4]])  # vehicle"): not the pedestrian, whatever the distance; a cyclist is
    assert associate(objs, actors, sizes, classes).tolist() == [0, 1, 1, -1, 0, 1]
    assert associate(objs, actors, sizes, [0, 0]).tolist() == [0, 1, 1, -1, 1, 1]  # classes unknown: distance only
    assert associate(objs[:0], actors, sizes, classes).tolist() == []
    assert point_box_distance(np.array([[3.0, 0.0], [0.0, 0.0], [3.0, 4.0]]), 0.0, 0.0, 0.0, 2.0, 2.0) \
        == pytest.approx([2.0, 0.0, np.hypot(2.0, 3.0)])


def test_a_vehicle_track_next_to_the_pedestrian_is_not_the_pedestrian() -> None:
    """The van's slivers near the gap, before the pedestrian is in sight, do not count as seeing it."""
    rec = record(4.0, [(4.8, LIDAR)])
    rec.add_perceived(3.0, 3.1, np.array([[9, 20.0, -2.5, LIDAR, 2]]))  # a "truck" sliver 0.25 m from it
    s = run(scenario(detected_within_s={"ped": 1.0}), rec)
    assert s["detection"]["actors"]["ped"]["first_perceived_s"] == 4.8 and s["passed"]
    rec.add_perceived(3.2, 3.3, np.array([[9, 20.0, -2.5, LIDAR, 6]]))  # ... which the classifier calls a pedestrian
    c = checks(run(scenario(detected_within_s={"ped": 1.0}), rec))["not_perceived_before_visible.ped"]
    assert not c["passed"] and c["value"] == pytest.approx(-0.8)


def test_detected_after_it_became_visible_passes_and_reports_both_times() -> None:
    s = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, [(4.8, LIDAR), (4.9, LIDAR | CAMERA)]))
    ped = s["detection"]["actors"]["ped"]
    assert ped["first_visible_s"] == 4.0 and ped["first_detectable_s"] == 4.5 and ped["first_perceived_s"] == 4.8
    assert ped["delay_s"] == pytest.approx(0.3)  # counted from detectable
    assert ped["first_perceived_sources"] == ["lidar"] and ped["first_perceived_track_ids"] == [7]
    assert ped["max_returns"] == 12
    # footprints then: ego centre x = 4 (3 m x 1.4 m), pedestrian 0.5 m square at (20, -3)
    assert ped["ego_speed_at_visible_mps"] == 1.0
    assert ped["distance_at_visible_m"] == pytest.approx(np.hypot(20.0 - 0.25 - 5.5, 3.0 - 0.25 - 0.7), abs=0.01)
    assert s["detection"]["actors"]["car"]["first_visible_s"] == 0.0
    c = checks(s)
    assert c["detected_within_s.ped"]["passed"] and c["not_perceived_before_visible.ped"]["passed"]
    assert s["passed"]
    table = summary_table(s)
    assert "visible / detectable / perceived ped" in table and "4.0 s / 4.5 s / 4.8 s" in table
    assert "perceived car" not in table


def test_detected_too_late_or_never_fails() -> None:
    late = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, [(6.0, LIDAR)]))
    assert not checks(late)["detected_within_s.ped"]["passed"] and checks(late)["detected_within_s.ped"]["value"] == 1.5
    never = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, []))
    assert checks(never)["detected_within_s.ped"]["value"] is None and not never["passed"]
    assert checks(never)["not_perceived_before_visible.ped"]["passed"]  # nothing seen through anything
    invisible = run(scenario(detected_within_s={"ped": 1.0}), record(99.0, []))
    assert invisible["detection"]["actors"]["ped"]["first_visible_s"] is None
    assert not checks(invisible)["detected_within_s.ped"]["passed"]


def test_perceived_through_the_parked_car_fails_unless_from_v2x() -> None:
    through = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, [(3.0, LIDAR), (4.1, LIDAR)]))
    c = checks(through)["not_perceived_before_visible.ped"]
    assert not c["passed"] and c["value"] == pytest.approx(-1.0) and c["limit"] == -EARLY_TOLERANCE_S
    # one scan early is within the tolerance (visibility and tracks are sampled at the same scans)
    early = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, [(3.9, LIDAR)]))
    assert checks(early)["not_perceived_before_visible.ped"]["passed"]
    assert early["detection"]["actors"]["ped"]["delay_s"] == pytest.approx(-0.6)  # before it was detectable: fine
    v2x = run(scenario(detected_within_s={"ped": 1.0}), record(4.0, [(2.0, V2X_BIT), (4.2, V2X_BIT | LIDAR)]))
    assert checks(v2x)["not_perceived_before_visible.ped"]["passed"] and v2x["passed"]
    assert v2x["detection"]["actors"]["ped"]["first_perceived_without_v2x_s"] is None
    assert v2x["detection"]["actors"]["ped"]["delay_s"] == pytest.approx(-2.5)


def test_perceived_before_visible_needs_v2x_and_the_lead() -> None:
    sc = scenario(perceived_before_visible_s={"ped": 1.5})
    ok = run(sc, record(4.0, [(2.0, V2X_BIT), (2.1, V2X_BIT)]))
    c = checks(ok)
    assert c["perceived_before_visible_s.ped"]["passed"] and c["perceived_before_visible_s.ped"]["value"] == 2.0
    assert c["not_perceived_before_visible.ped"]["passed"] and ok["passed"]
    assert ok["detection"]["actors"]["ped"]["first_perceived_sources"] == ["v2x"]
    short = checks(run(sc, record(4.0, [(3.0, V2X_BIT)])))
    assert not short["perceived_before_visible_s.ped"]["passed"]
    by_lidar = checks(run(sc, record(4.0, [(2.0, LIDAR)])))
    assert not by_lidar["perceived_before_visible_s.ped"]["passed"]
    assert not by_lidar["not_perceived_before_visible.ped"]["passed"]
    assert not checks(run(sc, record(4.0, [])))["perceived_before_visible_s.ped"]["passed"]
    # announced by V2X and never visible at all (the vehicle waited behind the bus): still ahead
    hidden = checks(run(sc, record(99.0, [(2.0, V2X_BIT)])))["perceived_before_visible_s.ped"]
    assert hidden["passed"] and hidden["value"] == "never visible"


def test_oracle_mode_is_not_judged_and_a_missing_record_fails() -> None:
    sc = scenario(detected_within_s={"ped": 1.0}, perceived_before_visible_s={"ped": 1.0})
    oracle = run(sc, PerceptionRecord(), perception="oracle")
    names = [c["name"] for c in oracle["checks"] if c["value"] == NOT_JUDGED_ORACLE]
    assert names == ["detected_within_s.ped", "not_perceived_before_visible.ped", "perceived_before_visible_s.ped"]
    assert oracle["passed"] and oracle["detection"]["judged"] == NOT_JUDGED_ORACLE
    assert NOT_JUDGED_ORACLE in summary_table(oracle)
    for rec in (None, PerceptionRecord()):  # not recorded / no simulated lidar
        s = run(sc, rec)
        assert not s["passed"] and all(not c["passed"] for c in s["checks"] if "visible" in c["name"])
    # scenarios without perception criteria are not affected
    assert run(scenario(), None)["passed"]


def test_report_files_carry_the_detection(tmp_path) -> None:
    s = write_report(tmp_path, scenario(detected_within_s={"ped": 1.0}), trace(), EgoShape(), plots=False,
                     perceived=record(4.0, [(4.3, LIDAR)]))
    assert s["passed"]
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["detection"] == s["detection"] and on_disk["detection"]["judged"] is True
    assert on_disk["detection"]["scans"] == 100 and on_disk["detection"]["perceived_messages"] == 3
    raw = json.loads((tmp_path / "perception.json").read_text())
    assert raw["visibility"]["returns"]["ped"][39:46] == [0, 3, 3, 3, 3, 3, 12] and raw["visibility"]["t_s"][40] == 4.0
    assert raw["columns"][:5] == ["id", "x", "y", "source_mask", "class"]
    assert raw["perceived"][0] == {"t_s": 4.3, "arrival_s": 4.35,
                                   "objects": [[7, 20.3, -3.0, LIDAR, 6, 0.0, 0.0, 0.0, 0.0, 0.0]]}
    assert raw["perceived"][1]["objects"] == raw["perceived"][2]["objects"] == []


@pytest.mark.parametrize(("criteria", "problem"), [
    ({"detected_within_s": {"nobody": 1.0}}, "pass.detected_within_s.nobody: expected an actor id of this scenario"),
    ({"detected_within_s": 1.0}, "pass.detected_within_s: expected a mapping of actor id -> seconds"),
    ({"detected_within_s": {"ped": -1}}, "pass.detected_within_s.ped: expected a number >= 0 (s)"),
    ({"perceived_before_visible_s": {"ghost": 1.0}}, "pass.perceived_before_visible_s.ghost: expected an actor id"),
])
def test_criteria_are_validated(criteria, problem) -> None:
    with pytest.raises(ScenarioError, match=re.escape(problem)):
        scenario(**criteria)


def test_perceived_before_visible_needs_the_road_side_unit() -> None:
    d = {"name": "t", "duration_s": 10, "map": {"world": "synthetic"}, "ego": {"start": {"x": 0, "y": 0}},
         "actors": [{"id": "ped", "type": "pedestrian", "waypoints": [[5, 5]]}],
         "pass": {"perceived_before_visible_s": {"ped": 1.0}}}
    with pytest.raises(ScenarioError, match=re.escape("pass.perceived_before_visible_s: expected v2x.enabled: true")):
        parse_scenario(d, "t.yaml")


def test_a_scenario_without_actors_records_and_reports_visibility() -> None:
    """The fault scenarios have no actors: the record of lidar returns per actor is then empty columns
    (it crashed at the end of every such run and left no summary)."""
    record = PerceptionRecord()
    for t in (0.1, 0.2):
        record.visibility_t.append(t)
        record.visibility.append(np.zeros(0, np.int64))
    times, returns = record.visibility_array(0)
    assert times.tolist() == [0.1, 0.2] and returns.shape == (2, 0)
    assert record.to_json([])["visibility"] == {"t_s": [0.1, 0.2], "returns": {}}
