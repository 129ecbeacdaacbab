"""The district map: loads and routes with Lanelet2, as the issue asks; the generator is deterministic."""

from __future__ import annotations

from pathlib import Path

import lanelet2
import numpy as np
import pytest
import yaml
from lanelet2.io import Origin
from lanelet2.projection import LocalCartesianProjector

from lsv_sim import mapgen

MAPS = Path(__file__).resolve().parent.parent / "maps"
OSM = MAPS / "district.osm"


@pytest.fixture(scope="module")
def meta() -> dict:
    return yaml.safe_load((MAPS / "district.yaml").read_text())


@pytest.fixture(scope="module")
def lmap(meta: dict):
    o = meta["origin"]
    return lanelet2.io.load(str(OSM), LocalCartesianProjector(Origin(o["lat_deg"], o["lon_deg"], o["alt_m"])))


def test_origin_matches_the_v2x_client_configuration(meta: dict) -> None:
    cfg = yaml.safe_load((MAPS.parent.parent / "v2x_client" / "config" / "v2x_client.param.yaml").read_text())
    p = cfg["/**"]["ros__parameters"]
    assert meta["origin"]["lat_deg"] == p["map_origin_lat_deg"]
    assert meta["origin"]["lon_deg"] == p["map_origin_lon_deg"]
    assert meta["origin"]["projector"] == "local_cartesian"


def test_loads_with_plain_lanelet2_and_has_the_district(lmap, meta: dict) -> None:
    lanelets = list(lmap.laneletLayer)
    crosswalks = [ll for ll in lanelets if ll.attributes["subtype"] == "crosswalk"]
    assert len(crosswalks) == 4
    lights = [r for r in lmap.regulatoryElementLayer if r.attributes["subtype"] == "traffic_light"]
    assert len(lights) == 8  # two four-arm intersections
    assert {int(r.attributes["lsv:intersection_id"]) for r in lights} == {101, 103}
    for r in lights:
        assert r.stopLine.attributes["type"] == "stop_line"
        assert r.trafficLights[0].attributes["type"] == "traffic_light"
        assert [ls.attributes["type"] for ls in r.parameters["light_bulbs"]] == ["light_bulbs"]
    # about 2 km of two-lane street (centre lines of the forward lanes)
    length = sum(info["length"] for info in meta["streets"].values())
    assert 1500.0 < length < 2500.0


def test_routes_and_the_patrol_loop_is_closed(lmap, meta: dict) -> None:
    rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                          lanelet2.traffic_rules.Participants.Vehicle)
    graph = lanelet2.routing.RoutingGraph(lmap, rules)
    assert not graph.checkValidity()
    names = meta["lanelets"]
    route = graph.getRoute(lmap.laneletLayer[names["west_stub.bwd"]], lmap.laneletLayer[names["top.fwd"]])
    assert route is not None
    path = [ll.id for ll in route.shortestPath()]
    assert path[0] == names["west_stub.bwd"] and path[-1] == names["top.fwd"]
    # the patrol loop is closed: every lanelet is followed by the next one
    loop = meta["patrol_loop"]
    for a, b in zip(loop, loop[1:] + loop[:1], strict=True):
        assert b in [ll.id for ll in graph.following(lmap.laneletLayer[a])]


def test_grades_stay_within_12_percent_and_reach_10(lmap) -> None:
    worst = 0.0
    for ll in lmap.laneletLayer:
        if ll.attributes["subtype"] != "road":
            continue
        pts = np.array([[p.x, p.y, p.z] for p in ll.centerline])
        run = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
        grade = np.abs(np.diff(pts[:, 2])) / np.maximum(run, 1e-6)
        worst = max(worst, float(grade[run > 0.5].max(initial=0.0)))
    assert 0.10 < worst <= 0.12 + 1e-3


def test_generator_is_deterministic_and_matches_the_committed_map(tmp_path: Path) -> None:
    osm, yml = mapgen.write(tmp_path / "district.osm")
    assert osm.read_text() == OSM.read_text(), "maps/district.osm is stale: run python -m lsv_sim.mapgen"
    assert yml.read_text() == (MAPS / "district.yaml").read_text()
