"""Crosswalk behaviour: yield to walkers on or heading to the crosswalk, and only to them."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_planning.behaviours import crosswalk as cwb
from lsv_planning.behaviours.crosswalk import CrosswalkAhead, Walker
from lsv_planning.lanelet_map import CrosswalkArea

# a crosswalk 4 m wide across an eastbound route along y = -1.75 (the right lane of a two-lane road
# y in [-3.5, 3.5]), spanning y in [-8, 8] (4.5 m onto each sidewalk), at x in [48, 52]
POLY = np.array([[48.0, -8.0], [52.0, -8.0], [52.0, 8.0], [48.0, 8.0]])
LANES = (np.array([[0.0, -3.5], [100.0, -3.5], [100.0, 0.0], [0.0, 0.0]]),
         np.array([[100.0, 0.0], [0.0, 0.0], [0.0, 3.5], [100.0, 3.5]]))
CW = CrosswalkAhead(CrosswalkArea(3001, POLY, (1030, 1031), LANES), 48.0, 52.0, np.array([50.0, -1.75]), 0.0)
KW = dict(front_m=2.45, stop_margin_m=1.0, margin_m=1.5, horizon_s=4.0, lookahead_m=60.0)


def run(walkers, ego_s=10.0, cw=CW):
    return cwb.evaluate([cw], walkers, ego_s, **KW)


def test_walker_on_the_crosswalk_yields_before_it():
    stops, report = run([Walker(50.0, 1.0, 0.0, 1.2, "ped")])
    assert len(stops) == 1 and stops[0].reason == "crosswalk"
    assert stops[0].s == pytest.approx(48.0 - 1.0 - 2.45)
    assert report[0]["yield"] and report[0]["walkers"] == ["ped"]


def test_walker_heading_to_the_crosswalk_yields():
    # on the sidewalk 3.5 m from the kerb, walking towards it at 1.2 m/s: on the road within 4 s
    stops, _ = run([Walker(50.0, -7.0, 0.0, 1.2, "ped")])
    assert len(stops) == 1


def test_walker_on_the_far_lane_walking_away_still_holds_the_vehicle():
    # 0.5 m from the far kerb, 4.75 m to the left of the route: still on the road part
    stops, report = run([Walker(50.0, 3.0, 0.0, 1.2, "leaving")])
    assert len(stops) == 1 and report[0]["walkers"] == ["leaving"]
    # at the kerb (within KERB_MARGIN_M) it still holds; 1.2 m onto the sidewalk part it does not
    assert len(run([Walker(50.0, 3.5 + cwb.KERB_MARGIN_M - 0.1, 0.0, 1.2, "leaving")])[0]) == 1
    assert run([Walker(50.0, 3.5 + cwb.KERB_MARGIN_M + 0.2, 0.0, 1.2, "leaving")])[0] == []


def test_without_a_carriageway_the_whole_crosswalk_counts():
    whole = CrosswalkAhead(CrosswalkArea(3001, POLY, (1030,)), 48.0, 52.0, np.array([50.0, -1.75]), 0.0)
    assert len(run([Walker(50.0, -7.0, 0.0, 0.0, "waiting")], cw=whole)[0]) == 1


def test_walker_waiting_far_on_the_sidewalk_or_walking_away_does_not():
    assert run([Walker(50.0, -7.0, 0.0, 0.0, "waiting")])[0] == []
    assert run([Walker(50.0, 5.0, 0.0, 1.5, "leaving")])[0] == []
    assert run([Walker(20.0, 5.0, 0.0, 0.0, "elsewhere")])[0] == []


def test_walker_approaching_along_the_sidewalk_towards_the_crosswalk_end():
    # walking along the sidewalk, reaching the crosswalk corner but not the road part: no yield
    assert run([Walker(40.0, -7.5, 1.4, 0.0, "stroller")])[0] == []


def test_no_stop_once_the_front_is_on_the_crosswalk():
    stops, report = run([Walker(50.0, 1.0, 0.0, 1.2, "ped")], ego_s=46.0)
    assert stops == [] and report[0]["yield"] is False


def test_crosswalk_behind_or_beyond_lookahead_is_ignored():
    assert run([Walker(50.0, 0.0, 0.0, 0.0, "ped")], ego_s=60.0) == ([], [])
    assert run([Walker(50.0, 0.0, 0.0, 0.0, "ped")], ego_s=-30.0) == ([], [])
