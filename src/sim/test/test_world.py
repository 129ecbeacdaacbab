"""World queries: heights, grades, signals, crosswalks, places, projection, meshes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_sim.world import ObjectClass, World, load_world


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


def test_two_signalised_intersections_with_stop_lines_and_lights(world: World) -> None:
    assert {i.intersection_id for i in world.intersections.values()} == {101, 103}
    west = world.intersections["west"]
    assert np.allclose(west.center[:2], (0.0, 0.0))
    assert west.phase_of_arm == {"S": 1, "W": 2, "N": 3, "E": 4}  # lsv_v2x_client.samples numbering
    assert len(world.stop_lines) == 8 and len(world.traffic_lights) == 8
    for sl in world.stop_lines:
        # 12 m from the centre, across the inbound lane, and the inbound lanelet ends there
        centre = world.intersection_by_id[sl.intersection_id].center[:2]
        assert np.allclose(np.linalg.norm(sl.points.mean(axis=0) - centre) ** 2, 12.0 ** 2 + 1.75 ** 2, atol=0.01)
        (lid,) = sl.lanelet_ids
        assert np.linalg.norm(world.centerline(lid)[-1, :2] - sl.points.mean(axis=0)) < 0.01
    for tl in world.traffic_lights:
        stop = next(s for s in world.stop_lines if s.id == tl.stop_line_id)
        assert (tl.intersection_id, tl.phase_id) == (stop.intersection_id, stop.phase_id)
        # the head faces the vehicles waiting at its stop line (in front of it)
        to_stop = stop.points.mean(axis=0) - tl.position[:2]
        assert math.cos(math.atan2(to_stop[1], to_stop[0]) - tl.facing_yaw) > 0.8
        assert set(tl.bulbs) == {"red", "yellow", "green"}


def test_four_crosswalks_cross_roads(world: World) -> None:
    assert len(world.crosswalks) == 4
    for cw in world.crosswalks:
        assert cw.lanelet_ids, cw.name
    south = next(c for c in world.crosswalks if c.name == "west_south")
    assert np.allclose(south.polygon.mean(axis=0), (0.0, -9.0), atol=0.1)  # where the RSU's pedestrian walks


def test_height_and_grade_follow_the_hill(world: World) -> None:
    h = world.height_at(np.array([[0.0, 0.0], [1.75, 0.0], [0.0, 250.0], [-135.0, 0.0]]))
    assert h == pytest.approx([12.0, 12.0, 27.0, 12.0], abs=0.01)
    up = world.grade_at(1.75, 125.0, math.pi / 2)
    assert 0.10 < up <= 0.12
    assert world.grade_at(1.75, 125.0, -math.pi / 2) == pytest.approx(-up)
    assert abs(world.grade_at(1.75, 125.0, 0.0)) < 0.01  # across the road: no cross fall
    # continuous along a lane: small steps give small height changes
    ys = np.linspace(20.0, 240.0, 2000)
    hs = world.height_at(np.c_[np.full_like(ys, 1.75), ys])
    assert np.max(np.abs(np.diff(hs))) < 0.12 * (ys[1] - ys[0]) + 1e-3


def test_lanelet_queries_and_routes(world: World) -> None:
    up, down = world.lanelets["north_up.fwd"], world.lanelets["north_up.bwd"]
    assert world.lanelet_at(1.75, 50.0, math.pi / 2) == up
    assert world.lanelet_at(-1.75, 50.0, -math.pi / 2) == down
    assert world.lanelet_at(50.0, 50.0) is None
    assert world.nearest_lanelet(5.0, 50.0) == up
    cl = world.centerline(up)
    assert cl.shape[1] == 3 and cl[-1, 2] > cl[0, 2]
    for a, b in zip(world.routes["delivery"], world.routes["delivery"][1:], strict=False):
        assert world.route(a, b), (a, b)
    assert world.patrol_loop[0] == up
    assert len(world.parked_car_slots) >= 10
    for slot in world.parked_car_slots:
        assert world.lanelet_at(slot.x, slot.y) is None  # on the parking strip, beside the narrow lane


def test_projection_round_trip_and_origin(world: World) -> None:
    assert world.to_latlon(0.0, 0.0) == pytest.approx((30.2741, 120.1551), abs=1e-9)
    lat, lon = world.to_latlon(120.0, -80.0)
    assert world.from_latlon(lat, lon) == pytest.approx((120.0, -80.0), abs=1e-3)
    assert lat < 30.2741 and lon > 120.1551  # south-east of the origin
    # about 1e-5 deg of latitude per 1.11 m
    assert (30.2741 - lat) * 110_850.0 == pytest.approx(80.0, rel=0.01)


def test_static_mesh_has_all_classes_and_is_consistent(world: World) -> None:
    v, t, c = world.static_mesh()
    assert v.dtype == np.float32 and t.dtype == np.uint32 and c.dtype == np.uint8
    assert t.max() < len(v) and len(c) == len(t)
    for cls in (ObjectClass.ROAD, ObjectClass.SIDEWALK, ObjectClass.CURB, ObjectClass.BUILDING,
                ObjectClass.CROSSWALK_PAINT, ObjectClass.LANE_MARKING, ObjectClass.TRAFFIC_LIGHT):
        assert np.count_nonzero(c == cls) > 0, cls.name
    # road triangles lie on the height field
    road = t[c == ObjectClass.ROAD]
    cent = v[road].mean(axis=1)
    assert np.allclose(cent[:, 2], world.height_at(cent[:, :2]), atol=0.05)
    assert world.static_mesh()[0] is v  # built once
    mat = world.static_mesh_materials()
    assert len(mat) == len(t)
    assert np.array_equal(mat[c != ObjectClass.BUILDING], c[c != ObjectClass.BUILDING])
    assert len(np.unique(mat[c == ObjectClass.BUILDING])) >= 3  # facades in several colours


def test_projection_agrees_with_the_v2x_client(world: World) -> None:
    """V2X positions must land where the map puts them: same tangent plane as lsv_v2x_client."""
    from lsv_v2x_client.projection import LocalProjection

    proj = LocalProjection(world.origin_lat_deg, world.origin_lon_deg, world.origin_alt_m)
    for x, y in ((350.0, 0.0), (-150.0, 0.0), (200.0, 250.0), (100.0, -150.0)):
        lat, lon = world.to_latlon(x, y, world.origin_alt_m)
        px, py = proj.forward_point(lat, lon)
        assert (float(px), float(py)) == pytest.approx((x, y), abs=0.01)


def test_a_map_without_metadata_loads_with_an_origin(tmp_path) -> None:
    import shutil

    from lsv_sim.world import DEFAULT_MAP, WorldError

    osm = tmp_path / "site.osm"
    shutil.copy(DEFAULT_MAP, osm)
    with pytest.raises(WorldError, match="origin"):
        load_world(osm)
    w = load_world(osm, origin=(30.2741, 120.1551, 0.0))
    assert not w.places and not w.intersections and len(w.traffic_lights) == 8
    assert w.height_at(np.array([[0.0, 250.0]]))[0] == pytest.approx(27.0, abs=0.01)
