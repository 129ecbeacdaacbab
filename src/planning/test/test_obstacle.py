"""Obstacle behaviour: stop with a margin before blocking objects, follow moving ones with a time gap."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_planning.behaviours import obstacle
from lsv_planning.inputs import CLASS_CAR, CLASS_PEDESTRIAN, TrackedObj

KW = dict(front_m=2.45, ego_width_m=1.4, lateral_margin_m=0.5, stop_margin_m=3.0, time_gap_s=1.5,
          follow_min_speed=0.5, prediction_s=2.0, comfort_decel=1.0, min_score=0.3)


def car(x, y, vx=0.0, vy=0.0, score=0.9, oid=1, yaw=0.0, cls=CLASS_CAR):
    return TrackedObj(oid, cls, x, y, yaw, vx, vy, 4.0, 1.8, score)


def test_static_object_in_the_lane_stops_with_the_margin(straight_window):
    WIN = straight_window()
    stops, report = obstacle.evaluate(WIN, [car(40.0, 0.3)], 0.0, **KW)
    assert len(stops) == 1 and stops[0].reason == "obstacle"
    assert stops[0].s == pytest.approx(40.0 - 2.0 - 3.0 - 2.45, abs=0.3)  # rear - margin - front overhang
    assert report[0]["kind"] == "stop"


def test_parked_car_beside_the_lane_does_not_block(straight_window):
    WIN = straight_window()
    # centre 2.25 m right of the path, 1.8 m wide: edge at 1.35 m, ego half width + margin = 1.2 m
    assert obstacle.evaluate(WIN, [car(40.0, -2.25)], 0.0, **KW) == ([], [])


def test_moving_lead_is_followed_with_the_time_gap(straight_window):
    WIN = straight_window()
    stops, report = obstacle.evaluate(WIN, [car(40.0, 0.0, vx=3.0)], 0.0, **KW)
    assert stops[0].reason == "lead_vehicle" and report[0]["kind"] == "follow"
    expected = 38.0 + 3.0 ** 2 / 2.0 - (3.0 + 1.5 * 3.0) - 2.45
    assert stops[0].s == pytest.approx(expected, abs=0.3)


def test_oncoming_object_in_the_lane_is_an_obstacle(straight_window):
    WIN = straight_window()
    stops, _ = obstacle.evaluate(WIN, [car(40.0, 0.0, vx=-3.0, yaw=3.14159)], 0.0, **KW)
    assert stops[0].reason == "obstacle"
    assert stops[0].s < 40.0 - 2.0 - 6.0 - 5.45 + 0.5  # its predicted position (6 m closer in 2 s) counts


def test_object_crossing_into_the_path_is_predicted(straight_window):
    WIN = straight_window()
    ped = TrackedObj(7, CLASS_PEDESTRIAN, 20.0, -4.0, 1.57, 0.0, 1.5, 0.5, 0.5, 0.9)
    stops, _ = obstacle.evaluate(WIN, [ped], 0.0, **KW)
    assert len(stops) == 1 and stops[0].reason == "obstacle"
    still = TrackedObj(7, CLASS_PEDESTRIAN, 20.0, -4.0, 1.57, 0.0, 0.0, 0.5, 0.5, 0.9)
    assert obstacle.evaluate(WIN, [still], 0.0, **KW) == ([], [])


def test_objects_behind_or_with_a_low_score_are_ignored(straight_window):
    WIN = straight_window()
    assert obstacle.evaluate(WIN, [car(-10.0, 0.0)], 0.0, **KW) == ([], [])
    assert obstacle.evaluate(WIN, [car(40.0, 0.0, score=0.1)], 0.0, **KW) == ([], [])


def test_nearest_blocking_object_is_reported_per_object(straight_window):
    WIN = straight_window()
    stops, report = obstacle.evaluate(WIN, [car(60.0, 0.0, oid=2), car(30.0, 0.0, oid=3)], 0.0, **KW)
    assert min(s.s for s in stops) == pytest.approx(30.0 - 2.0 - 3.0 - 2.45, abs=0.3)
    assert {r["object"] for r in report} == {2, 3}


# -- passing close: a standing vehicle a little into the corridor --------------------------------------
PASS_KW = dict(front_m=2.45, rear_m=0.55, ego_width_m=1.4, lateral_margin_m=0.5, min_clearance_m=0.35,
               pass_speed=1.5, follow_min_speed=0.5, prediction_s=2.0, min_score=0.3)


def test_a_parked_car_just_into_the_corridor_is_passed_slowly(straight_window):
    WIN = straight_window()
    # 1.8 m wide, centre 2.05 m right: its side 1.15 m from the path (ego half width 0.7 + 0.45)
    parked = car(40.0, -2.05)
    assert obstacle.evaluate(WIN, [parked], 0.0, **KW)[0]  # the full 0.5 m margin alone: a stop
    stops, _ = obstacle.evaluate(WIN, [parked], 0.0, **KW, min_clearance_m=0.35)
    assert stops == []
    caps, report = obstacle.passing_caps(WIN, [parked], 0.0, **PASS_KW)
    alongside = WIN.s[np.isfinite(caps)]
    assert set(caps[np.isfinite(caps)]) == {1.5}
    # from the front bumper at the car's rear (38 m) to the vehicle's rear at its front (42 m), to the sample
    assert 38.0 - 2.45 - 0.6 <= alongside.min() <= 38.0 - 2.45
    assert 42.0 + 0.55 <= alongside.max() <= 42.0 + 0.55 + 0.6
    assert report == [{"object": 1, "class": "car", "kind": "pass", "distance_m": pytest.approx(35.55, abs=0.3),
                       "clearance_m": pytest.approx(0.45, abs=0.01)}]


def test_closer_than_the_minimum_clearance_is_still_a_stop(straight_window):
    WIN = straight_window()
    parked = car(40.0, -1.9)  # side 1.0 m from the path: 0.3 m clearance
    stops, _ = obstacle.evaluate(WIN, [parked], 0.0, **KW, min_clearance_m=0.35)
    assert [s.reason for s in stops] == ["obstacle"]
    caps, report = obstacle.passing_caps(WIN, [parked], 0.0, **PASS_KW)
    assert np.isinf(caps).all() and report == []


def test_people_cyclists_and_moving_vehicles_keep_the_full_margin(straight_window):
    WIN = straight_window()
    for obj in (TrackedObj(5, CLASS_PEDESTRIAN, 40.0, -1.45, 0.0, 0.0, 0.0, 0.5, 0.5, 0.9),  # side 1.2 m from the path
                TrackedObj(6, 4, 40.0, -1.5, 0.0, 0.0, 0.0, 1.8, 0.6, 0.9),  # a standing cyclist
                car(40.0, -2.05, vx=2.0)):  # a car moving along the lane edge
        stops, _ = obstacle.evaluate(WIN, [obj], 0.0, **KW, min_clearance_m=0.35)
        assert stops, obj
        caps, report = obstacle.passing_caps(WIN, [obj], 0.0, **PASS_KW)
        assert np.isinf(caps).all() and report == [], obj
