"""The traffic-light classifier core on frames the simulator's camera renders in the district:
each lamp colour read at the distances the vehicle needs, with the pose errors a localizer makes;
nothing reported for a dark head, a head facing away or out of range, a patch too big to be a
lamp, two colours lit; the map's heads and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_perception.fusion.projection import Calibration, CameraMountParams, rotation_rpy
from lsv_perception.traffic_light import LightClassifierParams, LightMapError, classify, load_light_heads
from lsv_perception.traffic_light.classifier import STATE_PERMISSIVE_GREEN, STATE_RED, STATE_YELLOW, colour_masks

MAP = "package://lsv_sim/maps/district.osm"
ORIGIN = (30.2741, 120.1551, 0.0)
LANE_Y = -1.75  # eastbound lane towards intersection 101's west stop line (x = -12)
WEST_HEAD = 5003  # the head on the far side of intersection 101 facing eastbound traffic


@pytest.fixture(scope="module")
def scene():
    from lsv_sim.sensors import Extrinsics, pose_matrix
    from lsv_sim.sensors.camera import Camera, CameraParams
    from lsv_sim.world import load_world

    world = load_world()
    camera = Camera(CameraParams(), world.static_mesh(), world.traffic_lights)
    info = camera.camera_info()
    calib = Calibration(np.array(info.k).reshape(3, 3), info.width, info.height, CameraMountParams().t_base_camera())
    ext = Extrinsics()
    assert np.allclose(ext.matrix("camera"), calib.t_base_camera)  # the classifier's default mount is the sim's

    def render(x: float, colour: str | None, y: float = LANE_Y, yaw: float = 0.0, actors=()):
        z = float(world.height_at(np.array([[x, y]]))[0])
        base = pose_matrix(x, y, z, yaw=yaw)
        signals = {t.id: colour for t in world.traffic_lights} if colour else {}
        frame = camera.render(base @ ext.matrix("camera"), actors, signals=signals, rng=np.random.default_rng(3))
        return frame.rgb, base

    return {"heads": load_light_heads(MAP, *ORIGIN), "calib": calib, "render": render, "world": world}


def seen(scene, rgb, base, params=None):
    obs = classify(rgb, scene["heads"], scene["calib"], base, params or LightClassifierParams())
    return {o.head.regelem_id: o for o in obs}


def test_the_map_gives_every_head_with_its_lamps_and_v2x_identity(scene):
    heads = scene["heads"]
    world = scene["world"]
    assert [h.regelem_id for h in heads] == [t.id for t in world.traffic_lights]
    for h, t in zip(heads, world.traffic_lights, strict=True):
        assert (h.intersection_id, h.phase_id, h.lanelet_ids) == (t.intersection_id, t.phase_id, t.lanelet_ids)
        assert math.cos(h.facing_yaw - t.facing_yaw) == pytest.approx(1.0)
        assert set(h.bulbs) == {"red", "yellow", "green"}
        np.testing.assert_allclose(h.bulbs["red"], t.bulbs["red"])


@pytest.mark.parametrize("colour,state", [("red", STATE_RED), ("yellow", STATE_YELLOW),
                                          ("green", STATE_PERMISSIVE_GREEN)])
@pytest.mark.parametrize("x", [-40.0, -25.0, -14.5])  # 50, 35 and 25 m from the head (the bumper at the line)
def test_each_lamp_colour_is_read_on_the_approach(scene, colour, state, x):
    rgb, base = scene["render"](x, colour)
    obs = seen(scene, rgb, base)
    assert list(obs) == [WEST_HEAD]  # only the head facing the lane; the other arms' heads are side on
    o = obs[WEST_HEAD]
    assert (o.colour, o.state, o.why) == (colour, state, "")
    assert o.confidence == 1.0 and o.pixels[colour] >= 3


@pytest.mark.parametrize("d_yaw_deg,d_pitch_deg,dy,dz", [(1.0, 0, 0, 0), (-1.0, 0, 0, 0), (0, 1.0, 0, 0),
                                                          (0, -1.0, 0, 0), (0, 0, 0.5, 0), (0.5, 0.5, 0.3, 0.2)])
def test_pose_errors_of_a_localizer_are_tolerated(scene, d_yaw_deg, d_pitch_deg, dy, dz):
    for x in (-40.0, -25.0):
        rgb, base = scene["render"](x, "red")
        est = base.copy()
        est[:3, :3] = est[:3, :3] @ rotation_rpy(0.0, math.radians(d_pitch_deg), math.radians(d_yaw_deg))
        est[1, 3] += dy
        est[2, 3] += dz
        assert seen(scene, rgb, est)[WEST_HEAD].colour == "red", x


def test_a_dark_head_is_not_seen(scene):
    rgb, base = scene["render"](-25.0, None)
    o = seen(scene, rgb, base)[WEST_HEAD]
    assert (o.colour, o.state, o.why) == ("", 0, "no lit lamp")


def test_heads_out_of_range_or_facing_away_are_not_looked_at(scene):
    rgb, base = scene["render"](-75.0, "red")  # 85 m from the head
    assert seen(scene, rgb, base) == {}
    assert WEST_HEAD in seen(scene, rgb, base, LightClassifierParams(max_range_m=100.0))
    # driving west past intersection 101 in the other lane: the west head is behind, the others face away or
    # side on
    rgb, base = scene["render"](-30.0, "red", y=1.75, yaw=math.pi)
    assert WEST_HEAD not in seen(scene, rgb, base)


def test_a_patch_bigger_than_a_lamp_or_two_colours_are_not_a_state(scene):
    rgb, base = scene["render"](-25.0, "red")
    o = seen(scene, rgb, base)[WEST_HEAD]
    x0, y0, x1, y1 = o.roi
    # a red lorry between the camera and the head covers the region: not a red lamp
    covered = rgb.copy()
    covered[y0:y1, x0:x1] = (250, 20, 20)
    o = seen(scene, covered, base)[WEST_HEAD]
    assert o.colour == "" and "larger than a lamp" in o.why
    # a green lamp lit beside the red one (a faulty head): not a state
    both = rgb.copy()
    ys, xs = np.nonzero(colour_masks(rgb[y0:y1, x0:x1], LightClassifierParams())["red"])
    both[ys + y0 + 3, xs + x0] = (20, 250, 80)
    o = seen(scene, both, base)[WEST_HEAD]
    assert o.colour == "" and "both lit" in o.why


def test_a_colour_far_from_its_own_lamp_is_not_a_state(scene):
    rgb, base = scene["render"](-14.5, "red")
    p = LightClassifierParams(pointing_error_deg=0.0, roi_margin_m=1.0)
    o = seen(scene, rgb, base, p)[WEST_HEAD]
    assert o.colour == "red"
    x0, y0, x1, y1 = o.roi
    moved = rgb.copy()
    ys, xs = np.nonzero(colour_masks(rgb[y0:y1, x0:x1], p)["red"])
    moved[ys + y0, xs + x0] = (10, 10, 10)  # the red lamp off ...
    moved[y1 - 3:y1 - 1, x1 - 3:x1 - 1] = (250, 20, 20)  # ... and a red spot in the region's far corner
    o = seen(scene, moved, base, p)[WEST_HEAD]
    assert o.colour == "" and "from the red lamp" in o.why


def test_colour_masks_tell_the_lamps_from_the_surfaces_of_the_scene():
    p = LightClassifierParams()
    lamps = np.array([[[255, 25, 13], [255, 191, 13], [25, 255, 89]]], np.uint8)
    m = colour_masks(lamps, p)
    assert m["red"].tolist() == [[True, False, False]]
    assert m["yellow"].tolist() == [[False, True, False]]
    assert m["green"].tolist() == [[False, False, True]]
    # a sunlit brick facade, the sky, a white crosswalk stripe, a dark head: no lamp colour
    surfaces = np.array([[[200, 115, 90], [200, 216, 235], [240, 240, 235], [15, 15, 15]]], np.uint8)
    assert not any(v.any() for v in colour_masks(surfaces, p).values())


def test_an_image_of_the_wrong_size_is_refused(scene):
    rgb, base = scene["render"](-25.0, "red")
    with pytest.raises(ValueError, match="does not match the CameraInfo"):
        classify(rgb[:240], scene["heads"], scene["calib"], base, LightClassifierParams())


def test_the_road_height_for_a_localizer_without_one(scene):
    from lsv_perception.traffic_light import load_light_map

    light_map = load_light_map(MAP, *ORIGIN)
    world = scene["world"]
    for x, y in ((-25.0, LANE_Y), (1.75, 120.0), (150.0, 248.25), (0.0, 0.0)):  # level, 12 % hill, top, junction
        assert light_map.road_height(x, y) == pytest.approx(float(world.height_at(np.array([[x, y]]))[0]), abs=0.2)


def test_map_errors_name_the_file(tmp_path):
    with pytest.raises(LightMapError, match="not found"):
        load_light_heads(tmp_path / "nope.osm", *ORIGIN)
    empty = tmp_path / "empty.osm"
    empty.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'></osm>\n")
    with pytest.raises(LightMapError, match="no traffic_light regulatory element"):
        load_light_heads(empty, *ORIGIN)
