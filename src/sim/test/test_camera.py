"""Camera ray casting: pinhole projection, depth, labels, class colours, lighting, lamps."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lsv_sim.sensors import Actor, Extrinsics, pose_matrix
from lsv_sim.sensors.camera import Camera, CameraParams, Lighting, lights_in_view
from lsv_sim.sensors.lidar import RayCaster
from lsv_sim.world import ObjectClass, load_world

CAM_H = 1.5  # m


def ground_plane(half: float = 200.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, 0.0], [half, -half, 0.0], [half, half, 0.0], [-half, half, 0.0]], np.float32)
    return v, np.array([[0, 1, 2], [0, 2, 3]], np.uint32), np.full(2, ObjectClass.ROAD, np.uint8)


def optical_pose(x: float = 0.0, y: float = 0.0, z: float = CAM_H, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """T_map_camera (optical) of a camera whose body is at (x, y, z) looking along yaw."""
    ext = Extrinsics(camera_x=0.0, camera_y=0.0, camera_z=0.0, camera_pitch=pitch)
    return pose_matrix(x, y, z, yaw=yaw) @ ext.matrix("camera")


@pytest.fixture(scope="module")
def caster() -> RayCaster:
    return RayCaster(ground_plane())


@pytest.fixture(scope="module")
def camera(caster: RayCaster) -> Camera:
    return Camera(CameraParams(), caster=caster)


def test_a_box_projects_where_the_pinhole_model_says(camera: Camera) -> None:
    box = Actor(object_id=5, class_id=ObjectClass.CAR, pose=(12.0, 2.0, 0.0, 0.0), size=(4.0, 1.8, 1.6))
    f = camera.render(optical_pose(), [box])
    # centre of the box's rear face (x = 10 m) in the optical frame: x right = -y, y down = -(z - h), z = x
    p_opt = np.array([[-2.0, -(0.8 - CAM_H), 10.0]])
    (u, v), = camera.project(p_opt)
    ui, vi = round(u), round(v)
    assert f.object_id[vi, ui] == 5 and f.class_id[vi, ui] == ObjectClass.CAR
    assert f.depth[vi, ui] == pytest.approx(10.0, abs=1e-3)
    # the box's outline: its left edge (y = 2.9 m) projects to u = cx - fx * 2.9 / 10
    k = camera.camera_info().k
    u_left = k[2] - k[0] * 2.9 / 10.0
    row = f.object_id[vi]
    cols = np.flatnonzero(row == 5)
    assert cols.min() == pytest.approx(u_left, abs=1.0)
    # its right edge is the far end of the side face the camera sees (y = 1.1 m, x = 14 m)
    assert cols.max() == pytest.approx(k[2] - k[0] * 1.1 / 14.0, abs=1.0)
    # the top edge at z = 1.6 m
    rows = np.flatnonzero(f.object_id[:, ui] == 5)
    assert rows.min() == pytest.approx(k[5] - k[4] * (1.6 - CAM_H) / 10.0, abs=1.0)


def test_ground_depth_follows_the_row(camera: Camera) -> None:
    f = camera.render(optical_pose(yaw=0.7))
    info = camera.camera_info()
    fy, cy = info.k[4], info.k[5]
    for v in (260, 300, 400, 479):
        expected = CAM_H * fy / (v - cy)  # z-depth of the plane 1.5 m below
        assert np.allclose(f.depth[v], expected, rtol=1e-4)
        assert np.all(f.class_id[v] == ObjectClass.ROAD)
    # above the horizon: sky, infinite depth, class 0
    assert np.all(np.isinf(f.depth[:200])) and np.all(f.class_id[:200] == 0)
    assert f.depth.dtype == np.float32 and f.object_id.dtype == np.int32 and f.rgb.dtype == np.uint8


def test_adaptive_rendering_matches_casting_every_pixel(caster: RayCaster) -> None:
    actors = [Actor(i + 1, cls, (8.0 + 3 * i, -4.0 + 2.5 * i, 0.0, 0.3 * i), (1.5, 1.0, 1.7))
              for i, cls in enumerate((ObjectClass.CAR, ObjectClass.PEDESTRIAN, ObjectClass.CYCLIST,
                                       ObjectClass.OBSTACLE))]
    pose = optical_pose(pitch=0.1)
    fast = Camera(CameraParams(), caster=caster)
    exact = Camera(CameraParams(adaptive=False), caster=caster)
    a, b = fast.render(pose, actors), exact.render(pose, actors)
    assert fast.last_exact_fraction < 0.3 and fast.last_ray_fraction < 0.4  # rays cast on all grids / pixels
    assert exact.last_ray_fraction == 1.0
    assert np.mean(a.object_id != b.object_id) < 1e-3
    both = np.isfinite(a.depth) & np.isfinite(b.depth)
    assert np.mean(np.abs(a.depth[both] - b.depth[both]) > 1e-3 * b.depth[both]) < 1e-3
    assert np.mean(np.abs(a.rgb.astype(int) - b.rgb) > 3) < 2e-3


def test_object_classes_look_distinct(camera: Camera) -> None:
    classes = [ObjectClass.CAR, ObjectClass.PEDESTRIAN, ObjectClass.CYCLIST, ObjectClass.EMERGENCY_VEHICLE,
               ObjectClass.TRUCK, ObjectClass.OBSTACLE]
    actors = [Actor(i + 1, cls, (10.0, -7.5 + 3.0 * i, 0.0, 0.0), (1.0, 2.0, 2.5)) for i, cls in enumerate(classes)]
    f = camera.render(optical_pose(), actors, Lighting(sun_azimuth_rad=math.pi, sun_elevation_rad=0.5))
    means = {}
    for a in actors:
        mask = f.object_id == a.object_id
        assert mask.sum() > 500
        means[a.class_id] = f.rgb[mask].mean(axis=0)
    road = f.rgb[f.class_id == ObjectClass.ROAD].mean(axis=0)
    for (ca, ma), (cb, mb) in itertools.combinations([*means.items(), (ObjectClass.ROAD, road)], 2):
        assert np.linalg.norm(ma - mb) > 40.0, (ObjectClass(ca).name, ObjectClass(cb).name)


def test_lighting_varies_with_the_time_of_day_and_noise_with_the_rng(camera: Camera) -> None:
    pose = optical_pose()
    box = [Actor(1, ObjectClass.CAR, (10.0, 0.0, 0.0, 0.0))]
    noon, dusk = camera.render(pose, box, 12.0), camera.render(pose, box, 17.5)
    overcast = camera.render(pose, box, Lighting.at_time(12.0, overcast=1.0))
    assert noon.rgb.mean() > overcast.rgb.mean() + 10 and noon.rgb.mean() > dusk.rgb.mean() + 10
    a = camera.render(pose, box, 12.0, np.random.default_rng(1))
    b = camera.render(pose, box, 12.0, np.random.default_rng(2))
    diff = a.rgb.astype(int) - noon.rgb
    assert 1.0 < diff.std() < 3.0 and not np.array_equal(a.rgb, b.rgb)


def test_camera_info_and_optical_frame(camera: Camera) -> None:
    info = camera.camera_info()
    assert (info.width, info.height) == (640, 480)
    assert info.k[0] == pytest.approx(320.0) and info.k[2] == pytest.approx(319.5) and info.k[5] == pytest.approx(239.5)
    assert info.p[:3] == info.k[:3] and info.p[3] == 0.0
    r = Extrinsics().matrix("camera")[:3, :3]
    pitch = Extrinsics().camera_pitch
    assert r[:, 2] == pytest.approx([math.cos(pitch), 0.0, -math.sin(pitch)])  # optical z = forward, tilted down
    assert r[:, 0] == pytest.approx([0.0, -1.0, 0.0])  # optical x = right


def test_lit_traffic_lamp_is_drawn_in_its_colour() -> None:
    world = load_world()
    west = world.intersections["west"]
    light = next(t for t in world.traffic_lights if t.intersection_id == 101 and t.phase_id == west.phase_of_arm["E"])
    cam = Camera(CameraParams(), traffic_lights=world.traffic_lights, caster=RayCaster.for_world(world))
    z = float(world.height_at(np.array([[14.0, 1.75]]))[0])
    pose = optical_pose(14.0, 1.75, z + 1.6, yaw=math.pi, pitch=-0.05)  # waiting at the stop line, facing west
    for state, channel in (("red", 0), ("green", 1)):
        f = cam.render(pose, [], 12.0, signals={light.id: state})
        lamp = (f.class_id == ObjectClass.TRAFFIC_LIGHT) & (f.rgb[..., channel] > 200)
        lamp &= f.rgb[..., 2 - channel if channel == 0 else 0] < 120
        assert lamp.sum() >= 4, state


def test_oracle_light_perception_sees_the_heads_facing_the_camera_in_range() -> None:
    world = load_world()
    lights_101 = [t for t in world.traffic_lights if t.intersection_id == 101]
    east_arm = next(t for t in lights_101 if t.phase_id == world.intersections["west"].phase_of_arm["E"])
    params = CameraParams()

    def seen(x: float, y: float, yaw: float, max_range_m: float = 50.0) -> list[int]:
        z = float(world.height_at(np.array([[x, y]]))[0])
        return [t.id for t in lights_in_view(lights_101, optical_pose(x, y, z + 1.6, yaw=yaw), params, max_range_m)]

    # approaching intersection 101 from the east, westbound in the lane y = +1.75
    assert seen(30.0, 1.75, math.pi) == [east_arm.id]  # the head of its own arm, the others side on
    assert seen(14.0, 1.75, math.pi) == [east_arm.id]  # waiting at the stop line
    assert seen(30.0, 1.75, math.pi, max_range_m=10.0) == []  # too far for the range
    assert seen(80.0, 1.75, math.pi) == []  # beyond 50 m
    assert east_arm.id not in seen(30.0, 1.75, 0.0)  # driving away: behind the camera
    assert east_arm.id not in seen(-30.0, -1.75, 0.0)  # from the west: the head faces away
