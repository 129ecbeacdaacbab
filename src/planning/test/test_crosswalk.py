"""Crosswalk behaviour: yield to walkers on or heading to the crosswalk, and only to them."""

from __future__ import annotations

import numpy as np
import pytest

from lsv_planning.behaviours import crosswalk as cwb
from lsv_planning.behaviours.crosswalk import CrosswalkAhead, Walker
from lsv_planning.lanelet_map import CrosswalkArea

# a crosswalk 4 m wide across an eastbound route along y = 0, spanning y in [-8, 8], at x in [48, 52]
POLY = np.array([[48.0, -8.0], [52.0, -8.0], [52.0, 8.0], [48.0, 8.0]])
CW = CrosswalkAhead(CrosswalkArea(3001, POLY, (1030,)), 48.0, 52.0, np.array([50.0, 0.0]), 0.0)
KW = dict(front_m=2.45, stop_margin_m=1.0, margin_m=1.5, horizon_s=4.0, half_width_m=4.0, lookahead_m=60.0)


def run(walkers, ego_s=10.0):
    return cwb.evaluate([CW], walkers, ego_s, **KW)


def test_walker_on_the_crosswalk_yields_before_it():
    stops, report = run([Walker(50.0, 1.0, 0.0, 1.2, "ped")])
    assert len(stops) == 1 and stops[0].reason == "crosswalk"
    assert stops[0].s == pytest.approx(48.0 - 1.0 - 2.45)
    assert report[0]["yield"] and report[0]["walkers"] == ["ped"]


def test_walker_heading_to_the_crosswalk_yields():
    # on the sidewalk 6 m from the route, walking towards it at 1.2 m/s: in the conflict zone within 4 s
    stops, _ = run([Walker(50.0, -7.0, 0.0, 1.2, "ped")])
    assert len(stops) == 1


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
