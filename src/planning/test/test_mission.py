"""Mission state machine (every transition), goals from YAML and from MissionGoal."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsv_planning.inputs import NS
from lsv_planning.mission import (
    Goal,
    GoalKind,
    MissionError,
    MissionPhase,
    MissionState,
    add_goal,
    load_yaml,
    transition,
    with_goals,
)

STOP = Goal("a", GoalKind.STOP, 0.0, 0.0, dwell_s=10.0)
STOP0 = Goal("b", GoalKind.STOP, 1.0, 0.0)
PATROL1 = Goal("p1", GoalKind.PATROL, 2.0, 0.0)
PATROL2 = Goal("p2", GoalKind.PATROL, 3.0, 0.0)
PARK = Goal("park", GoalKind.PARK, 4.0, 0.0)
SCENARIOS = Path(__file__).resolve().parents[2] / "sim" / "scenarios"


def test_idle_stays_idle_without_goals():
    assert transition(MissionState(), 0, True) == MissionState()


def test_idle_to_driving_when_goals_present():
    s = transition(MissionState((STOP,)), 0, False)
    assert s.phase == MissionPhase.DRIVING and s.index == 0 and s.version == 1


def test_driving_not_reached_stays():
    s = with_goals([STOP])
    assert transition(s, 5, False) == s


def test_driving_to_dwelling_at_a_stop_with_dwell():
    s = transition(with_goals([STOP, STOP0]), 2 * NS, True)
    assert s.phase == MissionPhase.DWELLING and s.dwell_until_ns == 12 * NS and s.index == 0


def test_dwelling_waits_then_drives_to_the_next_goal():
    d = transition(with_goals([STOP, STOP0]), 2 * NS, True)
    assert transition(d, 11 * NS, False) == d
    n = transition(d, 12 * NS, False)
    assert n.phase == MissionPhase.DRIVING and n.index == 1 and n.version > d.version


def test_dwelling_at_the_last_goal_ends_the_mission():
    d = transition(with_goals([STOP]), 0, True)
    assert transition(d, 10 * NS, False).phase == MissionPhase.DONE


def test_stop_without_dwell_goes_on_or_finishes():
    s = transition(with_goals([STOP0, PARK]), 0, True)
    assert s.phase == MissionPhase.DRIVING and s.index == 1
    assert transition(with_goals([STOP0]), 0, True).phase == MissionPhase.DONE


def test_park_ends_the_mission():
    s = transition(with_goals([PARK, STOP0]), 0, True)
    assert s.phase == MissionPhase.DONE


def test_patrol_waypoint_passes_and_loop_repeats():
    s = with_goals([PATROL1, PATROL2])
    s = transition(s, 0, True)
    assert s.index == 1 and s.phase == MissionPhase.DRIVING
    s = transition(s, 0, True)
    assert s.index == 0 and s.phase == MissionPhase.DRIVING  # round again
    assert [g.goal_id for g in s.goals_ahead()] == ["p1", "p2", "p1"]


def test_patrol_then_stop_is_not_a_loop():
    s = with_goals([PATROL1, STOP0])
    assert [g.goal_id for g in s.goals_ahead()] == ["p1", "b"]
    s = transition(transition(s, 0, True), 0, True)
    assert s.phase == MissionPhase.DONE


def test_done_stays_done():
    d = transition(with_goals([PARK]), 0, True)
    assert transition(d, 99 * NS, True) == d


def test_add_goal_replace_and_append():
    s = add_goal(with_goals([STOP, STOP0]), PARK, append=False)
    assert s.goals == (PARK,) and s.phase == MissionPhase.DRIVING and s.index == 0
    s2 = add_goal(s, STOP0, append=True)
    assert s2.goals == (PARK, STOP0) and s2.index == 0 and s2.version == s.version
    idle = add_goal(MissionState(), STOP0, append=True)
    assert idle.phase == MissionPhase.DRIVING and idle.index == 0
    done = transition(with_goals([PARK]), 0, True)
    again = add_goal(done, STOP0, append=True)
    assert again.phase == MissionPhase.DRIVING and again.index == 1 and again.current == STOP0


def test_scenario_missions_load():
    goals = load_yaml(SCENARIOS / "default.yaml")
    assert [(g.goal_id, g.kind, g.dwell_s) for g in goals] == [("parcel-drop", GoalKind.STOP, 10.0)]
    assert goals[0].tolerance_m == 2.0
    patrol = load_yaml(SCENARIOS / "patrol_loop.yaml")
    assert [g.kind for g in patrol] == [GoalKind.PATROL] * 4 + [GoalKind.STOP]


def test_bad_mission_files(tmp_path):
    with pytest.raises(MissionError, match="goals"):
        (tmp_path / "a.yaml").write_text("goals: []\n")
        load_yaml(tmp_path / "a.yaml")
    with pytest.raises(MissionError, match="kind must be one of"):
        (tmp_path / "b.yaml").write_text("goals: [{x: 1, y: 2, kind: fly}]\n")
        load_yaml(tmp_path / "b.yaml")
    with pytest.raises(MissionError, match="numeric x, y"):
        (tmp_path / "c.yaml").write_text("goals: [{x: 1}]\n")
        load_yaml(tmp_path / "c.yaml")
    with pytest.raises(MissionError, match="mission file"):
        load_yaml(tmp_path / "missing.yaml")
