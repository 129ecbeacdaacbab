"""The replay comparison itself (tests/replay/compare.py): scheduling jitter passes, a changed
decision fails. Pure: no bag, no ROS graph."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/replay/: pytest runs with --import-mode=importlib
from replay import compare


def decisions(runs: list[tuple[float, float, str, str]], dt: float = 0.1) -> list[dict]:
    """Decisions at 10 Hz from (start s, end s, state, reason) runs."""
    out = []
    for start, end, state, reason in runs:
        n = round((end - start) / dt)
        out += [{"t": round(start + i * dt, 3), "state": state, "reason": reason} for i in range(n)]
    return out


# the red_light_crosswalk reference: stopped at the red light, the light turns green at 21.8 s just
# before a pedestrian reaches the crosswalk (22.1 s), then a parked obstacle, the crosswalk again
REFERENCE = [(14.5, 19.4, "stopping", "red_light"), (19.4, 22.1, "stopped", "red_light"),
             (22.1, 24.8, "stopping", "crosswalk"), (24.8, 29.1, "stopping", "obstacle"),
             (29.1, 34.4, "stopped", "crosswalk"), (34.4, 36.0, "driving", "cruise")]


def events(runs: list[tuple[float, float, str, str]]) -> list[dict]:
    return compare.planner_events(decisions(runs))


def test_a_brief_decision_between_two_near_scene_events_is_jitter():
    # CI once saw the green 0.4 s before the pedestrian (loaded machine): cruise in between
    replay = [*REFERENCE[:1], (19.4, 21.8, "stopped", "red_light"), (21.8, 22.2, "driving", "cruise"),
              (22.2, 24.8, "stopping", "crosswalk"), *REFERENCE[3:]]
    assert compare.compare_events(events(replay), events(REFERENCE)) == []


def test_a_real_cruise_between_the_light_and_the_crosswalk_is_a_change():
    replay = [*REFERENCE[:1], (19.4, 21.8, "stopped", "red_light"), (21.8, 23.5, "driving", "cruise"),
              (23.5, 24.8, "stopping", "crosswalk"), *REFERENCE[3:]]
    problems = compare.compare_events(events(replay), events(REFERENCE))
    assert problems and problems[0] == "decision sequence changed:"
    assert any(line == "+cruise" for line in problems)


def test_a_stop_no_longer_made_is_a_change():
    replay = [*REFERENCE[:2], (22.1, 29.1, "stopping", "obstacle"), *REFERENCE[4:]]
    problems = compare.compare_events(events(replay), events(REFERENCE))
    assert any(line == "-crosswalk" for line in problems)


def test_an_event_moved_beyond_the_tolerance_is_a_change():
    shift = compare.EVENT_TIME_TOL_S + 0.5
    replay = [(s + shift, e + shift, st, r) for s, e, st, r in REFERENCE]
    problems = compare.compare_events(events(replay), events(REFERENCE))
    assert problems and all("tolerance" in p for p in problems)


def test_a_stop_point_moved_beyond_the_tolerance_is_a_change():
    ref = {"red_light": 134.66, "crosswalk": 145.05}
    assert compare.compare_stops({"red_light": 134.9, "crosswalk": 145.05}, ref) == []
    assert compare.compare_stops({"red_light": 134.66 + compare.STOP_POS_TOL_M + 0.1, "crosswalk": 145.05}, ref)
    assert compare.compare_stops({"red_light": 134.66}, ref) == [
        "stop for crosswalk: no longer planned (reference 145.05, replay None m along the route)"]
