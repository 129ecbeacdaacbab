"""Lidar ray casting: ranges, rings, frames, labels, noise and dropout statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lsv_sim.sensors import Actor, pose_matrix
from lsv_sim.sensors.lidar import Lidar, LidarParams, RayCaster
from lsv_sim.world import ObjectClass, load_world


def ground_plane(z: float = 0.0, half: float = 200.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]], np.float32)
    t = np.array([[0, 1, 2], [0, 2, 3]], np.uint32)
    return v, t, np.full(2, ObjectClass.ROAD, np.uint8)


@pytest.fixture(scope="module")
def lidar() -> Lidar:
    return Lidar(LidarParams(), ground_plane())


def test_box_in_front_is_hit_at_the_right_range(lidar: Lidar) -> None:
    box = Actor(object_id=7, class_id=ObjectClass.CAR, pose=(14.25, 0.0, 0.0, 0.0), size=(4.5, 1.8, 1.5))
    pts, oid, cls = lidar.scan((0.0, 0.0, 1.0, 0.0, 0.0, 0.0), [box])
    on_box = oid == 7
    assert on_box.sum() > 20
    assert np.all(cls[on_box] == ObjectClass.CAR)
    front = pts[on_box]
    # the rear face of the box is at x = 12 m, 1.0 m below to 0.5 m above the sensor
    assert np.allclose(front["x"], 12.0, atol=1e-3)
    assert np.all(np.abs(front["y"]) <= 0.9 + 1e-3)
    assert front["z"].min() >= -1.0 - 1e-3 and front["z"].max() <= 0.5 + 1e-3
    # nothing is seen behind the box in its shadow
    behind = (pts["x"] > 12.01) & (np.abs(pts["y"]) < 0.5) & (oid == 0)
    assert not behind.any()


def test_ground_points_in_the_sensor_frame_and_ring_numbering(lidar: Lidar) -> None:
    pts, oid, cls = lidar.scan((5.0, -3.0, 2.0, 0.0, 0.0, 0.7))
    assert np.all(cls == ObjectClass.ROAD) and np.all(oid == 0)
    assert np.allclose(pts["z"], -2.0, atol=1e-3)  # the plane is 2 m below the sensor
    p = lidar.params
    elev = np.degrees(np.arctan2(pts["z"], np.hypot(pts["x"], pts["y"])))
    expected = np.linspace(p.min_elevation_deg, p.max_elevation_deg, p.channels)[pts["ring"]]
    assert np.allclose(elev, expected, atol=0.01)
    assert pts["ring"].min() == 0  # ring 0 is the lowest beam
    # beams at or above the horizon never hit the plane; lower beams reach at most max range
    assert expected.max() < 0.0
    assert np.hypot(pts["x"], pts["y"]).max() <= p.max_range_m
    # ordered by azimuth: one full turn of 1800 steps, 32 rings each
    assert len(pts) == p.azimuth_steps * int(np.sum(np.linspace(p.min_elevation_deg, p.max_elevation_deg,
                                                                  p.channels) < -math.degrees(math.atan2(2.0, 100.0))))


def test_yaw_of_the_sensor_rotates_what_it_sees(lidar: Lidar) -> None:
    box = Actor(object_id=3, class_id=ObjectClass.PEDESTRIAN, pose=(0.0, 10.0, 0.0, 0.0), size=(0.6, 0.6, 1.8))
    pts, oid, _ = lidar.scan(pose_matrix(0.0, 0.0, 1.0, yaw=math.pi / 2), [box])  # looking north
    hit = pts[oid == 3]
    assert len(hit) > 0
    assert np.allclose(hit["x"], 9.7, atol=1e-3)  # straight ahead in the sensor frame


def test_noise_and_dropout_statistics() -> None:
    params = LidarParams(range_std_m=0.05, dropout_probability=0.2)
    noisy = Lidar(params, caster=RayCaster(ground_plane()))
    exact = Lidar(LidarParams(), caster=noisy.caster)
    pose = (0.0, 0.0, 2.0, 0.0, 0.0, 0.0)
    truth = exact.scan(pose).points
    pts = noisy.scan(pose, rng=np.random.default_rng(1)).points
    assert len(pts) / len(truth) == pytest.approx(0.8, abs=0.01)
    # range error along each ray: the measured point lies on the true ray at r + noise
    r_meas = np.sqrt(pts["x"].astype(float) ** 2 + pts["y"] ** 2 + pts["z"] ** 2)
    r_true = -2.0 / (pts["z"] / r_meas)
    err = r_meas - r_true
    assert abs(err.mean()) < 0.005
    assert err.std() == pytest.approx(0.05, rel=0.05)


def test_scan_of_the_district_sees_roads_buildings_and_labels() -> None:
    world = load_world()
    lidar = Lidar(LidarParams(), world.static_mesh())
    start = world.places["patrol_start"]
    z = float(world.height_at(np.array([[start.x, start.y]]))[0])
    car = Actor(object_id=11, class_id=ObjectClass.CAR,
                pose=(start.x, start.y + 15.0, float(world.height_at(np.array([[start.x, start.y + 15]]))[0]),
                      start.yaw), size=(4.5, 1.8, 1.5))
    pts, oid, cls = lidar.scan(pose_matrix(start.x, start.y, z + 1.95, yaw=start.yaw), [car],
                               np.random.default_rng(0))
    assert len(pts) > 20_000
    seen = set(np.unique(cls).tolist())
    assert {ObjectClass.ROAD, ObjectClass.BUILDING, ObjectClass.SIDEWALK, ObjectClass.CAR} <= seen
    assert np.all(oid[cls == ObjectClass.CAR] == 11)
    # the uphill road ahead rises in the sensor frame
    car_pts = pts[oid == 11]
    assert car_pts["x"].min() == pytest.approx(15.0 - 2.25, abs=0.3)


def test_actor_ray_culling_gives_the_same_hits_as_one_combined_scene() -> None:
    """Only rays in the actors' bounding cones are cast against them: compare with a scene that
    holds the ground and every actor, over all rays."""
    import open3d as o3d

    from lsv_sim.sensors import actors_mesh
    from lsv_sim.sensors.lidar import beam_directions, make_scene

    rng = np.random.default_rng(4)
    rad, ang = rng.uniform(6.0, 40.0, 15), rng.uniform(-math.pi, math.pi, 15)
    actors = [Actor(i + 1, ObjectClass.CAR, (float(rad[i] * math.cos(ang[i])), float(rad[i] * math.sin(ang[i])), 0.0,
                                             float(rng.uniform(-3, 3))), (4.5, 1.8, 1.5)) for i in range(15)]
    actors.append(Actor(99, ObjectClass.PEDESTRIAN, (0.5, 0.3, 0.0, 0.0), (0.6, 0.6, 1.8)))  # around the sensor
    caster = RayCaster(ground_plane())
    dirs, _ = beam_directions(LidarParams(azimuth_steps=900))
    rays = np.zeros((len(dirs), 6), np.float32)
    rays[:, :3] = (0.0, 0.0, 1.0)
    rays[:, 3:] = dirs
    t, _, oid, _ = caster.cast(rays, actors)
    assert caster.last_actor_rays == len(rays)  # the sensor is inside the pedestrian's sphere
    gv, gt, _ = ground_plane()
    av, at, aoid, _ = actors_mesh(actors)
    both = make_scene(np.vstack([gv, av]), np.vstack([gt, at + len(gv)]))
    r = both.cast_rays(o3d.core.Tensor(rays))
    t_ref = r["t_hit"].numpy()
    prim = r["primitive_ids"].numpy()
    oid_ref = np.where(np.isfinite(t_ref) & (prim >= len(gt)), aoid[np.clip(prim - len(gt), 0, len(aoid) - 1)], 0)
    assert np.allclose(t, t_ref, atol=1e-4, equal_nan=True)
    assert np.array_equal(oid, oid_ref)
    # without the actor around the sensor, culling leaves most rays out
    caster.cast(rays, actors[:-1])
    assert caster.last_actor_rays < 0.5 * len(rays)
    # a forward-looking subset (like a camera): actors behind are skipped whole, hits unchanged
    ahead = rays[:, 3] > 0.7
    t2, _, oid2, _ = caster.cast(np.ascontiguousarray(rays[ahead]), actors[:-1])
    r = make_scene(np.vstack([gv, av[:-8]]), np.vstack([gt, at[:-12] + len(gv)])).cast_rays(
        o3d.core.Tensor(np.ascontiguousarray(rays[ahead])))
    assert np.allclose(t2, r["t_hit"].numpy(), atol=1e-4)
    assert np.count_nonzero(oid2) > 0
