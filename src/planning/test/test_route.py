"""Map loading (own projector, regulatory elements), routing and the reference path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_planning.lanelet_map import MapError, load_road_map, resolve_map_path
from lsv_planning.route import RouteError, Waypoint, reference_path, route_through


def test_map_matches_the_simulator_world(road_map):
    from lsv_sim.world import load_world  # tests only: the planner itself never imports lsv_sim

    world = load_world()
    assert sorted(s.stop_line_id for s in road_map.stop_lines) == sorted(s.id for s in world.stop_lines)
    for sl in road_map.stop_lines:
        ws = next(w for w in world.stop_lines if w.id == sl.stop_line_id)
        assert (sl.intersection_id, sl.phase_id, sl.lanelet_ids) == (ws.intersection_id, ws.phase_id, ws.lanelet_ids)
        np.testing.assert_allclose(sl.points, ws.points, atol=1e-6)
    assert [(c.id, c.lanelet_ids) for c in road_map.crosswalks] == [(c.id, c.lanelet_ids) for c in world.crosswalks]
    for lid in (1001, 1003, 1030):
        np.testing.assert_allclose(road_map.centerlines[lid], world.centerline(lid), atol=1e-6)
    assert road_map.speed_limits[1001] == pytest.approx(15 / 3.6)


def test_missing_map_is_a_clear_error(tmp_path):
    with pytest.raises(MapError, match="not found"):
        load_road_map(tmp_path / "nope.osm", 30.0, 120.0)
    with pytest.raises(MapError, match="package://no_such_pkg"):
        resolve_map_path("package://no_such_pkg/maps/x.osm")


def test_route_depot_to_parcel_drop(road_map):
    goal = Waypoint(-1.75, -72.9, -math.pi / 2, name="drop")
    seq, gidx = route_through(road_map, Waypoint(-135.0, -1.75, 0.0), [goal])
    assert seq == [1016, 1030, 1009]  # west stub eastbound, right turn at west, south_down
    path = reference_path(road_map, seq, [goal], gidx)
    assert np.all(np.diff(path.s) > 0)
    assert np.max(np.linalg.norm(np.diff(path.xy, axis=0), axis=1)) < 0.6  # no jumps
    gs = path.goal_s[0]
    gxy, _ = path.at(gs)
    assert np.hypot(*(gxy[0] - (goal.x, goal.y))) < 0.2
    # the right turn bends right: negative curvature, radius about the junction's corner
    turn = path.lanelet == 1030
    assert path.curvature[turn].min() < -0.05
    assert np.all(path.curvature[turn] < 0.02)


def test_grade_on_the_hill(road_map):
    seq, gidx = route_through(road_map, Waypoint(1.75, 45.0, math.pi / 2), [Waypoint(1.75, 200.0, math.pi / 2)])
    path = reference_path(road_map, seq, [Waypoint(1.75, 200.0)], gidx)
    assert 0.10 < path.grade.max() < 0.13  # north_up climbs at up to 11.8 %
    assert path.grade.min() > -0.01


def test_goal_behind_on_the_same_lanelet_goes_round(road_map):
    seq, _ = route_through(road_map, Waypoint(100.0, -1.75, 0.0), [Waypoint(50.0, -1.75, 0.0, name="behind")])
    assert seq[0] == seq[-1] == 1001 and len(seq) > 3


def test_unreachable_goal_names_the_goal(road_map):
    # west_stub.fwd (1015) runs west off the district's edge: nothing is reachable from it
    with pytest.raises(RouteError, match=r"goal 'customer'.*unreachable"):
        route_through(road_map, Waypoint(-60.0, 1.75, math.pi), [Waypoint(100.0, -1.75, 0.0, name="customer")])
    with pytest.raises(RouteError, match="not within 5 m of a road lanelet"):
        route_through(road_map, Waypoint(-135.0, -1.75, 0.0), [Waypoint(500.0, 500.0, name="nowhere")])


def test_project_gives_signed_lateral_offset(road_map):
    seq, _ = route_through(road_map, Waypoint(-135.0, -1.75, 0.0), [])
    path = reference_path(road_map, seq)
    s, lat = path.project(-100.0, -1.0)
    assert lat == pytest.approx(0.75, abs=0.05)  # left of the eastbound lane centre
    s2, lat2 = path.project(-100.0, -2.5)
    assert lat2 == pytest.approx(-0.75, abs=0.05) and s2 == pytest.approx(s, abs=0.05)


def test_lane_matching_prefers_the_lane_the_point_is_on(road_map):
    # main.bwd (westbound, y = +1.75) with a default (east) heading: still main.bwd
    assert road_map.match_lanelet(107.4, 1.75, 0.0) == 1002
    assert road_map.match_lanelet(107.4, -1.75, math.pi) == 1001
    # in the junction the heading picks among the overlapping connectors
    assert road_map.match_lanelet(-5.0, -1.75, 0.0) == 1028  # west.W->E
    assert road_map.match_lanelet(-1.75, -5.0, -math.pi / 2) == 1023  # west.N->S
    assert road_map.match_lanelet(500.0, 500.0) is None
